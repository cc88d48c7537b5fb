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
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.panel import COHORT, panel_for
from didstudy.errors import (
    CollinearityWarning,
    DataError,
    EstimationError,
    InferenceWarning,
    PanelWarning,
    ValidationError,
)
from didstudy.estimation.twfe import baseline_for, fit_frame
from didstudy.kernels.distributions import chi2_sf, f_sf
from didstudy.kernels.vcov import wald_form
from didstudy.results.event_study import EventStudyResult, LinearCombination, WaldTest
from didstudy.results.spec import Baseline

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
    """Frame, unit, time, cohort series (float, inf = never), cluster, weights.

    Roles come from the single resolver :func:`~didstudy.data.panel.panel_for`.
    """
    panel = panel_for("event_study", data, unit=unit, time=time, treat=treat, cohort=cohort)
    frame = panel.frame
    return (
        frame,
        panel.unit,
        panel.time,
        frame[COHORT],
        cluster or panel.cluster or panel.unit,
        weights or panel.weight,
    )


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
    y: str | None = None,
    controls: Sequence[str] | None = None,
    window: tuple[int, int] = (-5, 5),
    base: int = -1,
    endpoints: Endpoints = "bin",
    control_group: ControlGroup = "never",
    fe: Sequence[str] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    *,
    spec: Baseline | None = None,
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
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

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

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> es = ds.event_study(panel, y="l_homicide", window=(-3, 3))
    >>> es.tidy()["term"].tolist()[:2]
    ['rel_time::-3', 'rel_time::-2']
    """
    spec_ = baseline_for(
        "event_study", spec, required=("y",), y=y, treat=treat, controls=controls, fe=fe,
        cluster=cluster, weights=weights, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    y, controls = spec_.y or "", list(spec_.controls)
    treat = spec_.treat[0] if spec_.treat else None
    fe, weights, vcov, ssc = spec_.fe, spec_.weights, spec_.vcov_arg, spec_.ssc_arg
    cluster = "+".join(spec_.cluster) if spec_.cluster else None
    lo, hi = _check_options(window, base, endpoints, control_group)
    frame, unit_col, time_col, cohort_s, cluster_col, weight_col = _resolve(
        data, unit, time, cohort, treat, cluster, weights
    )
    fe_cols = list(fe) if fe is not None else [unit_col, time_col]
    columns = list(dict.fromkeys([y, *controls, *fe_cols, cluster_col]))
    rows_all, times, g, treated = _event_sample(
        frame, columns, weight_col, cohort_s, unit_col, time_col, control_group
    )
    keep, dummies, rel_times = relative_time_design(
        times - g, treated, (lo, hi), base, endpoints, control_group
    )
    if not rel_times:
        raise EstimationError("no treated observation falls in the event window")
    _warn_clipped((lo, hi), base, rel_times)
    terms = [f"rel_time::{k}" for k in rel_times]
    used = list(dict.fromkeys(columns + ([weight_col] if weight_col else [])))
    sub = frame.iloc[rows_all[keep]][used]
    sub = sub.assign(**{t: dummies[:, j] for j, t in enumerate(terms)})
    spec = Baseline(y, tuple(terms), tuple(controls), tuple(fe_cols), (cluster_col,), vcov, ssc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        fit = fit_frame(
            sub,
            replace(spec, weights=weight_col),
            drop_singletons=drop_singletons,
            require_treatment=False,
        )
    dropped = tuple(t for t in [*terms, *controls] if t in fit.dropped)
    if dropped:
        warnings.warn(
            f"collinear terms dropped: {', '.join(dropped)}", CollinearityWarning, stacklevel=2
        )
    kept_rel = [k for k, t in zip(rel_times, terms, strict=True) if t in fit.terms]
    if not kept_rel:
        raise EstimationError(
            "every relative-time dummy is collinear with the fixed effects",
            fix="widen the window or check the adoption periods",
        )
    return _event_result(
        fit, kept_rel, level, base=base, window=(lo, hi), endpoints=endpoints,
        control_group=control_group, outcome=y, controls=tuple(controls), dropped=dropped,
    )  # fmt: skip


def _check_options(
    window: tuple[int, int], base: int, endpoints: str, control_group: str
) -> tuple[int, int]:
    """The window as integers; raise on an impossible window, base or option."""
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
    return lo, hi


def _event_sample(
    frame: pd.DataFrame,
    columns: list[str],
    weight_col: str | None,
    cohort_s: pd.Series,
    unit_col: str,
    time_col: str,
    control_group: ControlGroup,
) -> tuple[NDArray[np.intp], Float, Float, NDArray[np.bool_]]:
    """Usable rows, their periods, cohorts and treated flags (not-yet design trimmed)."""
    needed = columns + ([weight_col] if weight_col else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"column {missing[0]!r} not in the data", column=missing[0])
    usable = frame[columns].notna().all(axis=1)
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
            stacklevel=3,
        )
    return rows_all, times, g, treated


def _event_result(fit: Any, kept_rel: list[int], level: float, **fields: Any) -> EventStudyResult:
    """Coefficients, covariance, the pre-trend Wald test and the post-period average."""
    keep_terms = list(fit.terms)
    coef = fit.params.astype(float).copy()
    vcov_mat = np.asarray(fit.cov, dtype=float).copy()
    df_t = float(fit.df_t)
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
        base=fields["base"],
        window=fields["window"],
        endpoints=fields["endpoints"],
        control_group=fields["control_group"],
        outcome=fields["outcome"],
        controls=fields["controls"],
        pretrend=pretrend,
        post_average=post,
        dropped_terms=fields["dropped"],
        r2_within=float(stats.get("r2_within", float("nan"))),
        vcov_type=str(fit.vcov_type),
        level=level,
    )


def _warn_clipped(window: tuple[int, int], base: int, rel_times: list[int]) -> None:
    """Warn when horizons of the requested window have no treated observation (clipped)."""
    absent = [k for k in range(window[0], window[1] + 1) if k != base and k not in rel_times]
    if absent:
        warnings.warn(
            f"event window {list(window)} is wider than the data: no treated observation at "
            f"relative time{'s' if len(absent) > 1 else ''} {', '.join(map(str, absent))}; "
            "those horizons are dropped (narrow the window to silence this)",
            PanelWarning,
            stacklevel=3,
        )


def _wald(terms: list[str], coef: Float, vcov: Float, idx: list[int], df2: float) -> WaldTest:
    """``W = b' V⁺ b`` over ``idx``; chi2(r) and F(r, df2) p-values (fixest ``wald()``).

    ``r`` is the rank of ``V``: with a singular covariance (as many leads as clusters) only the
    ``r`` non-redundant constraints (eigen-directions with positive variance) are tested and an
    :class:`~didstudy.errors.InferenceWarning` says so; the statistic is never negative.
    """
    stat, q = wald_form(coef[idx], vcov[np.ix_(idx, idx)])
    if q < len(idx):
        warnings.warn(
            f"the covariance of the {len(idx)} tested coefficients ({terms[idx[0]]}, ...) is "
            f"singular (rank {q}: more constraints than clusters can identify); the joint test "
            f"uses the {q} non-redundant constraints",
            InferenceWarning,
            stacklevel=3,
        )
    return WaldTest(
        terms=tuple(terms[i] for i in idx),
        chi2=stat,
        p_chi2=chi2_sf(stat, q) if q else float("nan"),
        f=stat / q if q else float("nan"),
        p_f=f_sf(stat / q, q, df2) if q else float("nan"),
        df1=q,
        df2=df2,
    )
