"""Number formatting and significance stars for publication tables.

Stars follow the convention of Stata ``esttab``/R ``modelsummary``: a p-value earns a star level
when it is *strictly* below the threshold, so p = 0.01 exactly gets ``**`` (not ``***``) and
p = 0.10 exactly gets none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from didstudy.errors import DidstudyError

__all__ = ["DEFAULT_STARS", "Stars", "fmt_count", "fmt_number", "is_missing"]


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN and ``pandas.NA``."""
    if value is None:
        return True
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return missing if isinstance(missing, bool) else False


@dataclass(frozen=True)
class Stars:
    """Significance stars: ``levels`` = ((threshold, symbol), ...) from strictest to loosest."""

    levels: tuple[tuple[float, str], ...] = ((0.01, "***"), (0.05, "**"), (0.10, "*"))

    def __post_init__(self) -> None:
        thresholds = [t for t, _ in self.levels]
        if any(not 0 < t < 1 for t in thresholds) or thresholds != sorted(thresholds):
            raise DidstudyError(
                f"star thresholds {thresholds} must lie in (0, 1), strictest first",
                fix="e.g. Stars(((0.01, '***'), (0.05, '**'), (0.10, '*')))",
            )

    def __call__(self, p_value: Any) -> str:
        """The stars for ``p_value`` (strictly below a threshold); ``""`` if missing."""
        if is_missing(p_value):
            return ""
        p = float(p_value)
        for threshold, symbol in self.levels:
            if p < threshold:
                return symbol
        return ""

    @property
    def symbols(self) -> list[str]:
        return [s for _, s in self.levels]

    @property
    def percents(self) -> list[str]:
        """``["1%", "5%", "10%"]``."""
        return [f"{100 * t:g}%" for t, _ in self.levels]

    @classmethod
    def from_thresholds(cls, thresholds: Sequence[float]) -> Stars:
        """``Stars.from_thresholds([0.01, 0.05, 0.1])``: ``***``, ``**``, ``*`` from strictest."""
        ordered = sorted(float(t) for t in thresholds)
        n = len(ordered)
        return cls(tuple((t, "*" * (n - i)) for i, t in enumerate(ordered)))


DEFAULT_STARS = Stars()
NO_STARS = Stars(())


def fmt_number(value: Any, digits: int = 3) -> str:
    """Fixed decimals (``-0.037``); ``""`` for a missing value; ``inf`` as ``∞``."""
    if is_missing(value):
        return ""
    x = float(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}f}"


def fmt_count(value: Any, thousands: str | None = None) -> str:
    """An integer count (``5480``), optionally with a thousands separator (``5,480``)."""
    if is_missing(value):
        return ""
    n = round(float(value))
    text = f"{n:,d}"
    return text.replace(",", thousands) if thousands is not None else text.replace(",", "")
