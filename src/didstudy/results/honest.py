"""Result of a HonestDiD sensitivity analysis (:func:`didstudy.inference.honest.honest_did`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["HonestDidResult", "RobustInterval"]


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class RobustInterval:
    """The robust confidence interval for one value of ``M̄`` (or ``M``)."""

    m: float
    conf_low: float
    conf_high: float

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies strictly on one side of zero."""
        return self.conf_low > 0.0 or self.conf_high < 0.0


@dataclass(frozen=True)
class HonestDidResult:
    """Robust confidence intervals for ``θ = l'τ_post`` under relaxed parallel trends.

    Attributes
    ----------
    method
        ``"relative_magnitude"`` (Δ^RM(M̄)), ``"smoothness"`` (Δ^SD(M)) or ``"combined"``
        (Δ^SDRM(M̄)).
    inference
        ``"C-LF"`` (hybrid), ``"C"`` (conditional) or ``"FLCI"``.
    l_vec, post_rel_time
        Weights on the post-period coefficients and their relative times.
    estimate, std_error
        ``l'β̂_post`` and its standard error.
    original_low, original_high
        The usual interval ``estimate ± z_{1-α/2} · std_error``.
    intervals
        One robust interval per ``M̄`` / ``M``.
    breakdown
        Largest ``M̄`` / ``M`` at which the robust interval still excludes zero (0 when it
        never does); ``breakdown_censored`` when it excludes zero at every value tried.
    """

    method: str
    inference: str
    alpha: float
    l_vec: tuple[float, ...]
    post_rel_time: tuple[int, ...]
    num_pre: int
    num_post: int
    estimate: float
    std_error: float
    original_low: float
    original_high: float
    intervals: tuple[RobustInterval, ...]
    breakdown: float
    breakdown_censored: bool

    @property
    def parameter(self) -> str:
        """``"M̄"`` for relative magnitudes and the combined restriction, ``"M"`` otherwise."""
        return "M" if self.method == "smoothness" else "Mbar"

    def tidy(self) -> pd.DataFrame:
        """One row per value of ``M̄``/``M``: ``m, conf_low, conf_high, excludes_zero``."""
        return pd.DataFrame(
            {
                "m": [iv.m for iv in self.intervals],
                "conf_low": [iv.conf_low for iv in self.intervals],
                "conf_high": [iv.conf_high for iv in self.intervals],
                "excludes_zero": [iv.excludes_zero for iv in self.intervals],
            }
        )

    def stats(self) -> dict[str, Any]:
        """Settings and the breakdown value."""
        return {
            "method": self.method,
            "inference": self.inference,
            "alpha": self.alpha,
            "parameter": self.parameter,
            "l_vec": list(self.l_vec),
            "post_rel_time": list(self.post_rel_time),
            "num_pre": self.num_pre,
            "num_post": self.num_post,
            "breakdown": self.breakdown,
            "breakdown_censored": self.breakdown_censored,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping with stable keys."""
        return {
            "kind": "honest_did",
            "estimate": _num(self.estimate),
            "std_error": _num(self.std_error),
            "original": [_num(self.original_low), _num(self.original_high)],
            "intervals": [
                {"m": iv.m, "conf_low": _num(iv.conf_low), "conf_high": _num(iv.conf_high)}
                for iv in self.intervals
            ],
            "stats": self.stats(),
        }
