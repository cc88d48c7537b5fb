"""The format-independent table model every table builder produces and every renderer reads.

A :class:`Table` is a title, header rows, body rows and notes. Cells span columns (never rows),
and every row spans exactly :attr:`Table.n_cols` columns. Rows carry a ``kind`` (coefficient,
statistic in parentheses, summary statistic, indicator, ...) so that renderers can style them,
and ``rule_above`` for the thin horizontal rule of a three-line table (booktabs ``\\midrule``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from didstudy.errors import DidstudyError

__all__ = ["Align", "Cell", "Row", "RowKind", "Table"]

Align = Literal["left", "center", "right"]
RowKind = Literal["header", "group", "coef", "stat", "summary", "indicator", "body"]


@dataclass(frozen=True)
class Cell:
    """One cell: text already formatted for print, spanning ``colspan`` columns."""

    text: str
    colspan: int = 1
    align: Align = "center"

    def __post_init__(self) -> None:
        if self.colspan < 1:
            raise DidstudyError(f"cell {self.text!r} spans {self.colspan} columns; need >= 1")


@dataclass(frozen=True)
class Row:
    """A table row. ``kind`` is a styling hint; ``rule_above`` draws a thin rule above it.

    Header rows of kind ``"group"`` hold spanning group labels; renderers rule a line under
    each of their labelled cells (booktabs ``\\cmidrule``).
    """

    cells: tuple[Cell, ...]
    kind: RowKind = "body"
    rule_above: bool = False

    @property
    def width(self) -> int:
        return sum(cell.colspan for cell in self.cells)

    def grid(self) -> list[str]:
        """Texts column by column; a spanning cell's text in its first column, then blanks."""
        out: list[str] = []
        for cell in self.cells:
            out.append(cell.text)
            out.extend([""] * (cell.colspan - 1))
        return out

    def positions(self) -> Iterator[tuple[int, Cell]]:
        """``(first column, cell)`` for every cell."""
        col = 0
        for cell in self.cells:
            yield col, cell
            col += cell.colspan

    @classmethod
    def of(
        cls,
        texts: list[str] | tuple[str, ...],
        kind: RowKind = "body",
        rule_above: bool = False,
        stub_align: Align = "left",
    ) -> Row:
        """A row of single-column cells; the first (the stub) aligned ``stub_align``."""
        cells = tuple(
            Cell(t, align=stub_align if i == 0 else "center") for i, t in enumerate(texts)
        )
        return cls(cells, kind, rule_above)


@dataclass(frozen=True)
class Table:
    """A publication table, independent of the output format.

    Attributes
    ----------
    caption
        What the table shows, without its number (``"基准回归结果"``).
    number
        The printed number (``"3"``), or ``None``.
    title
        ``"表3 基准回归结果"`` / ``"Table 3 Baseline regression"``: the number and caption.
    header, body
        Rows; header rows are printed between the top rule and the mid rule.
    notes
        Lines printed under the bottom rule (the first usually starts ``注：`` / ``Note:``).
    name
        A file-name-safe key (``"baseline"``), used for output files and HTML anchors.
    lang
        ``"zh"`` or ``"en"``.
    """

    caption: str
    header: tuple[Row, ...]
    body: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    number: str | None = None
    title: str = ""
    name: str = "table"
    lang: str = "en"
    n_cols: int = field(init=False)

    def __post_init__(self) -> None:
        rows = self.header + self.body
        if not rows:
            raise DidstudyError(f"table {self.name!r} has no rows")
        width = rows[0].width
        bad = [i for i, row in enumerate(rows) if row.width != width]
        if bad:
            raise DidstudyError(
                f"table {self.name!r}: rows {bad} do not span {width} columns like the first row"
            )
        object.__setattr__(self, "n_cols", width)
        if not self.title:
            object.__setattr__(self, "title", self.caption)

    def grid(self) -> list[list[str]]:
        """All rows (header then body) as texts column by column; spans leave blanks."""
        return [row.grid() for row in self.header + self.body]

    def with_notes(self, *notes: str) -> Table:
        """A copy with ``notes`` appended."""
        return replace(self, notes=self.notes + tuple(notes))

    def _repr_html_(self) -> str | None:
        """Notebook view: the HTML fragment of the report (escaped) with its style sheet, from
        the renderer :mod:`didstudy.report.tables.to_html` registers (None before it is loaded;
        the notebook then shows the plain repr)."""
        render = NOTEBOOK_RENDERERS.get("html")
        return None if render is None else render(self)


#: Notebook renderers by format (``"html"``), registered by the renderer modules so that the
#: model never imports them (:mod:`didstudy.report.tables.to_html` registers ``"html"``).
NOTEBOOK_RENDERERS: dict[str, Callable[[Table], str]] = {}
