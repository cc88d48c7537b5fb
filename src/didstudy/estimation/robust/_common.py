"""Shared plumbing of the heterogeneity-robust estimators.

:func:`panel_arrays` turns a validated :class:`~didstudy.data.panel.Panel` into the integer codes
and float arrays every estimator needs (checking the input once, with messages naming units and
rows); :func:`cluster_sums` turns per-observation influence functions into the cluster sums of a
cluster-robust covariance; :func:`event_study_result` packs relative-time estimates into the shared
:class:`~didstudy.results.event_study.EventStudyResult`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import PanelWarning, ValidationError, format_rows
from didstudy.estimation.event_study import _wald
from didstudy.estimation.robust._untreated import dense, indicator
from didstudy.results.event_study import EventStudyResult, LinearCombination
from didstudy.results.spec import Baseline

__all__ = [
    "PanelArrays",
    "RobustSpec",
    "cluster_sums",
    "event_study_result",
    "linear_combination",
    "no_controls",
    "panel_arrays",
    "robust_spec",
    "with_spec",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PanelArrays:
    """The arrays of one estimation sample (rows of the panel, sorted by unit and time).

    Attributes
    ----------
    y
        Outcome (length ``n``).
    X
        Controls, ``n x k`` (``k`` may be 0).
    unit, time, cluster
        Dense integer codes (``0..G-1``); ``time`` indexes :attr:`periods`.
    periods
        Sorted calendar periods (int64).
    period
        Calendar period of each row (int64).
    cohort
        First treated period of each row's unit (float, ``inf`` = never treated).
    treated
        Treatment indicator of each row (absorbing: ``period >= cohort``).
    unit_labels
        The unit identifier of each code.
    outcome, controls
        Column names.
    n_dropped_always
        Rows of always-treated units left out (with a warning).
    factors
        Dense codes of extra categorical columns asked for (e.g. a coarser fixed effect).
    weight
        Observation weights (``None``: unweighted); finite, non-negative, positive sum.
    """

    y: FloatArray
    X: FloatArray
    unit: IntArray
    time: IntArray
    cluster: IntArray
    periods: npt.NDArray[np.int64]
    period: npt.NDArray[np.int64]
    cohort: FloatArray
    treated: BoolArray
    unit_labels: npt.NDArray[Any]
    outcome: str
    controls: tuple[str, ...]
    n_dropped_always: int = 0
    factors: tuple[IntArray, ...] = ()
    weight: FloatArray | None = None

    @property
    def w(self) -> FloatArray:
        """The observation weights, ones when unweighted."""
        return np.ones(self.n) if self.weight is None else self.weight

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def n_units(self) -> int:
        return int(self.unit_labels.size)

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1 if self.cluster.size else 0

    @property
    def rel_time(self) -> FloatArray:
        """``period - cohort`` (NaN for never-treated units)."""
        out: FloatArray = np.where(np.isfinite(self.cohort), self.period - self.cohort, np.nan)
        return out

    def cohorts(self) -> npt.NDArray[np.int64]:
        """Sorted finite cohorts present."""
        g = np.unique(self.cohort[np.isfinite(self.cohort)])
        return g.astype(np.int64)

    def subset(self, keep: BoolArray) -> PanelArrays:
        """The same arrays on the rows where ``keep`` is true (codes re-densified)."""
        unit_codes, unit_inv = np.unique(self.unit[keep], return_inverse=True)
        time_codes, time_inv = np.unique(self.time[keep], return_inverse=True)
        _, cl_inv = np.unique(self.cluster[keep], return_inverse=True)
        return PanelArrays(
            y=self.y[keep],
            X=self.X[keep],
            unit=unit_inv.astype(np.intp),
            time=time_inv.astype(np.intp),
            cluster=cl_inv.astype(np.intp),
            periods=self.periods[time_codes],
            period=self.period[keep],
            cohort=self.cohort[keep],
            treated=self.treated[keep],
            unit_labels=self.unit_labels[unit_codes],
            outcome=self.outcome,
            controls=self.controls,
            n_dropped_always=self.n_dropped_always,
            factors=tuple(
                np.unique(f[keep], return_inverse=True)[1].astype(np.intp) for f in self.factors
            ),
            weight=None if self.weight is None else self.weight[keep],
        )


def _numeric_column(frame: pd.DataFrame, col: str, role: str) -> FloatArray:
    if col not in frame.columns:
        close = [c for c in frame.columns if str(c).lower() == col.lower()]
        raise ValidationError(
            f"the {role} column '{col}' is not in the panel"
            + (f" (did you mean '{close[0]}'?)" if close else "")
            + ".",
            column=col,
            fix=f"pass one of the panel's columns: {format_rows(list(frame.columns))}.",
        )
    try:
        values = pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"the {role} column is not numeric.",
            column=col,
            fix="convert it to numbers (e.g. pandas.to_numeric) before building the Panel.",
        ) from exc
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(
            f"the {role} column has {int(bad.sum())} missing or infinite values; the "
            "heterogeneity-robust estimators need a complete sample and drop nothing silently.",
            column=col,
            rows=[int(i) for i in np.flatnonzero(bad)],
            fix="drop or fill those rows, e.g. panel.subset(panel.frame[col].notna()).",
        )
    return values


def _check_absorbing(frame: pd.DataFrame, panel: Any, estimator: str) -> None:
    time = frame[panel.time].to_numpy(dtype=np.float64)
    implied = time >= frame["_cohort"].to_numpy()
    given = frame[panel.treat].to_numpy() == 1
    switch = implied != given
    if switch.any():
        units = pd.unique(frame.loc[switch, panel.unit])
        raise ValidationError(
            f"{estimator} needs an absorbing (staggered-adoption) treatment, but the treatment "
            f"switches off for {len(units)} unit(s): {format_rows(list(units))}.",
            column=panel.treat,
            fix="use dcdh(...) (de Chaisemartin & D'Haultfoeuille), which allows treatments that "
            "switch on and off, or recode the treatment as absorbing.",
        )


@dataclass(frozen=True)
class RobustSpec:
    """The resolved baseline of a robust estimator and the columns it reads from it.

    Attributes
    ----------
    base
        The resolved :class:`didstudy.Baseline` (carried on the result as ``spec``).
    y, controls
        Outcome and controls.
    cluster
        One cluster column, or ``None`` (the panel's cluster, else the unit).
    weights
        The observation-weight column (explicit, the spec's, else the panel's), or ``None``.
    """

    base: Baseline
    y: str
    controls: tuple[str, ...]
    cluster: str | None
    weights: str | None


def robust_spec(
    estimator: str,
    spec: Baseline | None,
    panel: Any,
    *,
    y: str | None,
    controls: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
) -> RobustSpec:
    """Resolve ``spec=`` and the explicit keywords exactly as the TWFE estimators do.

    A keyword that is not ``None`` overrides the spec's field, ``None`` keeps it; ``y`` must come
    from one or the other (decision records 0021, 0063). The treatment timing always comes from
    the Panel; the spec's ``fe``, ``vcov`` and ``ssc`` describe the TWFE regression and are
    carried on the result but not used (each robust estimator has its own variance).

    Raises
    ------
    ValidationError
        ``y`` neither passed nor in the spec; two-way clustering (not available here).
    """
    from didstudy.estimation.twfe import baseline_for

    base = baseline_for(
        estimator, spec, required=("y",), y=y, controls=controls, cluster=cluster,
        weights=weights,
    )  # fmt: skip
    clusters = base.cluster or ()
    if len(clusters) > 1:
        raise ValidationError(
            f"{estimator} clusters on one variable; got {' + '.join(clusters)}.",
            column=clusters[0],
            fix="pass cluster= a single column (two-way clustering is available in twfe).",
        )
    weight_col = base.weights if base.weights is not None else getattr(panel, "weight", None)
    assert base.y is not None
    return RobustSpec(
        base=base,
        y=base.y,
        controls=tuple(base.controls),
        cluster=clusters[0] if clusters else None,
        weights=weight_col,
    )


def absorbed_factor(estimator: str, fe: str | Sequence[str] | None, panel: Any) -> str:
    """The one absorbed factor besides the period effects of an untreated-outcome model.

    ``None`` is the unit; ``"state"``, ``"state+year"`` or ``("unit", "year")`` (the spec's
    TWFE fixed effects) name it with the panel's time column left out.
    """
    if fe is None:
        return "unit"
    parts = (
        [p.strip() for p in fe.replace(",", "+").split("+") if p.strip()]
        if isinstance(fe, str)
        else [str(p) for p in fe]
    )
    rest = [p for p in parts if p not in ("time", getattr(panel, "time", None))]
    if len(rest) != 1 or "^" in rest[0]:
        raise ValidationError(
            f"{estimator} absorbs period effects and one unit-level factor; fe={fe!r} names "
            f"{len(rest)} other factors.",
            column=rest[0] if rest else None,
            fix="pass fe='unit' or one coarser column such as fe='state'.",
        )
    return rest[0]


def no_controls(estimator: str, rs: RobustSpec) -> None:
    """Raise when controls reach an estimator that takes none."""
    if rs.controls:
        raise ValidationError(
            f"{estimator} takes no controls, but the specification has {', '.join(rs.controls)}.",
            column=rs.controls[0],
            fix="pass spec=spec.override(controls=()) (or controls=[] in the study step).",
        )


def with_spec(result: EventStudyResult, rs: RobustSpec) -> EventStudyResult:
    """``result`` carrying the resolved baseline (with the weight column actually used)."""
    return replace(result, spec=rs.base.override(weights=rs.weights))


def weight_column(frame: pd.DataFrame, col: str, estimator: str) -> FloatArray:
    """Observation weights: numeric, complete, finite, non-negative, with a positive sum."""
    from didstudy.data.validate import as_numeric

    if col not in frame.columns:
        raise ValidationError(
            f"the weight column '{col}' is not in the panel.",
            column=col,
            fix=f"pass weights= one of the panel's columns: {format_rows(list(frame.columns))}.",
        )
    w = as_numeric(frame[col], col, "weight", allow_missing=False)
    values = w.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValidationError(
            f"{estimator}: the weight column has {int(bad.sum())} negative or infinite values.",
            column=col,
            rows=[_label(v) for v in frame.index[bad]],
            fix="weights must be finite and non-negative (e.g. population counts).",
        )
    if not values.sum() > 0:
        raise ValidationError(
            f"{estimator}: the weights sum to zero on the estimation sample.",
            column=col,
            fix="give some observations a positive weight, or drop weights=.",
        )
    return values


def _label(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def panel_arrays(
    panel: Any,
    y: str,
    controls: Sequence[str] = (),
    cluster: str | None = None,
    *,
    estimator: str,
    absorbing: bool = True,
    drop_always_treated: bool = True,
    factors: Sequence[str] = (),
    weights: str | None = None,
) -> PanelArrays:
    """Arrays of a :class:`~didstudy.data.panel.Panel` for a robust estimator.

    Parameters
    ----------
    panel
        The validated panel (``frame``, ``unit``, ``time``, ``treat`` and the derived
        ``_cohort`` / ``_treated`` columns).
    y, controls
        Outcome and control columns (numeric, no missing values).
    cluster
        Cluster column; default the panel's cluster role, else the unit.
    estimator
        Name used in messages.
    absorbing
        Require an absorbing treatment (every estimator except ``dcdh``).
    factors
        Extra categorical columns to encode (e.g. ``"state"`` for a coarser fixed effect).
    drop_always_treated
        Leave out units treated in their first observed period (no untreated outcome to
        compare), with a :class:`~didstudy.errors.PanelWarning` naming them.
    weights
        Observation-weight column (already resolved: explicit, spec or panel), or ``None``.

    Returns
    -------
    PanelArrays

    Raises
    ------
    ValidationError
        Unknown or non-numeric columns, missing values (rows named), a treatment that switches
        off when ``absorbing``; a weight column that is non-numeric, missing, negative,
        infinite or sums to zero (rows named).
    """
    if not all(hasattr(panel, a) for a in ("frame", "unit", "time", "treat")):
        raise ValidationError(
            f"{estimator} takes a didstudy.Panel, got {type(panel).__name__}.",
            fix="wrap the data: didstudy.Panel(df, unit=..., time=..., cohort=... or treat=...).",
        )
    frame = panel.frame
    if absorbing:
        _check_absorbing(frame, panel, estimator)
    n_always = 0
    if drop_always_treated and "_always_treated" in frame.columns:
        always = frame["_always_treated"].to_numpy(dtype=bool)
        if always.any():
            units = pd.unique(frame.loc[always, panel.unit])
            warnings.warn(
                f"{estimator}: {len(units)} always-treated unit(s) have no untreated period and "
                f"are left out: {format_rows(list(units))}.",
                PanelWarning,
                stacklevel=3,
            )
            n_always = int(always.sum())
            frame = frame.loc[~always]
    wv = weight_column(frame, weights, estimator) if weights is not None else None
    yv = _numeric_column(frame, y, "outcome")
    X = (
        np.column_stack([_numeric_column(frame, c, "control") for c in controls])
        if controls
        else (np.zeros((len(frame), 0)))
    )
    unit_codes, unit_labels = pd.factorize(frame[panel.unit], sort=True)
    period = frame[panel.time].to_numpy(dtype=np.int64)
    periods = np.unique(period)
    time_codes = np.searchsorted(periods, period)
    cl_col = cluster or getattr(panel, "cluster", None) or panel.unit
    if cl_col not in frame.columns:
        raise ValidationError(
            f"the cluster column '{cl_col}' is not in the panel.",
            column=cl_col,
            fix="pass cluster= one of the panel's columns (default: the unit).",
        )
    cl_codes, _ = pd.factorize(frame[cl_col], sort=True)
    factor_codes = []
    for col in factors:
        if col not in frame.columns:
            raise ValidationError(
                f"the fixed-effect column '{col}' is not in the panel.",
                column=col,
                fix="pass fe= the unit or a column of the panel (e.g. a state identifier).",
            )
        codes, _ = pd.factorize(frame[col], sort=True)
        if (codes < 0).any():
            raise ValidationError(
                "the fixed-effect column has missing values.",
                column=col,
                rows=[int(i) for i in np.flatnonzero(codes < 0)],
                fix="fill or drop those rows before building the Panel.",
            )
        factor_codes.append(codes.astype(np.intp))
    cohort = frame["_cohort"].to_numpy(dtype=np.float64)
    treated = frame[panel.treat].to_numpy() == 1 if not absorbing else period >= cohort
    return PanelArrays(
        y=yv,
        X=np.ascontiguousarray(X, dtype=np.float64),
        unit=unit_codes.astype(np.intp),
        time=time_codes.astype(np.intp),
        cluster=cl_codes.astype(np.intp),
        periods=periods,
        period=period,
        cohort=cohort,
        treated=np.asarray(treated, dtype=bool),
        unit_labels=np.asarray(unit_labels),
        outcome=y,
        controls=tuple(controls),
        n_dropped_always=n_always,
        factors=tuple(factor_codes),
        weight=wv,
    )


def cluster_sums(values: FloatArray, cluster: IntArray, n_clusters: int) -> FloatArray:
    """Within-cluster sums of every column of ``values`` (``n x K`` -> ``G x K``).

    With ``values`` the per-observation influence functions of ``K`` estimates, ``S'S`` of the
    result is their cluster-robust covariance (no small-sample factor).
    """
    return dense(indicator(cluster, n_clusters).T @ values)


def linear_combination(
    name: str,
    terms: Sequence[str],
    weights: FloatArray,
    coef: FloatArray,
    vcov: FloatArray,
    df: float,
    level: float = 0.95,
) -> LinearCombination:
    """``w'b`` with ``se = sqrt(w'Vw)`` (weights treated as fixed)."""
    est = float(weights @ coef)
    se = float(np.sqrt(max(float(weights @ vcov @ weights), 0.0)))
    return LinearCombination(
        name=name,
        terms=tuple(terms),
        weights=tuple(float(w) for w in weights),
        estimate=est,
        std_error=se,
        df=df,
        level=level,
    )


@dataclass(frozen=True)
class EventStudySpec:
    """What :func:`event_study_result` records about the specification."""

    estimator: str
    outcome: str
    controls: tuple[str, ...]
    control_group: str
    window: tuple[int, int]
    base: int = -1
    has_base: bool = True
    vcov_type: str = "CRV1"
    notes: tuple[str, ...] = ()


def event_study_result(
    spec: EventStudySpec,
    rel_time: Sequence[int],
    coef: FloatArray,
    vcov: FloatArray,
    *,
    df_t: float,
    nobs: int,
    n_clusters: int,
    cells: pd.DataFrame | None = None,
    aggregates: Sequence[LinearCombination] = (),
    pretrend_idx: Sequence[int] | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """Pack relative-time estimates into an :class:`EventStudyResult`.

    The pre-trend test is the joint Wald test of the coefficients at ``pretrend_idx`` (default:
    every negative relative time); the post average weighs every non-negative relative time
    equally, as :func:`didstudy.estimation.event_study.event_study` does.
    """
    rel = [int(k) for k in rel_time]
    terms = [f"rel_time::{k}" for k in rel]
    coef = np.array(coef, dtype=np.float64)
    vcov = np.array(vcov, dtype=np.float64)
    leads = (
        list(pretrend_idx) if pretrend_idx is not None else [i for i, k in enumerate(rel) if k < 0]
    )
    leads = [i for i in leads if vcov[i, i] > 0]
    pretrend = _wald(terms, coef, vcov, leads, df_t) if leads else None
    if pretrend is not None and not np.isfinite(df_t):
        pretrend = replace(pretrend, p_f=pretrend.p_chi2)
    lags = [i for i, k in enumerate(rel) if k >= 0]
    post = None
    if lags:
        w = np.zeros(len(rel))
        w[lags] = 1.0 / len(lags)
        post = linear_combination(
            "post_average",
            [terms[i] for i in lags],
            w[lags],
            coef[lags],
            vcov[np.ix_(lags, lags)],
            df_t,
            level,
        )
    coef.setflags(write=False)
    vcov.setflags(write=False)
    return EventStudyResult(
        terms=tuple(terms),
        rel_time=tuple(rel),
        coef=coef,
        vcov=vcov,
        df_t=df_t,
        nobs=nobs,
        n_clusters=n_clusters,
        base=spec.base,
        window=spec.window,
        endpoints="drop",
        control_group=spec.control_group,
        outcome=spec.outcome,
        controls=spec.controls,
        pretrend=pretrend,
        post_average=post,
        vcov_type=spec.vcov_type,
        level=level,
        estimator=spec.estimator,
        has_base=spec.has_base,
        cells=cells,
        aggregates=tuple(aggregates),
        notes=spec.notes,
    )
