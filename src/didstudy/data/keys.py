"""Integer keys of a panel's rows, computed once per :class:`~didstudy.data.panel.Panel`.

Every structural check of a panel (unique unit-period pairs, absorbing treatment, one cohort per
unit, gaps) and every per-unit quantity (first period, first treated period) is a reduction over
units of rows sorted by unit and period. :func:`row_keys` maps the unit column once to dense codes
in sorted-unit order and the time column to positions in the sorted period grid, and finds the
permutation that sorts the rows (none when they already are, the common case); the checks are then
numpy reductions on these arrays instead of pandas group-bys. They are *screens*: when one finds a
problem, the caller runs the full check of :mod:`didstudy.data.validate`, which writes the message
(decision record 0023).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["RowKeys", "row_keys"]

IntArray = NDArray[np.int64]
# a dense lookup table over the period range is used while it is at most this many times the
# number of rows (plus a constant); wider ranges (e.g. yyyymmdd codes) use a sort instead
_DENSE_SPAN_PER_ROW = 4
_DENSE_SPAN_MIN = 4096


@dataclass(frozen=True)
class RowKeys:
    """Integer keys of the rows of a panel, in the rows' input order.

    Attributes
    ----------
    unit
        Per row, the unit's code: ``0 .. n_units - 1`` in sorted order of the unit ids.
    pos
        Per row, the position of its period in :attr:`periods`.
    periods
        The sorted distinct periods (int64).
    order
        The permutation sorting the rows by unit and period, or None when they already are.
    unique
        Whether every (unit, period) pair occurs once.
    n_units
        Number of distinct units.
    starts
        Index of each unit's first row in unit-period order (one per unit).
    """

    unit: IntArray
    pos: IntArray
    periods: IntArray
    order: IntArray | None
    unique: bool
    n_units: int
    starts: IntArray

    def sort(self, values: NDArray[Any]) -> NDArray[Any]:
        """``values`` (one per row, input order) in unit-period order."""
        return values if self.order is None else values[self.order]

    @property
    def sorted_unit(self) -> IntArray:
        """Unit codes in unit-period order (non-decreasing)."""
        return self.sort(self.unit)

    def unit_first(self, values: NDArray[Any]) -> NDArray[Any]:
        """Per-unit value in the unit's first period (``values`` one per row, input order)."""
        return values[self.starts if self.order is None else self.order[self.starts]]

    def unit_min(self, values: NDArray[Any]) -> NDArray[Any]:
        """Per-unit minimum of ``values`` (one per row, input order)."""
        return np.minimum.reduceat(self.sort(values), self.starts) if len(values) else values

    def unit_max(self, values: NDArray[Any]) -> NDArray[Any]:
        """Per-unit maximum of ``values`` (one per row, input order)."""
        return np.maximum.reduceat(self.sort(values), self.starts) if len(values) else values

    def switches_off(self, treat: NDArray[Any]) -> bool:
        """Whether some unit goes from 1 to 0 between consecutive observed periods."""
        d = self.sort(treat)
        u = self.sorted_unit
        return bool(((d[:-1] == 1) & (d[1:] == 0) & (u[1:] == u[:-1])).any())

    def has_gaps(self) -> bool:
        """Whether some unit misses a period inside its observed span (pairs unique)."""
        if not len(self.unit):
            return False
        starts = self.starts
        ends = np.r_[starts[1:], len(self.unit)]
        pos = self.sort(self.pos)
        return bool(np.any(pos[ends - 1] - pos[starts] + 1 > ends - starts))


def _unit_codes(units: pd.Series) -> tuple[IntArray, int]:
    """Dense unit codes in sorted order of the ids, and their number.

    A numeric column already sorted (the usual layout of panel files) is coded by runs; anything
    else by :func:`pandas.factorize` with ``sort=True``, which orders ids as ``sort_values`` does.
    """
    if isinstance(units.dtype, np.dtype) and units.dtype.kind in "iuf" and len(units):
        v = units.to_numpy()
        if bool((v[1:] >= v[:-1]).all()):
            starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
            sizes = np.diff(np.r_[starts, len(v)])
            return np.repeat(np.arange(len(starts), dtype=np.int64), sizes), len(starts)
    codes_, uniques = pd.factorize(units, sort=True)
    return codes_.astype(np.int64, copy=False), len(uniques)


def _period_positions(t: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct periods and each row's position among them."""
    if not len(t):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo, hi = int(t.min()), int(t.max())
    span = hi - lo + 1
    if span <= _DENSE_SPAN_PER_ROW * len(t) + _DENSE_SPAN_MIN:
        offset = t - lo
        present = np.zeros(span, dtype=bool)
        present[offset] = True
        if present.all():  # consecutive periods: the offset is the position
            return np.arange(lo, hi + 1, dtype=np.int64), offset
        lookup = np.cumsum(present) - 1
        return (np.flatnonzero(present) + lo).astype(np.int64), lookup[offset].astype(np.int64)
    periods, pos = np.unique(t, return_inverse=True)
    return periods.astype(np.int64), pos.astype(np.int64).reshape(-1)


def row_keys(units: pd.Series, times: IntArray) -> RowKeys:
    """The :class:`RowKeys` of a panel's unit column (no missing values) and integer periods.

    Parameters
    ----------
    units
        The unit identifiers, one per row.
    times
        The integer periods, one per row (int64).

    Returns
    -------
    RowKeys

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> k = row_keys(pd.Series(["b", "a", "a"]), np.array([2001, 2001, 2000]))
    >>> k.unit.tolist(), k.pos.tolist(), k.order.tolist(), k.unique
    ([1, 0, 0], [1, 1, 0], [2, 1, 0], True)
    """
    unit, n_units = _unit_codes(units)
    periods, pos = _period_positions(np.asarray(times, dtype=np.int64))
    key = unit * (len(periods) + 1) + pos  # orders rows as (unit, period) does
    if bool((key[1:] > key[:-1]).all()):  # already sorted, so the pairs are unique
        return RowKeys(unit, pos, periods, None, True, n_units, _starts(unit))
    order = np.argsort(key, kind="stable").astype(np.int64)
    ranked = key[order]
    unique = not bool((ranked[1:] == ranked[:-1]).any())
    return RowKeys(unit, pos, periods, order, unique, n_units, _starts(unit[order]))


def _starts(sorted_unit: IntArray) -> IntArray:
    """Index of the first row of each run of equal codes."""
    u = sorted_unit
    if not len(u):
        return np.zeros(0, dtype=np.int64)
    out: IntArray = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]).astype(np.int64)
    return out
