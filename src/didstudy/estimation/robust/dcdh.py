"""Dynamic effects of de Chaisemartin & D'Haultfœuille (2024), ``did_multiplegt_dyn``.

For a binary treatment that may switch on and off, each unit ``g`` has a baseline treatment
``D_g1`` and a first switch ``F_g`` (the first period whose treatment differs from ``D_g1``).
The effect ``l`` periods after the switch compares the switcher's outcome change
``Y_{g,F_g-1+l} - Y_{g,F_g-1}`` with that of the units of the same baseline treatment that have
not switched yet at ``F_g-1+l`` (dCDH 2024, eq. 3):

    DID_l = sum_g S_g [dY_g - mean_{not yet switched} dY] / N_l,

``S_g = +1`` for switchers in and ``-1`` for switchers out, combined with their shares; only
switchers with ``F_g - 1 + l <= T_g`` (a not-yet-switcher of their baseline still exists) count.
Placebos ``DID^pl_l`` replace ``dY`` by ``Y_{g,F_g-1-l} - Y_{g,F_g-1}`` with the same controls.

Observation weights (``weights=``, ``did_multiplegt_dyn``'s ``weight``) replace every count by
the cell weights ``N_gt``: ``N_l`` is the switchers' weight at ``F_g - 1 + l``, the controls'
mean change and ``E^`` are weighted means, and the influence functions carry ``N_gt``; the DOF
factors still count cells (decision record 0063).

Controls (``did_multiplegt_dyn``'s ``controls``, dCDH 2024 Web Appendix): for each baseline
treatment ``d`` with at least two switch dates, ``theta_d`` is the weighted least-squares slope
of the first difference ``dY`` on ``dX`` with period effects over the not-yet-switched cells of
baseline ``d``; every long difference of a unit of baseline ``d`` becomes
``(Y - theta_d'X)_t - (Y - theta_d'X)_{t-l}``. The influence functions subtract
``M' [(Denom^+ r G) in_sum_g - theta_d]``, the estimation error of ``theta_d`` (``M`` the
derivative of ``DID_l`` in ``theta``, ``in_sum_g`` the unit's ``sum_t N_gt dX~ (dY - E^)`` with
the period DOF factor), exactly as the package computes it (decision record 0063).

Standard errors are the analytic ones of ``did_multiplegt_dyn`` (default, not
``less_conservative_se``): with ``U_g`` the unit's influence function,
``se^2 = sum_c (sum_{g in c} U~_g)^2 / G^2`` where ``U~`` replaces ``dY`` by ``dY - E^`` times a
degrees-of-freedom factor ``sqrt(n/(n-1))``, ``E^`` the mean change of the unit's cohort (switchers
of the same baseline and switch date; not-yet-switchers of the same baseline and period; their
union when a cohort is a singleton). The joint placebo test is the Wald test of all placebos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import EstimationError, ValidationError
from didstudy.estimation.robust._common import (
    EventStudySpec,
    RobustSpec,
    cluster_sums,
    event_study_result,
    panel_arrays,
    robust_spec,
    with_spec,
)
from didstudy.results.event_study import EventStudyResult
from didstudy.results.spec import Baseline

__all__ = ["dcdh"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Design:
    """Unit x period matrices (NaN = not observed) and the switching structure."""

    Y: FloatArray
    d_sq: FloatArray
    first_switch: npt.NDArray[np.int64]
    last_control: npt.NDArray[np.int64]
    cluster: npt.NDArray[np.intp]
    weight: FloatArray
    X: FloatArray
    controls: dict[float, _Controls]

    @property
    def Y_res(self) -> FloatArray:
        """The outcome minus ``theta_d'X`` of each unit's baseline ``d`` (no controls: ``Y``)."""
        out = self.Y.copy()
        for d, c in self.controls.items():
            same = self.d_sq == d
            out[same] -= self.X[same] @ c.theta
        return out


@dataclass(frozen=True)
class _Controls:
    """The control adjustment of one baseline treatment ``d`` (did_multiplegt_dyn ``controls``).

    Attributes
    ----------
    theta
        WLS coefficients of ``dY`` on ``dX`` with period effects, not-yet-switched cells.
    bracket
        ``G x k``: each unit's term ``(Denom^+ r G) in_sum_g - theta`` of the influence function
        of ``theta`` (did_multiplegt_dyn's ``in_brackets``).
    """

    theta: FloatArray
    bracket: FloatArray


def _first_differences(Y: FloatArray, X: FloatArray) -> tuple[FloatArray, FloatArray]:
    dY = np.full(Y.shape, np.nan)
    dY[:, 1:] = Y[:, 1:] - Y[:, :-1]
    dX = np.full(X.shape, np.nan)
    dX[:, 1:] = X[:, 1:] - X[:, :-1]
    return dY, dX


def _controls(
    Y: FloatArray, X: FloatArray, W: FloatArray, d_sq: FloatArray, F: npt.NDArray[np.int64]
) -> dict[float, _Controls]:
    """``theta_d`` and its influence terms for every baseline ``d`` with >= 2 switch dates.

    dCDH (2024, Web Appendix) as did_multiplegt_dyn computes it: WLS (weights ``N_gt``) of the
    first difference ``dY`` on ``dX`` demeaned within period over the not-yet-switched cells of
    baseline ``d``; the influence term sums ``N_gt dX~ (dY - E^)`` over the unit's cells with the
    period DOF factor ``sqrt(E/(E-1))`` (``E`` cells in the period), divided by ``N_c``.
    """
    G, T, k = X.shape
    dY, dX = _first_differences(Y, X)
    cols = np.arange(T)[None, :]
    pre = (cols < F[:, None]) & (cols >= 1) & ~np.isnan(dY)
    r_sum = float(W[pre & (cols <= int(F.max()) - 1)].sum())
    out: dict[float, _Controls] = {}
    for d in np.unique(d_sq):
        same = d_sq == d
        if np.unique(F[same]).size < 2:
            continue
        sample = same[:, None] & pre & ~np.isnan(dX).any(axis=2)
        w = np.where(sample, W, 0.0)
        wt = w.sum(axis=0)
        dXz, dYz = np.nan_to_num(dX), np.nan_to_num(dY)
        x_bar = np.divide(
            np.einsum("gt,gtk->tk", w, dXz), wt[:, None], out=np.zeros((T, k)),
            where=wt[:, None] > 0,
        )  # fmt: skip
        y_bar = np.divide((w * dYz).sum(axis=0), wt, out=np.zeros(T), where=wt > 0)
        Xt = np.where(sample[:, :, None], dXz - x_bar[None], 0.0)
        gram = np.einsum("gt,gtj,gtk->jk", w, Xt, Xt)
        theta = np.linalg.pinv(gram) @ np.einsum("gt,gtj,gt->j", w, Xt, dYz)
        n_t = sample.sum(axis=0)
        enough = n_t >= 2
        dof = np.where(enough, np.sqrt(n_t / np.maximum(n_t - 1, 1)), 1.0)
        fitted = np.where(enough[None, :], y_bar[None, :] + Xt @ theta, 0.0)
        resid = np.where(sample, (dYz - fitted) * dof[None, :], 0.0)
        last = int(F[same].max()) - 1
        n_c = float(W[same[:, None] & pre & (cols <= last)].sum())
        in_sum = np.einsum("gt,gtk,gt->gk", w, Xt, resid) / n_c
        bracket = in_sum @ (np.linalg.pinv(gram) * r_sum * G).T
        bracket[~(same & (F >= 2))] = 0.0
        out[float(d)] = _Controls(theta=theta, bracket=bracket - theta[None, :])
    return out


def _design(panel: object, rs: RobustSpec) -> _Design:
    A = panel_arrays(
        panel, rs.y, rs.controls, rs.cluster, estimator="dcdh", absorbing=False,
        drop_always_treated=False, weights=rs.weights,
    )  # fmt: skip
    if np.any(np.diff(A.periods) != 1):
        raise ValidationError(
            f"dcdh needs consecutive integer periods; the panel has {A.periods.tolist()}.",
            fix="recode the periods as consecutive integers (e.g. rank of the year).",
        )
    G, T = A.n_units, A.periods.size
    Y = np.full((G, T), np.nan)
    D = np.full((G, T), np.nan)
    W = np.zeros((G, T))
    Y[A.unit, A.time] = A.y
    D[A.unit, A.time] = A.treated.astype(np.float64)
    W[A.unit, A.time] = A.w
    first_obs = np.argmax(~np.isnan(D), axis=1)
    d_sq = D[np.arange(G), first_obs]
    changed = (d_sq[:, None] != D) & ~np.isnan(D)
    first_switch = np.where(changed.any(axis=1), np.argmax(changed, axis=1), T).astype(np.int64)
    last_control = np.zeros(G, dtype=np.int64)
    for d in np.unique(d_sq):
        same = d_sq == d
        last_control[same] = int(first_switch[same].max()) - 1
    cl = np.zeros(G, dtype=np.intp)
    cl[A.unit] = A.cluster
    X = np.full((G, T, A.X.shape[1]), np.nan)
    X[A.unit, A.time] = A.X
    ctrl = _controls(Y, X, W, d_sq, first_switch) if A.X.shape[1] else {}
    return _Design(Y, d_sq, first_switch, last_control, cl, W, X, ctrl)


def _influence(des: _Design, ell: int, placebo: bool) -> tuple[FloatArray, FloatArray, int] | None:
    """``(U, U_var, N)`` of effect or placebo ``ell``: per-unit influence functions."""
    Y, G, T = des.Y_res, des.Y.shape[0], des.Y.shape[1]
    dy = np.full((G, T), np.nan)
    dy[:, ell:] = Y[:, ell:] - Y[:, :-ell]
    if placebo:
        dyp = np.full((G, T), np.nan)
        dyp[:, 2 * ell :] = Y[:, : T - 2 * ell] - Y[:, ell : T - ell]
        valid = ~np.isnan(dy) & ~np.isnan(dyp)
        dy = dyp
    else:
        valid = ~np.isnan(dy)
    cols = np.arange(T)[None, :]
    F = des.first_switch[:, None]
    in_window = (cols >= ell) & (cols <= des.last_control[:, None])
    dist = (cols == F - 1 + ell) & (F < T) & valid & in_window
    never = (cols < F) & valid
    W = des.weight  # N_gt of did_multiplegt_dyn: 1, or the observation weight
    positive = W > 0
    total_U = np.zeros(G)
    total_V = np.zeros(G)
    n_in_out = []
    parts = []
    n_switchers = 0
    for d, sign in ((0.0, 1.0), (1.0, -1.0)):
        same = (des.d_sq == d)[:, None]
        sw = dist & same
        nc = never & same
        n_c_t = (nc * W).sum(axis=0)
        ok_t = n_c_t > 0
        sw = sw & ok_t[None, :]
        n_sw_t = (sw * W).sum(axis=0)
        n = float(n_sw_t.sum())
        if not n > 0:
            continue
        ratio = np.divide(n_sw_t, n_c_t, out=np.zeros(T), where=ok_t)
        coef = np.where(in_window, (sw.astype(np.float64) - ratio[None, :] * nc) * W, 0.0)
        dy0 = np.nan_to_num(dy)
        U = (G / n) * (coef * dy0).sum(axis=1)
        pools = (sw & positive, nc & (n_sw_t > 0)[None, :] & positive)
        e_hat, dof = _cohort_means(des, dy0, *pools)
        V = (G / n) * (coef * dof * (dy0 - e_hat)).sum(axis=1)
        if d in des.controls:
            V -= _theta_term(des, d, coef, ell, placebo) * (G / n)
        parts.append((sign * U, sign * V, n))
        n_in_out.append(n)
        n_switchers += int(pools[0].sum())
    if not parts:
        return None
    total = sum(n_in_out)
    for U, V, n in parts:
        total_U += (n / total) * U
        total_V += (n / total) * V
    return total_U, total_V, n_switchers


def _theta_term(des: _Design, d: float, coef: FloatArray, ell: int, placebo: bool) -> FloatArray:
    """The estimation error of ``theta_d`` in a part's influence function (divided by G/N):
    ``M' bracket_g`` with ``M_j = sum_g 1{l <= T_g - 2} sum_t coef_gt dX_j,gt / G``.

    As did_multiplegt_dyn 0.1.9: for effects every unit carries the ``-M'theta`` term; for
    placebos only the units of baseline ``d`` do (its ``part2_pl`` is restricted to them).
    """
    ctrl = des.controls[d]
    X, G, T = des.X, des.X.shape[0], des.X.shape[1]
    dX = np.full(X.shape, np.nan)
    if placebo:
        dX[:, 2 * ell :] = X[:, : T - 2 * ell] - X[:, ell : T - ell]
    else:
        dX[:, ell:] = X[:, ell:] - X[:, :-ell]
    keep = (ell <= des.last_control - 1)[:, None]
    M = np.einsum("gt,gtk->k", np.where(keep, coef, 0.0), np.nan_to_num(dX)) / G
    out: FloatArray = ctrl.bracket @ M
    if placebo:
        out = np.where(des.d_sq == d, out, 0.0)
    return out


def _cohort_means(
    des: _Design,
    dy: FloatArray,
    sw: npt.NDArray[np.bool_],
    ns: npt.NDArray[np.bool_],
) -> tuple[FloatArray, FloatArray]:
    """``E^`` and the DOF factor of every (unit, period) cell (zero / one elsewhere).

    Means are weighted by ``N_gt`` (the observation weights); the DOF factors count cells, as
    ``did_multiplegt_dyn`` does (its ``dof_*`` indicators).
    """
    G, T = dy.shape
    W = des.weight

    def mean(cells: npt.NDArray[np.bool_], col: int | None = None) -> float:
        w = W[cells] if col is None else W[cells, col]
        v = dy[cells] if col is None else dy[cells, col]
        return float((w * v).sum() / w.sum())

    e_hat = np.zeros((G, T))
    dof = np.ones((G, T))
    # switchers: cohort = same baseline and same first-switch date (at their effect period)
    for f in np.unique(des.first_switch[sw.any(axis=1)]):
        members = sw & (des.first_switch == f)[:, None]
        n = int(members.sum())
        if n >= 2:
            e_hat[members] = mean(members)
            dof[members] = np.sqrt(n / (n - 1))
    # not-yet-switchers by period; unions for singletons
    n_ns = ns.sum(axis=0)
    n_sw = sw.sum(axis=0)
    for t in range(T):
        pool_ns = ns[:, t]
        pool_all = pool_ns | sw[:, t]
        n_all = int(pool_all.sum())
        mean_all = mean(pool_all, t) if n_all else 0.0
        if n_ns[t] >= 2:
            e_hat[pool_ns, t] = mean(pool_ns, t)
            dof[pool_ns, t] = np.sqrt(n_ns[t] / (n_ns[t] - 1))
        elif n_ns[t] == 1 and n_all >= 2:
            e_hat[pool_ns, t] = mean_all
            dof[pool_ns, t] = np.sqrt(n_all / (n_all - 1))
        single_sw = sw[:, t] & np.isin(des.first_switch, _singletons(des.first_switch, sw))
        if n_sw[t] and single_sw.any() and n_all >= 2:
            e_hat[single_sw, t] = mean_all
            dof[single_sw, t] = np.sqrt(n_all / (n_all - 1))
    return e_hat, dof


def _singletons(first_switch: npt.NDArray[np.int64], sw: npt.NDArray[np.bool_]) -> list[int]:
    dates, counts = np.unique(first_switch[sw.any(axis=1)], return_counts=True)
    return [int(f) for f, c in zip(dates, counts, strict=True) if c == 1]


def dcdh(
    panel: object,
    y: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    effects: int = 3,
    placebos: int = 2,
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """de Chaisemartin & D'Haultfœuille (2024) event-study effects ``DID_l`` and placebos.

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel`; the treatment may switch on and off
        (build it with ``allow_switching=True``). Periods must be consecutive integers.
    y
        Outcome.
    controls
        Time-varying controls (``did_multiplegt_dyn``'s ``controls``): for each baseline
        treatment with at least two switch dates, ``theta_d`` from a regression of ``dY`` on
        ``dX`` and period effects over the not-yet-switched cells; every long difference becomes
        ``dY - theta_d'dX``, and the variance includes the estimation error of ``theta_d``.
    effects, placebos
        Number of dynamic effects ``l = 1..effects`` and placebos ``l = 1..placebos``.
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none):
        ``did_multiplegt_dyn``'s ``weight`` option, the cell weights ``N_gt`` in the
        switchers' and the controls' sums, the cohort means and the influence functions.
    spec
        A :class:`didstudy.Baseline`; ``y``, ``controls``, ``cluster`` and ``weights`` given
        here (not ``None``) override its fields (decision records 0021, 0063).
    level
        Confidence level.

    Returns
    -------
    EventStudyResult
        ``estimator="dcdh"``, ``spec`` the resolved baseline; effect ``l`` at relative time ``l -
        1`` and placebo ``l`` at ``-1 - l`` (the period before the switch is the base ``-1``);
        ``pretrend`` is the joint placebo test; normal reference distribution (``df_t = inf``) as
        ``did_multiplegt_dyn``.

    Examples
    --------
    >>> res = dcdh(panel, "y", effects=3, placebos=2)  # doctest: +SKIP
    """
    if effects < 1 or placebos < 0:
        raise ValidationError(
            f"effects={effects}, placebos={placebos}: need effects >= 1 and placebos >= 0.",
            fix="e.g. effects=3, placebos=2.",
        )
    rs = robust_spec("dcdh", spec, panel, y=y, controls=controls, cluster=cluster, weights=weights)
    des = _design(panel, rs)
    if not (des.first_switch < des.Y.shape[1]).any():
        raise EstimationError(
            "no unit's treatment ever changes, so there is no switcher to compare.",
            fix="check the treatment column.",
        )
    rows: list[tuple[int, FloatArray, FloatArray, int]] = []
    for ell in range(placebos, 0, -1):
        got = _influence(des, ell, placebo=True)
        if got is not None:
            rows.append((-1 - ell, got[0], got[1], got[2]))
    for ell in range(1, effects + 1):
        got = _influence(des, ell, placebo=False)
        if got is not None:
            rows.append((ell - 1, got[0], got[1], got[2]))
    if not any(k >= 0 for k, *_ in rows):
        raise EstimationError(
            "no switcher has a not-yet-switched comparison unit for any effect.",
            fix="reduce effects= or add units whose treatment does not change.",
        )
    G = des.Y.shape[0]
    coef = np.array([u.sum() / G for _, u, _, _ in rows])
    Vu = np.column_stack([v for _, _, v, _ in rows])
    n_cl = int(des.cluster.max()) + 1
    sums = cluster_sums(Vu, des.cluster, n_cl)
    vcov = (sums.T @ sums) / G**2
    rel = [k for k, *_ in rows]
    cells = pd.DataFrame(
        {
            "rel_time": rel,
            "estimate": coef,
            "std_error": np.sqrt(np.diag(vcov)),
            "n_switchers": [n for *_, n in rows],
        }
    )
    es_spec = EventStudySpec(
        estimator="dcdh",
        outcome=rs.y,
        controls=rs.controls,
        control_group="not_yet_switched",
        window=(min(rel), max(rel)),
        vcov_type="dCDH analytic",
        notes=(
            "de Chaisemartin & D'Haultfoeuille (2024) DID_l: switchers vs units of the same "
            "baseline treatment not yet switched; placebos before the switch.",
        ),
    )
    res = event_study_result(
        es_spec,
        rel,
        coef,
        vcov,
        df_t=float("inf"),
        nobs=int(np.isfinite(des.Y).sum()),
        n_clusters=n_cl,
        cells=cells,
        level=level,
    )
    return with_spec(res, rs)
