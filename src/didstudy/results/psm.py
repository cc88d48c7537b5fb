"""Result of propensity-score-matched difference-in-differences (PSM-DID)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from didstudy.results.protocol import HtmlRepr
from didstudy.results.regression import RegressionResult

__all__ = ["PSMDIDResult"]


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _py(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@dataclass(frozen=True)
class PSMDIDResult(HtmlRepr):
    """The TWFE estimate on a propensity-score-matched sample, with the matching diagnostics.

    Attributes
    ----------
    regression
        The baseline TWFE regression re-estimated on the matched sample.
    matches
        One row per matched pair: ``time`` (the matching cell; ``None`` when pooled),
        ``treated``, ``control`` (unit identifiers), ``rank`` (1 = nearest), ``pscore_treated``,
        ``pscore_control``.
    balance
        Covariate balance: ``scope`` (``"year"`` or ``"pooled"``), ``time``, ``variable``,
        ``mean_treated_before``, ``mean_control_before``, ``smd_before``,
        ``mean_treated_after``, ``mean_control_after``, ``smd_after``.
    cells
        Per matching cell: ``time``, ``n_treated``, ``n_control``, ``n_discarded``,
        ``n_treated_matched``, ``n_controls_used``, ``caliper`` (in propensity units).
    nobs_before
        Observations in the input sample.
    nobs_matched
        Observations (rows) kept in the matched sample, before the regression drops singletons.
    options
        The matching options (k, caliper, replace, common support, ...).
    """

    regression: RegressionResult
    matches: pd.DataFrame = field(repr=False)
    balance: pd.DataFrame = field(repr=False)
    cells: pd.DataFrame = field(repr=False)
    nobs_before: int
    nobs_matched: int
    options: Mapping[str, Any]

    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        """The regression's tidy table."""
        return self.regression.tidy(alpha)

    def stats(self) -> dict[str, Any]:
        """Regression statistics plus ``nobs_before_matching``, ``nobs_matched_sample``,
        ``n_pairs`` and ``n_treated_matched``."""
        out = dict(self.regression.stats())
        out["nobs_before_matching"] = self.nobs_before
        out["nobs_matched_sample"] = self.nobs_matched
        out["n_pairs"] = len(self.matches)
        out["n_treated_matched"] = int(self.cells["n_treated_matched"].sum())
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping with stable keys."""
        return {
            "estimator": "psm_did",
            "regression": self.regression.to_dict(),
            "stats": {k: _py(v) for k, v in self.stats().items() if k != "vcov_matrix"},
            "options": {k: _py(v) for k, v in self.options.items()},
            "cells": _records(self.cells),
            "balance": _records(self.balance),
            "matches": _records(self.matches),
        }

    def balance_frame(self, scope: str = "pooled", *, percent: bool = False) -> pd.DataFrame:
        """Balance in the layout of :func:`didstudy.report.tables.balance_table`.

        Parameters
        ----------
        scope
            ``"pooled"`` (all matching cells together) or a period (one year's cell).
        percent
            Standardised differences times 100 (Stata ``pstest`` prints percent).

        Returns
        -------
        DataFrame
            ``variable, mean_treated_before, mean_control_before, std_diff_before,
            mean_treated_after, mean_control_after, std_diff_after``.
        """
        b = self.balance
        rows = b[b["scope"] == "pooled"] if scope == "pooled" else b[b["time"] == scope]
        if rows.empty:
            raise KeyError(f"no balance rows for scope {scope!r}")
        scale = 100.0 if percent else 1.0
        return pd.DataFrame(
            {
                "variable": rows["variable"].to_numpy(),
                "mean_treated_before": rows["mean_treated_before"].to_numpy(),
                "mean_control_before": rows["mean_control_before"].to_numpy(),
                "std_diff_before": rows["smd_before"].to_numpy() * scale,
                "mean_treated_after": rows["mean_treated_after"].to_numpy(),
                "mean_control_after": rows["mean_control_after"].to_numpy(),
                "std_diff_after": rows["smd_after"].to_numpy() * scale,
            }
        )

    def summary(self) -> str:
        """Plain-text summary: regression, N before/after matching, pooled balance."""
        pooled = self.balance[self.balance["scope"] == "pooled"]
        lines = [
            "PSM-DID (propensity-score matched two-way fixed effects)",
            f"Observations before matching: {self.nobs_before}; "
            f"in the matched sample: {self.nobs_matched}",
            self.regression.summary(),
            "Pooled standardised mean differences (before -> after):",
        ]
        for row in pooled.itertuples(index=False):
            lines.append(f"  {row.variable}: {row.smd_before:.3f} -> {row.smd_after:.3f}")
        return "\n".join(lines)
