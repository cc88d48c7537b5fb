"""Event study: two-way fixed effects on relative-time (leads and lags) dummies.

The dynamic specification of Figure 1 of the reference study,

    y_it = Σ_{k ∈ K, k ≠ base} β_k 1{t − g_i = k} + γ'X_it + μ_i + λ_t + ε_it,

with ``g_i`` the unit's adoption period (Borusyak, Jaravel & Spiess 2024, eq. 5; Sun & Abraham
2021, eq. 3 for the binned variant), standard errors clustered by unit (CRV1 with the small-sample
factor of fixest), a joint Wald test of the leads, and the average post-period effect.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.errors import (
    CollinearityWarning,
    DataError,
    EstimationError,
    PanelWarning,
    ValidationError,
)
from didstudy.estimation.twfe import twfe
from didstudy.kernels.distributions import chi2_sf, f_sf
from didstudy.results.event_study import EventStudyResult, LinearCombination, WaldTest

__all__ = ["event_study", "relative_time_design"]

Float = NDArray[np.float64]
Endpoints = Literal["bin", "drop"]
ControlGroup = Literal["never", "not_yet"]


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
    vcov: str | Mapping[str, Any] | None = None,
    ssc: str | Mapping[str, Any] | None = None,
    drop_singletons: bool = True,
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
    vcov, ssc, drop_singletons
        Variance, small-sample convention and singleton handling, exactly as
        :func:`didstudy.twfe` (default CRV1 with fixest's small-sample factor; the estimation
        runs through the same engine).

    Returns
    -------
    EventStudyResult
        Coefficients ``rel_time::k``, their variance (CRV1 by default), the pre-trend
        Wald test over the leads (``k < 0``, ``k ≠ base``) and the average of the lags
        (``k ≥ 0``, endpoint bin included).

    Notes
    -----
    Units whose adoption period is after the last period of the sample are treated as never
    treated. Dummies for relative periods without observations are omitted. Binning assumes the
    effect is constant beyond each endpoint; if it keeps changing there, every coefficient is
    biased (Schmidheiny & Siegloch 2023, J. Applied Econometrics 38(5)) — compare with
    ``endpoints="drop"``.
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
    terms = [f"rel_time::{k}" for k in rel_times]
    sub = frame.iloc[rows][
        list(
            dict.fromkeys(
                [y, *controls, *fe_cols, cluster_col] + ([weight_col] if weight_col else [])
            )
        )
    ]
    sub = sub.assign(**{t: dummies[:, j] for j, t in enumerate(terms)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        fit = twfe(
            sub,
            y,
            terms,
            controls,
            fe=fe_cols,
            cluster=cluster_col,
            weights=weight_col,
            vcov=vcov,
            ssc=ssc,
            drop_singletons=drop_singletons,
        )
    dropped = tuple(t for t in [*terms, *controls] if t in fit.dropped)
    if dropped:
        warnings.warn(
            f"collinear terms dropped: {', '.join(dropped)}", CollinearityWarning, stacklevel=2
        )
    keep_terms = list(fit.terms)
    coef = fit.params.astype(float).copy()
    vcov_mat = np.asarray(fit.cov, dtype=float).copy()
    kept_rel = [k for k, t in zip(rel_times, terms, strict=True) if t in keep_terms]
    df_t = float(fit.df_t)
    if not kept_rel:
        raise EstimationError(
            "every relative-time dummy is collinear with the fixed effects",
            fix="widen the window or check the adoption periods",
        )
    leads = [i for i, k in enumerate(kept_rel) if k < 0]
    lags = [i for i, k in enumerate(kept_rel) if k >= 0]
    pretrend = _wald(keep_terms, coef, vcov_mat, leads, df_t) if leads else None
    post = None
    if lags:
        wvec = np.zeros(len(coef))
        wvec[lags] = 1.0 / len(lags)
        post = LinearCombination(
            name="post_average",
            terms=tuple(keep_terms[i] for i in lags),
            weights=tuple(1.0 / len(lags) for _ in lags),
            estimate=float(wvec @ coef),
            std_error=float(np.sqrt(wvec @ vcov_mat @ wvec)),
            df=df_t,
            level=level,
        )
    coef.setflags(write=False)
    vcov_mat.setflags(write=False)
    stats = fit.stats()
    return EventStudyResult(
        terms=tuple(keep_terms),
        rel_time=tuple(kept_rel),
        coef=coef,
        vcov=vcov_mat,
        df_t=df_t,
        nobs=fit.nobs,
        n_clusters=int(stats.get("n_clusters") or 0),
        base=base,
        window=(lo, hi),
        endpoints=endpoints,
        control_group=control_group,
        outcome=y,
        controls=controls,
        pretrend=pretrend,
        post_average=post,
        dropped_terms=dropped,
        r2_within=float(stats.get("r2_within", float("nan"))),
        vcov_type=str(fit.vcov_type),
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
        p_chi2=chi2_sf(stat, q),
        f=stat / q,
        p_f=f_sf(stat / q, q, df2),
        df1=q,
        df2=df2,
    )
