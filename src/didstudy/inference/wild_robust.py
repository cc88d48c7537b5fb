"""The wild cluster bootstrap's view of the heterogeneity-robust estimators (decision 0054).

* Sun–Abraham and ETWFE are one saturated least-squares regression on cohort × period cells;
  their reported effects are fixed linear combinations of the cell coefficients (cohort shares,
  emfx observation shares: functions of the design only, identical in every bootstrap draw). The
  hypothesis becomes that combination and the "fast and wild" regression kernel runs unchanged:
  :func:`saturated_problem` returns the regression's frame and the hypothesis vector.
* The imputation and two-stage estimators are linear in the outcome: :func:`linear_problem`
  returns their implicit weights, residuals and cluster-score map for
  :func:`didstudy.inference.wild_linear.linear_draws`.

Results keep no data: the estimator's design is re-built from the panel and the result's
specification (or ``estimator_args``) and must reproduce the result's estimate and standard
error of the tested combination.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import ValidationError
from didstudy.estimation.robust._common import PanelArrays, panel_arrays
from didstudy.estimation.robust._saturated import cell_frame, cell_name, fit_cells
from didstudy.estimation.robust._untreated import UntreatedModel, dense, indicator
from didstudy.inference.wild_linear import LinearEstimator
from didstudy.kernels.demean import demean
from didstudy.results.event_study import EventStudyResult

__all__ = ["LINEAR", "SATURATED", "SaturatedProblem", "linear_problem", "saturated_problem"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Combination = Mapping[str, float]

LINEAR = ("imputation", "did2s")
SATURATED = ("sun_abraham", "etwfe")


# ----- the combination in the result's own names -------------------------------------------
def expand(result: EventStudyResult, combo: Combination) -> dict[str, float]:
    """``{name: weight}`` with aggregates over other terms expanded into those terms."""
    out: dict[str, float] = {}
    aggs = {a.name: a for a in result.aggregates}
    for name, w in combo.items():
        agg = aggs.get(name)
        parts = (
            zip(agg.terms, agg.weights, strict=True)
            if agg is not None and agg.terms != (name,)
            else [(name, 1.0)]
        )
        for term, weight in parts:
            out[term] = out.get(term, 0.0) + float(w) * float(weight)
    return out


def _arg(args: Mapping[str, Any], key: str, default: Any) -> Any:
    return args.get(key, default)


def _note(result: EventStudyResult, pattern: str, default: str) -> str:
    for note in result.notes:
        found = re.search(pattern, note)
        if found:
            return found.group(1)
    return default


# ----- imputation and two-stage ------------------------------------------------------------
def _fit_block(model: UntreatedModel, Y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:meth:`UntreatedModel.fit` on every column of ``Y`` (``n x m``): residuals on the
    untreated rows and the fitted untreated outcome on every row."""
    rows0 = model.rows0
    a0 = model.absorb[rows0]
    Y0 = Y[rows0]
    Y0t = demean(np.asfortranarray(Y0), [a0])
    coef = model.pinv @ (model.M0_tilde.T @ Y0t)
    resid0: FloatArray = Y0t - model.M0_tilde @ coef
    sums = dense(indicator(a0, model.n_absorb).T @ (Y0 - model._m_times(coef, rows0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.where(model.count0[:, None] > 0, sums / model.count0[:, None], np.nan)
    pred: FloatArray = level[model.absorb] + model._m_times(coef, np.arange(Y.shape[0]))
    return resid0, pred


@dataclass(frozen=True, eq=False)
class _SparseFit:
    """The untreated fit of ``Y = [u ∘ 1_g]_g`` (sparse, ``n x G``) kept factored:
    residuals on the untreated rows ``r_s + r_f K`` and ``Y - fitted`` on every row
    ``y_s + y_f K`` (rows without an absorbed level zeroed, as ``nan_to_num``), with ``K``
    (``p x G``) the period/control coefficients; ``_s`` parts sparse, ``_f`` parts ``n x p``."""

    r_s: Any
    r_f: FloatArray
    y_s: Any
    y_f: FloatArray
    K: FloatArray


def _columns(u: FloatArray, boot: IntArray, n_boot: int) -> Any:
    from scipy import sparse

    n = u.size
    return sparse.csc_matrix((u, (np.arange(n), boot)), shape=(n, n_boot))


def _fit_sparse(model: UntreatedModel, Y: Any) -> _SparseFit:
    """:func:`_fit_block` on one-cluster columns in ``O(nnz · p)``: the same algebra with the
    period/control part factored out (``M~_0' Y~_0``, then ``M K`` never formed densely)."""
    from scipy import sparse

    rows0 = model.rows0
    A0 = indicator(model.absorb[rows0], model.n_absorb)
    inv = np.divide(1.0, model.count0, out=np.zeros_like(model.count0), where=model.count0 > 0)
    Y0 = Y[rows0]
    level_s = sparse.diags(inv) @ (A0.T @ Y0)
    Y0t = Y0 - A0 @ level_s
    K = model.pinv @ np.asarray((Y0t.T @ model.M0_tilde).T)
    T = model.n_time
    design = np.zeros((model.time.size, T - 1 + model.X.shape[1]))
    has = model.time > 0
    design[np.flatnonzero(has), model.time[has] - 1] = 1.0
    design[:, T - 1 :] = model.X
    level_f = -(inv[:, None] * np.asarray(A0.T @ design[rows0]))
    ok = (model.count0[model.absorb] > 0).astype(np.float64)
    at = indicator(model.absorb, model.n_absorb)
    y_s = sparse.diags(ok) @ (Y - at @ level_s)
    y_f = -(ok[:, None] * (np.asarray(at @ level_f) + design))
    return _SparseFit(Y0t.tocsc(), -model.M0_tilde, y_s.tocsc(), y_f, K)


def _implicit(model: UntreatedModel, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``z = w - Z_0 (Z_0'Z_0)^- Z'w`` (on the untreated rows) and that adjoint term."""
    adj = model.adjoint(w[:, np.newaxis])[:, 0]
    z = w.copy()
    z[model.rows0] -= adj
    return z, adj


def _model(panel: Any, result: EventStudyResult, args: Mapping[str, Any], cluster: str | None,
           estimator: str) -> tuple[PanelArrays, UntreatedModel, str]:  # fmt: skip
    from didstudy.estimation.robust._common import absorbed_factor

    unit = str(getattr(panel, "unit", ""))
    spec = getattr(result, "spec", None)
    fe = absorbed_factor(estimator, _arg(args, "fe", getattr(spec, "fe", None)), panel)
    factors = () if fe in ("unit", unit) else (fe,)
    A = panel_arrays(
        panel, result.outcome, result.controls, cluster, estimator=estimator, factors=factors
    )
    absorb = A.unit if not factors else A.factors[0]
    return A, UntreatedModel.build(absorb, A.time, A.X, ~A.treated), fe


def _averager(
    v: FloatArray, group: IntArray, cluster: IntArray, leave_out: bool
) -> Callable[[FloatArray], FloatArray]:
    """The map ``tau -> tau~`` of the imputation variance (``imputation._tau_tilde``: "smart"
    or leave-out within-group averages) on blocks of columns; its weights depend on the
    design only, so it is linear in ``tau`` (checked against the estimator by re-runs)."""
    n_g = int(group.max()) + 1
    n_c = int(cluster.max()) + 1
    cell_inv = np.unique(group.astype(np.int64) * n_c + cluster, return_inverse=True)[1]
    Gi = indicator(group, n_g)
    Ci = indicator(cell_inv.astype(np.intp), int(cell_inv.max()) + 1)
    cw = np.bincount(cell_inv, weights=v)[cell_inv]
    if not leave_out:
        smart = cw * v
        denom = dense(Gi.T @ smart[:, None])[:, 0]
        scale = np.divide(1.0, denom, out=np.zeros_like(denom), where=denom != 0)
        return lambda T: dense(Gi @ (scale[:, None] * dense(Gi.T @ (smart[:, None] * T))))
    tot_w = dense(Gi.T @ v[:, None])[:, 0][group]
    rest_w = tot_w - cw
    use_rest = np.abs(rest_w) > 1e-14 * np.abs(tot_w)
    inv_tot = np.divide(1.0, tot_w, out=np.zeros_like(tot_w), where=tot_w != 0)
    inv_rest = np.divide(1.0, rest_w, out=np.zeros_like(rest_w), where=use_rest)

    def leave_out_average(T: FloatArray) -> FloatArray:
        VT = v[:, None] * T
        tot = dense(Gi @ dense(Gi.T @ VT))
        own = dense(Ci @ dense(Ci.T @ VT))
        out: FloatArray = np.where(
            use_rest[:, None], (tot - own) * inv_rest[:, None], tot * inv_tot[:, None]
        )
        return out

    return leave_out_average


def _imputation(
    panel: Any, result: EventStudyResult, combo: dict[str, float], args: Mapping[str, Any],
    cluster: str | None,
) -> tuple[LinearEstimator, IntArray]:  # fmt: skip
    from didstudy.estimation.robust.imputation import _group_codes, _targets

    A, model, _ = _model(panel, result, args, cluster, "imputation")
    horizons = _arg(args, "horizons", [k for k in result.rel_time if k >= 0])
    by = _arg(args, "avg_effects_by", _note(result, r"effects averaged by (\w+)", "cohort_period"))
    leave_out = bool(_arg(args, "leave_out", "leave-out" in result.vcov_type))
    targets = _targets(A, sorted(int(h) for h in horizons))
    c = np.zeros(len(targets.names))
    for name, weight in combo.items():
        if name not in targets.names:
            raise ValidationError(
                f"the imputation bootstrap tests effects of treated observations; {name!r} is "
                "not one (the leads come from a separate pre-trend regression)",
                fix=f"use one of {list(targets.names[: len(horizons) + 1])} or 'post_average'",
            )
        c[targets.names.index(name)] += weight
    W = targets.W.tocsc()
    w = np.asarray(W @ c, dtype=np.float64)
    z, _ = _implicit(model, w)
    group = _group_codes(A, by)
    parts = []
    for j in np.flatnonzero(c):
        rows = W.indices[W.indptr[j] : W.indptr[j + 1]]
        v1 = W.data[W.indptr[j] : W.indptr[j + 1]]
        g = np.unique(group[rows], return_inverse=True)[1].astype(np.intp)
        C1 = indicator(A.cluster[rows], A.n_clusters).T
        parts.append((rows, v1, _averager(v1, g, A.cluster[rows], leave_out), C1, float(c[j])))
    C0 = indicator(A.cluster[model.rows0], A.n_clusters).T
    z0 = z[model.rows0]

    def scores(Y: FloatArray) -> FloatArray:
        resid0, pred = _fit_block(model, Y)
        tau = np.nan_to_num(np.where(A.treated[:, None], Y - pred, 0.0))
        S = dense(C0 @ (z0[:, None] * resid0))
        for rows, v1, average, C1, cj in parts:
            T = tau[rows]
            S += cj * dense(C1 @ (v1[:, None] * (T - average(T))))
        return S

    def maps(u: FloatArray, boot: IntArray, n_boot: int) -> FloatArray:
        from scipy import sparse

        f = _fit_sparse(model, _columns(u, boot, n_boot))
        treated = A.treated.astype(np.float64)
        tau_s = (sparse.diags(treated) @ f.y_s).tocsr()
        tau_f = treated[:, None] * f.y_f
        S = dense(C0 @ (sparse.diags(z0) @ f.r_s))
        F = np.asarray(C0 @ (z0[:, None] * f.r_f))
        for rows, v1, average, C1, cj in parts:
            Ts = dense(tau_s[rows])
            Tf = tau_f[rows]
            S += cj * dense(C1 @ (v1[:, None] * (Ts - average(Ts))))
            F += cj * np.asarray(C1 @ (v1[:, None] * (Tf - average(Tf))))
        out: FloatArray = S + F @ f.K
        return out

    fit = model.fit(A.y)
    resid = np.zeros(A.n)
    resid[model.rows0] = fit.resid
    tau = np.nan_to_num(np.where(A.treated, A.y - model.predict(fit), 0.0))
    cell = np.unique(_group_codes(A, by)[A.treated], return_inverse=True)[1]
    means = np.bincount(cell, weights=tau[A.treated]) / np.bincount(cell)
    resid[A.treated] = tau[A.treated] - means[cell]
    return LinearEstimator(A.y, z, resid, scores, maps), A.cluster


def _did2s(
    panel: Any, result: EventStudyResult, combo: dict[str, float], args: Mapping[str, Any],
    cluster: str | None,
) -> tuple[LinearEstimator, IntArray]:  # fmt: skip
    from didstudy.estimation.robust.did2s import _event_design

    A, model, _ = _model(panel, result, args, cluster, "did2s")
    static = _arg(args, "second_stage", "event" if result.has_base else "static") == "static"
    if static:
        X2, ks = A.treated.astype(np.float64)[:, None], [0]
    else:
        window = _arg(args, "window", result.window)
        X2, ks = _event_design(A, window, _arg(args, "base", result.base))
    names = [f"rel_time::{k}" for k in ks]
    c = np.zeros(len(ks))
    for name, weight in combo.items():
        c[names.index(name)] += weight
    bread = np.linalg.pinv(X2.T @ X2)
    xb = X2 @ (bread @ c)
    z, adj0 = _implicit(model, xb)
    C = indicator(A.cluster, A.n_clusters).T
    C0 = indicator(A.cluster[model.rows0], A.n_clusters).T

    def second(Y: FloatArray) -> tuple[FloatArray, FloatArray]:
        resid0, pred = _fit_block(model, Y)
        ytil = np.nan_to_num(Y - pred)
        return resid0, ytil - X2 @ (bread @ (X2.T @ ytil))

    def scores(Y: FloatArray) -> FloatArray:
        resid0, resid2 = second(Y)
        return dense(C @ (xb[:, None] * resid2)) - dense(C0 @ (adj0[:, None] * resid0))

    def maps(u: FloatArray, boot: IntArray, n_boot: int) -> FloatArray:
        from scipy import sparse

        f = _fit_sparse(model, _columns(u, boot, n_boot))
        proj_s = bread @ dense(X2.T @ f.y_s)  # second-stage coefficients of the sparse part
        proj_f = bread @ (X2.T @ f.y_f)
        S = dense(C @ (sparse.diags(xb) @ f.y_s)) - np.asarray(C @ (xb[:, None] * X2)) @ proj_s
        S -= dense(C0 @ (sparse.diags(adj0) @ f.r_s))
        F = np.asarray(C @ (xb[:, None] * (f.y_f - X2 @ proj_f)))
        F -= np.asarray(C0 @ (adj0[:, None] * f.r_f))
        out: FloatArray = S + F @ f.K
        return out

    return LinearEstimator(A.y, z, second(A.y[:, None])[1][:, 0], scores, maps), A.cluster


def linear_problem(
    panel: Any,
    result: EventStudyResult,
    combo: Combination,
    args: Mapping[str, Any],
    cluster: str | None,
) -> tuple[LinearEstimator, IntArray]:
    """The estimator's linear maps for the combination, and the cluster codes of its rows.

    Parameters
    ----------
    panel
        The Panel the result was estimated on.
    result
        An ``imputation`` or ``did2s`` event study.
    combo
        ``{term or aggregate: weight}``.
    args
        The estimator's keyword arguments that the result does not record (``fe``, ...).
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    """
    build = _imputation if result.estimator == "imputation" else _did2s
    return build(panel, result, expand(result, combo), args, cluster)


# ----- Sun-Abraham and ETWFE ---------------------------------------------------------------
@dataclass(frozen=True)
class SaturatedProblem:
    """The saturated regression (frame, regressors, fixed effects) and the hypothesis vector."""

    frame: pd.DataFrame
    regressors: tuple[str, ...]
    fe: tuple[str, ...]
    R: FloatArray
    coef: FloatArray


def _rows_sun_abraham(result: EventStudyResult, terms: tuple[str, ...]) -> dict[str, FloatArray]:
    cells = result.cells
    assert cells is not None
    out = {}
    for e, name in zip(result.rel_time, result.terms, strict=True):
        row = np.zeros(len(terms))
        members = cells.loc[cells["rel_time"] == e, ["cohort", "period", "share"]]
        for g, t, share in members.to_numpy():
            cn = cell_name(int(g), int(t))
            if cn in terms:
                row[terms.index(cn)] += float(share)
        out[name] = row
    return out


def saturated_problem(
    panel: Any,
    result: EventStudyResult,
    combo: Combination,
    args: Mapping[str, Any],
    cluster: str | None,
    weights: str | None = None,
) -> SaturatedProblem:
    """The Sun–Abraham / ETWFE regression and the hypothesis on its coefficients.

    Parameters
    ----------
    panel, result, combo, args, cluster
        As :func:`linear_problem` (``result.estimator`` is ``sun_abraham`` or ``etwfe``).
    weights
        The observation-weight column of a weighted result (the regression is then weighted
        least squares, column ``_w`` of the frame; the shares are the result's, held fixed).
    """
    if result.estimator == "sun_abraham":
        from didstudy.estimation.robust.sun_abraham import _cell_keys, _sample

        A0 = panel_arrays(
            panel, result.outcome, result.controls, cluster, estimator="sun_abraham",
            weights=weights,
        )  # fmt: skip
        A, _ = _sample(A0, str(_arg(args, "control_group", result.control_group)))
        keys = _cell_keys(A)
        ctrl = {name: A.X[:, j] for j, name in enumerate(A.controls)}
        fe = ["unit", "time"]
        inter: dict[str, FloatArray] = {}
        fit = fit_cells(A, keys, fe, controls=ctrl)
        rows = _rows_sun_abraham(result, fit.terms)
    else:
        from didstudy.estimation.robust.etwfe import (
            _CellIndex,
            _cells,
            _covariate_columns,
            _marginal_weights,
        )

        A = panel_arrays(
            panel, result.outcome, result.controls, cluster, estimator="etwfe", weights=weights
        )
        cg = str(_arg(args, "control_group", result.control_group))
        fe = [str(_arg(args, "fe", _note(result, r"\), (\w+) and period", "cohort"))), "time"]
        keys = _cells(A, cg)
        inter, ctrl, x_dm = _covariate_columns(A, keys) if A.controls else ({}, {}, A.X)
        fit = fit_cells(A, keys, fe, inter, ctrl)
        index = _CellIndex.build(A, fit, keys)
        post = A.treated if cg == "not_yet" else np.isfinite(A.rel_time)
        rows = {
            name: _marginal_weights(A, fit, post & (A.rel_time == k), index, x_dm)
            for k, name in zip(result.rel_time, result.terms, strict=True)
        }
    frame, _, _ = cell_frame(A, keys, inter, ctrl)
    R = np.zeros(len(fit.terms))
    for name, weight in expand(result, combo).items():
        if name in rows:
            R += weight * rows[name]
        elif name in fit.terms:
            R[fit.terms.index(name)] += weight
        else:
            raise ValidationError(f"no coefficient named {name!r} in the {result.estimator} fit")
    return SaturatedProblem(frame, fit.terms, tuple(fe), R, fit.coef)
