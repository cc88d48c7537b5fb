"""The study registry's names for two report tables (kept so that registry targets stay stable).

The builders live in :mod:`didstudy.report.tables.dagum` and
:mod:`didstudy.report.tables.psm_balance`; ``study/`` only plans and runs.
"""

from __future__ import annotations

from didstudy.report.tables.dagum import dagum_table
from didstudy.report.tables.psm_balance import psm_balance_table as balance_table

__all__ = ["balance_table", "dagum_table"]
