"""Result of the Goodman-Bacon (2021) decomposition of a two-way fixed-effects DiD estimate."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from didstudy.results.protocol import TIDY_COLUMNS, HtmlRepr

__all__ = [
    "BETWEEN_TIMING",
    "EARLIER_VS_LATER",
    "LATER_VS_ALWAYS",
    "LATER_VS_EARLIER",
    "TREATED_VS_NEVER",
    "WITHIN",
    "BaconComparison",
    "BaconResult",
]

EARLIER_VS_LATER = "Earlier vs Later Treated"
LATER_VS_EARLIER = "Later vs Earlier Treated"
TREATED_VS_NEVER = "Treated vs Untreated"
LATER_VS_ALWAYS = "Later vs Always Treated"
BETWEEN_TIMING = "Timing Groups"
WITHIN = "Within"

COMPARISON_COLUMNS: tuple[str, ...] = (
    "type",
    "treated",
    "control",
    "estimate",
    "weight",
    "period_start",
    "period_end",
    "nobs",
)


def _float_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class BaconComparison:
    """One 2×2 DiD comparison of the decomposition.

    Attributes
    ----------
    type
        Comparison type (:data:`EARLIER_VS_LATER`, :data:`LATER_VS_EARLIER`,
        :data:`TREATED_VS_NEVER`, :data:`LATER_VS_ALWAYS`, or :data:`BETWEEN_TIMING` in the
        decomposition with controls).
    treated, control
        Labels of the timing groups: the first treated period, ``"never"`` or ``"always"``.
    estimate
        The 2×2 DiD estimate.
    weight
        Its weight in the TWFE estimate (weights of all comparisons and, with controls, the
        within term sum to one).
    period_start, period_end
        First and last period of the comparison window.
    nobs
        Observations in the comparison (units of both groups × periods of the window).
    """

    type: str
    treated: str
    control: str
    estimate: float
    weight: float
    period_start: float
    period_end: float
    nobs: int


@dataclass(frozen=True)
class BaconResult(HtmlRepr):
    """Goodman-Bacon (2021) decomposition of the TWFE DiD coefficient.

    Without controls (Theorem 1 of Goodman-Bacon 2021), ``estimate = Σ weight × estimate`` over
    :attr:`comparisons`. With controls (Section 5), ``estimate = within_weight × within_estimate
    + Σ weight × estimate`` over the between-group 2×2 comparisons, whose weights then sum to
    ``1 − within_weight``.

    Attributes
    ----------
    estimate
        The TWFE coefficient computed directly (Frisch–Waugh–Lovell on the balanced panel).
    comparisons
        Every 2×2 comparison with its estimate and weight.
    within_estimate, within_weight
        The within-timing-group term (``β̂_w`` and ``Ω``); ``None`` without controls.
    outcome, treatment, controls
        Column names used.
    nobs, n_units, n_periods
        Size of the balanced panel decomposed.
    sample_share
        Share of the usable observations kept (1.0 unless ``balance="largest"`` dropped some).
    dropped_units
        Number of units dropped to balance the panel.
    """

    estimate: float
    comparisons: tuple[BaconComparison, ...]
    outcome: str
    treatment: str
    controls: tuple[str, ...] = ()
    within_estimate: float | None = None
    within_weight: float | None = None
    nobs: int = 0
    n_units: int = 0
    n_periods: int = 0
    sample_share: float = 1.0
    dropped_units: int = 0
    periods: tuple[float, ...] = field(default=())

    @property
    def decomposed_estimate(self) -> float:
        """Weighted sum of the 2×2 estimates (plus the within term): equals :attr:`estimate`."""
        total = float(sum(c.weight * c.estimate for c in self.comparisons))
        if self.within_estimate is not None and self.within_weight is not None:
            total += self.within_weight * self.within_estimate
        return total

    def comparisons_frame(self) -> pd.DataFrame:
        """All 2×2 comparisons, one row each (columns :data:`COMPARISON_COLUMNS`)."""
        rows = [
            (
                c.type,
                c.treated,
                c.control,
                c.estimate,
                c.weight,
                c.period_start,
                c.period_end,
                c.nobs,
            )
            for c in self.comparisons
        ]
        return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))

    def summary(self) -> pd.DataFrame:
        """Average 2×2 estimate and total weight per comparison type (Table 4 of the paper).

        The average is weighted by the comparisons' weights within the type. With controls the
        within term is one more row (type :data:`WITHIN`).
        """
        frame = self.comparisons_frame()
        rows: list[tuple[str, float, float, int]] = []
        for kind, part in frame.groupby("type", sort=False):
            weight = float(part["weight"].sum())
            if weight > 0:
                average = float((part["weight"] * part["estimate"]).sum() / weight)
            else:
                average = float(part["estimate"].mean())
            rows.append((str(kind), average, weight, len(part)))
        if self.within_estimate is not None and self.within_weight is not None:
            rows.append((WITHIN, self.within_estimate, self.within_weight, 1))
        return pd.DataFrame(rows, columns=["type", "estimate", "weight", "n_comparisons"])

    def tidy(self) -> pd.DataFrame:
        """One row per 2×2 comparison (plus the within term), in the results protocol.

        Terms read ``"<treated> vs <control>"``. The 2×2 estimates carry no standard errors
        (the decomposition is descriptive); ``weight`` and ``type`` are extra columns.
        """
        frame = self.comparisons_frame()
        terms = [f"{t} vs {c}" for t, c in zip(frame["treated"], frame["control"], strict=True)]
        out = pd.DataFrame(
            {
                "term": terms,
                "estimate": frame["estimate"].to_numpy(dtype=float),
                "std_error": np.nan,
                "statistic": np.nan,
                "p_value": np.nan,
                "conf_low": np.nan,
                "conf_high": np.nan,
                "type": frame["type"].to_numpy(),
                "weight": frame["weight"].to_numpy(dtype=float),
            }
        )
        if self.within_estimate is not None and self.within_weight is not None:
            extra = pd.DataFrame(
                {
                    "term": [WITHIN.lower()],
                    "estimate": [self.within_estimate],
                    "std_error": [np.nan],
                    "statistic": [np.nan],
                    "p_value": [np.nan],
                    "conf_low": [np.nan],
                    "conf_high": [np.nan],
                    "type": [WITHIN],
                    "weight": [self.within_weight],
                }
            )
            out = pd.concat([out, extra], ignore_index=True)
        return out[[*TIDY_COLUMNS, "type", "weight"]]

    def stats(self) -> Mapping[str, Any]:
        """Sample size and the TWFE coefficient being decomposed."""
        return {
            "nobs": self.nobs,
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "n_comparisons": len(self.comparisons),
            "twfe_estimate": self.estimate,
            "sample_share": self.sample_share,
            "dropped_units": self.dropped_units,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form with stable keys."""
        summary = self.summary()
        return {
            "kind": "bacon",
            "outcome": self.outcome,
            "treatment": self.treatment,
            "controls": list(self.controls),
            "estimate": float(self.estimate),
            "within_estimate": _float_or_none(self.within_estimate),
            "within_weight": _float_or_none(self.within_weight),
            "comparisons": [
                {
                    "type": c.type,
                    "treated": c.treated,
                    "control": c.control,
                    "estimate": _float_or_none(c.estimate),
                    "weight": float(c.weight),
                    "period_start": _float_or_none(c.period_start),
                    "period_end": _float_or_none(c.period_end),
                    "nobs": int(c.nobs),
                }
                for c in self.comparisons
            ],
            "summary": [
                {
                    "type": str(kind),
                    "estimate": _float_or_none(float(est)),
                    "weight": float(wt),
                    "n_comparisons": int(count),
                }
                for kind, est, wt, count in zip(
                    summary["type"].tolist(),
                    summary["estimate"].tolist(),
                    summary["weight"].tolist(),
                    summary["n_comparisons"].tolist(),
                    strict=True,
                )
            ],
            "stats": {
                k: (float(v) if isinstance(v, float) else v) for k, v in self.stats().items()
            },
        }
