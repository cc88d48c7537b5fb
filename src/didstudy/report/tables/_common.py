"""Helpers shared by the table builders: notes, headers, input checks."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from didstudy.errors import DataError
from didstudy.report.labels import join_list, text
from didstudy.report.tables.format import Stars
from didstudy.report.tables.model import Cell, Row

__all__ = ["default_note", "group_header_row", "require_columns", "safe_name", "sentence"]


def safe_name(value: str) -> str:
    """A file-name and HTML-id safe key: ``"Table 3: baseline"`` -> ``"table-3-baseline"``."""
    key = re.sub(r"[^0-9A-Za-z_-]+", "-", value).strip("-").lower()
    return key or "table"


def sentence(clauses: Sequence[str], lang: str) -> str:
    """Join clauses with the language's clause separator and end with a full stop."""
    body = text("clause_sep", lang).join(c for c in clauses if c)
    return body + text("full_stop", lang) if body else ""


def stars_clause(stars: Stars, lang: str) -> str:
    """``***, ** and * denote significance at the 1%, 5% and 10% levels``."""
    if not stars.levels:
        return ""
    key = "note_stars" if len(stars.levels) > 1 else "note_star_one"
    return text(
        key,
        lang,
        stars=join_list(stars.symbols, lang),
        levels=join_list(stars.percents, lang),
    )


def default_note(stars: Stars, lang: str, statistic_clause: str) -> str:
    """``注：***、**、* 分别表示在 1%、5%、10% 的水平下显著，括号里的数字为标准误。``"""
    body = sentence([stars_clause(stars, lang), statistic_clause], lang)
    return text("note_prefix", lang) + body if body else ""


def group_header_row(groups: Sequence[tuple[str, int]], n_columns: int, table: str) -> Row:
    """A header row of spanning group labels (``PSM-DID | Winsorised | ...``) after a blank stub."""
    total = sum(int(span) for _, span in groups)
    if total != n_columns:
        raise DataError(
            f"table {table!r}: group headers span {total} columns but there are {n_columns}",
            fix="make the spans of `groups` add up to the number of result columns",
        )
    cells = (Cell(str(label), int(span)) for label, span in groups)
    return Row((Cell("", align="left"), *cells), "group")


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what} lacks the column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(str, frame.columns))}",
            column=missing[0],
            fix=f"pass a frame with the columns {', '.join(columns)}",
        )


def first_key(mapping: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None
