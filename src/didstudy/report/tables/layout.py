"""Tables that fit the page: paper size, orientation, font size and automatic fitting.

A :class:`PageSpec` states the page a table is printed on (A4 by default for Chinese tables,
US Letter for English ones; margins; landscape; body font size). :func:`fit_table` decides how a
:class:`~didstudy.report.tables.model.Table` is set so that it fits the text width:

1. as it is, when its estimated width fits;
2. ``"shrink"``: a smaller font (down to :data:`MIN_FONT_PT`) and narrower column gaps;
3. ``"split"``: the columns are split into panels (Panel A, Panel B, ...) that repeat the stub
   column, each fitting at the page's font — the way journals print wide tables;
4. ``"resize"``: the whole table scaled down to the text width (LaTeX ``\\resizebox``).

``fit="auto"`` tries shrinking first, then splitting, then resizing. The width estimate is
deliberately conservative (every glyph is given its widest plausible advance: CJK characters one
em, capitals 0.72 em, other characters 0.5 em), so a table that fits by the estimate fits when
compiled; tests check this with XeLaTeX/pdflatex when a TeX engine is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Literal

from didstudy.errors import DidstudyError
from didstudy.report.tables.model import Cell, Row, Table

__all__ = [
    "MIN_FONT_PT",
    "PAPER_MM",
    "Fit",
    "FitMode",
    "PageSpec",
    "default_page",
    "estimate_width_pt",
    "fit_table",
    "split_columns",
    "text_width_em",
]

FitMode = Literal["auto", "shrink", "split", "resize", "none"]

PAPER_MM: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
PT_PER_MM = 72.27 / 25.4  # TeX points
MIN_FONT_PT = 8.0  # the smallest font journals accept in tables (footnotesize of 10 pt)
_FONT_STEPS = (10.5, 10.0, 9.0, 8.0)
_COLSEP_STEPS = (6.0, 4.0, 3.0)  # LaTeX \tabcolsep candidates (default 6 pt)
_PANEL_LETTERS = "ABCDEFGHIJ"
STUB_SHARE = 0.28  # row labels longer than this share of the text width wrap onto two lines
TEXT_SHARE = 0.5  # a text column (definitions) longer than this share wraps


@dataclass(frozen=True)
class PageSpec:
    """The page tables are printed on.

    Attributes
    ----------
    paper
        ``"a4"`` or ``"letter"``.
    landscape
        Turn the page (LaTeX ``sidewaystable``; Word section orientation).
    margin_mm
        Left and right margins.
    font_pt
        Body font size of the table (Chinese journals: 10.5 pt, 五号).
    fit
        How a table wider than the text is made to fit (module docstring).

    Examples
    --------
    >>> round(PageSpec("a4").text_width_pt)
    455
    """

    paper: str = "a4"
    landscape: bool = False
    margin_mm: float = 25.0
    font_pt: float = 10.5
    fit: FitMode = "auto"

    def __post_init__(self) -> None:
        if self.paper not in PAPER_MM:
            raise DidstudyError(
                f"unknown paper size {self.paper!r}", fix=f"use one of {', '.join(PAPER_MM)}"
            )
        if not MIN_FONT_PT <= self.font_pt <= 14:
            raise DidstudyError(
                f"table font size {self.font_pt} pt is outside [{MIN_FONT_PT}, 14]",
                fix="use e.g. 10.5 (五号) or 9",
            )
        if not 5 <= self.margin_mm <= 60:
            raise DidstudyError(f"margin {self.margin_mm} mm outside [5, 60]", fix="use 25")

    @property
    def text_width_pt(self) -> float:
        """Width available for a table: paper width (height if landscape) less both margins."""
        width, height = PAPER_MM[self.paper]
        across = height if self.landscape else width
        return (across - 2 * self.margin_mm) * PT_PER_MM


def default_page(lang: str) -> PageSpec:
    """A4 and 10.5 pt (五号) for Chinese, US Letter and 10 pt for English."""
    return PageSpec("a4", font_pt=10.5) if lang == "zh" else PageSpec("letter", font_pt=10.0)


def text_width_em(text: str) -> float:
    """Conservative printed width of ``text`` in em (see the module docstring)."""
    width = 0.0
    for ch in text:
        code = ord(ch)
        if code >= 0x2E80 or 0xFF00 <= code <= 0xFFEF:
            width += 1.0
        elif ch.isupper() or ch in "%&@×≥≤—":
            width += 0.72
        elif ch == " ":
            width += 0.33
        else:
            width += 0.5
    return width


def _column_widths_em(table: Table) -> list[float]:
    widths = [0.0] * table.n_cols
    spans: list[tuple[int, int, float]] = []
    for row in table.header + table.body:
        for col, cell in row.positions():
            em = text_width_em(cell.text)
            if cell.colspan == 1:
                widths[col] = max(widths[col], em)
            else:
                spans.append((col, cell.colspan, em))
    for col, span, em in spans:  # a spanning label wider than its columns widens them evenly
        have = sum(widths[col : col + span])
        if em > have:
            for c in range(col, col + span):
                widths[c] += (em - have) / span
    return widths


def estimate_width_pt(
    table: Table,
    font_pt: float,
    colsep_pt: float = 6.0,
    wrap: Sequence[tuple[int, float]] = (),
) -> float:
    """Estimated width of ``table`` set in ``font_pt`` with ``colsep_pt`` either side of a column.

    ``wrap`` holds ``(column, width in pt)`` of paragraph columns (text wraps inside them).

    Examples
    --------
    >>> t = Table("c", header=(Row.of(["", "(1)"]),), body=(Row.of(["x", "1.0"]),))
    >>> estimate_width_pt(t, 10.0, 6.0)
    44.0
    """
    fixed = dict(wrap)
    return sum(
        min(w * font_pt, fixed.get(col, float("inf"))) + 2 * colsep_pt
        for col, w in enumerate(_column_widths_em(table))
    )


def _wrap_columns(table: Table, font_pt: float, width: float) -> tuple[tuple[int, float], ...]:
    """Paragraph columns for text too long for one line: the stub beyond
    :data:`STUB_SHARE` of the text width, a text column beyond :data:`TEXT_SHARE` of it."""
    out = []
    for col, em in enumerate(_column_widths_em(table)):
        cap = (STUB_SHARE if col == 0 else TEXT_SHARE) * width
        if em * font_pt > cap:
            out.append((col, round(cap, 1)))
    return tuple(out)


@dataclass(frozen=True)
class Fit:
    """How a table is set on a page: font, column gap, scale and panels.

    ``panels`` is one table (the input) when no split was needed; ``scale`` < 1 means the
    renderer scales the table down (LaTeX ``\\resizebox``); ``wrap`` lists paragraph columns
    ``(column, width in pt)`` whose text wraps.
    """

    page: PageSpec
    font_pt: float
    colsep_pt: float
    scale: float
    panels: tuple[Table, ...]
    width_pt: float
    wrap: tuple[tuple[int, float], ...] = ()

    @property
    def changed(self) -> bool:
        """True when the table is not set as-is at the page's font."""
        return (
            self.font_pt != self.page.font_pt
            or self.colsep_pt != _COLSEP_STEPS[0]
            or self.scale < 1.0
            or len(self.panels) > 1
            or bool(self.wrap)
        )


