"""Result of a pre-trend power analysis (:func:`didstudy.inference.pretrends.pretrend_power`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["PretrendPower"]


@dataclass(frozen=True)
class PretrendPower:
    """Power of the pre-test against a hypothesised violation, and what passing implies.

    Attributes
    ----------
    rel_time
        Relative times of the coefficients (pre then post; reference excluded).
    delta
        Hypothesised violation at each relative time.
    slope
        Slope of the linear violation (None for a custom ``delta``).
    power, bayes_factor, likelihood_ratio
        Roth (2022) statistics.
    mean_after_pretest
        Expected coefficients conditional on passing the pre-test.
    bias_after_pretest
        ``l'`` (post-period average by default) of those expected post-period coefficients.
    slope_power50, slope_power80
        Slopes of linear violations detected with 50% and 80% power.
    """

    rel_time: tuple[int, ...]
    reference: int
    delta: tuple[float, ...]
    slope: float | None
    power: float
    bayes_factor: float
    likelihood_ratio: float
    mean_after_pretest: tuple[float, ...]
    bias_after_pretest: float
    slope_power50: float
    slope_power80: float
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping with stable keys."""
        return {
            "kind": "pretrend_power",
            "rel_time": list(self.rel_time),
            "reference": self.reference,
            "delta": list(self.delta),
            "slope": self.slope,
            "power": self.power,
            "bayes_factor": self.bayes_factor,
            "likelihood_ratio": self.likelihood_ratio,
            "mean_after_pretest": list(self.mean_after_pretest),
            "bias_after_pretest": self.bias_after_pretest,
            "slope_power50": self.slope_power50,
            "slope_power80": self.slope_power80,
            "alpha": self.alpha,
        }

    def note(self, lang: str = "en") -> str:
        """One sentence for a table or figure note."""
        if lang == "zh":
            return (
                f"预趋势检验的功效（Roth 2022）：以 50%/80% 的概率检出的线性趋势斜率为 "
                f"{self.slope_power50:.3g}/{self.slope_power80:.3g}；若真实趋势斜率为前者，"
                f"通过检验后的平均偏误为 {self.bias_after_pretest:.3g}。"
            )
        return (
            f"Pre-test power (Roth 2022): linear trends with slope {self.slope_power50:.3g} / "
            f"{self.slope_power80:.3g} are detected with 50% / 80% probability; under the former, "
            f"the expected bias after passing the pre-test is {self.bias_after_pretest:.3g}."
        )
