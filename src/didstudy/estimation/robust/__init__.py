"""Heterogeneity-robust staggered DiD estimators."""

from didstudy.estimation.robust.callaway_santanna import GroupTimeWarning, callaway_santanna

__all__ = ["GroupTimeWarning", "callaway_santanna"]