def _cuts(table: Table) -> set[int]:
    """Columns a panel may start at: not inside any spanning cell."""
    allowed = set(range(1, table.n_cols))
    for row in table.header + table.body:
        for col, cell in row.positions():
            allowed -= set(range(col + 1, col + cell.colspan))
    return allowed


def split_columns(table: Table, starts: Sequence[int], lang: str | None = None) -> list[Table]:
    """Split ``table`` into panels at the data columns ``starts`` (each panel repeats column 0).

    Coefficient rows (and their statistic rows) blank in all of a panel's columns are left out
    of that panel; other rows are kept. Notes go to the last panel. Panels are named
    ``<name>_panel_a`` ... and captioned ``Panel A`` (``面板 A``).
    """
    bounds = [1, *sorted(set(starts)), table.n_cols]
    if any(b not in _cuts(table) for b in bounds[1:-1]):
        raise DidstudyError(
            f"table {table.name!r} cannot be split at columns {list(starts)}: a spanning "
            "header crosses the cut",
            fix="split at the start of a column group",
        )
    code = lang or table.lang
    panels: list[Table] = []
    for i, (lo, hi) in enumerate(pairwise(bounds)):

        def cut(row: Row, lo: int = lo, hi: int = hi) -> Row:
            cells = [c for col, c in row.positions() if col == 0 or lo <= col < hi]
            return replace(row, cells=tuple(cells))

        letter = _PANEL_LETTERS[i]
        label = f"面板 {letter}" if code == "zh" else f"Panel {letter}"
        panels.append(
            Table(
                caption=f"{table.caption}（{label}）"
                if code == "zh"
                else f"{table.caption} ({label})",
                header=tuple(cut(r) for r in table.header),
                body=tuple(
                    r
                    for r in map(cut, table.body)
                    if r.kind not in ("coef", "stat") or any(c.text for c in r.cells[1:])
                ),
                notes=table.notes if i == len(bounds) - 2 else (),
                number=table.number,
                title=f"{table.title}（{label}）" if code == "zh" else f"{table.title} ({label})",
                name=f"{table.name}_panel_{letter.lower()}",
                lang=table.lang,
            )
        )
    return panels


