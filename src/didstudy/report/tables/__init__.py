"""Publication tables: builders produce a format-independent :class:`Table`; renderers print it.

Builders: :func:`definitions_table` (Table 1), :func:`descriptive_table` (Table 2),
:func:`regression_table` (Tables 3, 5-7),
:func:`bacon_table` (Table 4), :func:`balance_table` and :func:`psm_balance_table` (PSM),
:func:`placebo_table`, :func:`dagum_table`.
Renderers: LaTeX, Word, Excel, HTML, Markdown, CSV via :func:`render_table` /
:func:`write_table`.
"""

from __future__ import annotations

from didstudy.report.tables.bacon import bacon_table
from didstudy.report.tables.balance import balance_table
from didstudy.report.tables.dagum import dagum_table
from didstudy.report.tables.definitions import definitions_table
from didstudy.report.tables.descriptive import descriptive_table
from didstudy.report.tables.format import DEFAULT_STARS, Stars
from didstudy.report.tables.model import Cell, Row, Table
from didstudy.report.tables.placebo import placebo_table
from didstudy.report.tables.psm_balance import psm_balance_table
from didstudy.report.tables.regression import regression_table
from didstudy.report.tables.to_html import TABLE_CSS, table_to_html, table_to_html_document
from didstudy.report.tables.to_latex import table_to_latex
from didstudy.report.tables.to_text import table_to_csv, table_to_markdown
from didstudy.report.tables.write import TABLE_FORMATS, render_table, write_table, write_tables

__all__ = [
    "DEFAULT_STARS",
    "TABLE_CSS",
    "TABLE_FORMATS",
    "Cell",
    "Row",
    "Stars",
    "Table",
    "bacon_table",
    "balance_table",
    "dagum_table",
    "definitions_table",
    "descriptive_table",
    "placebo_table",
    "psm_balance_table",
    "regression_table",
    "render_table",
    "table_to_csv",
    "table_to_html",
    "table_to_html_document",
    "table_to_latex",
    "table_to_markdown",
    "write_table",
    "write_tables",
]
