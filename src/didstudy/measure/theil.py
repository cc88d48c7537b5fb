"""Theil indices with the within/between decomposition, and grouped inequality tables.

Theil T (GE(1)) and Theil L (GE(0), mean log deviation) are additively decomposable by subgroups
(Shorrocks 1980, *Econometrica* 48(3): 613–625; Theil 1967)::

    T = Σ_j s_j T_j + Σ_j s_j ln(μ_j / μ)        s_j = W_j μ_j / (W μ)   (value shares)
    L = Σ_j p_j L_j + Σ_j p_j ln(μ / μ_j)        p_j = W_j / W          (population shares)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.dagum import _column, _factorize, _json_float, _records, sort_within_groups
from didstudy.measure.gini import (
    FloatArray,
    IntArray,
    NegativePolicy,
    as_values,
    as_weights,
    segment_abs_diff_sums,
)

__all__ = ["MEASURES", "TheilResult", "inequality_by_group", "theil"]

TheilKind = Literal["T", "L"]
MEASURES: tuple[str, ...] = ("gini", "theil_t", "theil_l", "cv", "sd_log")


@dataclass(frozen=True)
class TheilResult:
    """Theil index and its subgroup decomposition (immutable).

    Attributes
    ----------
    kind
        ``"T"`` (GE(1)) or ``"L"`` (GE(0), mean log deviation).
    total, within, between
        ``total = within + between`` (``within``/``between`` NaN without groups).
    groups
        Per group: ``group, n, weight, mean, p, s, theil, within_contrib`` (None without groups).
    n_units, n_dropped_missing
        Sample description.
    """

    kind: str
    total: float
    within: float
    between: float
    groups: pd.DataFrame | None
    n_units: int
    n_dropped_missing: int

    @property
    def share_within(self) -> float:
        """``100 · within / total`` (percent)."""
        return 100.0 * self.within / self.total if self.total else float("nan")

    @property
    def share_between(self) -> float:
        """``100 · between / total`` (percent)."""
        return 100.0 * self.between / self.total if self.total else float("nan")

    def tidy(self) -> pd.DataFrame:
        terms = [f"theil_{self.kind}", "within", "between", "share_within", "share_between"]
        est = [self.total, self.within, self.between, self.share_within, self.share_between]
        nan = [float("nan")] * len(terms)
        return pd.DataFrame(
            {
                "term": terms,
                "estimate": est,
                "std_error": nan,
                "statistic": nan,
                "p_value": nan,
                "conf_low": nan,
                "conf_high": nan,
            }
        )

    def stats(self) -> dict[str, Any]:
        return {
            "nobs": self.n_units,
            "n_groups": 0 if self.groups is None else len(self.groups),
            "n_dropped_missing": self.n_dropped_missing,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": f"theil_{self.kind}",
            "total": _json_float(self.total),
            "within": _json_float(self.within),
            "between": _json_float(self.between),
            "stats": self.stats(),
            "groups": None if self.groups is None else _records(self.groups),
        }


def _theil_terms(y: FloatArray, mean_of_row: FloatArray, kind: str) -> FloatArray:
    """Per-unit terms ``(y/μ) ln(y/μ)`` (T; 0 at y = 0) or ``ln(μ/y)`` (L)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = y / mean_of_row
        if kind == "T":
            out: FloatArray = np.where(ratio > 0, ratio * np.log(ratio), 0.0)
        else:
            out = np.log(mean_of_row / y)
    return out


