"""Greedy nearest-neighbour matching on a scalar distance (the propensity score).

The algorithm is MatchIt's ``method = "nearest"`` (Ho, Imai, King and Stuart 2011; MatchIt 4,
``nn_matchC``) for a scalar distance, so that the matches can be compared one for one:

* treated units are processed in ``m_order``: ``"largest"`` propensity first (MatchIt's default
  when the distance is a propensity score), ``"smallest"``, ``"data"`` (input order) or
  ``"random"`` (seeded); ties keep input order (R's ``order`` is stable);
* without replacement and ``ratio = k``, matching proceeds in ``k`` rounds: in round ``r`` every
  treated unit, in order, receives its ``r``-th control, the nearest control not yet used by
  anyone; with replacement each treated unit receives its ``k`` nearest distinct controls;
* a caliper ``c`` admits a control only when ``|d_t - d_c| <= c``; with ``std_caliper`` the
  caliper is in standard deviations of the distance (``sd`` with ``n - 1``, over all units that
  were not discarded — see :func:`caliper_width`);
* common support (``discard``) drops, before matching, treated units whose distance lies outside
  the range of the controls' (``"treated"``), controls outside the treated range (``"control"``)
  or both (``"both"``), as MatchIt's ``discard`` argument;
* ties in distance between two candidate controls go to the one with the smaller distance value,
  then to the earlier one in input order (MatchIt's C code takes the left neighbour on a tie).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from didstudy.errors import EstimationError

__all__ = [
    "Discard",
    "MatchOrder",
    "NearestMatch",
    "caliper_width",
    "common_support",
    "match_weights",
    "nearest_neighbor",
]

MatchOrder = Literal["largest", "smallest", "data", "random"]
Discard = Literal["none", "treated", "control", "both"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class NearestMatch:
    """Result of :func:`nearest_neighbor`.

    Attributes
    ----------
    treated
        Positions (into the input arrays) of the treated units, in input order.
    matches
        ``(n_treated, ratio)`` positions of the matched controls, ``-1`` where no control was
        found; column ``r`` is the ``r``-th match (round ``r`` without replacement).
    discarded
        ``(n,)`` units dropped by the common-support rule before matching.
    caliper
        The caliper actually applied, in distance units (``None`` when no caliper).
    """

    treated: IntArray
    matches: IntArray
    discarded: BoolArray
    caliper: float | None

    @property
    def matched_treated(self) -> BoolArray:
        """For each treated unit: did it receive at least one control."""
        return np.asarray((self.matches >= 0).any(axis=1))

    def pairs(self) -> tuple[IntArray, IntArray, IntArray]:
        """Long form ``(treated_position, control_position, rank)`` of every match."""
        rows, cols = np.nonzero(self.matches >= 0)
        return (
            self.treated[rows].astype(np.int64),
            self.matches[rows, cols].astype(np.int64),
            cols.astype(np.int64),
        )


def common_support(distance: FloatArray, treat: BoolArray, discard: Discard) -> BoolArray:
    """Units outside the common support of the distance (MatchIt ``discard``).

    ``"treated"`` drops treated units with a distance below the controls' minimum or above their
    maximum; ``"control"`` the converse; ``"both"`` both; ``"none"`` nothing.
    """
    out = np.zeros(distance.shape[0], dtype=bool)
    if discard == "none":
        return out
    d1, d0 = distance[treat], distance[~treat]
    if discard in ("treated", "both"):
        out |= treat & ((distance < d0.min()) | (distance > d0.max()))
    if discard in ("control", "both"):
        out |= ~treat & ((distance < d1.min()) | (distance > d1.max()))
    return out


def caliper_width(distance: FloatArray, caliper: float, *, std_caliper: bool = True) -> float:
    """Caliper in distance units: ``caliper * sd(distance)`` (``n - 1``) when standardised.

    Parameters
    ----------
    distance
        The distances over which the standard deviation is taken (the caller passes the units
        that entered matching).
    caliper
        Width; in standard deviations of ``distance`` when ``std_caliper``.
    """
    if caliper <= 0:
        raise EstimationError("caliper must be positive", fix="pass caliper=None for none")
    if not std_caliper:
        return float(caliper)
    return float(caliper * np.std(distance, ddof=1))


def _treated_order(
    distance: FloatArray, treated: IntArray, m_order: MatchOrder, seed: int | None
) -> IntArray:
    d = distance[treated]
    if m_order == "random":
        return treated[np.random.default_rng(seed).permutation(treated.size)]
    if m_order == "largest":
        return treated[np.argsort(-d, kind="stable")]
    if m_order == "smallest":
        return treated[np.argsort(d, kind="stable")]
    if m_order == "data":
        return treated
    raise EstimationError(
        f"unknown m_order {m_order!r}", fix="use 'largest', 'smallest', 'data' or 'random'"
    )


def nearest_neighbor(
    distance: FloatArray,
    treat: BoolArray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    std_caliper: bool = True,
    m_order: MatchOrder = "largest",
    discard: Discard = "none",
    seed: int | None = None,
) -> NearestMatch:
    """Greedy 1:k nearest-neighbour matching of treated to control units on a scalar distance.

    Parameters
    ----------
    distance
        Distance measure per unit (the propensity score), length ``n``.
    treat
        Treated-unit indicator, length ``n``.
    ratio
        Controls per treated unit ``k``.
    replace
        Whether a control may serve several treated units.
    caliper
        Maximum ``|d_t - d_c|``; ``None`` for none.
    std_caliper
        Whether ``caliper`` is in standard deviations of the distance (MatchIt default).
    m_order
        Order in which treated units choose controls.
    discard
        Common-support rule applied before matching.
    seed
        Seed of ``numpy.random.default_rng`` for ``m_order="random"``.

    Returns
    -------
    NearestMatch

    Notes
    -----
    Complexity ``O(k n_1 n_0)`` (each choice scans the controls); matching cells in a
    year-by-year city panel hold a few hundred units.
    """
    distance = np.asarray(distance, dtype=np.float64)
    treat = np.asarray(treat, dtype=bool)
    n = distance.shape[0]
    if treat.shape != (n,):
        raise EstimationError("distance and treat must have the same length")
    if not np.all(np.isfinite(distance)):
        raise EstimationError("the distance (propensity score) has missing or infinite values")
    if ratio < 1:
        raise EstimationError(f"ratio must be a positive integer, got {ratio}")
    treated = np.flatnonzero(treat).astype(np.int64)
    if treated.size == 0 or treated.size == n:
        raise EstimationError("matching needs both treated and control units")

    discarded = common_support(distance, treat, discard)
    width = (
        None
        if caliper is None
        else caliper_width(distance[~discarded], caliper, std_caliper=std_caliper)
    )
    controls = np.flatnonzero(~treat & ~discarded).astype(np.int64)
    # candidate controls sorted by distance, then input order: tie-break rule of the module doc
    controls = controls[np.lexsort((controls, distance[controls]))]
    d0 = distance[controls]
    available = np.ones(controls.size, dtype=bool)
    row_of = {int(t): i for i, t in enumerate(treated)}
    matches = np.full((treated.size, ratio), -1, dtype=np.int64)
    order = _treated_order(distance, treated, m_order, seed)
    order = order[~discarded[order]]

    if replace:
        for t in order:
            gap = np.abs(d0 - distance[t])
            ok = np.ones(controls.size, dtype=bool) if width is None else gap <= width
            idx = np.flatnonzero(ok)
            # stable sort keeps the (distance, input order) order of ``controls`` on ties
            best = idx[np.argsort(gap[idx], kind="stable")][:ratio]
            matches[row_of[int(t)], : best.size] = controls[best]
        return NearestMatch(treated, matches, discarded, width)

    for r in range(ratio):
        for t in order:
            if not available.any():
                break
            gap = np.where(available, np.abs(d0 - distance[t]), np.inf)
            j = int(np.argmin(gap))  # first minimum: smaller distance, then input order
            if not np.isfinite(gap[j]) or (width is not None and gap[j] > width):
                continue
            matches[row_of[int(t)], r] = controls[j]
            available[j] = False
    return NearestMatch(treated, matches, discarded, width)


def match_weights(match: NearestMatch, n: int, *, kind: str = "frequency") -> FloatArray:
    """Weights implied by a matching, for the matched sample.

    Parameters
    ----------
    match
        A matching.
    n
        Number of units in the matching cell.
    kind
        ``"frequency"``: the number of times a unit appears in the matched sample (a matched
        treated unit once, a control once per treated unit it serves), so a weighted regression
        equals the regression on the stacked matched pairs. ``"att"``: MatchIt's ATT weights
        (treated 1; a control ``sum_i 1/k_i`` over the treated units ``i`` it serves, with
        ``k_i`` that unit's number of matches, then scaled so the control weights sum to the
        number of matched controls).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` weights, zero for units outside the matched sample.
    """
    w = np.zeros(n)
    t_pos, c_pos, _ = match.pairs()
    if kind == "frequency":
        np.add.at(w, c_pos, 1.0)
        w[match.treated[match.matched_treated]] = 1.0
        return w
    if kind == "att":
        k_i = (match.matches >= 0).sum(axis=1)
        per_pair = 1.0 / k_i[np.searchsorted(match.treated, t_pos)]
        np.add.at(w, c_pos, per_pair)
        used = w > 0
        if used.any():
            w[used] *= used.sum() / w[used].sum()
        w[match.treated[match.matched_treated]] = 1.0
        return w
    raise EstimationError(f"unknown weight kind {kind!r}", fix="use 'frequency' or 'att'")
