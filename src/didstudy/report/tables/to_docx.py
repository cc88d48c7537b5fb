"""Word renderer (python-docx): a real Word table in three-line style with merged header cells.

Rules: 1.5 pt above the header, 0.75 pt under it (and under spanning group headers), 0.5 pt for
``rule_above`` rows, 1.5 pt under the last row; no vertical rules. Latin text in Times New Roman,
Chinese in SimSun (宋体), 10.5 pt (五号).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from didstudy.errors import MissingDependencyError
from didstudy.report.escape import xml_text
from didstudy.report.tables.layout import Fit, PageSpec, default_page, estimate_width_pt, fit_table
from didstudy.report.tables.model import Cell, Row, Table

__all__ = ["table_to_docx", "tables_to_docx"]

_THICK, _MEDIUM, _THIN = 12, 6, 4  # eighths of a point
_TEXT_WIDTH_IN = 6.0  # text width of python-docx's default page (Letter, 1.25 in margins)
_CELL_MARGIN_PT = 5.4  # Word's default left/right cell margin (0.19 cm)


def _docx() -> Any:
    try:
        import docx
    except ImportError as exc:
        raise MissingDependencyError("python-docx", "office", "Writing Word tables") from exc
    return docx


def _set_fonts(document: Any, latin: str, east_asian: str, size_pt: float) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    style = document.styles["Normal"]
    style.font.name = latin
    style.font.size = Pt(size_pt)
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        from docx.oxml import OxmlElement

        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attribute), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _set_borders(cell: Any, edges: dict[str, int]) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge in ("top", "bottom"):
        if edge not in edges:
            continue
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(edges[edge]))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)


def _text_units(value: str) -> int:
    """Printed width in half-em units: CJK characters count two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in value)


def _column_widths(table: Table, fit: Fit | None = None) -> list[Any]:
    """Column widths (EMU): from the longest single-column text at the fitted font (paragraph
    columns at their wrap width), scaled down to the page's text width when wider."""
    from docx.shared import Inches

    if fit is None:  # the historical heuristic (Letter, fixed widths)
        longest = [1] * table.n_cols
        for row in table.header + table.body:
            for col, cell in row.positions():
                if cell.colspan == 1:
                    longest[col] = max(longest[col], _text_units(cell.text))
        inches = [min(max(0.075 * units + 0.2, 0.8), 3.0) for units in longest]
        scale = min(1.0, _TEXT_WIDTH_IN / sum(inches))
        return [Inches(w * scale) for w in inches]
    wrap = dict(fit.wrap)
    widths_pt = []
    for col in range(table.n_cols):
        one = Table(
            "c", header=(), body=tuple(_only(row, col) for row in table.header + table.body)
        )
        natural = estimate_width_pt(one, fit.font_pt, 0.0)
        widths_pt.append(min(natural, wrap.get(col, natural)) + 2 * _CELL_MARGIN_PT)
    scale = min(1.0, fit.page.text_width_pt / sum(widths_pt))
    return [Inches(w * scale / 72.27) for w in widths_pt]


def _only(row: Row, col: int) -> Row:
    text = next((c.text for c0, c in row.positions() if c0 == col and c.colspan == 1), "")
    return Row((Cell(text),))


def _add_table(document: Any, table: Table, fit: Fit | None = None) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    align = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
    }
    caption = document.add_paragraph()
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.keep_with_next = True
    caption.add_run(xml_text(table.title)).bold = True

    rows = table.header + table.body
    word_table = document.add_table(rows=len(rows), cols=table.n_cols)
    word_table.alignment = WD_TABLE_ALIGNMENT.CENTER
    word_table.autofit = False
    widths = _column_widths(table, fit)
    for column, width in zip(word_table.columns, widths, strict=True):
        column.width = width  # <w:gridCol>, read by LibreOffice
    for word_row in word_table.rows:  # <w:tcW>, read by Word
        for word_cell, width in zip(word_row.cells, widths, strict=True):
            word_cell.width = width
    n_header = len(table.header)
    for r, row in enumerate(rows):
        # one lookup per row (table.cell() rescans the whole table); merging a span removes
        # only cells inside it, so the cells further right stay valid
        row_cells = word_table.rows[r].cells
        for col, cell in row.positions():
            target = row_cells[col]
            if cell.colspan > 1:
                target = target.merge(row_cells[col + cell.colspan - 1])
            paragraph = target.paragraphs[0]
            paragraph.text = ""
            run = paragraph.add_run(xml_text(cell.text))
            if fit is not None and fit.font_pt != fit.page.font_pt:
                from docx.shared import Pt

                run.font.size = Pt(fit.font_pt)
            paragraph.alignment = align[cell.align]
            paragraph.paragraph_format.space_after = 0
            paragraph.paragraph_format.space_before = 0
            edges: dict[str, int] = {}
            if r == 0:
                edges["top"] = _THICK
            elif row.rule_above:
                edges["top"] = _THIN
            if r == n_header - 1:
                edges["bottom"] = _MEDIUM
            elif row.kind == "group" and col > 0 and cell.text:
                edges["bottom"] = _THIN
            if r == len(rows) - 1:
                edges["bottom"] = _THICK
            if edges:
                _set_borders(target, edges)
    for note in table.notes:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = 0
        run = paragraph.add_run(xml_text(note))
        from docx.shared import Pt

        run.font.size = Pt(9)


def _set_page(document: Any, page: PageSpec) -> None:
    """Paper size, orientation and margins of the document's (only) section."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    from didstudy.report.tables.layout import PAPER_MM

    width, height = PAPER_MM[page.paper]
    section = document.sections[0]
    if page.landscape:
        width, height = height, width
        section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(width), Mm(height)
    section.left_margin = section.right_margin = Mm(page.margin_mm)


def tables_to_docx(
    tables: Sequence[Table],
    latin_font: str = "Times New Roman",
    east_asian_font: str = "SimSun",
    size_pt: float | None = None,
    page: PageSpec | None = None,
) -> bytes:
    """A Word document (bytes) holding ``tables`` one after another, each with title and notes.

    The page is ``page`` (default: A4 for Chinese tables, Letter for English ones, see
    :mod:`didstudy.report.tables.layout`); every table is fitted to its text width: a smaller
    font, panels of columns, or narrower columns whose text wraps. ``size_pt`` (default: the
    page's font, 10.5 pt = 五号 for Chinese) is the body font size.
    """
    docx = _docx()
    document = docx.Document()
    lang = tables[0].lang if tables else "en"
    page = page or default_page(lang)
    if size_pt is not None:
        from dataclasses import replace

        page = replace(page, font_pt=size_pt)
    _set_page(document, page)
    _set_fonts(document, latin_font, east_asian_font, page.font_pt)
    for i, table in enumerate(tables):
        fit = fit_table(table, page)
        for j, panel in enumerate(fit.panels):
            if i or j:
                document.add_paragraph()
            _add_table(document, panel, fit)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def table_to_docx(table: Table, **options: Any) -> bytes:
    """A Word document (bytes) holding one table; ``options`` as :func:`tables_to_docx`."""
    return tables_to_docx([table], **options)
