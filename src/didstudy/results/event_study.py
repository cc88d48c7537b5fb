"""Result of an event-study (dynamic two-way fixed-effects) regression."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.kernels.distributions import t_ppf, t_sf
from didstudy.results.protocol import TIDY_COLUMNS, HtmlRepr
from didstudy.results.spec import Baseline

__all__ = ["EventStudyResult", "LinearCombination", "WaldTest"]


def _none_if_nan(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class WaldTest:
    """Joint test that a set of coefficients is zero: ``W = b' V⁻¹ b``.

    ``chi2 = W`` with ``df1`` degrees of freedom; ``F = W / df1`` compared with
    ``F(df1, df2)``, ``df2`` the t degrees of freedom of the variance (clusters − 1 when
    clustered, as fixest's ``wald()``).
    """

    terms: tuple[str, ...]
    chi2: float
    p_chi2: float
    f: float
    p_f: float
    df1: int
    df2: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "terms": list(self.terms),
            "chi2": _none_if_nan(self.chi2),
            "p_chi2": _none_if_nan(self.p_chi2),
            "f": _none_if_nan(self.f),
            "p_f": _none_if_nan(self.p_f),
            "df1": int(self.df1),
            "df2": _none_if_nan(self.df2),
        }


@dataclass(frozen=True)
class LinearCombination:
    """A linear combination ``w'b`` of coefficients with ``se = sqrt(w'Vw)`` and t inference."""

    name: str
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    estimate: float
    std_error: float
    df: float
    level: float = 0.95

    @property
    def statistic(self) -> float:
        return self.estimate / self.std_error if self.std_error > 0 else float("nan")

    @property
    def p_value(self) -> float:
        return float(2.0 * t_sf(abs(self.statistic), self.df))

    @property
    def conf_int(self) -> tuple[float, float]:
        q = t_ppf(0.5 + self.level / 2.0, self.df)
        return self.estimate - q * self.std_error, self.estimate + q * self.std_error

    def to_dict(self) -> dict[str, Any]:
        low, high = self.conf_int
        return {
            "name": self.name,
            "terms": list(self.terms),
            "weights": [float(w) for w in self.weights],
            "estimate": _none_if_nan(self.estimate),
            "std_error": _none_if_nan(self.std_error),
            "statistic": _none_if_nan(self.statistic),
            "p_value": _none_if_nan(self.p_value),
            "conf_low": _none_if_nan(low),
            "conf_high": _none_if_nan(high),
        }


@dataclass(frozen=True, eq=False)
class EventStudyResult(HtmlRepr):
    """Event-study coefficients on relative-time dummies (base period omitted).

    Attributes
    ----------
    terms
        Names of all coefficients: ``rel_time::<k>`` for the event-time dummies, then controls.
    rel_time
        Relative period of each event-time coefficient (same order as the first
        ``len(rel_time)`` terms).
    coef, vcov
        Coefficients and their (cluster-robust) variance matrix, over :attr:`terms`.
    df_t
        Degrees of freedom of the t and F reference distributions (clusters − 1).
    base, window, endpoints, control_group
        The specification (see :func:`didstudy.estimation.event_study.event_study`).
    pretrend
        Joint Wald test that all pre-period (lead) coefficients are zero.
    post_average
        Average of the post-period coefficients (``k ≥ 0``) with its standard error.
    estimator
        Which estimator produced the coefficients (``"twfe"``, ``"imputation"``, ``"did2s"``,
        ``"etwfe"``, ``"sun_abraham"``, ``"stacked_did"``, ``"dcdh"``, ...).
    has_base
        Whether a normalised reference period exists (estimators without one, such as the
        imputation estimator, report none and :meth:`figure_data` adds no base row).
    cells
        Optional cohort × period cells behind the coefficients (columns ``cohort, period,
        rel_time, estimate, std_error, n_treated``): estimates, never input data.
    aggregates
        Further summaries (overall ATT, by cohort, by calendar period) with standard errors.
    notes
        Conventions worth printing under a table (control group, SE formula, ...).
    spec
        The resolved :class:`didstudy.Baseline` of the heterogeneity-robust estimators
        (outcome, controls, cluster, weights; decision record 0063), or ``None``. Not written to
        ``results.json``.
    """

    terms: tuple[str, ...]
    rel_time: tuple[int, ...]
    coef: NDArray[np.float64]
    vcov: NDArray[np.float64]
    df_t: float
    nobs: int
    n_clusters: int
    base: int
    window: tuple[int, int]
    endpoints: str
    control_group: str
    outcome: str
    controls: tuple[str, ...]
    pretrend: WaldTest | None
    post_average: LinearCombination | None
    vcov_type: str = "CRV1"
    dropped_terms: tuple[str, ...] = ()
    r2_within: float = float("nan")
    level: float = 0.95
    estimator: str = "twfe"
    has_base: bool = True
    cells: pd.DataFrame | None = None
    aggregates: tuple[LinearCombination, ...] = ()
    notes: tuple[str, ...] = ()
    spec: Baseline | None = None

    @property
    def se(self) -> NDArray[np.float64]:
        out: NDArray[np.float64] = np.sqrt(np.diag(self.vcov))
        return out

    def _table(self) -> pd.DataFrame:
        se = self.se
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.coef / se
        p = 2.0 * t_sf(np.abs(t), self.df_t)
        q = t_ppf(0.5 + self.level / 2.0, self.df_t)
        rel = np.full(len(self.terms), np.nan)
        rel[: len(self.rel_time)] = self.rel_time
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.coef,
                "std_error": se,
                "statistic": t,
                "p_value": p,
                "conf_low": self.coef - q * se,
                "conf_high": self.coef + q * se,
                "rel_time": rel,
            }
        )

    def tidy(self, include_controls: bool = True) -> pd.DataFrame:
        """Results-protocol table plus a ``rel_time`` column (NaN for controls)."""
        out = self._table()
        if not include_controls:
            out = out.iloc[: len(self.rel_time)].reset_index(drop=True)
        return out[[*TIDY_COLUMNS, "rel_time"]]

    def figure_data(self) -> pd.DataFrame:
        """Event-time coefficients with CIs, including the base period (estimate 0, no CI),
        sorted by ``rel_time``; column ``is_base`` marks the normalised period."""
        table = self.tidy(include_controls=False)
        table["is_base"] = False
        if not self.has_base:
            return table.sort_values("rel_time", kind="stable").reset_index(drop=True)
        base_row = pd.DataFrame(
            {
                "term": [f"rel_time::{self.base}"],
                "estimate": [0.0],
                "std_error": [np.nan],
                "statistic": [np.nan],
                "p_value": [np.nan],
                "conf_low": [np.nan],
                "conf_high": [np.nan],
                "rel_time": [float(self.base)],
                "is_base": [True],
            }
        )
        out = pd.concat([table, base_row], ignore_index=True)
        return out.sort_values("rel_time", kind="stable").reset_index(drop=True)

    def stats(self) -> Mapping[str, Any]:
        out: dict[str, Any] = {
            "nobs": self.nobs,
            "n_clusters": self.n_clusters,
            "df_t": self.df_t,
            "vcov": self.vcov_type,
            "r2_within": self.r2_within,
            "base": self.base,
            "window": f"[{self.window[0]}, {self.window[1]}]",
            "endpoints": self.endpoints,
            "control_group": self.control_group,
        }
        if self.pretrend is not None:
            out.update(
                pretrend_f=self.pretrend.f,
                pretrend_p_f=self.pretrend.p_f,
                pretrend_chi2=self.pretrend.chi2,
                pretrend_p_chi2=self.pretrend.p_chi2,
            )
        if self.post_average is not None:
            out.update(
                post_average=self.post_average.estimate,
                post_average_se=self.post_average.std_error,
                post_average_p=self.post_average.p_value,
            )
        return out

    def _robust_dict(self) -> dict[str, Any]:
        """Extra keys of the heterogeneity-robust estimators (absent for plain TWFE)."""
        if self.estimator == "twfe" and self.cells is None and not self.aggregates:
            return {}
        cells = None
        if self.cells is not None:
            cells = [
                {
                    k: (
                        int(v)
                        if isinstance(v, np.integer)
                        else _none_if_nan(float(v))
                        if isinstance(v, (float, np.floating))
                        else v
                    )
                    for k, v in rec.items()
                }
                for rec in self.cells.to_dict(orient="records")
            ]
        return {
            "estimator": self.estimator,
            "has_base": self.has_base,
            "cells": cells,
            "aggregates": [a.to_dict() for a in self.aggregates],
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        table = self.tidy()
        rows = []
        for rec in table.to_dict(orient="records"):
            rows.append(
                {
                    k: (_none_if_nan(float(v)) if isinstance(v, (float, np.floating)) else v)
                    for k, v in rec.items()
                }
            )
        return {
            "kind": "event_study",
            "outcome": self.outcome,
            "controls": list(self.controls),
            "base": self.base,
            "window": list(self.window),
            "endpoints": self.endpoints,
            "control_group": self.control_group,
            "coefficients": rows,
            "dropped_terms": list(self.dropped_terms),
            "pretrend": None if self.pretrend is None else self.pretrend.to_dict(),
            "post_average": None if self.post_average is None else self.post_average.to_dict(),
            **self._robust_dict(),
            "stats": {
                k: (_none_if_nan(v) if isinstance(v, float) else v) for k, v in self.stats().items()
            },
        }
