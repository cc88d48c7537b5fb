"""Gini coefficient kernels on sorted segments, and input checks shared by the inequality measures.

The one kernel everything else builds on is :func:`segment_abs_diff_sums`: for values sorted
within contiguous segments it returns, per segment, the weighted sum over *ordered* pairs
``Σ_a Σ_b w_a w_b |y_a − y_b|`` in O(n) after the sort (Dagum 1997, §1.4 of the methods spec:
``Σ_i Σ_r |x_i − x_r| = 2 Σ_i (2i − m − 1) x_(i)``, generalised to weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import DataError

__all__ = [
    "NegativePolicy",
    "as_values",
    "as_weights",
    "coefficient_of_variation",
    "gini",
    "sd_logs",
    "segment_abs_diff_sums",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
NegativePolicy = Literal["raise", "clip"]
RowLabels = Sequence[object] | pd.Index


def _rows_where(mask: npt.NDArray[np.bool_], index: RowLabels | None) -> list[object]:
    positions = np.flatnonzero(mask)
    if index is None:
        return [int(p) for p in positions[:20]]
    return [index[int(p)] for p in positions[:20]]


def as_values(
    values: object,
    *,
    name: str = "values",
    negative: NegativePolicy = "raise",
    allow_missing: bool = True,
    index: RowLabels | None = None,
) -> FloatArray:
    """Convert ``values`` to a float array, rejecting what would give a silent wrong number.

    Non-numeric input, infinities and (unless ``negative="clip"``) negative values raise
    :class:`~didstudy.errors.DataError`; NaN is kept (the caller drops it and counts it) unless
    ``allow_missing=False``.
    """
    if isinstance(values, pd.Series):
        index = values.index if index is None else index
        series = values
        if not (pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == bool):
            converted = pd.to_numeric(series, errors="coerce")
            bad = converted.isna().to_numpy() & series.notna().to_numpy()
            if bad.any():
                raise DataError(
                    "values must be numeric; found non-numeric entries",
                    column=name,
                    rows=_rows_where(bad, index),
                    fix="convert the column to numbers (e.g. pandas.to_numeric) or drop those rows",
                )
            series = converted
        arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = np.asarray(values)
        if raw.dtype.kind not in "biuf":
            try:
                arr = np.asarray(pd.to_numeric(pd.Series(raw.ravel()), errors="raise"), float)
            except (ValueError, TypeError) as exc:
                raise DataError(
                    f"values must be numeric ({exc})",
                    column=name,
                    fix="pass a numeric array",
                ) from exc
        else:
            arr = raw.astype(np.float64)
    if arr.ndim != 1:
        raise DataError(
            f"values must be one-dimensional, got shape {arr.shape}",
            column=name,
            fix="pass a 1-D array or a Series",
        )
    inf = np.isinf(arr)
    if inf.any():
        raise DataError(
            "values contain infinite entries",
            column=name,
            rows=_rows_where(inf, index),
            fix="replace infinities by finite numbers or NaN",
        )
    if not allow_missing and np.isnan(arr).any():
        raise DataError(
            "values contain missing entries",
            column=name,
            rows=_rows_where(np.isnan(arr), index),
            fix="drop the missing rows first",
        )
    neg = arr < 0
    if neg.any():
        if negative == "clip":
            arr = np.where(neg, 0.0, arr)
        else:
            raise DataError(
                f"a Gini-type measure needs non-negative values; {int(neg.sum())} are negative",
                column=name,
                rows=_rows_where(neg, index),
                fix="pass negative='clip' to set them to 0 (e.g. VIIRS background noise), "
                "or correct the data",
            )
    return arr


def as_weights(weights: object, n: int, *, name: str = "weights") -> FloatArray | None:
    """Validate unit weights: finite and strictly positive (NaN means the unit is dropped)."""
    if weights is None:
        return None
    w = as_values(weights, name=name, negative="raise")
    if w.shape[0] != n:
        raise DataError(
            f"weights have length {w.shape[0]} but there are {n} values",
            column=name,
            fix="pass one weight per unit",
        )
    zero = w == 0
    if zero.any():
        raise DataError(
            "weights must be strictly positive",
            column=name,
            rows=_rows_where(zero, None),
            fix="drop units with zero weight before computing the measure",
        )
    return w


def segment_abs_diff_sums(
    y: FloatArray,
    w: FloatArray | None,
    segment: IntArray,
    n_segments: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-segment weighted sums over ordered pairs of absolute differences.

    Parameters
    ----------
    y
        Values, sorted ascending *within* each segment; segments are contiguous runs.
    w
        Unit weights in the same order, or None (all ones; exact integer ranks are used).
    segment
        Segment code of each row, non-decreasing, in ``0..n_segments-1``.
    n_segments
        Number of segments (empty segments give zeros).

    Returns
    -------
    abs_sums, weight_sums, weighted_value_sums
        ``Σ_{a,b∈s} w_a w_b |y_a − y_b|``, ``Σ_{a∈s} w_a`` and ``Σ_{a∈s} w_a y_a`` per segment.

    Notes
    -----
    With ``W_<(a)`` and ``W_>(a)`` the weight strictly before and after row a in its segment,
    ``Σ_{a,b} w_a w_b |y_a − y_b| = 2 Σ_a w_a y_a (W_<(a) − W_>(a))``; tied values may appear in
    any order because tied pairs contribute zero. Values are centred on the segment mean first,
    which leaves the sum unchanged (``Σ_a w_a (W_< − W_>) = 0``) but avoids cancellation.
    """
    n = y.shape[0]
    if n == 0:
        zeros = np.zeros(n_segments)
        return zeros, zeros.copy(), zeros.copy()
    if w is None:
        counts = np.bincount(segment, minlength=n_segments)
        weight_sums: FloatArray = counts.astype(np.float64)
        value_sums: FloatArray = np.bincount(segment, weights=y, minlength=n_segments).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(counts > 0, value_sums / weight_sums, 0.0)
        # balance = W_<(a) − W_>(a) = 2·rank − (m − 1), rank counted from the segment start
        offset = (np.cumsum(counts) - counts) * 2 + counts - 1
        balance = np.arange(0, 2 * n, 2, dtype=np.float64)
        balance -= offset[segment]
        contrib = y - centre[segment]
        contrib *= balance
    else:
        weight_sums = np.bincount(segment, weights=w, minlength=n_segments).astype(np.float64)
        value_sums = np.bincount(segment, weights=w * y, minlength=n_segments).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(weight_sums > 0, value_sums / weight_sums, 0.0)
        cum = np.cumsum(w, dtype=np.longdouble)
        seg_end = np.cumsum(weight_sums.astype(np.longdouble))
        seg_start = seg_end - weight_sums
        before_l = cum - w - seg_start[segment]
        balance = np.asarray(2.0 * before_l + w - weight_sums[segment], dtype=np.float64)
        contrib = w * (y - centre[segment]) * balance
    abs_sums = 2.0 * np.bincount(segment, weights=contrib, minlength=n_segments)
    return np.maximum(abs_sums, 0.0), weight_sums, value_sums


