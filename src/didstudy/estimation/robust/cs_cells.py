"""Which ATT(g,t) cells exist, their base periods and their comparison units.

Callaway and Sant'Anna (2021), "Difference-in-differences with multiple time periods", Journal
of Econometrics 225(2), Section 3: ATT(g,t) compares the change of cohort ``g`` from a base
period to ``t`` with the change of comparison units over the same periods. The base period is
``g − δ − 1`` (δ = anticipation) for post-treatment cells and, with a *varying* base, ``t − 1``
for pre-treatment cells (R ``did``'s ``compute.att_gt``); with a *universal* base it is
``g − δ − 1`` for every cell (that cell is the reference, fixed at zero).

Comparison units (decision 0040):

* ``"never"``: never-treated units (:math:`G = ∞`);
* ``"notyet"`` (R ``did``): never treated or :math:`G > \\max(t, b) + δ`, excluding cohort ``g``;
* ``"notyet_csdid"`` (Stata ``csdid``): never treated or :math:`G > \\max(t, g − 1) + δ`,
  excluding ``g``: pre-period cells compare with units not yet treated at ``g − 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CellPlan", "plan_cells"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CellPlan:
    """The cells of an estimation, as parallel arrays (period *indices* into ``periods``).

    Attributes
    ----------
    group
        Cohort (first treated period) of each cell.
    current, base
        Indices of the cell's period ``t`` and its base period.
    threshold
        Comparison units are never treated or have a cohort strictly above this value
        (``inf`` for never-treated comparisons); cohort ``g`` itself is always excluded.
    reference
        True for universal-base reference cells (``t`` = base, reported as 0).
    skipped
        ``(g, reason)`` for cohorts without any base period.
    """

    group: NDArray[np.float64]
    current: IntArray
    base: IntArray
    threshold: NDArray[np.float64]
    reference: NDArray[np.bool_]
    skipped: tuple[tuple[int, str], ...]


def plan_cells(
    periods: NDArray[np.int64],
    cohorts: NDArray[np.float64],
    control_group: str,
    base_period: str,
    anticipation: int,
) -> CellPlan:
    """Enumerate the ATT(g,t) cells (R ``did`` ``compute.att_gt`` order: by g, then t).

    Parameters
    ----------
    periods
        Sorted periods of the panel.
    cohorts
        Sorted finite cohorts to estimate.
    control_group
        ``"never"``, ``"notyet"`` or ``"notyet_csdid"``.
    base_period
        ``"varying"`` or ``"universal"``.
    anticipation
        Number of periods δ before ``g`` in which units may already react.

    Returns
    -------
    CellPlan

    Examples
    --------
    >>> plan = plan_cells(np.arange(2003, 2008), np.array([2006.0]), "never", "varying", 0)
    >>> [int(periods) for periods in np.arange(2003, 2008)[plan.current]]
    [2004, 2005, 2006, 2007]
    """
    rows: list[tuple[float, int, int, float, bool]] = []
    skipped: list[tuple[int, str]] = []
    tfac = 0 if base_period == "universal" else 1
    for g in cohorts:
        before = np.flatnonzero(periods + anticipation < g)
        if len(before) == 0:
            skipped.append((int(g), "no period before treatment (minus anticipation)"))
            continue
        post_base = int(before[-1])
        for j in range(tfac, len(periods)):
            post = g <= periods[j]
            base = post_base if (post or tfac == 0) else j - 1
            threshold = np.inf
            if control_group == "notyet":
                threshold = float(max(periods[j], periods[base]) + anticipation)
            elif control_group == "notyet_csdid":
                threshold = float(max(periods[j], g - 1) + anticipation)
            rows.append((float(g), j, base, threshold, tfac == 0 and j == base))
    if not rows:
        empty = np.zeros(0)
        return CellPlan(
            empty, empty.astype(np.int64), empty.astype(np.int64), empty, empty.astype(bool),
            tuple(skipped),
        )  # fmt: skip
    g_arr, cur, base_arr, thr, ref = (np.array(col) for col in zip(*rows, strict=True))
    return CellPlan(
        g_arr.astype(np.float64),
        cur.astype(np.int64),
        base_arr.astype(np.int64),
        thr.astype(np.float64),
        ref.astype(bool),
        tuple(skipped),
    )
