"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD coefficient.

Goodman-Bacon, A. (2021). "Difference-in-differences with variation in treatment timing."
*Journal of Econometrics* 225(2): 254–277.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.panel import panel_for
from didstudy.errors import DataError, EstimationError, ValidationError
from didstudy.estimation.twfe import baseline_for
from didstudy.results.bacon import (
    BETWEEN_TIMING,
    EARLIER_VS_LATER,
    LATER_VS_ALWAYS,
    LATER_VS_EARLIER,
    TREATED_VS_NEVER,
    BaconComparison,
    BaconResult,
)
from didstudy.results.spec import Baseline

__all__ = [
    "BalancedArrays",
    "bacon",
    "bacon_kernel",
    "largest_balanced_window",
    "two_way_demean_balanced",
]

Float = NDArray[np.float64]

# A comparison whose treatment variance is below this share of the total carries no
# identifying variation (it is exactly zero in exact arithmetic).
_ZERO_VARIANCE = 1e-12


def two_way_demean_balanced(values: Float) -> Float:
    """Two-way within transformation of a balanced unit × period array (closed form).

    ``values`` has shape ``(units, periods)`` or ``(units, periods, k)``; returns
    ``x_it − x̄_i − x̄_t + x̄``.
    """
    unit_mean = values.mean(axis=1, keepdims=True)
    time_mean = values.mean(axis=0, keepdims=True)
    grand = values.mean(axis=(0, 1), keepdims=True)
    out: Float = values - unit_mean - time_mean + grand
    return out


@dataclass(frozen=True)
class BalancedArrays:
    """A balanced panel as arrays: outcome ``y`` and treatment ``d`` of shape (units, periods),
    controls ``x`` of shape (units, periods, k)."""

    y: Float
    d: Float
    x: Float
    periods: NDArray[Any]
    units: NDArray[Any]


def _resolve_roles(
    data: Any, unit: str | None, time: str | None, treat: str | None
) -> tuple[pd.DataFrame, str, str, str]:
    """Return (frame, unit, time, treat) through the single resolver ``panel_for``."""
    panel = panel_for("bacon", data, unit=unit, time=time, treat=treat)
    return panel.frame, panel.unit, panel.time, treat or panel.treat


def largest_balanced_window(present: NDArray[np.bool_]) -> tuple[int, int, NDArray[np.bool_]]:
    """Largest balanced sub-panel of a presence matrix (units × sorted periods).

    Searches every contiguous window of periods ``[a, b]`` and keeps the units observed in all of
    its periods; returns the window maximising the number of observations (ties: the longer
    window, then the earlier one) as ``(a, b, unit_mask)``.
    """
    n_periods = present.shape[1]
    best = (-1, 0, 0)
    best_mask = np.zeros(present.shape[0], dtype=bool)
    for a in range(n_periods):
        complete = np.ones(present.shape[0], dtype=bool)
        for b in range(a, n_periods):
            complete &= present[:, b]
            length = b - a + 1
            obs = int(complete.sum()) * length
            if length >= 2 and (obs, length) > (best[0], best[2] - best[1] + 1):
                best = (obs, a, b)
                best_mask = complete.copy()
    if best[0] <= 0:
        raise ValidationError(
            "no balanced sub-panel with at least two periods exists",
            fix="check the unit and time columns and the missing values",
        )
    return best[1], best[2], best_mask


