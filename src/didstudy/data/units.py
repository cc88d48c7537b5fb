"""Unit identifiers are names: kept as written, and near-duplicates pointed out.

Units literally named ``NA``, ``None`` or ``null`` (a county, a firm code) were turned into missing
values by the readers' default missing-value strings; :func:`text_column_options` makes a reader
keep such columns as text (only an empty cell is missing). Identifiers that differ only in
invisible ways — ``1`` and ``1.0``, ``Alabama`` and ``Alabama `` (trailing space), a zero-width
space, full-width digits, letter case — split one unit into two: :func:`near_duplicate_ids`
finds them for a warning.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = ["near_duplicate_ids", "near_duplicate_message", "text_column_options", "whole_numbers"]

# the strings pandas reads as missing by default (pandas.io.parsers STR_NA_VALUES, pandas 2.x)
DEFAULT_NA = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_WHOLE = re.compile(r"^-?(0|[1-9]\d*)$")
SHOWN_PAIRS = 5


def text_column_options(names: Iterable[object], text: Sequence[str]) -> dict[str, Any]:
    """Reader options keeping the columns ``text`` as written (only empty cells missing)."""
    keep = set(text)
    return {
        "keep_default_na": False,
        "na_values": {str(n): ([""] if str(n) in keep else list(DEFAULT_NA)) for n in names},
        "dtype": {c: str for c in keep},
    }


def whole_numbers(series: pd.Series) -> pd.Series:
    """A text column of canonical whole numbers (``"12"``, not ``"012"`` or ``"1.0"``) as int64;
    any other column unchanged (so numeric ids keep working as before)."""
    values = series.dropna()
    if (
        len(values) == len(series)
        and len(values)
        and values.map(lambda v: isinstance(v, str) and bool(_WHOLE.match(v))).all()
    ):
        return series.astype("int64")
    return series


def _key(value: object) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", str(value))).strip().casefold()
    text = re.sub(r"\s+", " ", text)
    try:
        number = float(text)
    except ValueError:
        return text
    return repr(int(number)) if number.is_integer() else repr(number)


def near_duplicate_ids(values: Iterable[object]) -> list[tuple[str, ...]]:
    """Groups of distinct identifiers that differ only in spacing, invisible characters, width,
    case or number formatting."""
    groups: dict[str, set[str]] = {}
    for value in dict.fromkeys(values):
        if value is None or (isinstance(value, float) and value != value):
            continue
        groups.setdefault(_key(value), set()).add(repr(value) if not isinstance(value, str)
                                                   else value)  # fmt: skip
    return [tuple(sorted(g)) for g in groups.values() if len(g) > 1]


def near_duplicate_message(column: str, groups: list[tuple[str, ...]], origin: str) -> str:
    """A warning naming the groups (shown with ``repr`` so spaces and invisible characters show)."""
    shown = "; ".join(" vs ".join(repr(v) for v in g) for g in groups[:SHOWN_PAIRS])
    more = f" (and {len(groups) - SHOWN_PAIRS} more)" if len(groups) > SHOWN_PAIRS else ""
    return (
        f"{origin}: unit column '{column}' has {len(groups)} group(s) of ids that differ only in "
        f"spaces, invisible characters, case or number format, and count as different units: "
        f"{shown}{more}; clean the column if they are the same unit"
    )
