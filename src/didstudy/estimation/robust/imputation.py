"""The imputation estimator of Borusyak, Jaravel & Spiess (2024).

1. Fit ``Y_it(0) = a_i + lambda_t + X_it'delta`` on the untreated observations only;
2. impute ``Y_it(0)`` for every treated observation and take ``tau_it = Y_it - Y^_it(0)``;
3. average ``tau_it`` with the weights of the estimand: by horizon (event study), overall, by
   cohort and by cohort × period cell.

Standard errors are BJS's conservative cluster-robust variance (2024, Theorem 3 and eq. 8):
``sigma^2 = sum_c (sum_{it in c} v_it eps~_it)^2`` with ``v_it`` the estimator's implicit weights
(the estimand's weights on treated rows, ``-Z_0 (Z_0'Z_0)^- Z_1' w_1`` on untreated rows),
``eps~`` the first-step residuals on untreated rows and ``tau^_it - tau~_it`` on treated rows,
where ``tau~`` averages the estimated effects within groups (default: cohort × period):

* ``leave_out=False``: the "smart" average of BJS section 4.3 as their Stata/Python packages
  compute it, weighting each effect by ``v_it`` times its cluster's total weight in the group;
* ``leave_out=True``: the leave-out average of BJS Appendix A.6, which excludes the own cluster
  (``tau~_it = sum_{j: c(j) != c(i)} v_j tau^_j / sum_{j: c(j) != c(i)} v_j`` within the group),
  removing the downward bias of the plug-in with small groups.

Observation weights ``omega`` (``weights=`` or the Panel's weight) make step 1 weighted least
squares and the estimand weights proportional to ``omega`` within each target (BJS 2024 allow
any non-stochastic weights; their Stata/Python ``did_imputation`` take ``wtr``/``weights``);
the implicit weights become ``-Omega_0 Z_0 (Z_0'Omega_0 Z_0)^- Z_1'w_1`` (decision record 0063).

The pre-trend test (BJS section 4.4) is a separate OLS on the untreated observations of the
outcome on the fixed effects, the controls and dummies for 1..K periods before treatment, with
cluster-robust errors; its coefficients are the event study's negative relative times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import EstimationError, ValidationError, format_rows
from didstudy.estimation.robust._common import (
    EventStudySpec,
    PanelArrays,
    absorbed_factor,
    event_study_result,
    panel_arrays,
    robust_spec,
    with_spec,
)
from didstudy.estimation.robust._untreated import UntreatedModel, indicator
from didstudy.results.event_study import EventStudyResult, LinearCombination
from didstudy.results.spec import Baseline

__all__ = ["AvgEffectsBy", "imputation"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
AvgEffectsBy = Literal["cohort_period", "cohort", "horizon", "all"]


@dataclass(frozen=True, eq=False)
class _Targets:
    """Estimand weights on every row (sparse ``n x K``, zero off the treated rows), names."""

    W: Any
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    keys: tuple[tuple[int, int], ...]
    counts: npt.NDArray[np.int64]


def _absorb_codes(A: PanelArrays, fe: str, unit: str) -> IntArray:
    return A.unit if fe in ("unit", unit) else A.factors[0]


def _targets(A: PanelArrays, horizons: Sequence[int]) -> _Targets:
    """Columns: one per horizon, the overall ATT, one per cohort, one per (cohort, period)."""
    from scipy import sparse

    rel = A.rel_time
    rows1 = np.flatnonzero(A.treated & np.isin(rel, np.asarray(horizons, dtype=float)))
    g1, t1, r1 = A.cohort[rows1], A.period[rows1], rel[rows1]
    groups: list[npt.NDArray[np.intp]] = []
    names: list[str] = []
    kinds: list[str] = []
    keys: list[tuple[int, int]] = []

    w = A.w

    def add(sel: npt.NDArray[np.bool_], name: str, kind: str, key: tuple[int, int]) -> None:
        if kind == "horizon" and sel.any() and not w[rows1[sel]].sum() > 0:
            raise ValidationError(
                f"imputation: the treated observations at horizon {key[0]} have zero total weight.",
                fix="drop that horizon from horizons= or give them positive weights.",
            )
        if sel.any() and w[rows1[sel]].sum() > 0:
            groups.append(rows1[sel])
            names.append(name)
            kinds.append(kind)
            keys.append(key)

    for h in horizons:
        add(r1 == h, f"rel_time::{h}", "horizon", (h, 0))
    add(np.ones(rows1.size, dtype=bool), "att", "overall", (0, 0))
    for g in A.cohorts():
        add(g1 == g, f"cohort::{g}", "cohort", (int(g), 0))
    cell = (g1 - A.periods.min()) * (A.periods.size + 1) + (t1 - A.periods.min())
    for code in np.unique(cell):
        sel = cell == code
        g, t = int(g1[sel][0]), int(t1[sel][0])
        add(sel, f"cell::{g}:{t}", "cell", (g, t))
    counts = np.array([r.size for r in groups], dtype=np.int64)
    data = np.concatenate([w[r] / w[r].sum() for r in groups])
    cols = np.repeat(np.arange(len(groups)), counts)
    W = sparse.csc_matrix(
        (data, (np.concatenate(groups), cols)), shape=(A.n, len(groups)), dtype=np.float64
    )
    return _Targets(W, tuple(names), tuple(kinds), tuple(keys), counts)


def _group_codes(A: PanelArrays, by: AvgEffectsBy) -> IntArray:
    g = np.where(np.isfinite(A.cohort), A.cohort, -1).astype(np.int64)
    if by == "cohort_period":
        key = g * (int(A.periods.max()) + 1) + A.period
    elif by == "cohort":
        key = g
    elif by == "horizon":
        key = np.where(np.isfinite(A.rel_time), A.rel_time, -(10**9)).astype(np.int64)
    else:
        key = np.zeros(A.n, dtype=np.int64)
    codes: IntArray = np.unique(key, return_inverse=True)[1].astype(np.intp)
    return codes


def _tau_tilde(
    tau: FloatArray, v: FloatArray, group: IntArray, cluster: IntArray, leave_out: bool
) -> FloatArray:
    """Within-group averages of ``tau`` for the residuals of the conservative variance.

    ``tau``, ``v``, ``group``, ``cluster`` are on the treated rows; ``v`` one estimand's weights.
    """
    n_g = int(group.max()) + 1
    n_c = int(cluster.max()) + 1
    cell = group.astype(np.int64) * n_c + cluster
    _, cell_inv = np.unique(cell, return_inverse=True)
    cw = np.bincount(cell_inv, weights=v)
    if not leave_out:
        smart = cw[cell_inv] * v
        denom = np.bincount(group, weights=smart, minlength=n_g)
        num = np.bincount(group, weights=smart * tau, minlength=n_g)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(denom != 0, num / denom, 0.0)
        out: FloatArray = avg[group]
        return out
    tot_w = np.bincount(group, weights=v, minlength=n_g)
    tot_wt = np.bincount(group, weights=v * tau, minlength=n_g)
    own_wt = np.bincount(cell_inv, weights=v * tau)
    rest_w = tot_w[group] - cw[cell_inv]
    rest_wt = tot_wt[group] - own_wt[cell_inv]
    with np.errstate(invalid="ignore", divide="ignore"):
        full = np.where(tot_w[group] != 0, tot_wt[group] / tot_w[group], 0.0)
        loo: FloatArray = np.where(
            np.abs(rest_w) > 1e-14 * np.abs(tot_w[group]), rest_wt / rest_w, full
        )
    return loo


def _check_imputable(model: UntreatedModel, A: PanelArrays, W: Any) -> None:
    needed = np.zeros(A.n, dtype=bool)
    needed[np.unique(W.nonzero()[0])] = True
    needed &= model.unidentified()
    if needed.any():
        cohorts = sorted({int(g) for g in A.cohort[needed]})
        periods = sorted({int(t) for t in A.period[needed]})
        raise EstimationError(
            f"the untreated outcome cannot be imputed for {int(needed.sum())} treated "
            f"observations (cohorts {cohorts}, periods {periods}): no untreated observation "
            "shares their period (every unit is treated by then) or their fixed-effect level.",
            rows=[str(u) for u in pd.unique(A.unit_labels[A.unit[needed]])][:20],
            fix="restrict horizons= to effects that have not-yet- or never-treated comparisons, "
            "or drop the periods after the last cohort is treated (panel.subset(...)).",
        )


def _variance(
    A: PanelArrays,
    model: UntreatedModel,
    resid0: FloatArray,
    tau: FloatArray,
    targets: _Targets,
    by: AvgEffectsBy,
    leave_out: bool,
) -> FloatArray:
    """Cluster sums of the influence functions ``v_it eps~_it`` of every target (``G x K``)."""
    W = targets.W
    n_cl = A.n_clusters
    sums = -model.adjoint_cluster_sums(W, resid0, A.cluster[model.rows0], n_cl)
    group = _group_codes(A, by)
    for j in range(W.shape[1]):
        start, stop = W.indptr[j], W.indptr[j + 1]
        rows = W.indices[start:stop]
        v1 = W.data[start:stop]
        _, g = np.unique(group[rows], return_inverse=True)
        cl = A.cluster[rows]
        psi = v1 * (tau[rows] - _tau_tilde(tau[rows], v1, g.astype(np.intp), cl, leave_out))
        sums[:, j] += np.bincount(cl, weights=psi, minlength=n_cl)
    return sums


def _pretrend(
    A: PanelArrays, absorb: IntArray, n_pre: int
) -> tuple[list[int], FloatArray, FloatArray, float]:
    """BJS pre-trend regression: coefficients and influence functions of the K lead dummies.

    Returns ``(leads, coef, psi, dof)``: ``psi`` is ``n x K`` (CRV1-scaled so that its cluster
    outer products give the reported variance), ``dof`` the small-sample factor applied.
    """
    rel = A.rel_time
    untreated = ~A.treated
    leads = [k for k in range(-n_pre, 0) if (untreated & (rel == k)).any()]
    if not leads:
        return [], np.zeros(0), np.zeros((A.n, 0)), 1.0
    P = np.column_stack([(untreated & (rel == k)).astype(np.float64) for k in leads])
    model = UntreatedModel.build(absorb, A.time, np.hstack([A.X, P]), untreated, A.weight)
    fit = model.fit(A.y)
    k_lead = len(leads)
    coef = fit.delta[-k_lead:]
    infl = model.coef_influence(fit.resid)[:, -k_lead:]
    n0 = int((model.w0 > 0).sum())
    n_cl = int(np.unique(A.cluster[model.rows0]).size)
    # CRV1 as fixest: (n-1)/(n-K) G/(G-1), K = regressors + period effects (unit FE nested)
    k_total = A.X.shape[1] + k_lead + model.n_time - 1 + 1
    dof = (n0 - 1) / max(n0 - k_total, 1) * n_cl / max(n_cl - 1, 1)
    psi = np.zeros((A.n, k_lead))
    psi[model.rows0] = infl * np.sqrt(dof)
    return leads, coef, psi, dof


def imputation(
    panel: object,
    y: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    fe: str | Sequence[str] | None = None,
    horizons: Sequence[int] | None = None,
    pretrends: int = 0,
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
    avg_effects_by: AvgEffectsBy = "cohort_period",
    leave_out: bool = False,
    level: float = 0.95,
) -> EventStudyResult:
    """Imputation event study of Borusyak, Jaravel & Spiess (2024).

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel` (absorbing treatment).
    y, controls
        Outcome and time-varying controls of the untreated-outcome model.
    fe
        Absorbed factor besides the period effects: ``"unit"`` or a coarser column such as a
        state identifier; ``"state+year"``/the spec's TWFE ``fe`` name it with the panel's
        time column left out (default: the spec's ``fe``, else the unit).
    horizons
        Relative times ``h >= 0`` to report (default: all observed).
    pretrends
        Number ``K`` of pre-periods in the pre-trend regression (BJS section 4.4); 0 = none.
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none):
        weighted untreated-outcome model, estimands weighted by it within each target
        (cohorts or cells whose treated observations all weigh 0 get no estimate).
    spec
        A :class:`didstudy.Baseline`; ``y``, ``controls``, ``fe``, ``cluster`` and ``weights``
        given here (not ``None``) override its fields (decision records 0021, 0063).
    avg_effects_by
        Groups within which effects are averaged for the conservative variance
        (``"cohort_period"``: BJS's default cohort × period).
    leave_out
        Use the leave-out average (BJS Appendix A.6) instead of the "smart" plug-in.
    level
        Confidence level of the intervals.

    Returns
    -------
    EventStudyResult
        ``estimator="imputation"``, ``spec`` the resolved baseline, no base period
        (``has_base=False``); the leads are the pre-trend coefficients; ``aggregates`` hold the
        overall ATT and the cohort averages; ``cells`` the cohort × period averages with their
        standard errors.

    Raises
    ------
    ValidationError
        Non-absorbing treatment (use ``dcdh``), unknown columns, missing values, bad horizons.
    EstimationError
        A requested effect whose untreated outcome cannot be imputed (names cohorts, periods).

    Examples
    --------
    >>> res = imputation(panel, "lemp", horizons=range(4), pretrends=3)  # doctest: +SKIP
    >>> res.tidy()  # doctest: +SKIP
    """
    rs = robust_spec(
        "imputation", spec, panel, y=y, controls=controls, cluster=cluster, weights=weights
    )
    fe_col = absorbed_factor("imputation", fe if fe is not None else rs.base.fe, panel)
    factors = () if fe_col in ("unit", getattr(panel, "unit", None)) else (fe_col,)
    A = panel_arrays(
        panel, rs.y, rs.controls, rs.cluster, estimator="imputation", factors=factors,
        weights=rs.weights,
    )  # fmt: skip
    if not A.treated.any():
        raise ValidationError("no unit is treated in the sample.", fix="check the treatment.")
    absorb = _absorb_codes(A, fe_col, str(getattr(panel, "unit", "")))
    rel = A.rel_time
    available = sorted({int(k) for k in rel[A.treated]})
    hs = list(available) if horizons is None else sorted({int(h) for h in horizons})
    missing = [h for h in hs if h not in available]
    if missing or any(h < 0 for h in hs):
        raise ValidationError(
            f"horizons {format_rows(missing or [h for h in hs if h < 0])} have no treated "
            f"observation (available: {available[0]}..{available[-1]}).",
            fix="choose horizons >= 0 among the relative times observed.",
        )
    model = UntreatedModel.build(absorb, A.time, A.X, ~A.treated, A.weight)
    targets = _targets(A, hs)
    _check_imputable(model, A, targets.W)
    fit = model.fit(A.y)
    tau = np.where(A.treated, A.y - model.predict(fit), 0.0)
    tau = np.nan_to_num(tau)
    est = np.asarray(targets.W.T @ tau)
    sums = _variance(A, model, fit.resid, tau, targets, avg_effects_by, leave_out)
    leads, pre_coef, pre_psi, _ = _pretrend(A, absorb, pretrends)
    pre_sums = np.asarray(indicator(A.cluster, A.n_clusters).T @ pre_psi)
    S = np.hstack([sums, pre_sums])
    V = S.T @ S
    res = _result(A, targets, est, pre_coef, leads, V, level, leave_out, avg_effects_by)
    return with_spec(res, rs)


def _result(
    A: PanelArrays,
    targets: _Targets,
    est: FloatArray,
    pre_coef: FloatArray,
    leads: list[int],
    V: FloatArray,
    level: float,
    leave_out: bool,
    by: str,
) -> EventStudyResult:
    K = est.size
    kinds = np.asarray(targets.kinds)
    h_idx = np.flatnonzero(kinds == "horizon")
    idx = np.concatenate([K + np.arange(len(leads)), h_idx]).astype(np.intp)
    allc = np.concatenate([est, pre_coef])
    coef = allc[idx]
    vcov = V[np.ix_(idx, idx)]
    rel = [*leads, *[targets.keys[i][0] for i in h_idx]]
    df_t = float(A.n_clusters - 1)
    se = np.sqrt(np.clip(np.diag(V), 0.0, None))
    aggregates = [
        LinearCombination(
            name=targets.names[i],
            terms=(targets.names[i],),
            weights=(1.0,),
            estimate=float(est[i]),
            std_error=float(se[i]),
            df=df_t,
            level=level,
        )
        for i in np.flatnonzero((kinds == "overall") | (kinds == "cohort"))
    ]
    cell_idx = np.flatnonzero(kinds == "cell")
    counts = targets.counts[cell_idx]
    cells = pd.DataFrame(
        {
            "cohort": [targets.keys[i][0] for i in cell_idx],
            "period": [targets.keys[i][1] for i in cell_idx],
            "rel_time": [targets.keys[i][1] - targets.keys[i][0] for i in cell_idx],
            "estimate": est[cell_idx],
            "std_error": se[cell_idx],
            "n_treated": counts.astype(np.int64),
        }
    )
    spec = EventStudySpec(
        estimator="imputation",
        outcome=A.outcome,
        controls=A.controls,
        control_group="not_yet",
        window=(min(rel), max(rel)),
        has_base=False,
        vcov_type="BJS conservative" + (" (leave-out)" if leave_out else ""),
        notes=(
            "Imputation estimator (Borusyak, Jaravel & Spiess 2024); untreated outcomes from "
            "never- and not-yet-treated observations.",
            f"Conservative standard errors clustered by unit groups; effects averaged by {by}"
            + (" leaving out the own cluster." if leave_out else "."),
        ),
    )
    return event_study_result(
        spec,
        rel,
        coef,
        vcov,
        df_t=df_t,
        nobs=A.n,
        n_clusters=A.n_clusters,
        cells=cells,
        aggregates=aggregates,
        pretrend_idx=list(range(len(leads))),
        level=level,
    )
