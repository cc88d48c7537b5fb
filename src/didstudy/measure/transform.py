"""Winsorising and trimming like Stata's ``winsor2`` (Lian 2014, SSC), pooled or by group.

Percentiles follow Stata's default definition (``_pctile``, ``egen pctile()``, ``summarize,
detail``; Stata manual [D] pctile, Methods and formulas): with the values sorted,
``x_(1) ≤ … ≤ x_(n)``, and ``P = n p / 100``, ``i = floor(P)``::

    x_[p] = (x_(i) + x_(i+1)) / 2    if P is an integer
    x_[p] = x_(i+1)                  otherwise

This is Hyndman & Fan (1996) type 2, numpy's ``method="averaged_inverted_cdf"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.gini import FloatArray, IntArray

__all__ = ["WinsorizeResult", "stata_percentiles", "winsorize"]


def stata_percentiles(
    sorted_values: FloatArray, starts: IntArray, counts: IntArray, p: float
) -> FloatArray:
    """Stata's default p-th percentile of each contiguous sorted segment.

    Parameters
    ----------
    sorted_values
        Values sorted ascending within each segment (no NaN).
    starts, counts
        Start position and length of each segment.
    p
        Percentile in (0, 100).

    Returns
    -------
    numpy.ndarray
        One percentile per segment (NaN for empty segments).
    """
    out = np.full(counts.shape[0], np.nan)
    ok = counts > 0
    n = counts[ok].astype(np.float64)
    P = n * p / 100.0
    i = np.floor(P).astype(np.int64)
    exact = i == P
    upper = np.minimum(i, counts[ok] - 1)  # 0-based index of x_(i+1)
    lower = np.maximum(i - 1, 0)  # 0-based index of x_(i)
    s = starts[ok]
    above = sorted_values[s + upper]
    mean_pair = (sorted_values[s + lower] + above) / 2.0
    out[ok] = np.where(exact & (i > 0), mean_pair, above)
    return out


@dataclass(frozen=True)
class WinsorizeResult:
    """Winsorised (or trimmed) copy of the data plus a report (immutable; unpacks as a pair).

    Attributes
    ----------
    frame
        A new DataFrame (the caller's is never changed).
    report
        One row per column (and ``by`` group): ``column, [by...], n, lower, upper, n_low, n_high,
        n_changed`` (values below ``lower`` / above ``upper``; trimmed values become NaN).
    cuts, trim, by
        The arguments.
    """

    frame: pd.DataFrame
    report: pd.DataFrame
    cuts: tuple[float, float]
    trim: bool
    by: tuple[str, ...]

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.frame, self.report))

    def to_dict(self) -> dict[str, Any]:
        from didstudy.measure.dagum import _records

        return {
            "kind": "trim" if self.trim else "winsorize",
            "cuts": list(self.cuts),
            "by": list(self.by),
            "report": _records(self.report),
        }


def _cut_points(cuts: Any) -> tuple[float, float]:
    try:
        low, high = (float(cuts[0]), float(cuts[1]))
    except (TypeError, ValueError, IndexError) as exc:
        raise DidstudyError(
            f"cuts must be two numbers, got {cuts!r}", fix="e.g. cuts=(1, 99)"
        ) from exc
    if not (0 <= low <= high <= 100):
        raise DidstudyError(
            f"cuts must satisfy 0 <= low <= high <= 100, got {cuts!r}", fix="e.g. cuts=(1, 99)"
        )
    return low, high


def _group_codes(data: pd.DataFrame, by_cols: Sequence[str]) -> tuple[Any, pd.Index]:
    """Group codes of the rows (one group without ``by``) and the group labels."""
    if not by_cols:
        return np.zeros(len(data), dtype=np.intp), pd.Index(["all"])
    key = pd.MultiIndex.from_frame(data[list(by_cols)]) if len(by_cols) > 1 else data[by_cols[0]]
    codes, uniques = pd.factorize(key, sort=True)
    if (codes < 0).any():
        raise DataError(
            "missing values in the by() columns",
            column=", ".join(by_cols),
            rows=list(data.index[codes < 0][:20]),
            fix="fill or drop rows with a missing group",
        )
    return codes, uniques


def _finite_column(data: pd.DataFrame, col: str) -> FloatArray:
    """A numeric column as float64 (missing as NaN); infinities are an error."""
    series = data[col]
    if not (pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == bool):
        raise DataError(
            "cannot winsorise a non-numeric column",
            column=col,
            fix="convert it to numbers first (pandas.to_numeric)",
        )
    x: FloatArray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(x).any():
        raise DataError(
            "infinite values",
            column=col,
            rows=list(data.index[np.isinf(x)][:20]),
            fix="replace infinities by NaN or finite values",
        )
    return x


def _winsorize_column(
    x: FloatArray,
    codes: Any,
    n_groups: int,
    low: float,
    high: float,
    trim: bool,
) -> tuple[FloatArray, pd.DataFrame]:
    """Winsorised (or trimmed) values and the per-group report (cuts and counts)."""
    valid = ~np.isnan(x)
    g = codes[valid].astype(np.intp)
    xv = x[valid]
    order = np.lexsort((xv, g))
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
    xs = xv[order]
    lower = stata_percentiles(xs, starts, counts, low) if low > 0 else np.full(n_groups, -np.inf)
    upper = stata_percentiles(xs, starts, counts, high) if high < 100 else np.full(n_groups, np.inf)
    lo_row = np.full(x.shape[0], -np.inf)
    hi_row = np.full(x.shape[0], np.inf)
    lo_row[valid] = lower[g]
    hi_row[valid] = upper[g]
    below = valid & (x < lo_row)
    above = valid & (x > hi_row)
    if trim:
        new = np.where(below | above, np.nan, x)
    else:
        new = np.where(below, lo_row, np.where(above, hi_row, x))
    rep = pd.DataFrame(
        {
            "n": counts.astype(np.int64),
            "lower": np.where(np.isfinite(lower), lower, np.nan),
            "upper": np.where(np.isfinite(upper), upper, np.nan),
            "n_low": np.bincount(codes[below], minlength=n_groups).astype(np.int64),
            "n_high": np.bincount(codes[above], minlength=n_groups).astype(np.int64),
        }
    )
    rep["n_changed"] = rep["n_low"] + rep["n_high"]
    return new, rep


def winsorize(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    cuts: tuple[float, float] = (1, 99),
    by: str | Sequence[str] | None = None,
    trim: bool = False,
    suffix: str | None = None,
    replace: bool = False,
) -> WinsorizeResult:
    """Winsorise (or trim) columns at percentiles, pooled or within groups, like ``winsor2``.

    Parameters
    ----------
    data
        The table (not modified).
    columns
        Numeric column(s).
    cuts
        Lower and upper percentiles, ``0 ≤ low ≤ high ≤ 100`` (Stata ``cuts(1 99)``); 0 or 100
        means no cut on that side.
    by
        Optional group column(s): percentiles are computed within each group (e.g. by year).
    trim
        Set values outside the cut-offs to NaN instead of replacing them by the cut-offs.
    suffix
        Name suffix of the new columns (default ``"_w"``, or ``"_tr"`` when trimming), ignored
        with ``replace=True``.
    replace
        Overwrite the columns instead of adding new ones.

    Returns
    -------
    WinsorizeResult
        ``frame, report = winsorize(...)`` works too.

    Notes
    -----
    Values strictly below the lower percentile (above the upper) are changed, as in ``winsor2``
    (``replace x = p1 if x < p1``). Missing values stay missing and are not counted in ``n``.
    Percentiles use Stata's default definition (module docstring).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError("data must be a pandas DataFrame")
    cols = [columns] if isinstance(columns, str) else list(columns)
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    low, high = _cut_points(cuts)
    for col in (*cols, *by_cols):
        if col not in data.columns:
            raise DataError("column not in the data", column=col)
    out = data.copy()
    codes, uniques = _group_codes(data, by_cols)
    tag = suffix if suffix is not None else ("_tr" if trim else "_w")
    reports = []
    for col in cols:
        x = _finite_column(data, col)
        new, rep = _winsorize_column(x, codes, len(uniques), low, high, trim)
        out[col if replace else f"{col}{tag}"] = pd.Series(new, index=data.index)
        rep.insert(0, "column", col)
        if by_cols:
            labels = uniques.to_frame(index=False) if len(by_cols) > 1 else None
            if labels is None:
                rep.insert(1, by_cols[0], list(uniques))
            else:
                labels.columns = by_cols
                for i, name in enumerate(by_cols):
                    rep.insert(1 + i, name, labels[name].to_numpy())
        reports.append(rep)
    report = pd.concat(reports, ignore_index=True)
    return WinsorizeResult(out, report, (low, high), trim, tuple(by_cols))
