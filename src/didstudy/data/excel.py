"""Excel workbooks read without surprises: visible sheets, named sheet, computed formulas.

* The default sheet is the first *visible* one; hidden sheets before it are skipped and named in
  a warning (a hidden first sheet read silently gave 1 row instead of 550).
* The sheet used and the list of sheets travel in ``attrs`` so that every later message can say
  which sheet was read and offer ``--sheet`` / ``sheet=``.
* Formula cells that carry no saved value (a workbook written by a program that does not compute
  formulas) are refused with their cells: read as missing they would silently drop rows.
* A damaged workbook (broken XML, truncated zip) is a :class:`DataError`, never a traceback.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from didstudy.errors import DataError, DidstudyWarning

__all__ = ["SheetInfo", "check_formulas", "sheet_infos", "sheet_listing"]

# formula cells listed in the message before "(and N more)"
SHOWN_CELLS = 8


@dataclass(frozen=True)
class SheetInfo:
    """A worksheet's name and visibility (``visible``, ``hidden`` or ``veryHidden``)."""

    name: str
    state: str

    @property
    def visible(self) -> bool:
        return self.state == "visible"


def _damaged(path: Path, exc: BaseException) -> DataError:
    return DataError(
        f"cannot be read as an Excel workbook ({type(exc).__name__}: {exc})",
        file=str(path),
        fix="check that the file is a real, complete .xlsx (open and re-save it in Excel or "
        "LibreOffice); a renamed .xls or .csv is not a workbook",
    )


def sheet_infos(path: Path) -> list[SheetInfo]:
    """The worksheets of ``path`` in order, with their visibility."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # damaged workbooks raise anything (BadZipFile, ParseError, ...)
        raise _damaged(path, exc) from None
    try:
        return [SheetInfo(str(ws.title), str(getattr(ws, "sheet_state", "visible")))
                for ws in book.worksheets]  # fmt: skip
    finally:
        book.close()


def sheet_listing(infos: list[SheetInfo]) -> str:
    """``'data', 'notes' (hidden)`` for messages."""
    return ", ".join(repr(i.name) + ("" if i.visible else f" ({i.state})") for i in infos)


def default_sheet(path: Path, infos: list[SheetInfo]) -> str:
    """The first visible sheet; warns naming hidden sheets skipped before it."""
    visible = [i for i in infos if i.visible]
    if not visible:
        raise DataError(
            f"has no visible sheet (sheets: {sheet_listing(infos)})",
            file=str(path),
            fix="pass sheet= (--sheet) with the sheet to read",
        )
    skipped = [i.name for i in infos[: infos.index(visible[0])]]
    if skipped:
        warnings.warn(
            f"{path}: skipped hidden sheet(s) {', '.join(map(repr, skipped))}; read the first "
            f"visible sheet {visible[0].name!r} (pass --sheet / sheet= to choose another)",
            DidstudyWarning,
            stacklevel=3,
        )
    return visible[0].name


def check_formulas(path: Path, sheet: str) -> None:
    """Refuse formula cells that have no saved value in ``sheet``."""
    from openpyxl import load_workbook

    try:
        formulas = load_workbook(path, read_only=True, data_only=False)
        values = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise _damaged(path, exc) from None
    try:
        cells: list[str] = []
        rows = zip(formulas[sheet].iter_rows(), values[sheet].iter_rows(), strict=False)
        for formula_row, value_row in rows:
            for formula, value in zip(formula_row, value_row, strict=False):
                if getattr(formula, "data_type", None) == "f" and _empty(value):
                    cells.append(str(getattr(formula, "coordinate", "?")))
    except Exception as exc:
        raise _damaged(path, exc) from None
    finally:
        formulas.close()
        values.close()
    if cells:
        shown = ", ".join(cells[:SHOWN_CELLS])
        more = f" (and {len(cells) - SHOWN_CELLS} more)" if len(cells) > SHOWN_CELLS else ""
        raise DataError(
            f"sheet {sheet!r}: {len(cells)} formula cell(s) have no saved value ({shown}{more}); "
            "they would be read as missing",
            file=str(path),
            fix="open the workbook in Excel or LibreOffice and save it (this stores the computed "
            "values), or export the sheet as CSV",
        )


def _empty(cell: Any) -> bool:
    value = getattr(cell, "value", None)
    return value is None or value == ""
