"""didstudy: raw data to a publication-ready staggered difference-in-differences study.

The public API is curated here and loaded lazily, so that ``import didstudy`` stays fast and the
heavy optional parts (rasters, Dask, Word/Excel writers) are imported only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    # data
    "read_table": "didstudy.data.io",
    "Panel": "didstudy.data.panel",
    "as_panel": "didstudy.data.panel",
    "Baseline": "didstudy.results.spec",
    "cohorts_from_adoption": "didstudy.data.treatment",
    "load_dataset": "didstudy.data.datasets",
    "dataset_info": "didstudy.data.datasets",
    "simulate_staggered": "didstudy.data.simulate",
    # measurement
    "dagum": "didstudy.measure.inequality",
    "dagum_panel": "didstudy.measure.inequality",
    "gini": "didstudy.measure.inequality",
    "theil": "didstudy.measure.inequality",
    "coagglomeration": "didstudy.measure.agglomeration",
    "winsorize": "didstudy.measure.transform",
    "inequality_by_group": "didstudy.measure.inequality",
    "ellison_glaeser_kerr": "didstudy.measure.agglomeration",
    # lights
    "zonal_stats": "didstudy.lights.zonal",
    "lights_panel": "didstudy.lights.pipeline",
    # estimation and inference
    "twfe": "didstudy.estimation.twfe",
    "stepwise": "didstudy.estimation.twfe",
    "event_study": "didstudy.estimation.event_study",
    "bacon": "didstudy.estimation.bacon",
    "psm_did": "didstudy.estimation.psm",
    "robustness_winsorized": "didstudy.estimation.robustness",
    "robustness_drop": "didstudy.estimation.robustness",
    "anticipation": "didstudy.estimation.robustness",
    "concurrent_policies": "didstudy.estimation.robustness",
    "heterogeneity": "didstudy.estimation.heterogeneity",
    "mechanisms": "didstudy.estimation.mechanisms",
    "placebo": "didstudy.inference.placebo",
    # tables and figures (report); write_table / save_figure write them in every format
    "regression_table": "didstudy.report.tables.regression",
    "bacon_table": "didstudy.report.tables.bacon",
    "placebo_table": "didstudy.report.tables.placebo",
    "balance_table": "didstudy.report.tables.balance",
    "psm_balance_table": "didstudy.report.tables.psm_balance",
    "dagum_table": "didstudy.report.tables.dagum",
    "descriptive_table": "didstudy.report.tables.descriptive",
    "definitions_table": "didstudy.report.tables.definitions",
    "write_table": "didstudy.report.tables.write",
    "event_study_figure": "didstudy.report.figures.event_study",
    "placebo_figure": "didstudy.report.figures.placebo",
    "bacon_figure": "didstudy.report.figures.bacon",
    "dagum_figure": "didstudy.report.figures.dagum",
    "rollout_figure": "didstudy.report.figures.rollout",
    "save_figure": "didstudy.report.figures.save",
    # study
    "run_study": "didstudy.study.run",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'didstudy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
