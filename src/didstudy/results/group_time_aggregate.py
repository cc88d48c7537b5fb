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
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from didstudy.errors import EstimationError
from didstudy.results.influence_matrix import InfluenceMatrix

__all__ = ["aggregate_cells"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class _Weights:
    """Cluster-level masses of the cohorts, for the estimated-weights term of aggregations."""

    levels: FloatArray  # cohort of each column of ``mass``
    mass: FloatArray  # clusters × cohorts: Σ_{i∈c} w_i 1{G_i = g}
    count: FloatArray  # clusters: units per cluster
    n: int

    @cached_property
    def _shares(self) -> FloatArray:
        out: FloatArray = self.mass.sum(axis=0) / self.n
        return out

    def share(self, groups: FloatArray) -> FloatArray:
        """P(G = g) (weighted share of all units) for each entry of ``groups``."""
        out: FloatArray = self._shares[np.searchsorted(self.levels, groups)]
        return out


class GroupTimeResult(Protocol):
    """What the aggregations read of a group-time result (:class:`~didstudy.results.group_time.
    GroupTimeResult`), named here so that this module does not import that one."""

    @property
    def group(self) -> FloatArray: ...
    @property
    def time(self) -> NDArray[np.int64]: ...
    @property
    def estimate(self) -> FloatArray: ...
    @property
    def influence(self) -> InfluenceMatrix: ...
    @property
    def valid(self) -> NDArray[np.bool_]: ...
    @property
    def n_clusters(self) -> int: ...
    @property
    def _weights(self) -> _Weights: ...


def _weighted(
    att: FloatArray, influence: FloatArray, groups: FloatArray, weights: _Weights
) -> tuple[float, FloatArray]:
    """``Σ p_g att / Σ p_g`` and its influence function, with the estimated-weights term."""
    p = weights.share(groups)
    total = float(p.sum())
    p_att = float(p @ att)
    cols = np.searchsorted(weights.levels, groups)
    # Σ_k (w_i 1{G_i=g_k} − p_k)(att_k / Σp − Σ p att / (Σp)²): the −p_k parts cancel
    wif_att = weights.mass[:, cols] @ (att / total - p_att / total**2)
    return p_att / total, influence @ (p / total) + wif_att


Aggregated = tuple[tuple[int, ...], FloatArray, FloatArray, float, FloatArray]


def _combine(
    res: GroupTimeResult, include: NDArray[np.bool_], key: NDArray[np.int64], weighted: bool
) -> tuple[tuple[int, ...], FloatArray, FloatArray]:
    """Labels, estimates and influence functions of the groups of cells sharing ``key``.

    Every included cell belongs to the column of its key; a column averages its cells,
    weighted by cohort shares (with the estimated-weights term) when ``weighted``, else
    equally — all columns in one matrix product.
    """
    cells = np.flatnonzero(include)
    if len(cells) == 0:
        raise EstimationError(
            "no estimated cell falls into this aggregation.",
            fix="widen min_e/max_e or drop balance_e.",
        )
    labels, column = np.unique(key[cells], return_inverse=True)
    k = len(labels)
    weights = res._weights
    att = res.estimate[cells]
    p = weights.share(res.group[cells]) if weighted else np.ones(len(cells))
    total = np.bincount(column, weights=p, minlength=k)
    w = np.zeros((len(res.estimate), k))
    w[cells, column] = p / total[column]
    est = np.bincount(column, weights=p * att, minlength=k) / total
    inf = res.influence.matmul(w)
    if weighted:
        # Σ_k (w_i 1{G_i=g_k} − p_k)(att_k / Σp − Σ p att / (Σp)²): the −p_k parts cancel
        level = np.searchsorted(weights.levels, res.group[cells])
        coef = np.zeros((len(weights.levels), k))
        np.add.at(coef, (level, column), (att - est[column]) / total[column])
        inf += weights.mass @ coef
    return tuple(int(v) for v in labels), est, inf


def _post(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> NDArray[np.bool_]:
    e = res.time - res.group
    out: NDArray[np.bool_] = ok & (e >= 0) & (e <= max_e)
    return out


def _simple(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> Aggregated:
    post = _post(res, ok, max_e)
    if not post.any():
        raise EstimationError("no post-treatment cell was estimated.", fix="check the cells.")
    _, est, inf = _combine(res, post, np.zeros(len(post), dtype=np.int64), weighted=True)
    return (), est, inf, float(est[0]), inf[:, 0]


def _group(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> Aggregated:
    post = _post(res, ok, max_e)
    labels, est, inf = _combine(res, post, res.group.astype(np.int64), weighted=False)
    overall, overall_inf = _weighted(est, inf, np.asarray(labels, float), res._weights)
    return labels, est, inf, overall, overall_inf


def _calendar(res: GroupTimeResult, ok: NDArray[np.bool_], max_e: float) -> Aggregated:
    post = _post(res, ok, max_e)
    labels, est, inf = _combine(res, post, res.time.astype(np.int64), weighted=True)
    return labels, est, inf, float(est.mean()), inf.mean(axis=1)


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
    labels, est, inf = _combine(res, include, e, weighted=True)
    post = np.asarray(labels) >= 0
    if not post.any():
        return labels, est, inf, math.nan, np.zeros(res.n_clusters)
    return labels, est, inf, float(est[post].mean()), inf[:, post].mean(axis=1)


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