def theil(
    values: object,
    groups: object = None,
    kind: TheilKind = "T",
    weights: object = None,
    *,
    negative: NegativePolicy = "raise",
) -> TheilResult:
    """Theil T or L index, decomposed into within- and between-group parts when ``groups`` is given.

    Parameters
    ----------
    values
        Non-negative values (strictly positive for ``kind="L"``); NaN units are dropped.
    groups
        Optional group labels for the decomposition.
    kind
        ``"T"`` (Theil 1967, GE(1); zero values contribute 0) or ``"L"`` (mean log deviation,
        GE(0); zero values raise because ln 0 is undefined).
    weights
        Optional strictly positive unit weights.
    negative
        ``"raise"`` or ``"clip"`` negative values to 0.

    Returns
    -------
    TheilResult

    Notes
    -----
    ``T = (1/W) Σ w_i (y_i/μ) ln(y_i/μ)``, ``L = (1/W) Σ w_i ln(μ/y_i)``; decompositions as in the
    module docstring (Shorrocks 1980). Equal to PySAL ``inequality.theil.TheilD`` for ``T``.

    Examples
    --------
    >>> round(theil([1, 2, 3, 4]).total, 6)
    0.10644
    """
    if kind not in ("T", "L"):
        raise DidstudyError(f"kind must be 'T' or 'L', got {kind!r}", fix="use kind='T' or 'L'")
    y = as_values(values, negative=negative)
    w = as_weights(weights, y.shape[0])
    if groups is None:
        codes: IntArray = np.zeros(y.shape[0], dtype=np.intp)
        labels = pd.Index(["all"])
    else:
        codes, labels = _factorize(groups, "group", None)
        if codes.shape[0] != y.shape[0]:
            raise DataError(
                "values and groups have different lengths",
                column="groups",
                fix="pass one group label per value",
            )
    keep = ~np.isnan(y)
    if w is not None:
        keep &= ~np.isnan(w)
    n_dropped = int((~keep).sum())
    y, codes = y[keep], codes[keep]
    w = None if w is None else w[keep]
    if y.shape[0] == 0:
        raise DataError("no unit with a non-missing value is left", column="values")
    if kind == "L" and (y <= 0).any():
        raise DataError(
            "Theil L (mean log deviation) needs strictly positive values",
            column="values",
            rows=[int(i) for i in np.flatnonzero(y <= 0)[:20]],
            fix="use kind='T', which allows zeros, or drop the zero values",
        )
    ww = np.ones_like(y) if w is None else w
    k = len(labels)
    n_j = np.bincount(codes, minlength=k)
    present = n_j > 0
    W_j = np.bincount(codes, weights=ww, minlength=k).astype(np.float64)
    Y_j = np.bincount(codes, weights=ww * y, minlength=k).astype(np.float64)
    W, Y = float(W_j.sum()), float(Y_j.sum())
    mu = Y / W
    if mu <= 0:
        nan = float("nan")
        return TheilResult(kind, nan, nan, nan, None, int(y.shape[0]), n_dropped)
    total = float(np.dot(ww, _theil_terms(y, np.full_like(y, mu), kind)) / W)
    if groups is None:
        return TheilResult(
            kind, total, float("nan"), float("nan"), None, int(y.shape[0]), n_dropped
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_j = Y_j / W_j
        terms = _theil_terms(y, mu_j[codes], kind)
        theil_j = np.bincount(codes, weights=ww * terms, minlength=k) / W_j
        p_j = W_j / W
        s_j = Y_j / Y
        if kind == "T":
            theil_j = np.where(mu_j > 0, theil_j, np.nan)
            contrib = np.where(mu_j > 0, s_j * theil_j, 0.0)
            between_terms = np.where(mu_j > 0, s_j * np.log(mu_j / mu), 0.0)
        else:
            contrib = p_j * theil_j
            between_terms = p_j * np.log(mu / mu_j)
    idx = np.flatnonzero(present)
    frame = pd.DataFrame(
        {
            "group": pd.Series(labels.take(idx)),
            "n": n_j[idx].astype(np.int64),
            "weight": W_j[idx],
            "mean": mu_j[idx],
            "p": p_j[idx],
            "s": s_j[idx],
            "theil": theil_j[idx],
            "within_contrib": contrib[idx],
        }
    )
    within = float(contrib[idx].sum())
    between = float(between_terms[idx].sum())
    return TheilResult(kind, total, within, between, frame, int(y.shape[0]), n_dropped)


def inequality_by_group(
    data: pd.DataFrame,
    value: str,
    group: str | None = None,
    time: str | None = None,
    measures: Sequence[str] = MEASURES,
    weights: str | None = None,
    min_units: int = 2,
    *,
    negative: NegativePolicy = "raise",
) -> pd.DataFrame:
    """Inequality of ``value`` within every (time, group) cell, all cells in one vectorised pass.

    Parameters
    ----------
    data
        Long DataFrame (or a ``Panel``; its ``.frame`` is used).
    value
        Column of non-negative unit values.
    group, time
        Cell columns; either may be None (e.g. ``group=None`` gives one row per period).
    measures
        Any of ``"gini"`` (n² form), ``"theil_t"``, ``"theil_l"`` (mean log deviation),
        ``"cv"`` (population sd / mean), ``"sd_log"`` (population sd of ln y).
    weights
        Optional column of strictly positive unit weights.
    min_units
        Cells with fewer non-missing units get NaN measures (default 2).
    negative
        ``"raise"`` or ``"clip"`` negative values to 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``[time], [group], n, n_dropped_missing, mean`` and one column per measure.
        ``theil_l`` and ``sd_log`` are NaN in cells containing a zero value (ln 0 undefined); all
        measures are NaN in cells whose mean is 0.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"v": [1, 2, 3, 4, 2, 2], "g": list("aaabbb")})
    >>> inequality_by_group(frame, "v", group="g", measures=("gini",))["gini"].round(4).tolist()
    [0.2222, 0.1667]
    """
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise DidstudyError(
            f"unknown inequality measure(s): {', '.join(unknown)}",
            fix=f"choose from {', '.join(MEASURES)}",
        )
    frame = getattr(data, "frame", data)
    if not isinstance(frame, pd.DataFrame):
        raise DataError("data must be a pandas DataFrame or a Panel")
    index = frame.index
    y_all = as_values(_column(frame, value, "value"), name=value, negative=negative, index=index)
    keys: list[str] = [c for c in (time, group) if c is not None]
    key_codes = []
    key_labels = []
    for key in keys:
        c, lab = _factorize(_column(frame, key, key), key, index)
        key_codes.append(c)
        key_labels.append(lab)
    cell_raw = np.zeros(y_all.shape[0], dtype=np.int64)
    for c, lab in zip(key_codes, key_labels, strict=True):
        cell_raw = cell_raw * max(len(lab), 1) + c
    cells_all, uniques = pd.factorize(cell_raw, sort=True)
    n_cells = len(uniques)
    w_all = (
        None
        if weights is None
        else as_weights(_column(frame, weights, "weights"), y_all.shape[0], name=weights)
    )
    keep = ~np.isnan(y_all)
    if w_all is not None:
        keep &= ~np.isnan(w_all)
    dropped = np.bincount(cells_all[~keep], minlength=n_cells)
    y = y_all[keep]
    cells = cells_all[keep].astype(np.intp)
    w = None if w_all is None else w_all[keep]
    ww = np.ones_like(y) if w is None else w

    n = np.bincount(cells, minlength=n_cells)
    W = np.bincount(cells, weights=ww, minlength=n_cells).astype(np.float64)
    Y = np.bincount(cells, weights=ww * y, minlength=n_cells).astype(np.float64)
    out: dict[str, Any] = {}
    rest = np.asarray(uniques, dtype=np.int64)
    for key, lab in reversed(list(zip(keys, key_labels, strict=True))):
        size = max(len(lab), 1)
        out[key] = pd.Series(lab.take(rest % size))
        rest = rest // size
    result = pd.DataFrame({k: out[k] for k in keys})
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = Y / W
        valid = (n >= min_units) & (mu > 0)
        result["n"] = n.astype(np.int64)
        result["n_dropped_missing"] = dropped.astype(np.int64)
        result["mean"] = np.where(n > 0, mu, np.nan)
        mu_row = mu[cells]
        has_zero = np.bincount(cells, weights=(y <= 0).astype(float), minlength=n_cells) > 0
        for m in measures:
            if m == "gini":
                order = sort_within_groups(y, cells)
                s, _, _ = segment_abs_diff_sums(
                    y[order], None if w is None else w[order], cells[order], n_cells
                )
                vals: FloatArray = s / (2.0 * W * Y)
            elif m == "theil_t":
                t_terms = _theil_terms(y, mu_row, "T")
                vals = np.bincount(cells, weights=ww * t_terms, minlength=n_cells) / W
            elif m == "theil_l":
                safe = np.where(y > 0, y, 1.0)
                terms = np.log(mu_row / safe)
                vals = np.bincount(cells, weights=ww * terms, minlength=n_cells) / W
                vals = np.where(has_zero, np.nan, vals)
            elif m == "cv":
                var = np.bincount(cells, weights=ww * (y - mu_row) ** 2, minlength=n_cells) / W
                vals = np.sqrt(var) / mu
            else:  # sd_log
                ly = np.log(np.where(y > 0, y, 1.0))
                ml = np.bincount(cells, weights=ww * ly, minlength=n_cells) / W
                var = np.bincount(cells, weights=ww * (ly - ml[cells]) ** 2, minlength=n_cells) / W
                vals = np.where(has_zero, np.nan, np.sqrt(var))
            result[m] = np.where(valid, vals, np.nan)
    return result