def _split_to_fit(table: Table, font_pt: float, colsep: float, width: float) -> list[int] | None:
    """Greedy panel starts so every panel fits; ``None`` if one column group alone is too wide."""
    em = _column_widths_em(table)
    stub = min(em[0] * font_pt, STUB_SHARE * width) + 2 * colsep
    allowed = sorted(_cuts(table))
    starts: list[int] = []
    used = stub
    last_cut = 1
    for col in range(1, table.n_cols):
        if col in allowed:
            last_cut = col
        used += em[col] * font_pt + 2 * colsep
        if used > width:
            if last_cut <= (starts[-1] if starts else 1):
                return None
            starts.append(last_cut)
            used = stub + sum(e * font_pt + 2 * colsep for e in em[last_cut : col + 1])
            if used > width:
                return None
    return starts


def fit_table(table: Table, page: PageSpec | None = None) -> Fit:
    """Decide how ``table`` is set on ``page`` (default: :func:`default_page` of its language).

    Examples
    --------
    >>> t = Table("c", header=(Row.of(["", "(1)"]),), body=(Row.of(["x", "1.0"]),))
    >>> fit_table(t).changed
    False
    """
    page = page or default_page(table.lang)
    width = page.text_width_pt
    natural = estimate_width_pt(table, page.font_pt, _COLSEP_STEPS[0])
    if natural <= width or page.fit == "none":
        return Fit(page, page.font_pt, _COLSEP_STEPS[0], 1.0, (table,), natural)
    if page.fit in ("auto", "shrink"):
        for font in (f for f in _FONT_STEPS if f <= page.font_pt):
            wrap = _wrap_columns(table, font, width)
            for colsep in _COLSEP_STEPS:
                est = estimate_width_pt(table, font, colsep, wrap)
                if est <= width:
                    return Fit(page, font, colsep, 1.0, (table,), est, wrap)
    if page.fit in ("auto", "split"):
        starts = _split_to_fit(table, page.font_pt, _COLSEP_STEPS[0], width)
        if starts:
            panels = tuple(split_columns(table, starts))
            # panels renumber the data columns: only the stub (column 0 in every panel) wraps
            wrap = tuple(w for w in _wrap_columns(table, page.font_pt, width) if w[0] == 0)
            est = max(estimate_width_pt(p, page.font_pt, wrap=wrap) for p in panels)
            return Fit(page, page.font_pt, _COLSEP_STEPS[0], 1.0, panels, est, wrap)
    wrap = _wrap_columns(table, MIN_FONT_PT, width)
    small = estimate_width_pt(table, MIN_FONT_PT, _COLSEP_STEPS[-1], wrap)
    scale = min(1.0, width / small)
    return Fit(page, MIN_FONT_PT, _COLSEP_STEPS[-1], scale, (table,), small * scale, wrap)


def group_row(texts: Sequence[tuple[str, int]]) -> Row:
    """A header row of spanning group labels ``[(text, span), ...]`` (first = the stub)."""
    return Row(tuple(Cell(t, colspan=s) for t, s in texts), kind="group")
