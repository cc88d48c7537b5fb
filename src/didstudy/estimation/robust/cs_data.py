"""Arrays for Callaway–Sant'Anna from a validated :class:`~didstudy.data.panel.Panel`.

Rows are mapped once to integer unit and period codes; balanced panels also get the outcome as
a ``units × periods`` matrix, so every cell's outcome change is a column difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.io import require_columns
from didstudy.data.panel import COHORT, Panel
from didstudy.errors import EstimationError, PanelWarning, ValidationError
from didstudy.estimation.robust._common import weight_column

__all__ = ["CSData", "prepare"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CSData:
    """Per-row and per-unit arrays.

    Units are numbered in the order of their cohort (never treated last), so every cohort and
    every set of not-yet-treated comparison cohorts is a contiguous block of units. Rows keep
    the panel's order (by unit id, then period); ``unit`` maps them to the unit numbers and
    ``order`` lists, for each unit number, its position among the sorted unit ids.
    ``x`` holds the covariates per row (intercept first) or is None; ``x_varies`` says whether
    any covariate changes within a unit.
    """

    periods: IntArray
    unit: IntArray
    period: IntArray
    y: FloatArray
    x: FloatArray | None
    x_varies: bool
    cohort: FloatArray  # per unit, inf = never treated
    weight: FloatArray  # per unit, mean one
    cluster: IntArray  # per unit
    n_units: int
    balanced: bool
    notes: tuple[str, ...]
    order: IntArray

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1 if len(self.cluster) else 0

    def wide(self, values: FloatArray) -> FloatArray:
        """Row values as a ``units × periods`` matrix in unit-number order (balanced only)."""
        out: FloatArray = values.reshape(self.n_units, len(self.periods), *values.shape[1:])
        return out[self.order]


def _numeric(frame: pd.DataFrame, column: str, role: str) -> FloatArray:
    series = frame[column]
    numeric = isinstance(series.dtype, np.dtype) and series.dtype.kind == "f"
    values = (series if numeric else pd.to_numeric(series, errors="coerce")).to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(
            f"the {role} has missing or non-numeric values.",
            column=column,
            rows=[int(i) for i in np.flatnonzero(bad)[:10]],
            fix="drop or impute those rows first (rows are positions in panel.frame); "
            "didstudy does not drop them silently.",
        )
    return values


def _per_unit(values: FloatArray | IntArray, unit: IntArray, column: str, role: str) -> FloatArray:
    first = np.r_[True, unit[1:] != unit[:-1]]
    per_unit = values[first]
    if np.any(values != per_unit[unit]):
        raise ValidationError(
            f"the {role} changes within a unit; Callaway–Sant'Anna needs one {role} per unit.",
            column=column,
            fix=f"use a {role} that is constant within each unit (e.g. its first-period value).",
        )
    return np.asarray(per_unit, dtype=float)


def _drop_first_treated(frame: pd.DataFrame, unit: str, t_first: int) -> pd.DataFrame:
    """Drop units treated in the first period (R ``did``'s rule), with a counted warning."""
    first = frame[COHORT] <= t_first
    if not first.any():
        return frame
    n = frame.loc[first, unit].nunique()
    warnings.warn(
        f"dropped {n} unit(s) already treated in the first period {t_first} (always treated: "
        "no pre-treatment period to compare with).",
        PanelWarning,
        stacklevel=4,
    )
    return frame.loc[~first]


def _no_never_treated(
    frame: pd.DataFrame, time: str, anticipation: int
) -> tuple[pd.DataFrame, str]:
    """R ``did`` with not-yet-treated controls and no never-treated unit: the last cohort
    becomes the comparison group and periods from ``max(g) − δ`` on are dropped."""
    last = float(frame[COHORT].max())
    kept = frame.loc[frame[time] < last - anticipation].copy()
    kept.loc[kept[COHORT] == last, COHORT] = np.inf
    return kept, (
        f"no never-treated units: cohort {int(last)} serves as the comparison group and periods "
        f"from {int(last - anticipation)} on are dropped (R did's rule)."
    )


def prepare(
    panel: Panel,
    y: str,
    covariates: Sequence[str],
    weights: str | None,
    cluster: str | None,
    control_group: str,
    anticipation: int,
    cross_section: bool,
) -> CSData:
    """Validate the columns and build :class:`CSData` (see :func:`callaway_santanna`)."""
    frame = panel.frame
    unit, time = panel.unit, panel.time
    require_columns(frame, [y, *covariates, *(c for c in (weights, cluster) if c)], role="column")
    notes: list[str] = []
    frame = _drop_first_treated(frame, unit, int(frame[time].min()))
    if not np.isinf(frame[COHORT]).any():
        if control_group == "never":
            raise EstimationError(
                "control_group='never' needs never-treated units, and this panel has none "
                f"(cohorts: {sorted(int(c) for c in frame[COHORT].unique())}).",
                column=panel.cohort,
                fix="use control_group='notyet' (not-yet-treated units as comparisons).",
            )
        frame, note = _no_never_treated(frame, time, anticipation)
        notes.append(note)
    if frame.empty or not np.isfinite(frame[COHORT]).any():
        raise EstimationError("no treated cohort is left to estimate.", fix="check the cohorts.")
    frame = frame.sort_values([unit, time], kind="stable") if cross_section else frame
    if cross_section or len(frame) != len(panel):
        unit_code = np.arange(len(frame)) if cross_section else _run_codes(frame[unit].to_numpy())
    else:  # no row dropped: the panel's own unit numbers
        unit_code = panel.unit_codes
    n_units = int(unit_code[-1]) + 1
    starts = np.flatnonzero(np.r_[True, unit_code[1:] != unit_code[:-1]])
    periods = np.asarray(panel.periods, dtype=np.int64)
    if len(frame) != len(panel):
        periods = np.unique(frame[time].to_numpy()).astype(np.int64)
    balanced = len(frame) == n_units * len(periods) and not cross_section
    if balanced:  # rows sorted by unit and period, unique: every unit has every period
        period = np.tile(np.arange(len(periods), dtype=np.int64), n_units)
    else:
        period = np.searchsorted(periods, frame[time].to_numpy()).astype(np.int64)
    yv = _numeric(frame, y, "outcome")
    w_col = weights or panel.weight
    c_col = cluster or panel.cluster
    c_col = None if c_col == unit and not cross_section else c_col
    x, varies = _covariates(frame, covariates, unit_code)
    if varies:
        which = (
            "their values in the earlier of its two periods (the base period)"
            if balanced
            else "each row's own values (the unbalanced panel is estimated row by row)"
        )
        warnings.warn(
            f"covariates {list(covariates)} vary over time within units; each cell uses "
            f"{which}, as R did does.",
            PanelWarning,
            stacklevel=3,
        )
        notes.append(
            "time-varying covariates take their base-period values"
            if balanced
            else "time-varying covariates take each row's own values (unbalanced panel)"
        )
    w_unit = np.ones(n_units)
    if w_col:
        w_unit = _per_unit(
            weight_column(frame, w_col, "callaway_santanna"), unit_code, w_col, "weight"
        )
    # the Panel guarantees one cohort per unit
    cohort = frame[COHORT].to_numpy(dtype=float)[starts]
    order = np.argsort(cohort, kind="stable").astype(np.int64)
    rank = np.empty(n_units, dtype=np.int64)
    rank[order] = np.arange(n_units)
    if c_col:
        cl_rows = pd.factorize(frame[c_col], sort=True)[0]
        cl_unit = _per_unit(np.asarray(cl_rows), unit_code, c_col, "cluster").astype(np.int64)
        cl_unit = cl_unit[order]
    else:
        cl_unit = np.arange(n_units, dtype=np.int64)
    return CSData(
        periods, rank[unit_code], period, yv, x, varies, cohort[order],
        (w_unit / w_unit.mean())[order], cl_unit, n_units, balanced, tuple(notes), order,
    )  # fmt: skip


def _run_codes(values: NDArray[np.generic]) -> IntArray:
    """Codes 0, 1, ... of consecutive runs (the panel frame is sorted by unit)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(len(values), dtype=bool)
    new[0] = True
    new[1:] = values[1:] != values[:-1]
    return (np.cumsum(new) - 1).astype(np.int64)


def _covariates(
    frame: pd.DataFrame, covariates: Sequence[str], unit_code: IntArray
) -> tuple[FloatArray | None, bool]:
    if not covariates:
        return None, False
    cols = [_numeric(frame, c, "covariate") for c in covariates]
    for name, col in zip(covariates, cols, strict=True):
        if len(col) and np.all(col == col[0]):
            raise ValidationError(
                f"the covariate is constant ({col[0]:g}): it is collinear with the intercept of "
                "the propensity score and outcome regressions.",
                column=name,
                fix=f"drop '{name}' from covariates (the intercept already absorbs it).",
            )
    x = np.column_stack([np.ones(len(frame)), *cols])
    first = np.r_[True, unit_code[1:] != unit_code[:-1]]
    starts = np.flatnonzero(first)
    varies = bool(np.any(x != x[starts][unit_code]))
    return x, varies
