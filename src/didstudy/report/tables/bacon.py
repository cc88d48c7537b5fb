"""Goodman-Bacon decomposition summary (reference study Table 4).

One row per comparison type: the weight-averaged 2×2 estimate and the total weight, plus a total
row whose estimate is the weighted sum (the TWFE coefficient, Goodman-Bacon 2021, eq. 10-11)
and whose weight is the sum of weights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import DataError
from didstudy.report.labels import normalize_lang, text, title
from didstudy.report.tables.format import fmt_count, fmt_number
from didstudy.report.tables.model import Row, Table

__all__ = ["bacon_table", "bacon_type_key"]

_TYPE_COLUMNS = ("type", "comparison", "group", "term")
_ESTIMATE_COLUMNS = ("estimate", "avg_estimate", "beta", "avg_est", "coef")
_WEIGHT_COLUMNS = ("weight", "total_weight", "weights")
_COUNT_COLUMNS = ("n_comparisons", "count", "n")

# canonical key -> spellings of R bacondecomp, Stata bacondecomp and others (lower, alnum only)
_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "timing": ("timing", "timinggroups", "timinggroup", "bothtreated", "treatedvstreated"),
    "earlier_vs_later": ("earliervslatertreated", "earliervslater", "earliervlater"),
    "later_vs_earlier": ("latervsearliertreated", "latervsearlier", "latervearlier"),
    "never_vs_timing": (
        "nevervstiming",
        "nevervtiming",
        "treatedvsuntreated",
        "treatedvsnevertreated",
        "nevertreatedvstiming",
        "untreated",
    ),
    "always_vs_timing": (
        "alwaysvstiming",
        "alwaysvtiming",
        "treatedvsalreadytreated",
        "latervsalwaystreated",
        "latervsalways",
    ),
    "within": ("within", "withinmixed", "between"),
}


def bacon_type_key(value: str) -> str | None:
    """Canonical comparison type of a label (``"Never_v_timing"`` -> ``"never_vs_timing"``)."""
    squashed = re.sub(r"[^0-9a-z]", "", str(value).lower())
    for key, aliases in _TYPE_ALIASES.items():
        if squashed == re.sub(r"[^0-9a-z]", "", key) or squashed in aliases:
            return key
    return None


def _pick(frame: pd.DataFrame, options: Sequence[str], what: str) -> str:
    for column in options:
        if column in frame.columns:
            return column
    raise DataError(
        f"the Bacon summary has no {what} column (looked for {', '.join(options)}); "
        f"it has {', '.join(map(str, frame.columns))}",
        fix=f"name the {what} column {options[0]!r}",
    )


def _as_frame(summary: Any) -> pd.DataFrame:
    if isinstance(summary, pd.DataFrame):
        return summary
    if hasattr(summary, "summary"):
        return _as_frame(summary.summary())
    if hasattr(summary, "tidy"):
        return pd.DataFrame(summary.tidy())
    return pd.DataFrame(summary)


def bacon_table(
    summary: pd.DataFrame | Any,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    digits: int = 4,
    total: bool = True,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "bacon",
    notes: Sequence[str] | None = None,
) -> Table:
    """Table of the Goodman-Bacon decomposition by comparison type.

    Parameters
    ----------
    summary
        A frame with a type column (``type``/``comparison``), the average estimate
        (``estimate``/``avg_estimate``/``beta``) and the total weight (``weight``/
        ``total_weight``), optionally the number of 2×2 comparisons (``n_comparisons``);
        or an object with ``summary()`` returning one.
    labels
        ``{type: label}`` overriding the built-in labels of known types (R/Stata spellings).
    total
        Append the weighted-sum row (the TWFE estimate) and the sum of weights.
    lang
        ``"zh"`` or ``"en"``: caption, row labels and note.
    digits
        Decimal places of the weights and average estimates.
    caption, number, name
        Caption without its number (default: the built-in caption of ``lang``), the printed
        table number (``3`` or ``"5a"``) and the file-name key of the table
        (default ``"bacon"``).
    notes
        Lines under the table (default: the built-in note when ``total``, else none).

    Returns
    -------
    Table
        One row per comparison type (weight, average 2x2 estimate), optionally a total row.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> table = ds.bacon_table(ds.bacon(panel, "y", "treat"), lang="zh")
    """
    code = normalize_lang(lang)
    frame = _as_frame(summary)
    type_col = _pick(frame, _TYPE_COLUMNS, "comparison type")
    est_col = _pick(frame, _ESTIMATE_COLUMNS, "average estimate")
    weight_col = _pick(frame, _WEIGHT_COLUMNS, "weight")
    count_col = next((c for c in _COUNT_COLUMNS if c in frame.columns), None)
    estimates = pd.to_numeric(frame[est_col], errors="coerce").to_numpy(dtype=float)
    weights = pd.to_numeric(frame[weight_col], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(estimates) | np.isnan(weights)).tolist()
    if bad:
        raise DataError(
            "the Bacon summary has missing or non-numeric estimates or weights",
            column=weight_col if np.isnan(weights).any() else est_col,
            rows=bad,
            fix="drop comparison types without 2×2 comparisons",
        )
    header_cells = [text("bacon_type", code), text("bacon_estimate", code)]
    header_cells.append(text("bacon_weight", code))
    if count_col is not None:
        header_cells.append(text("bacon_count", code))
    body = []
    for i, raw in enumerate(frame[type_col].astype(str)):
        key = bacon_type_key(raw)
        if labels and raw in labels:
            label = labels[raw]
        elif key is not None:
            label = text(f"bacon_{key}", code)
        else:
            label = raw
        cells = [label, fmt_number(estimates[i], digits), fmt_number(weights[i], digits)]
        if count_col is not None:
            cells.append(fmt_count(frame[count_col].iloc[i]))
        body.append(Row.of(cells, "summary"))
    if total:
        weighted = float(np.sum(estimates * weights) / np.sum(weights))
        cells = [text("bacon_total", code), fmt_number(weighted, digits)]
        cells.append(fmt_number(float(np.sum(weights)), digits))
        if count_col is not None:
            cells.append(fmt_count(pd.to_numeric(frame[count_col]).sum()))
        body.append(Row.of(cells, "summary", rule_above=True))
    caption = caption if caption is not None else text("caption_bacon", code)
    if notes is None:
        notes = (text("note_prefix", code) + text("note_bacon", code),) if total else ()
    return Table(
        caption=caption,
        header=(Row.of(header_cells, "header"),),
        body=tuple(body),
        notes=tuple(notes),
        number=None if number is None else str(number),
        title=title(caption, code, number),
        name=name,
        lang=code,
    )
