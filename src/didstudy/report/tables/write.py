"""Render a :class:`~didstudy.report.tables.model.Table` in any format and write it atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from didstudy.errors import DidstudyError
from didstudy.report.atomic import atomic_write_bytes
from didstudy.report.tables.layout import PageSpec
from didstudy.report.tables.model import Table
from didstudy.report.tables.to_docx import table_to_docx, tables_to_docx
from didstudy.report.tables.to_html import table_to_html_document
from didstudy.report.tables.to_latex import table_to_latex
from didstudy.report.tables.to_text import table_to_csv, table_to_markdown
from didstudy.report.tables.to_xlsx import table_to_xlsx, tables_to_xlsx

__all__ = ["TABLE_FORMATS", "render_table", "write_table", "write_tables"]

TABLE_FORMATS: tuple[str, ...] = ("tex", "docx", "xlsx", "html", "md", "csv")

_RENDERERS: Mapping[str, Callable[[Table], bytes]] = {
    "tex": lambda t: table_to_latex(t).encode("utf-8"),
    "md": lambda t: table_to_markdown(t).encode("utf-8"),
    "csv": lambda t: table_to_csv(t).encode("utf-8-sig"),
    "html": lambda t: table_to_html_document(t).encode("utf-8"),
    "docx": table_to_docx,
    "xlsx": table_to_xlsx,
}
# formats set on a page (layout.PageSpec): paper size, orientation, font, fitting
_PAGED: Mapping[str, Callable[[Table, PageSpec], bytes]] = {
    "tex": lambda t, page: table_to_latex(t, page=page).encode("utf-8"),
    "docx": lambda t, page: table_to_docx(t, page=page),
}
_MANY: Mapping[str, Callable[[Sequence[Table]], bytes]] = {
    "docx": tables_to_docx,
    "xlsx": tables_to_xlsx,
}


def _check(fmt: str, allowed: Sequence[str]) -> str:
    key = fmt.lower().lstrip(".")
    key = {"latex": "tex", "markdown": "md", "word": "docx", "excel": "xlsx"}.get(key, key)
    if key not in allowed:
        raise DidstudyError(f"unknown table format {fmt!r}", fix=f"use one of {', '.join(allowed)}")
    return key


def _render(table: Table, key: str, page: PageSpec | None) -> bytes:
    if page is not None and key in _PAGED:
        return _PAGED[key](table, page)
    return _RENDERERS[key](table)


def render_table(table: Table, fmt: str, page: PageSpec | None = None) -> bytes:
    """The file content of ``table`` in format ``fmt`` (``tex``, ``docx``, ``xlsx``, ``html``,
    ``md``, ``csv``). Text formats are UTF-8 (CSV with a byte-order mark, for Excel). LaTeX and
    Word are fitted to ``page`` (default: A4 for Chinese, Letter for English)."""
    return _render(table, _check(fmt, TABLE_FORMATS), page)


def write_table(
    table: Table,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = TABLE_FORMATS,
    page: PageSpec | None = None,
) -> dict[str, Path]:
    """Write ``<path_stem>.<fmt>`` for every format, each atomically.

    Parameters
    ----------
    table
        A table from any builder (:func:`didstudy.regression_table`, ...).
    path_stem
        Path without suffix; the directory is created.
    formats
        Any of ``tex``, ``docx``, ``xlsx``, ``html``, ``md``, ``csv`` (Word and Excel need the
        ``didstudy[office]`` extra).
    page
        The page LaTeX and Word tables are fitted to (:mod:`didstudy.report.tables.layout`;
        default: A4 for Chinese tables, Letter for English ones).

    Returns
    -------
    dict of str to Path
        The file written for each format.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> table = ds.regression_table({"TWFE": ds.twfe(panel, "y", "treat")})
    >>> paths = ds.write_table(table, "out/table3", formats=("md", "csv"))
    >>> sorted(paths)
    ['csv', 'md']
    """
    stem = Path(path_stem)
    if stem.suffix.lstrip(".") in TABLE_FORMATS:
        stem = stem.with_suffix("")
    written: dict[str, Path] = {}
    for fmt in formats:
        key = _check(fmt, TABLE_FORMATS)
        path = stem.with_name(f"{stem.name}.{key}")
        written[key] = atomic_write_bytes(path, _render(table, key, page))
    return written


def write_tables(
    tables: Sequence[Table],
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = ("docx", "xlsx"),
) -> dict[str, Path]:
    """Write all ``tables`` into one Word document and/or one workbook (a sheet per table)."""
    stem = Path(path_stem)
    written: dict[str, Path] = {}
    for fmt in formats:
        key = _check(fmt, tuple(_MANY))
        written[key] = atomic_write_bytes(
            stem.with_name(f"{stem.name}.{key}"), _MANY[key](list(tables))
        )
    return written