def _to_arrays(
    frame: pd.DataFrame,
    unit: str,
    time: str,
    y: str,
    treat: str,
    controls: tuple[str, ...],
    balance: Literal["error", "largest"],
) -> tuple[BalancedArrays, float, int]:
    columns = [unit, time, y, treat, *controls]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"column(s) {', '.join(repr(c) for c in missing)} not in the data",
            column=missing[0],
            fix="check the spelling of the column names",
        )
    sub = frame[columns]
    values = sub[[y, treat, *controls]]
    usable = values.notna().all(axis=1).to_numpy()
    n_usable = int(usable.sum())
    sub = sub.loc[usable]
    dup = sub.duplicated([unit, time], keep=False).to_numpy()
    if dup.any():
        raise ValidationError(
            "several rows share the same unit and period",
            column=unit,
            rows=list(sub.index[dup][:20]),
            fix="aggregate or drop the duplicated rows",
        )
    treat_values = pd.to_numeric(sub[treat], errors="coerce").to_numpy(dtype=float)
    if not np.isin(treat_values, (0.0, 1.0)).all():
        bad = sub.index[~np.isin(treat_values, (0.0, 1.0))]
        raise ValidationError(
            "the treatment must be 0/1",
            column=treat,
            rows=list(bad[:20]),
            fix="code the treatment column as 0 (untreated) and 1 (treated)",
        )
    unit_codes, unit_labels = pd.factorize(sub[unit], sort=True)
    time_codes, time_labels = pd.factorize(sub[time], sort=True)
    present = np.zeros((len(unit_labels), len(time_labels)), dtype=bool)
    present[unit_codes, time_codes] = True
    share = 1.0
    dropped = 0
    if not present.all():
        incomplete = np.flatnonzero(~present.all(axis=1))
        if balance != "largest":
            raise ValidationError(
                f"the Goodman-Bacon decomposition needs a balanced panel; {len(incomplete)} of "
                f"{len(unit_labels)} units miss periods (or have missing values)",
                column=unit,
                rows=[unit_labels[i] for i in incomplete[:20]],
                fix="pass balance='largest' to use the largest balanced sub-panel, "
                "or fill/drop the incomplete units",
            )
        a, b, keep_units = largest_balanced_window(present)
        keep_rows = keep_units[unit_codes] & (time_codes >= a) & (time_codes <= b)
        share = float(keep_rows.sum()) / float(max(n_usable, 1))
        dropped = int((~keep_units).sum())
        unit_map = np.cumsum(keep_units) - 1
        unit_codes = unit_map[unit_codes[keep_rows]]
        time_codes = time_codes[keep_rows] - a
        unit_labels = unit_labels[keep_units]
        time_labels = time_labels[a : b + 1]
        sub = sub.loc[keep_rows]
        treat_values = treat_values[keep_rows]
    shape = (len(unit_labels), len(time_labels))
    y_arr = np.empty(shape)
    d_arr = np.empty(shape)
    x_arr = np.empty((*shape, len(controls)))
    y_arr[unit_codes, time_codes] = sub[y].to_numpy(dtype=float)
    d_arr[unit_codes, time_codes] = treat_values
    for j, c in enumerate(controls):
        x_arr[unit_codes, time_codes, j] = sub[c].to_numpy(dtype=float)
    switching = np.flatnonzero((np.diff(d_arr, axis=1) < 0).any(axis=1))
    if switching.size:
        raise ValidationError(
            "treatment switches off for some units; the decomposition needs absorbing "
            "(staggered) treatment",
            column=treat,
            rows=[unit_labels[i] for i in switching[:20]],
            fix="keep the treatment at 1 after adoption, or drop the switching units",
        )
    arrays = BalancedArrays(
        y=y_arr, d=d_arr, x=x_arr, periods=np.asarray(time_labels), units=np.asarray(unit_labels)
    )
    return arrays, share, dropped


