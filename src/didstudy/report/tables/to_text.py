"""Plain-text renderers: Markdown pipe tables and CSV."""

from __future__ import annotations

import csv
import io

from didstudy.report.escape import markdown_text, spreadsheet_text
from didstudy.report.tables.model import Table

__all__ = ["table_to_csv", "table_to_markdown"]

_MD_ALIGN = {"left": ":---", "center": ":---:", "right": "---:"}


def _md_escape(value: str) -> str:
    return markdown_text(value)


def table_to_markdown(table: Table) -> str:
    """A Markdown pipe table: bold title, one row per table row, notes as paragraphs.

    Markdown has one header row and no spans: the first header row is the Markdown header, any
    further header rows follow as the first rows; a spanning cell's text sits in its first
    column. Every text is literal (:func:`didstudy.report.escape.markdown_text`): stars print
    as stars, labels cannot carry raw HTML, links or headings.
    """
    grid = table.grid()
    lines = [f"**{_md_escape(table.title)}**", ""]
    aligns = ["left", *(["center"] * (table.n_cols - 1))]
    for i, row in enumerate(grid):
        lines.append("| " + " | ".join(_md_escape(t) for t in row) + " |")
        if i == 0:
            lines.append("| " + " | ".join(_MD_ALIGN[a] for a in aligns) + " |")
    for note in table.notes:
        lines += ["", _md_escape(note)]
    return "\n".join(lines) + "\n"


def table_to_csv(table: Table) -> str:
    """The table's cells as CSV (header rows then body rows; spans leave blanks).

    Title and notes are not part of the CSV, which is meant for further processing. Write it
    with ``utf-8-sig`` so that Excel reads Chinese labels correctly. Cells a spreadsheet would
    run as formulas are neutralised (:func:`didstudy.report.escape.spreadsheet_text`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # a bare CR is not quoted with lineterminator "\n": it would start a new row in a reader
    cells = [
        [text.replace("\r\n", "\n").replace("\r", "\n") for text in row] for row in table.grid()
    ]
    writer.writerows([[spreadsheet_text(text) for text in row] for row in cells])
    return buffer.getvalue()
