"""Descriptive statistics (reference study Table 2): N, mean, SD, min, max per variable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from didstudy.errors import DataError
from didstudy.report.labels import normalize_lang, text, title, variable_label
from didstudy.report.tables._common import require_columns
from didstudy.report.tables.format import fmt_count, fmt_number
from didstudy.report.tables.model import Row, Table

__all__ = ["DESCRIPTIVE_STATISTICS", "descriptive_table"]

DESCRIPTIVE_STATISTICS: tuple[str, ...] = ("n", "mean", "sd", "min", "max")
_ALLOWED = frozenset({"n", "mean", "sd", "min", "max", "median"})


def _summary(values: pd.Series) -> dict[str, float]:
    x = values.to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x)]
    n = x.size
    return {
        "n": float(n),
        "mean": float(x.mean()) if n else np.nan,
        "sd": float(x.std(ddof=1)) if n > 1 else np.nan,
        "min": float(x.min()) if n else np.nan,
        "max": float(x.max()) if n else np.nan,
        "median": float(np.median(x)) if n else np.nan,
    }


def descriptive_table(
    data: pd.DataFrame,
    variables: Sequence[str] | None = None,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    statistics: Sequence[str] = DESCRIPTIVE_STATISTICS,
    digits: int = 3,
    thousands: str | None = None,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "descriptive",
    notes: Sequence[str] = (),
) -> Table:
    """Summary statistics of each variable: N (non-missing), mean, SD (n − 1), min, max.

    Parameters
    ----------
    data
        The analysis sample, one row per observation.
    variables
        Columns to describe, in print order; default every numeric column.
    statistics
        Any of ``n``, ``mean``, ``sd``, ``min``, ``max``, ``median`` in print order.
    digits, thousands
        Decimals of the statistics; thousands separator of N (``None``: ``5480``).
    lang
        ``"zh"`` or ``"en"``: caption, headers and labels.
    labels
        ``{variable: label}``; wins over built-in labels.
    caption, number, name
        Caption without its number (default: the built-in caption of ``lang``), the printed
        table number (``3`` or ``"5a"``) and the file-name key of the table
        (default ``"descriptive"``).
    notes
        Lines under the table (default: none).

    Raises
    ------
    DataError
        When a variable is missing or not numeric (the message names the column).

    Returns
    -------
    Table
        One row per variable with the requested statistics.

    Examples
    --------
    >>> import didstudy as ds
    >>> df = ds.simulate_staggered(seed=1)
    >>> table = ds.descriptive_table(df, ["y", "treat", "x1"], lang="en")
    """
    code = normalize_lang(lang)
    if variables is None:
        variables = [str(c) for c in data.columns if pd.api.types.is_numeric_dtype(data[c])]
    variables = list(variables)
    require_columns(data, variables, "the data of the descriptive table")
    unknown = [s for s in statistics if s not in _ALLOWED]
    if unknown:
        raise DataError(
            f"unknown descriptive statistic(s) {unknown}",
            fix=f"choose from {', '.join(sorted(_ALLOWED))}",
        )
    body = []
    for var in variables:
        column = data[var]
        if pd.api.types.is_bool_dtype(column):
            column = column.astype(float)
        if not pd.api.types.is_numeric_dtype(column):
            raise DataError(
                f"variable {var!r} is not numeric (dtype {column.dtype})",
                column=var,
                fix="convert it to numbers or leave it out of `variables`",
            )
        summary = _summary(column)
        cells = [
            fmt_count(summary[s], thousands) if s == "n" else fmt_number(summary[s], digits)
            for s in statistics
        ]
        body.append(Row.of([variable_label(var, code, labels), *cells], "summary"))
    header = (Row.of([text("variable", code), *(text(s, code) for s in statistics)], "header"),)
    caption = caption if caption is not None else text("caption_descriptive", code)
    return Table(
        caption=caption,
        header=header,
        body=tuple(body),
        notes=tuple(notes),
        number=None if number is None else str(number),
        title=title(caption, code, number),
        name=name,
        lang=code,
    )
