"""Excel renderer (openpyxl): merged header cells, three-line borders, numbers as numbers.

A cell that holds a printed number (``-0.037***``, ``(0.006)``, ``1,234``) is written as the
number with a number format that prints it exactly as the other formats do
(:func:`didstudy.report.escape.excel_number`); every other cell, the title and the notes are
written as text (type ``s``, never a formula), formula-like text neutralised.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from didstudy.report.escape import excel_number, spreadsheet_text, xml_text
from didstudy.report.tables.model import Table

__all__ = ["table_to_xlsx", "tables_to_xlsx"]


def _sheet_title(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "table"
    title, k = base, 2
    while title in used:
        suffix = f"_{k}"
        title = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(title)
    return title


def _text(target: Any, text: str) -> Any:
    """Write ``text`` as a string cell (never a formula)."""
    target.value = spreadsheet_text(xml_text(text))
    target.data_type = "s"
    target.number_format = "@"
    return target


def _value(target: Any, text: str, body: bool) -> Any:
    """A body cell holding a printed number becomes that number; anything else is text."""
    number = excel_number(text) if body else None
    if number is None:
        return _text(target, text)
    target.value, target.number_format = number
    return target


def _write(ws: Any, table: Table) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    thick, medium, thin = Side("medium"), Side("thin"), Side("hair")
    n = table.n_cols
    _text(ws.cell(row=1, column=1), table.title).font = Font(bold=True)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    if n > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    rows = table.header + table.body
    n_header = len(table.header)
    widths = [4] * n
    for r, row in enumerate(rows):
        excel_row = r + 2
        for col, cell in row.positions():
            target = _value(ws.cell(row=excel_row, column=col + 1), cell.text, r >= n_header)
            target.alignment = Alignment(horizontal=cell.align, vertical="center")
            if cell.colspan == 1:
                widths[col] = max(widths[col], sum(2 if ord(c) > 0x2E80 else 1 for c in cell.text))
            if cell.colspan > 1:
                ws.merge_cells(
                    start_row=excel_row,
                    start_column=col + 1,
                    end_row=excel_row,
                    end_column=col + cell.colspan,
                )
            for k in range(col, col + cell.colspan):
                top = bottom = None
                if r == 0:
                    top = thick
                elif row.rule_above:
                    top = thin
                if r == n_header - 1:
                    bottom = medium
                elif row.kind == "group" and col > 0 and cell.text:
                    bottom = thin
                if r == len(rows) - 1:
                    bottom = thick
                if top is not None or bottom is not None:
                    ws.cell(row=excel_row, column=k + 1).border = Border(
                        top=top or Side(), bottom=bottom or Side()
                    )
    first_note = len(rows) + 2
    for i, note in enumerate(table.notes):
        target = _text(ws.cell(row=first_note + i, column=1), note)
        target.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
        target.font = Font(size=9)
        if n > 1:
            ws.merge_cells(
                start_row=first_note + i, start_column=1, end_row=first_note + i, end_column=n
            )
    for col, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(col + 1)].width = min(width + 2, 60)


def tables_to_xlsx(tables: Sequence[Table]) -> bytes:
    """An Excel workbook (bytes) with one sheet per table, named after ``table.name``.

    Layout of a sheet: row 1 the title (merged across the columns), then the header and body
    rows, then one merged row per note.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    default = workbook.active
    used: set[str] = set()
    for table in tables:
        _write(workbook.create_sheet(_sheet_title(table.name, used)), table)
    if default is not None and tables:
        workbook.remove(default)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_to_xlsx(table: Table) -> bytes:
    """An Excel workbook (bytes) holding one table."""
    return tables_to_xlsx([table])