def _period_value(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _group_label(first: int, n_periods: int, periods: NDArray[Any]) -> str:
    if first >= n_periods:
        return "never"
    if first == 0:
        return "always"
    return str(periods[first])


def _dd(y: Float, d: Float) -> tuple[float, float]:
    """TWFE coefficient and Σ d̈² of a balanced 2-way sub-panel."""
    dd = two_way_demean_balanced(d)
    var = float((dd * dd).sum())
    if var <= 0:
        return float("nan"), 0.0
    return float((dd * y).sum() / var), var


def bacon_kernel(
    arrays: BalancedArrays,
) -> tuple[float, list[BaconComparison], float | None, float | None]:
    """Decompose the TWFE coefficient of a balanced, absorbing-treatment panel.

    Without controls, Theorem 1 of Goodman-Bacon (2021): for every treated timing group ``k``
    and every other group ``j`` the 2×2 DiD is the TWFE coefficient on the sub-panel of the two
    groups restricted to the comparison window (all periods against never- or always-treated
    units; periods before ``j``'s adoption when ``j`` is treated later; periods from ``j``'s
    adoption on when ``j`` was treated earlier). Its weight is
    ``s = (n_sub / n)² · V̂_sub / V̂`` with ``V̂`` the variance of the two-way demeaned treatment
    (eqs. 10a–10c of the paper written as sample shares × variances); the weights sum to one and
    ``Σ s β̂ = β̂^DD``.

    With controls ``X``, Section 5 of the paper: the treatment residualised on the two-way
    demeaned controls, ``d̃``, splits into its timing-group × period mean ``d̃_kt`` and the
    within-group remainder. ``β̂ = Ω β̂_w + (1 − Ω) β̂_b`` with ``Ω = V(d̃ − d̃_kt)/V(d̃)``,
    ``β̂_w`` the coefficient on the within remainder and ``β̂_b`` that on ``d̃_kt``; the
    between coefficient is a weighted sum over every pair of timing groups of the full-period
    2×2 regressions of ``y`` on ``d̃_kt`` with group and period effects, weights
    ``s_kl = (n_k + n_l)/n · Σ_pair d̈_kt² / Σ d̃_kt²`` (pairwise-difference identity).

    Returns ``(twfe_estimate, comparisons, within_estimate, within_weight)``.
    """
    d, x = arrays.d, arrays.x
    n_periods = d.shape[1]
    first = np.where(d.any(axis=1), d.argmax(axis=1), n_periods)
    dd_full = two_way_demean_balanced(d)
    if x.shape[2] == 0:
        beta, comparisons = _decompose_without_controls(arrays, first, dd_full)
        return beta, comparisons, None, None
    return _decompose_with_controls(arrays, first, dd_full)


def _labels(arrays: BalancedArrays, groups: NDArray[Any]) -> dict[int, str]:
    n_periods = arrays.d.shape[1]
    return {int(g): _group_label(int(g), n_periods, arrays.periods) for g in groups}


def _window(k: int, j: int, n_periods: int) -> tuple[str, int, int]:
    """Type and period window ``[lo, hi)`` of the 2×2 comparison of group ``k`` against ``j``."""
    if j >= n_periods:
        return TREATED_VS_NEVER, 0, n_periods
    if j == 0:
        return LATER_VS_ALWAYS, 0, n_periods
    if k < j:
        return EARLIER_VS_LATER, 0, int(j)
    return LATER_VS_EARLIER, int(j), n_periods


def _decompose_without_controls(
    arrays: BalancedArrays, first: NDArray[Any], dd_full: Float
) -> tuple[float, list[BaconComparison]]:
    """Theorem 1 of Goodman-Bacon (2021): every timing-group 2×2 and its weight."""
    y, d, periods = arrays.y, arrays.d, arrays.periods
    n_units, n_periods = d.shape
    total_var = float((dd_full * dd_full).sum())
    if total_var <= _ZERO_VARIANCE:
        raise EstimationError(
            "the treatment does not vary within units and periods; nothing to decompose",
            fix="check the treatment column: some units must adopt during the panel",
        )
    beta = float((dd_full * y).sum() / total_var)
    groups = np.unique(first)
    labels = _labels(arrays, groups)
    comparisons = []
    for k in groups:
        if k == 0 or k >= n_periods:
            continue
        for j in groups:
            if j == k:
                continue
            kind, lo, hi = _window(int(k), int(j), n_periods)
            rows = (first == k) | (first == j)
            est, var = _dd(y[rows, lo:hi], d[rows, lo:hi])
            n_sub = int(rows.sum()) * (hi - lo)
            comparisons.append(
                BaconComparison(
                    type=kind,
                    treated=labels[int(k)],
                    control=labels[int(j)],
                    estimate=est,
                    weight=n_sub * var / (n_units * n_periods * total_var),
                    period_start=_period_value(periods[lo]),
                    period_end=_period_value(periods[hi - 1]),
                    nobs=n_sub,
                )
            )
    return beta, comparisons


def _decompose_with_controls(
    arrays: BalancedArrays, first: NDArray[Any], dd_full: Float
) -> tuple[float, list[BaconComparison], float | None, float | None]:
    """Section 5 of Goodman-Bacon (2021): within and between parts with controls."""
    y, x = arrays.y, arrays.x
    n_units, n_periods = arrays.d.shape
    x_flat = two_way_demean_balanced(x).reshape(n_units * n_periods, -1)
    dd_flat = dd_full.reshape(-1)
    gamma, *_ = np.linalg.lstsq(x_flat, dd_flat, rcond=None)
    resid = (dd_flat - x_flat @ gamma).reshape(n_units, n_periods)
    total = float((resid * resid).sum())
    if total <= _ZERO_VARIANCE:
        raise EstimationError(
            "the treatment has no variation left after the controls and fixed effects",
            fix="drop controls that are collinear with the treatment",
        )
    beta = float((resid * y).sum() / total)
    groups = np.unique(first)
    group_time = np.empty_like(resid)
    for g in groups:
        rows = first == g
        group_time[rows] = resid[rows].mean(axis=0, keepdims=True)
    within = resid - group_time
    within_var = float((within * within).sum())
    omega = within_var / total
    beta_within = float((within * y).sum() / within_var) if within_var > 0 else float("nan")
    comparisons = _between_comparisons(arrays, first, groups, group_time, omega)
    return beta, comparisons, beta_within, omega


def _between_comparisons(
    arrays: BalancedArrays,
    first: NDArray[Any],
    groups: NDArray[Any],
    group_time: Float,
    omega: float,
) -> list[BaconComparison]:
    """Full-period 2×2 regressions on the group-period means for every pair of groups."""
    y, periods = arrays.y, arrays.periods
    n_units, n_periods = arrays.d.shape
    labels = _labels(arrays, groups)
    between_var = float((group_time * group_time).sum())
    comparisons = []
    for a_idx, k in enumerate(groups):
        for j in groups[a_idx + 1 :]:
            rows = (first == k) | (first == j)
            z = two_way_demean_balanced(group_time[rows])
            var = float((z * z).sum())
            if var <= _ZERO_VARIANCE * max(between_var, 1.0):
                continue
            share = int(rows.sum()) / n_units * var / between_var
            if j >= n_periods:
                kind = TREATED_VS_NEVER
            elif k == 0:
                kind = LATER_VS_ALWAYS
            else:
                kind = BETWEEN_TIMING
            treated, control = (j, k) if k == 0 else (k, j)
            comparisons.append(
                BaconComparison(
                    type=kind,
                    treated=labels[int(treated)],
                    control=labels[int(control)],
                    estimate=float((z * y[rows]).sum() / var),
                    weight=(1.0 - omega) * share,
                    period_start=_period_value(periods[0]),
                    period_end=_period_value(periods[-1]),
                    nobs=int(rows.sum()) * n_periods,
                )
            )
    return comparisons


def bacon(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    controls: tuple[str, ...] | list[str] | None = None,
    *,
    spec: Baseline | None = None,
    unit: str | None = None,
    time: str | None = None,
    balance: Literal["error", "largest"] = "error",
) -> BaconResult:
    """Goodman-Bacon (2021) decomposition of the TWFE DiD coefficient into 2×2 comparisons.

    Parameters
    ----------
    data
        A :class:`didstudy.Panel` (unit, time and treatment roles taken from it) or a DataFrame
        (then ``unit`` and ``time`` are required).
    y
        Outcome column.
    treat
        0/1 absorbing treatment column (default: the panel's treatment).
    controls
        Time-varying controls; switches to the within/between decomposition of Section 5.
    unit, time
        Column roles for a DataFrame.
    balance
        ``"error"`` (default) rejects an unbalanced panel with a :class:`ValidationError`;
        ``"largest"`` keeps the largest balanced sub-panel (a contiguous window of periods and
        the units observed in all of them) and reports its share of the usable observations as
        ``sample_share``. Rows with a missing outcome, treatment or control count as missing.
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    BaconResult
        ``.summary()`` gives Table 4 (average estimate and total weight per comparison type),
        ``.comparisons_frame()`` every 2×2, ``.estimate`` the TWFE coefficient.

    Notes
    -----
    Comparison types: earlier vs later treated (the later group, before its adoption, is the
    control), later vs earlier treated (the earlier group, after its adoption, is the control),
    treated vs untreated (never-treated control), later vs always treated (units treated in
    every period of the panel as control). Always-treated units are one timing group.
    """
    base = baseline_for("bacon", spec, required=("y",), y=y, treat=treat, controls=controls)
    y, controls = base.y or "", list(base.controls)
    treat = base.treat[0] if base.treat else None
    frame, unit_col, time_col, treat_col = _resolve_roles(data, unit, time, treat)
    if balance not in ("error", "largest"):
        raise ValidationError(
            f"balance must be 'error' or 'largest', not {balance!r}",
            fix="pass balance='largest' to use the largest balanced sub-panel",
        )
    controls_t = tuple(controls)
    arrays, share, dropped = _to_arrays(
        frame, unit_col, time_col, y, treat_col, controls_t, balance
    )
    beta, comparisons, beta_within, omega = bacon_kernel(arrays)
    n_units, n_periods = arrays.y.shape
    return BaconResult(
        estimate=beta,
        comparisons=tuple(comparisons),
        outcome=y,
        treatment=treat_col,
        controls=controls_t,
        within_estimate=beta_within,
        within_weight=omega,
        nobs=n_units * n_periods,
        n_units=n_units,
        n_periods=n_periods,
        sample_share=share,
        dropped_units=dropped,
        periods=tuple(_period_value(p) for p in arrays.periods),
    )
