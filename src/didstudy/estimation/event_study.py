"""Event study: two-way fixed effects on relative-time (leads and lags) dummies.

The dynamic specification of Figure 1 of the reference study,

    y_it = Σ_{k ∈ K, k ≠ base} β_k 1{t − g_i = k} + γ'X_it + μ_i + λ_t + ε_it,

with ``g_i`` the unit's adoption period (Borusyak, Jaravel & Spiess 2024, eq. 5; Sun & Abraham
2021, eq. 3 for the binned variant), standard errors clustered by unit (CRV1 with the small-sample
factor of fixest), a joint Wald test of the leads, and the average post-period effect.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import linalg
from scipy import stats as st

from didstudy.errors import (
    CollinearityWarning,
    DataError,
    EstimationError,
    PanelWarning,
    ValidationError,
)
from didstudy.estimation.demean import demean
from didstudy.results.event_study import EventStudyResult, LinearCombination, WaldTest

__all__ = [
    "FeOlsFit",
    "event_study",
    "fe_ols_crv1",
    "fixest_k",
    "relative_time_design",
]

Float = NDArray[np.float64]
Endpoints = Literal["bin", "drop"]
ControlGroup = Literal["never", "not_yet"]

# Columns whose pivoted-QR diagonal falls below this share of the largest are collinear.
_COLLINEAR_RTOL = 1e-10


def fixest_k(n_coef: int, fe_levels: Sequence[int], nested: Sequence[bool]) -> int:
    """Parameter count ``K`` of fixest's default small-sample correction (``fixef.K="nested"``).

    ``K = k + Σ_f L_f − (F − 1) − Σ_{f nested} (L_f − 1)``: every fixed-effect level counts
    (one redundant level per extra factor), except the levels of factors nested in the
    cluster variable; when every factor is nested, ``K = k + 1`` (fixest ``vcov.R``; pyfixest
    ``ssc(k_fixef="nonnested")``).
    """
    if not fe_levels:
        return n_coef
    if all(nested):
        return n_coef + 1
    k = n_coef + sum(fe_levels) - (len(fe_levels) - 1)
    k -= sum(level - 1 for level, is_nested in zip(fe_levels, nested, strict=True) if is_nested)
    return k


@dataclass(frozen=True)
class FeOlsFit:
    """OLS on demeaned data with a cluster-robust (CRV1) variance."""

    coef: Float
    vcov: Float
    keep: NDArray[np.bool_]
    nobs: int
    n_clusters: int
    df_t: float
    k_dof: int
    r2_within: float


def fe_ols_crv1(
    y_dm: Float,
    x_dm: Float,
    cluster_codes: NDArray[np.intp],
    fe_levels: Sequence[int],
    fe_nested: Sequence[bool],
    weights: Float | None = None,
) -> FeOlsFit:
    """Least squares of demeaned ``y`` on demeaned ``X`` with CRV1 clustered variance.

    ``V = G/(G−1) · (n−1)/(n−K) · (X'WX)⁻¹ (Σ_g s_g s_g') (X'WX)⁻¹`` with cluster scores
    ``s_g = Σ_{i∈g} w_i x_i e_i`` and ``K`` from :func:`fixest_k` (Cameron & Miller 2015, eq. 12;
    fixest's default ``ssc()``). Collinear columns (pivoted QR) are dropped (``keep`` False).
    """
    n = y_dm.shape[0]
    sw = np.ones(n) if weights is None else np.sqrt(weights)
    xs = x_dm * sw[:, None]
    ys = y_dm * sw
    if xs.shape[1] == 0:
        raise EstimationError("no regressors left to estimate")
    _, r, piv = linalg.qr(xs, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > _COLLINEAR_RTOL * diag.max()).sum()) if diag.size else 0
    keep = np.zeros(xs.shape[1], dtype=bool)
    keep[piv[:rank]] = True
    xk = xs[:, keep]
    bread = np.linalg.inv(xk.T @ xk)
    coef_k = bread @ (xk.T @ ys)
    resid = ys - xk @ coef_k
    scores = xk * resid[:, None]
    n_clusters = int(cluster_codes.max()) + 1
    meat_sums = np.zeros((n_clusters, xk.shape[1]))
    np.add.at(meat_sums, cluster_codes, scores)
    k_dof = fixest_k(int(keep.sum()), fe_levels, fe_nested)
    ssc = n_clusters / (n_clusters - 1) * (n - 1) / (n - k_dof)
    vcov_k = ssc * bread @ (meat_sums.T @ meat_sums) @ bread
    coef = np.full(xs.shape[1], np.nan)
    coef[keep] = coef_k
    vcov = np.full((xs.shape[1], xs.shape[1]), np.nan)
    vcov[np.ix_(keep, keep)] = vcov_k
    tss = float(ys @ ys)
    r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else float("nan")
    return FeOlsFit(coef, vcov, keep, n, n_clusters, float(n_clusters - 1), k_dof, r2)


def _codes(values: pd.Series) -> tuple[NDArray[np.intp], int]:
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.intp), len(labels)


def _is_nested(fe: NDArray[np.intp], n_fe: int, cluster: NDArray[np.intp]) -> bool:
    pairs = np.unique(fe.astype(np.int64) * (int(cluster.max()) + 1) + cluster)
    return bool(pairs.size == n_fe)


def _resolve(
    data: Any,
    unit: str | None,
    time: str | None,
    cohort: str | None,
    treat: str | None,
    cluster: str | None,
    weights: str | None,
) -> tuple[pd.DataFrame, str, str, pd.Series, str, str | None]:
    """Frame, unit, time, cohort series (float, inf = never), cluster, weights."""
    if isinstance(data, pd.DataFrame):
        frame = data
        if unit is None or time is None:
            raise ValidationError(
                "a DataFrame needs the unit and time columns named",
                fix="pass unit='...' and time='...' (and cohort= or treat=), or a didstudy.Panel",
            )
    elif hasattr(data, "frame") and hasattr(data, "unit") and hasattr(data, "time"):
        frame = data.frame
        unit = unit or data.unit
        time = time or data.time
        cluster = cluster or getattr(data, "cluster", None)
        weights = weights or getattr(data, "weight", None)
        if cohort is None and treat is None:
            cohort = getattr(data, "cohort", None) or "_cohort"
    else:
        raise ValidationError(
            f"expected a didstudy.Panel or a pandas DataFrame, got {type(data).__name__}",
            fix="wrap the data in didstudy.Panel(df, unit=..., time=..., treat=...)",
        )
    assert unit is not None and time is not None
    for col in (unit, time):
        if col not in frame.columns:
            raise DataError(f"column {col!r} not in the data", column=col)
    if not pd.api.types.is_numeric_dtype(frame[time]):
        raise ValidationError(
            "relative time needs a numeric time column",
            column=time,
            fix="convert the period column to integers (e.g. years)",
        )
    if cohort is not None:
        if cohort not in frame.columns:
            raise DataError(f"column {cohort!r} not in the data", column=cohort)
        g = pd.to_numeric(frame[cohort], errors="coerce").astype(float)
        g = g.where(g.notna() & (g > 0), np.inf)
    elif treat is not None:
        if treat not in frame.columns:
            raise DataError(f"column {treat!r} not in the data", column=treat)
        d = pd.to_numeric(frame[treat], errors="coerce")
        first = frame[time].where(d == 1).groupby(frame[unit]).transform("min")
        g = first.astype(float).fillna(np.inf)
    else:
        raise ValidationError(
            "the event study needs the adoption period",
            fix="pass cohort='<first treated period column>' or treat='<0/1 column>'",
        )
    return frame, unit, time, g, cluster or unit, weights


def relative_time_design(
    rel_time: Float,
    treated: NDArray[np.bool_],
    window: tuple[int, int],
    base: int,
    endpoints: Endpoints,
    control_group: ControlGroup,
) -> tuple[NDArray[np.bool_], Float, list[int]]:
    """Rows kept and relative-time dummies.

    Returns ``(keep, dummies, rel_times)``: ``keep`` marks the estimation sample, ``dummies``
    (kept rows × len(rel_times)) the event-time indicators, excluding ``base``.

    * Observations of units not treated within the sample get no dummy (controls).
    * ``endpoints="bin"``: relative times beyond the window are put in the endpoint dummies
      (``k ≤ lo`` in ``lo``, ``k ≥ hi`` in ``hi``); ``"drop"``: such observations are dropped.
    * ``control_group="not_yet"``: treated units' observations **before** the window
      (``k < lo``, not yet treated) stay in the sample without a dummy, as not-yet-treated
      controls, whatever ``endpoints`` says; observations after the window follow ``endpoints``
      (they are treated and never serve as controls).
    """
    lo, hi = window
    rel = np.where(treated, rel_time, np.nan)
    keep = np.ones(rel.shape[0], dtype=bool)
    binned = rel.copy()
    below = treated & (rel < lo)
    above = treated & (rel > hi)
    if control_group == "not_yet":
        binned[below] = np.nan
    elif endpoints == "bin":
        binned[below] = lo
    else:
        keep &= ~below
    if endpoints == "bin":
        binned[above] = hi
    else:
        keep &= ~above
    binned = binned[keep]
    rel_times = [k for k in range(lo, hi + 1) if k != base and np.any(binned == k)]
    dummies = (
        np.column_stack([(binned == k).astype(float) for k in rel_times])
        if rel_times
        else (np.zeros((int(keep.sum()), 0)))
    )
    return keep, dummies, rel_times


def event_study(
    data: Any,
    y: str,
    controls: Sequence[str] = (),
    window: tuple[int, int] = (-5, 5),
    base: int = -1,
    endpoints: Endpoints = "bin",
    control_group: ControlGroup = "never",
    fe: Sequence[str] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    *,
    unit: str | None = None,
    time: str | None = None,
    cohort: str | None = None,
    treat: str | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """Event-study regression on relative-time dummies with a chosen base period.

    Parameters
    ----------
    data
        A :class:`didstudy.Panel` (roles and adoption cohort taken from it) or a DataFrame with
        ``unit``, ``time`` and ``cohort`` (first treated period; 0, NaN or inf = never treated)
        or ``treat`` (0/1 absorbing treatment) named.
    y, controls
        Outcome and time-varying controls.
    window
        ``(lo, hi)`` relative periods with their own dummy; ``lo < 0 ≤ hi``.
    base
        Omitted (reference) relative period, default −1 (the year before adoption).
    endpoints
        ``"bin"``: observations beyond the window are binned into the endpoint dummies;
        ``"drop"``: they are dropped from the sample.
    control_group
        ``"never"``: every observation of an eventually-treated unit carries its relative-time
        dummy, so period effects are identified from never-treated units (required; a
        :class:`ValidationError` otherwise). ``"not_yet"``: not-yet-treated observations also
        serve as controls — treated units' observations before the window keep no dummy, and
        when no never-treated unit exists, periods from the last cohort's adoption on (where
        nobody is untreated) are dropped, which makes the last cohort a pure control.
        Treated observations at or after adoption are never in the control role.
    fe
        Absorbed fixed effects (default unit and time).
    cluster
        Cluster variable (default: the panel's, else the unit).
    weights
        Column of analytic weights.
    unit, time, cohort, treat
        Column roles for a DataFrame.
    level
        Confidence level of the intervals.

    Returns
    -------
    EventStudyResult
        Coefficients ``rel_time::k``, CRV1 variance (fixest's small-sample factor), the pre-trend
        Wald test over the leads (``k < 0``, ``k ≠ base``) and the average of the lags
        (``k ≥ 0``, endpoint bin included).

    Notes
    -----
    Units whose adoption period is after the last period of the sample are treated as never
    treated. Dummies for relative periods without observations are omitted.
    """
    if endpoints not in ("bin", "drop"):
        raise ValidationError(f"endpoints must be 'bin' or 'drop', not {endpoints!r}")
    if control_group not in ("never", "not_yet"):
        raise ValidationError(f"control_group must be 'never' or 'not_yet', not {control_group!r}")
    lo, hi = int(window[0]), int(window[1])
    if not lo < 0 <= hi or not lo <= base <= hi:
        raise ValidationError(
            f"window {window} and base {base} must satisfy lo < 0 <= hi and lo <= base <= hi",
            fix="e.g. window=(-5, 5), base=-1",
        )
    frame, unit_col, time_col, cohort_s, cluster_col, weight_col = _resolve(
        data, unit, time, cohort, treat, cluster, weights
    )
    fe_cols = list(fe) if fe is not None else [unit_col, time_col]
    controls = tuple(controls)
    needed = [y, *controls, *fe_cols, cluster_col] + ([weight_col] if weight_col else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"column {missing[0]!r} not in the data", column=missing[0])
    usable = frame[list(dict.fromkeys([y, *controls, *fe_cols, cluster_col]))].notna().all(axis=1)
    if weight_col:
        usable &= frame[weight_col].notna() & (frame[weight_col] > 0)
    usable_mask = usable.to_numpy()
    times = frame[time_col].to_numpy(dtype=float)[usable_mask]
    g = cohort_s.to_numpy(dtype=float)[usable_mask]
    treated = g <= times.max()
    if control_group == "never" and not (~treated).any():
        raise ValidationError(
            "control_group='never' needs never-treated units, and every unit is treated",
            column=time_col,
            fix="use control_group='not_yet'",
        )
    rows_all = np.flatnonzero(usable_mask)
    if control_group == "not_yet" and not (~treated).any():
        period_keep = times < g[treated].max()
        if not period_keep.any():
            raise ValidationError("no period with a not-yet-treated unit", column=time_col)
        rows_all, times, g = rows_all[period_keep], times[period_keep], g[period_keep]
        treated = g <= times.max()
    always = treated & (g <= times.min())
    if always.any():
        n_always = len(np.unique(frame[unit_col].to_numpy()[rows_all[always]]))
        warnings.warn(
            f"{n_always} units are treated from the first period (no pre-period); they enter "
            "with post-period dummies only",
            PanelWarning,
            stacklevel=2,
        )
    keep, dummies, rel_times = relative_time_design(
        times - g, treated, (lo, hi), base, endpoints, control_group
    )
    if not rel_times:
        raise EstimationError("no treated observation falls in the event window")
    rows = rows_all[keep]
    sub = frame.iloc[rows]
    fe_codes = []
    fe_levels = []
    for col in fe_cols:
        codes, n_levels = _codes(sub[col])
        fe_codes.append(codes)
        fe_levels.append(n_levels)
    cl_codes, _ = _codes(sub[cluster_col])
    nested = [_is_nested(c, n, cl_codes) for c, n in zip(fe_codes, fe_levels, strict=True)]
    w = sub[weight_col].to_numpy(dtype=float) if weight_col else None
    x = (
        np.column_stack([dummies, sub[list(controls)].to_numpy(dtype=float)])
        if controls
        else (dummies)
    )
    y_arr = sub[y].to_numpy(dtype=float)
    both = demean(np.column_stack([y_arr, x]), fe_codes, w)
    fit = fe_ols_crv1(both[:, 0], both[:, 1:], cl_codes, fe_levels, nested, w)
    terms = [f"rel_time::{k}" for k in rel_times] + list(controls)
    dropped = tuple(t for t, kept in zip(terms, fit.keep, strict=True) if not kept)
    if dropped:
        warnings.warn(
            f"collinear terms dropped: {', '.join(dropped)}", CollinearityWarning, stacklevel=2
        )
    keep_terms = [t for t, kept in zip(terms, fit.keep, strict=True) if kept]
    coef = fit.coef[fit.keep]
    vcov = fit.vcov[np.ix_(fit.keep, fit.keep)]
    kept_rel = [k for k, kept in zip(rel_times, fit.keep[: len(rel_times)], strict=True) if kept]
    if not kept_rel:
        raise EstimationError(
            "every relative-time dummy is collinear with the fixed effects",
            fix="widen the window or check the adoption periods",
        )
    leads = [i for i, k in enumerate(kept_rel) if k < 0]
    lags = [i for i, k in enumerate(kept_rel) if k >= 0]
    pretrend = _wald(keep_terms, coef, vcov, leads, fit.df_t) if leads else None
    post = None
    if lags:
        wvec = np.zeros(len(coef))
        wvec[lags] = 1.0 / len(lags)
        post = LinearCombination(
            name="post_average",
            terms=tuple(keep_terms[i] for i in lags),
            weights=tuple(1.0 / len(lags) for _ in lags),
            estimate=float(wvec @ coef),
            std_error=float(np.sqrt(wvec @ vcov @ wvec)),
            df=fit.df_t,
            level=level,
        )
    coef.setflags(write=False)
    vcov.setflags(write=False)
    return EventStudyResult(
        terms=tuple(keep_terms),
        rel_time=tuple(kept_rel),
        coef=coef,
        vcov=vcov,
        df_t=fit.df_t,
        nobs=fit.nobs,
        n_clusters=fit.n_clusters,
        base=base,
        window=(lo, hi),
        endpoints=endpoints,
        control_group=control_group,
        outcome=y,
        controls=controls,
        pretrend=pretrend,
        post_average=post,
        dropped_terms=dropped,
        r2_within=fit.r2_within,
        level=level,
    )


def _wald(terms: list[str], coef: Float, vcov: Float, idx: list[int], df2: float) -> WaldTest:
    """``W = b' V⁻¹ b`` over ``idx``; chi2(q) and F(q, df2) p-values (fixest ``wald()``)."""
    b = coef[idx]
    v = vcov[np.ix_(idx, idx)]
    stat = float(b @ np.linalg.solve(v, b))
    q = len(idx)
    return WaldTest(
        terms=tuple(terms[i] for i in idx),
        chi2=stat,
        p_chi2=float(st.chi2.sf(stat, q)),
        f=stat / q,
        p_f=float(st.f.sf(stat / q, q, df2)),
        df1=q,
        df2=df2,
    )