def _drop_missing(y: FloatArray, w: FloatArray | None) -> tuple[FloatArray, FloatArray | None]:
    keep = ~np.isnan(y)
    if w is not None:
        keep &= ~np.isnan(w)
    if keep.all():
        return y, w
    return y[keep], (None if w is None else w[keep])


def gini(
    values: object,
    weights: object = None,
    *,
    negative: NegativePolicy = "raise",
    missing: Literal["drop", "raise"] = "drop",
) -> float:
    """Gini coefficient with the population (n²) denominator.

    ``G = Σ_a Σ_b w_a w_b |y_a − y_b| / (2 W² ȳ)`` (Dagum 1997, eq. for G; methods spec §1.2),
    the same convention as PySAL ``inequality.gini.Gini`` and Stata ``ineqdeco``.

    Parameters
    ----------
    values
        Non-negative numbers (array or Series).
    weights
        Optional strictly positive unit weights (e.g. population).
    negative
        ``"raise"`` (default) or ``"clip"`` negative values to 0.
    missing
        ``"drop"`` (default) NaN values (and NaN weights) or ``"raise"``.

    Returns
    -------
    float
        The Gini coefficient; NaN when no unit is left or the mean is 0 (undefined).

    Examples
    --------
    >>> gini([1, 2, 3, 4])
    0.25
    """
    y = as_values(values, negative=negative, allow_missing=missing == "drop")
    w = as_weights(weights, y.shape[0])
    y, w = _drop_missing(y, w)
    if y.shape[0] == 0:
        return float("nan")
    if w is None:
        ys = np.sort(y)
        n = ys.shape[0]
        total = float(ys.sum())
        if total <= 0:
            return float("nan")
        # Σ_a Σ_b |y_a − y_b| = 2 Σ_i (2i − n + 1) y_(i) (0-based i), centred for accuracy
        balance = np.arange(1 - n, n, 2, dtype=np.float64)
        return float(2.0 * np.dot(balance, ys - total / n) / (2.0 * n * total))
    order = np.argsort(y)
    ws = w[order]
    s, wsum, ysum = segment_abs_diff_sums(y[order], ws, np.zeros(y.shape[0], dtype=np.intp), 1)
    if ysum[0] <= 0:
        return float("nan")
    return float(s[0] / (2.0 * wsum[0] * ysum[0]))


def coefficient_of_variation(values: object, weights: object = None, *, ddof: int = 0) -> float:
    """Coefficient of variation ``sd / mean`` (population sd by default, ``ddof=0``).

    With weights the weighted mean and ``sqrt(Σ w (y − ȳ)² / (W − ddof))`` are used (``ddof`` only
    makes sense for frequency weights). Returns NaN when the mean is 0.
    """
    y = as_values(values, negative="raise")
    w = as_weights(weights, y.shape[0])
    y, w = _drop_missing(y, w)
    ww = np.ones_like(y) if w is None else w
    total = ww.sum()
    if y.shape[0] == 0 or total - ddof <= 0:
        return float("nan")
    mean = float(np.dot(ww, y) / total)
    var = float(np.dot(ww, (y - mean) ** 2) / (total - ddof))
    return float("nan") if mean == 0 else float(np.sqrt(var) / mean)


def sd_logs(values: object, weights: object = None, *, ddof: int = 0) -> float:
    """Standard deviation of log values (population form by default); needs positive values."""
    y = as_values(values, negative="raise")
    w = as_weights(weights, y.shape[0])
    y, w = _drop_missing(y, w)
    if (y <= 0).any():
        raise DataError(
            "the standard deviation of logs needs strictly positive values",
            column="values",
            rows=[int(i) for i in np.flatnonzero(y <= 0)[:20]],
            fix="drop or shift the zero values, or use the Gini / Theil T instead",
        )
    ww = np.ones_like(y) if w is None else w
    total = ww.sum()
    if y.shape[0] == 0 or total - ddof <= 0:
        return float("nan")
    ly = np.log(y)
    mean = float(np.dot(ww, ly) / total)
    return float(np.sqrt(np.dot(ww, (ly - mean) ** 2) / (total - ddof)))
