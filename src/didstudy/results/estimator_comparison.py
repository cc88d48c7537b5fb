"""Event studies of several estimators on one panel, side by side (:func:`compare_estimators`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from didstudy.results.event_study import EventStudyResult
from didstudy.results.protocol import TIDY_COLUMNS
from didstudy.results.spec import Baseline

__all__ = ["EstimatorComparison"]


def _clean(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(frozen=True, eq=False)
class EstimatorComparison:
    """Event studies of several estimators on the same panel and window.

    Attributes
    ----------
    results
        ``(estimator name, EventStudyResult)`` pairs in display order.
    window
        Relative times shown.
    outcome
        Outcome column.
    skipped
        ``(estimator name, reason)`` for estimators that could not run on this panel.
    spec
        The resolved :class:`didstudy.Baseline` every estimator received (decision record
        0063), or ``None``; not written to ``results.json``.
    """

    results: tuple[tuple[str, EventStudyResult], ...]
    window: tuple[int, int]
    outcome: str
    skipped: tuple[tuple[str, str], ...] = ()
    spec: Baseline | None = None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.results]

    def __getitem__(self, name: str) -> EventStudyResult:
        for key, res in self.results:
            if key == name:
                return res
        raise KeyError(name)

    def tidy(self) -> pd.DataFrame:
        """One row per estimator and relative time inside the window (results protocol plus
        ``estimator`` and ``rel_time``), the reference period of each estimator marked."""
        frames = []
        lo, hi = self.window
        for name, res in self.results:
            table = res.figure_data()
            table = table[(table["rel_time"] >= lo) & (table["rel_time"] <= hi)].copy()
            table.insert(0, "estimator", name)
            frames.append(table)
        out = pd.concat(frames, ignore_index=True)
        return out[["estimator", *TIDY_COLUMNS, "rel_time", "is_base"]]

    def stats(self) -> Mapping[str, Any]:
        out: dict[str, Any] = {"window": f"[{self.window[0]}, {self.window[1]}]"}
        for name, res in self.results:
            if res.post_average is not None:
                out[f"{name}_post_average"] = res.post_average.estimate
            if res.pretrend is not None:
                out[f"{name}_pretrend_p"] = res.pretrend.p_chi2
        return out

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {k: _clean(v) for k, v in rec.items()} for rec in self.tidy().to_dict(orient="records")
        ]
        return {
            "kind": "estimator_comparison",
            "outcome": self.outcome,
            "window": list(self.window),
            "estimators": self.names,
            "coefficients": rows,
            "skipped": [{"estimator": n, "reason": r} for n, r in self.skipped],
            "results": {name: res.to_dict() for name, res in self.results},
        }
