"""Group-time average treatment effects and their aggregations.

A :class:`GroupTimeResult` holds one estimate per (cohort ``g``, period ``t``) cell with its
cluster-summed influence functions, so that any aggregation
:math:`θ = Σ_{g,t} w_{g,t} ATT(g,t)` gets its standard error from the same influence functions,
including the estimation error of cohort-share weights (Callaway and Sant'Anna 2021, Section
3.3 and Appendix, the ``wif`` term of R ``did``'s ``aggte``). Estimators that produce cohort ×
period cells (Callaway–Sant'Anna; others) return it; it keeps no copy of the data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats as st

from didstudy.errors import EstimationError, InferenceWarning
from didstudy.kernels.vcov import wald_form
from didstudy.results.event_study import EventStudyResult, LinearCombination, WaldTest
from didstudy.results.group_time_aggregate import _Weights, aggregate_cells
from didstudy.results.influence import (
    ZERO_SE,
    MultiplierKind,
    analytic_se,
    multiplier_bootstrap,
    sup_t_gaussian,
)
from didstudy.results.influence_matrix import DenseInfluence, InfluenceMatrix

__all__ = ["AggregationKind", "GroupTimeAggregate", "GroupTimeResult", "Inference"]

FloatArray = NDArray[np.float64]
AggregationKind = Literal["simple", "group", "calendar", "dynamic"]

_LABEL = {"simple": "", "group": "group", "calendar": "time", "dynamic": "rel_time"}


def _num(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass(frozen=True)
class Inference:
    """How standard errors and uniform bands are computed.

    Attributes
    ----------
    bootstrap
        False: analytic influence-function SEs, sup-t critical value from ``reps`` normal draws
        with the estimated correlation; True: multiplier-bootstrap SEs and sup-t value.
    reps, seed, kind
        Draws, the seed actually used, and the multiplier distribution.
    alpha
        One minus the coverage of pointwise and uniform bands.
    """

    bootstrap: bool = False
    reps: int = 999
    seed: int = 0
    kind: MultiplierKind = "mammen"
    alpha: float = 0.05

    def se_and_crit(
        self,
        influence: InfluenceMatrix,
        n: int,
        band: bool = True,
        columns: NDArray[np.bool_] | None = None,
    ) -> tuple[FloatArray, float]:
        """Standard errors of the columns of ``influence`` and the uniform critical value over
        ``columns`` (analytic mode with ``band=False``: NaN, computed later on demand)."""
        if influence.shape[1] == 0:
            return np.zeros(0), float("nan")
        if self.bootstrap:
            out = multiplier_bootstrap(
                influence, n, self.reps, self.seed, self.kind, self.alpha, columns
            )
            return out.std_error, out.crit_value
        se = analytic_se(influence, n)
        if not band:
            return se, float("nan")
        return se, sup_t_gaussian(influence, n, self.reps, self.seed, self.alpha, columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "se": "multiplier bootstrap" if self.bootstrap else "analytic influence function",
            "reps": self.reps,
            "seed": self.seed,
            "multiplier": self.kind,
            "alpha": self.alpha,
        }


def _band_frame(
    estimate: FloatArray, se: FloatArray, crit: float, alpha: float
) -> dict[str, FloatArray]:
    z = float(st.norm.ppf(1.0 - alpha / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > ZERO_SE, estimate / se, np.nan)
    return {
        "estimate": estimate,
        "std_error": se,
        "statistic": stat,
        "p_value": 2.0 * st.norm.sf(np.abs(stat)),
        "conf_low": estimate - z * se,
        "conf_high": estimate + z * se,
        "conf_low_uniform": estimate - crit * se,
        "conf_high_uniform": estimate + crit * se,
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _num(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


@dataclass(frozen=True, eq=False)
class GroupTimeAggregate:
    """An aggregation of group-time effects (R ``did``'s ``aggte``).

    Attributes
    ----------
    kind
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    labels
        Event time ``e`` (dynamic), cohort (group) or period (calendar) of each estimate; empty
        for ``"simple"``.
    estimate, std_error, influence
        Estimates, their standard errors and cluster-summed influence functions
        (``clusters × K``).
    overall_estimate, overall_std_error, overall_influence
        The summary number: the simple ATT, the cohort-share-weighted average of the group
        effects, the average of the calendar effects, or the average of the ``e ≥ 0`` effects.
    bootstrap_crit
        Sup-t critical value of the uniform band from the bootstrap (None in analytic mode:
        :attr:`crit_value` simulates it on first use).
    """

    kind: AggregationKind
    labels: tuple[int, ...]
    estimate: FloatArray
    std_error: FloatArray
    influence: FloatArray
    overall_estimate: float
    overall_std_error: float
    overall_influence: FloatArray
    bootstrap_crit: float | None
    n_units: int
    n_clusters: int
    inference: Inference
    outcome: str
    estimator: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def crit_value(self) -> float:
        """Sup-t critical value of the uniform band over the ``K`` estimates."""
        if self.bootstrap_crit is not None:
            return self.bootstrap_crit
        keep = self.std_error > ZERO_SE
        return _gaussian_crit(DenseInfluence(self.influence), keep, self.n_units, self.inference)

    @property
    def vcov(self) -> FloatArray:
        """Covariance of the ``K`` estimates, ``S'S / n²``."""
        out: FloatArray = self.influence.T @ self.influence / self.n_units**2
        return out

    def _terms(self) -> list[str]:
        if self.kind == "simple":
            return []
        return [f"{_LABEL[self.kind]}::{v}" for v in self.labels]

    def tidy(self) -> pd.DataFrame:
        """One row per estimate plus the ``overall`` row (one ``ATT`` row for ``"simple"``);
        uniform bands in extra columns."""
        if self.kind == "simple":
            bands = _band_frame(self.estimate, self.std_error, self.crit_value,
                                self.inference.alpha)  # fmt: skip
            return pd.DataFrame({"term": ["ATT"], **bands})
        est = np.append(self.estimate, self.overall_estimate)
        se = np.append(self.std_error, self.overall_std_error)
        bands = _band_frame(est, se, self.crit_value, self.inference.alpha)
        bands["conf_low_uniform"][-1] = np.nan
        bands["conf_high_uniform"][-1] = np.nan
        out = pd.DataFrame({"term": [*self._terms(), "overall"], **bands})
        out[_LABEL[self.kind]] = [*self.labels, np.nan]
        return out

    def stats(self) -> Mapping[str, Any]:
        return {
            "nobs": self.n_units,
            "n_clusters": self.n_clusters,
            "aggregation": self.kind,
            "overall": self.overall_estimate,
            "overall_se": self.overall_std_error,
            "crit_value_uniform": self.crit_value,
            "vcov": "bootstrap" if self.inference.bootstrap else "influence function",
        }

    def pretrend(self) -> WaldTest | None:
        """Joint Wald test that the pre-period (``e < 0``) effects with variance are zero."""
        if self.kind != "dynamic":
            return None
        labels = np.asarray(self.labels)
        keep = np.flatnonzero((labels < 0) & (self.std_error > ZERO_SE))
        return wald_test(
            self.estimate[keep], DenseInfluence(self.influence).gram(keep), self.n_units,
            self.n_clusters,
            tuple(f"rel_time::{labels[k]}" for k in keep),
        )  # fmt: skip

    def to_event_study(self) -> EventStudyResult:
        """The dynamic aggregation as an :class:`EventStudyResult` (figures, HonestDiD, ...).

        The reference period is ``base`` = −1 − anticipation; with a universal base that cell
        is zero by construction and left out of the coefficients; with a varying base every
        event time is estimated and ``base`` only marks where treatment starts.
        """
        if self.kind != "dynamic":
            raise EstimationError(
                f"only the dynamic aggregation is an event study, not {self.kind!r}.",
                fix="use result.aggregate('dynamic').to_event_study().",
            )
        base = -1 - int(self.options.get("anticipation", 0))
        keep = np.flatnonzero(self.std_error > ZERO_SE)
        if self.options.get("base_period") != "universal":
            keep = keep[np.asarray(self.labels)[keep] != base]
        labels = tuple(int(self.labels[k]) for k in keep)
        post = [i for i, e in enumerate(labels) if e >= 0]
        vcov = self.influence[:, keep].T @ self.influence[:, keep] / self.n_units**2
        average = LinearCombination(
            "post_average", tuple(f"rel_time::{labels[i]}" for i in post),
            tuple(1.0 / len(post) for _ in post), self.overall_estimate,
            self.overall_std_error, float("inf"), 1.0 - self.inference.alpha,
        ) if post else None  # fmt: skip
        return EventStudyResult(
            terms=tuple(f"rel_time::{e}" for e in labels),
            rel_time=labels,
            coef=self.estimate[keep].copy(),
            vcov=vcov,
            df_t=float("inf"),
            nobs=self.n_units,
            n_clusters=self.n_clusters,
            base=base,
            window=(min(labels, default=base), max(labels, default=base)),
            endpoints="none",
            control_group=str(self.options.get("control_group", "")),
            outcome=self.outcome,
            controls=tuple(self.options.get("covariates", ())),
            pretrend=self.pretrend(),
            post_average=average,
            vcov_type="influence function" if not self.inference.bootstrap else "bootstrap",
            level=1.0 - self.inference.alpha,
            estimator=self.estimator,
        )

    def to_dict(self) -> dict[str, Any]:
        pre = self.pretrend()
        return {
            "kind": "group_time_aggregate",
            "aggregation": self.kind,
            "estimator": self.estimator,
            "outcome": self.outcome,
            "options": {k: _num(v) for k, v in self.options.items()},
            "estimates": _records(self.tidy()),
            "crit_value_uniform": _num(self.crit_value),
            "pretrend": None if pre is None else pre.to_dict(),
            "inference": self.inference.to_dict(),
            "stats": {k: _num(v) for k, v in self.stats().items()},
        }


def wald_test(
    estimate: FloatArray, gram: FloatArray, n: int, n_clusters: int, terms: tuple[str, ...]
) -> WaldTest | None:
    """Joint Wald test that ``estimate`` is zero: ``W = b' V̂⁺ b`` with ``V̂ = S'S/n²``
    (``gram`` = ``S'S``) over the eigen-directions of ``V̂`` with positive variance
    (:func:`didstudy.kernels.vcov.wald_form`, as the event-study tests), ``χ²(r)`` with ``r`` the
    rank of ``V̂``.

    With a full-rank ``V̂`` this is R ``did``'s pre-test ``W``. R returns no test when ``V̂`` is
    singular (e.g. more pre-period cells than clusters can identify); here only the ``r``
    non-redundant constraints are tested, with an :class:`~didstudy.errors.InferenceWarning`,
    and the statistic is never negative (decision 0043). ``df1 < len(terms)`` marks such a test.
    None without terms or without any direction of positive variance.

    Examples
    --------
    >>> t = wald_test(np.array([1.0, 2.0]), np.diag([4.0, 16.0]), 2, 2, ("a", "b"))
    >>> (round(t.chi2, 12), t.df1)
    (2.0, 2)
    """
    if len(terms) == 0:
        return None
    stat, rank = wald_form(np.asarray(estimate, dtype=np.float64), gram / n**2)
    if rank == 0:
        return None
    if rank < len(terms):
        warnings.warn(
            f"the covariance of the {len(terms)} tested effects ({terms[0]}, ...) is singular "
            f"(rank {rank}); the pre-trend test uses the {rank} non-redundant constraints",
            InferenceWarning,
            stacklevel=3,
        )
    df2 = float(max(n_clusters - 1, 1))
    return WaldTest(terms, stat, float(st.chi2.sf(stat, rank)), stat / rank,
                    float(st.f.sf(stat / rank, rank, df2)), rank, df2)  # fmt: skip


@dataclass(frozen=True, eq=False)
class GroupTimeResult:
    """Average treatment effects by cohort and period, ATT(g,t), with influence functions.

    Attributes
    ----------
    group, time, base_time
        Cohort, period and base period of each cell.
    estimate, std_error
        ATT(g,t) (NaN when the cell could not be estimated) and its standard error.
    influence
        Cluster sums of the cells' influence functions (``clusters × cells``, dense or in
        blocks of units), scaled so that ``V̂ = S'S / n²`` with ``n = n_units``.
    n_treated, n_control
        Units in the cohort and comparison units of each cell.
    reference
        Universal-base reference cells (estimate 0 by construction).
    bootstrap_crit
        Sup-t critical value from the multiplier bootstrap (None in analytic mode: then
        :attr:`crit_value` simulates it on first use from the analytic covariance).
    cohort_levels, cohort_mass, cluster_size
        Cluster-level weighted counts of each cohort's units and units per cluster: the
        cohort shares of the aggregations and their estimation error.
    pretrend
        Wald test that every pre-period cell (``t < g``) is zero (R ``did``'s ``W``).
    options
        The specification (estimator options, for reports and ``results.json``).
    """

    estimator: str
    outcome: str
    group: FloatArray
    time: NDArray[np.int64]
    base_time: NDArray[np.int64]
    estimate: FloatArray
    std_error: FloatArray
    influence: InfluenceMatrix
    n_treated: NDArray[np.int64]
    n_control: NDArray[np.int64]
    reference: NDArray[np.bool_]
    bootstrap_crit: float | None
    cohort_levels: FloatArray
    cohort_mass: FloatArray
    cluster_size: FloatArray
    n_units: int
    nobs: int
    inference: Inference
    pretrend: WaldTest | None
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_clusters(self) -> int:
        return int(self.influence.shape[0])

    @cached_property
    def crit_value(self) -> float:
        """Sup-t critical value of the uniform band over the estimated, non-reference cells."""
        if self.bootstrap_crit is not None:
            return self.bootstrap_crit
        keep = self.valid & ~self.reference
        return _gaussian_crit(self.influence, keep, self.n_units, self.inference)

    @property
    def valid(self) -> NDArray[np.bool_]:
        """Cells with an estimate."""
        return np.isfinite(self.estimate)

    @property
    def vcov(self) -> FloatArray:
        """Analytic covariance of the cells, ``S'S / n²`` (zero rows for missing cells)."""
        out: FloatArray = self.influence.gram(np.arange(len(self.estimate))) / self.n_units**2
        return out

    def tidy(self) -> pd.DataFrame:
        """One row per cell: the protocol columns, uniform bands, ``group``, ``time``, counts."""
        est = self.estimate
        bands = _band_frame(est, self.std_error, self.crit_value, self.inference.alpha)
        terms = [f"ATT({int(g)},{int(t)})" for g, t in zip(self.group, self.time, strict=True)]
        out = pd.DataFrame({"term": terms, **bands})
        out["group"] = self.group.astype(np.int64)
        out["time"] = self.time
        out["rel_time"] = self.time - self.group.astype(np.int64)
        out["base_time"] = self.base_time
        out["n_treated"] = self.n_treated
        out["n_control"] = self.n_control
        return out

    def stats(self) -> Mapping[str, Any]:
        out: dict[str, Any] = {
            "nobs": self.nobs,
            "n_units": self.n_units,
            "n_clusters": self.n_clusters,
            "n_cells": int(self.valid.sum()),
            "n_missing_cells": int((~self.valid).sum()),
            "crit_value_uniform": self.crit_value,
            "vcov": "bootstrap" if self.inference.bootstrap else "influence function",
        }
        if self.pretrend is not None:
            out.update(pretrend_chi2=self.pretrend.chi2, pretrend_p=self.pretrend.p_chi2)
        return out

    def _aggregations(self) -> dict[str, Any]:
        """The four aggregations with default options (for ``results.json``)."""
        return _aggregations_of(self)

    @cached_property
    def _weights(self) -> _Weights:
        return _Weights(self.cohort_levels, self.cohort_mass, self.cluster_size, self.n_units)

    def with_inference(self, **changes: Any) -> GroupTimeResult:
        """A new result with other inference (``bootstrap``, ``reps``, ``seed``, ``kind``,
        ``alpha``); the estimates are unchanged."""
        inference = replace(self.inference, **changes)
        se, crit = _cell_inference(self.influence, self.n_units, self.estimate, inference,
                                   self.reference)  # fmt: skip
        return replace(self, std_error=se, bootstrap_crit=crit, inference=inference)

    def aggregate(
        self,
        kind: AggregationKind = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
    ) -> GroupTimeAggregate:
        """Aggregate the cells (Callaway and Sant'Anna 2021, eqs. 3.10–3.15; R ``aggte``).

        Parameters
        ----------
        kind
            ``"simple"`` (cohort-share-weighted post cells), ``"group"`` (per cohort, then
            weighted by cohort shares), ``"calendar"`` (per period, then averaged) or
            ``"dynamic"`` (per event time ``e = t − g``, the event study).
        min_e, max_e
            Event-time window (``max_e`` also limits the other kinds' post cells).
        balance_e
            Dynamic only: keep the cohorts observed at least ``balance_e`` periods after
            treatment, and event times up to ``balance_e``, so every ``e`` averages the same
            cohorts.

        Returns
        -------
        GroupTimeAggregate

        Examples
        --------
        >>> import didstudy as ds  # doctest: +SKIP
        >>> res = ds.callaway_santanna(panel, y="lemp")  # doctest: +SKIP
        >>> res.aggregate("dynamic", min_e=-4, max_e=3).tidy()  # doctest: +SKIP
        """
        if kind not in _LABEL:
            raise EstimationError(
                f"unknown aggregation {kind!r}.",
                fix="use 'simple', 'group', 'calendar' or 'dynamic'.",
            )
        labels, est, inf, overall, overall_inf = aggregate_cells(
            self, kind, min_e, max_e, balance_e
        )
        band = self.inference.bootstrap
        se, crit = self.inference.se_and_crit(DenseInfluence(inf), self.n_units, band=band)
        overall_se, _ = self.inference.se_and_crit(
            DenseInfluence(overall_inf[:, None]), self.n_units, band=False
        )
        options = dict(self.options) | {"min_e": min_e, "max_e": max_e, "balance_e": balance_e}
        return GroupTimeAggregate(
            kind, labels, est, se, inf, overall, float(overall_se[0]), overall_inf,
            crit if band else None,
            self.n_units, self.n_clusters, self.inference, self.outcome, self.estimator,
            options,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "group_time",
            "estimator": self.estimator,
            "outcome": self.outcome,
            "options": {
                k: (list(v) if isinstance(v, tuple) else _num(v)) for k, v in self.options.items()
            },
            "cells": _records(self.tidy()),
            "aggregations": self._aggregations(),
            "crit_value_uniform": _num(self.crit_value),
            "pretrend": None if self.pretrend is None else self.pretrend.to_dict(),
            "inference": self.inference.to_dict(),
            "notes": list(self.notes),
            "stats": {k: _num(v) for k, v in self.stats().items()},
        }


def _gaussian_crit(
    influence: InfluenceMatrix, columns: NDArray[np.bool_], n: int, inference: Inference
) -> float:
    return sup_t_gaussian(influence, n, inference.reps, inference.seed, inference.alpha, columns)


def _aggregations_of(result: GroupTimeResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("simple", "group", "calendar", "dynamic"):
        try:
            agg = result.aggregate(kind)  # type: ignore[arg-type]
        except EstimationError as exc:
            out[kind] = {"error": exc.message}
            continue
        out[kind] = {
            k: v
            for k, v in agg.to_dict().items()
            if k in ("estimates", "pretrend", "crit_value_uniform")
        }
    return out


def _cell_inference(
    influence: InfluenceMatrix,
    n: int,
    estimate: FloatArray,
    inference: Inference,
    reference: NDArray[np.bool_],
) -> tuple[FloatArray, float | None]:
    """SEs of the cells (NaN for missing ones, 0 for reference ones) and, with the bootstrap,
    their uniform critical value (None in analytic mode: computed on demand)."""
    ok = np.isfinite(estimate) & ~reference
    if not inference.bootstrap:
        return np.where(ok, analytic_se(influence, n), np.where(reference, 0.0, np.nan)), None
    se_all, crit = inference.se_and_crit(influence, n, columns=ok)
    return np.where(ok, se_all, np.where(reference, 0.0, np.nan)), crit


__all__ += ["wald_test"]
