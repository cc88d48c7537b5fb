"""Inequality measures: Dagum Gini decomposition, Gini, Theil, coefficient of variation, sd of logs.

This module is the stable import path (``didstudy.measure.inequality``); the implementations live
in :mod:`didstudy.measure.dagum`, :mod:`didstudy.measure.gini` and :mod:`didstudy.measure.theil`.
"""

from __future__ import annotations

from didstudy.measure.dagum import (
    DagumPanelResult,
    DagumResult,
    dagum,
    dagum_panel,
    pair_abs_diff_sums,
)
from didstudy.measure.gini import coefficient_of_variation, gini, sd_logs
from didstudy.measure.theil import MEASURES, TheilResult, inequality_by_group, theil

__all__ = [
    "MEASURES",
    "DagumPanelResult",
    "DagumResult",
    "TheilResult",
    "coefficient_of_variation",
    "dagum",
    "dagum_panel",
    "gini",
    "inequality_by_group",
    "pair_abs_diff_sums",
    "sd_logs",
    "theil",
]
