"""The four aggregations of group-time effects (Callaway and Sant'Anna 2021, Section 3.3).

With cohort shares :math:`p_g = P(G = g)` and event time :math:`e = t − g`:

* simple: :math:`θ = Σ_{t ≥ g} p_g ATT(g,t) / Σ_{t ≥ g} p_g` (their eq. 3.10 with
  :math:`w = p_g`, R ``aggte(type = "simple")``);
* group: :math:`θ(g) = \\mathrm{mean}_{t ≥ g} ATT(g,t)` and :math:`θ = Σ_g p_g θ(g) / Σ_g p_g`
  (eqs. 3.11–3.12);
* calendar: :math:`θ(t) = Σ_{g ≤ t} p_g ATT(g,t) / Σ_{g ≤ t} p_g` and their mean (eq. 3.13);
* dynamic: :math:`θ(e) = Σ_g p_g ATT(g, g+e) / Σ_g p_g` and the mean over :math:`e ≥ 0`
  (eqs. 3.14–3.15).

Estimated weights enter the influence function (the ``wif`` of R ``did``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from didstudy.errors import EstimationError
from didstudy.results.group_time import _weighted

if TYPE_CHECKING:
    from didstudy.results.group_time import GroupTimeResult

__all__ = ["aggregate_cells"]

FloatArray = NDArray[np.float64]
Aggregated = tuple[tuple[int, ...], FloatArray, FloatArray, float, FloatArray]


def _combine(
    res: GroupTimeResult, keeps: list[NDArray[np.int64]], weighted: bool
) -> tuple[FloatArray, FloatArray]:
    """Estimates and influence functions of ``K`` combinations of cells in one matrix product.

    Column ``j`` averages the cells ``keeps[j]``, weighted by cohort shares (with the
    estimated-weights term) when ``weighted``, else equally.
    """
    if not keeps:
        raise EstimationError(
            "no estimated cell falls into this aggregation.",
            fix="widen min_e/max_e or drop balance_e.",
        )
    weights = res._weights
    att = res.estimate
    n_cells, k = len(att), len(keeps)
    w = np.zeros((n_cells, k))
    levels = np.searchsorted(weights.levels, res.group)
    p_cell = weights.share(res.group)
    sum_att = np.zeros((len(weights.levels), k))
    count = np.zeros((len(weights.levels), k))
    total, p_att = np.ones(k), np.zeros(k)
    for j, keep in enumerate(keeps):
        if weighted:
            total[j] = float(p_cell[keep].sum())
            w[keep, j] = p_cell[keep] / total[j]
            p_att[j] = float(p_cell[keep] @ att[keep])
            np.add.at(sum_att[:, j], levels[keep], att[keep])
            np.add.at(count[:, j], levels[keep], 1.0)
        else:
            w[keep, j] = 1.0 / len(keep)
    est = w.T @ np.where(np.isfinite(att), att, 0.0)
    inf = res.influence.matmul(w)
    if weighted:
        size = weights.count[:, None]
        inf += (weights.mass @ sum_att - size * p_att) / total
        inf -= (weights.mass @ count - size * total) * (p_att / total**2)
    return est, inf


def _simple(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> Aggregated:
    e = res.time - res.group
    keep = np.flatnonzero(ok & (e >= 0) & (e <= max_e))
    if len(keep) == 0:
        raise EstimationError("no post-treatment cell was estimated.", fix="check the cells.")
    est, inf = _combine(res, [keep], weighted=True)
    return (), est, inf, float(est[0]), inf[:, 0]


def _group(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> Aggregated:
    e = res.time - res.group
    post = ok & (e >= 0) & (e <= max_e)
    labels = [int(g) for g in np.unique(res.group[post])]
    keeps = [np.flatnonzero(post & (res.group == g)) for g in labels]
    est, inf = _combine(res, keeps, weighted=False)
    overall, overall_inf = _weighted(est, inf, np.asarray(labels, float), res._weights)
    return tuple(labels), est, inf, overall, overall_inf


def _calendar(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> Aggregated:
    e = res.time - res.group
    post = ok & (e >= 0) & (e <= max_e)
    labels = [int(t) for t in np.unique(res.time[post])]
    keeps = [np.flatnonzero(post & (res.time == t)) for t in labels]
    est, inf = _combine(res, keeps, weighted=True)
    return tuple(labels), est, inf, float(est.mean()), inf.mean(axis=1)


def _dynamic(
    res: GroupTimeResult,
    ok: NDArray[np.bool_],
    min_e: float,
    max_e: float,
    balance_e: int | None,
) -> Aggregated:
    e = (res.time - res.group).astype(np.int64)
    include = ok.copy()
    if balance_e is not None:
        include &= res.time.max() - res.group >= balance_e
        span = int(res.time.max() - res.time.min())
        include &= (e <= balance_e) & (e >= balance_e - span)
    include &= (e >= min_e) & (e <= max_e)
    labels = [int(k) for k in np.unique(e[include])]
    keeps = [np.flatnonzero(include & (e == k)) for k in labels]
    est, inf = _combine(res, keeps, weighted=True)
    post = np.asarray(labels) >= 0
    if not post.any():
        return tuple(labels), est, inf, math.nan, np.zeros(res.n_clusters)
    return tuple(labels), est, inf, float(est[post].mean()), inf[:, post].mean(axis=1)


def aggregate_cells(
    res: GroupTimeResult,
    kind: str,
    min_e: float,
    max_e: float,
    balance_e: int | None,
) -> Aggregated:
    """Labels, estimates, influence functions and the overall summary of one aggregation.

    Parameters
    ----------
    res
        The group-time result (missing cells are left out).
    kind
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    min_e, max_e, balance_e
        See :meth:`GroupTimeResult.aggregate`.

    Returns
    -------
    tuple
        ``(labels, estimates, influence (clusters × K), overall, overall influence)``.
    """
    ok = res.valid
    if kind == "simple":
        return _simple(res, ok, max_e)
    if kind == "group":
        return _group(res, ok, max_e)
    if kind == "calendar":
        return _calendar(res, ok, max_e)
    return _dynamic(res, ok, min_e, max_e, balance_e)
