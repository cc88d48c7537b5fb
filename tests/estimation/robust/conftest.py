"""Shared panels of the robust-estimator tests."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import didstudy as ds

REF = Path(__file__).resolve().parents[2] / "reference" / "robust"


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((REF / "robust_golden.json").read_text())
    return out


@pytest.fixture(scope="session")
def mpdta_panel() -> ds.Panel:
    df = pd.read_csv(REF / "mpdta.csv")  # copy of /work/shared/data/mpdta.csv (R did 2.5.1)
    return ds.Panel(df, unit="countyreal", time="year", cohort="first.treat")


@pytest.fixture(scope="session")
def sim_panel() -> ds.Panel:
    df = pd.read_csv(REF / "sim_staggered.csv")
    return ds.Panel(df, unit="unit", time="year", cohort="cohort")


def hetero_panel(
    seed: int, n_units: int = 120, unbalanced: bool = False
) -> tuple[ds.Panel, dict[int, float]]:
    """SIMULATED staggered panel, cohort- and time-varying effects, true ATT by horizon.

    Effects grow with time since treatment and are larger for early cohorts, the design under
    which static and dynamic TWFE are biased (Goodman-Bacon 2021; Sun & Abraham 2021).
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2001, 2013)
    cohorts = rng.choice([2004, 2006, 2008, 2010, 0], size=n_units, p=[0.2, 0.2, 0.2, 0.2, 0.2])
    alpha = rng.normal(0, 1, n_units)
    lam = np.cumsum(rng.normal(0.1, 0.2, years.size))
    rows = []
    truth_sum: dict[int, list[float]] = {}
    for i in range(n_units):
        g = cohorts[i]
        for j, t in enumerate(years):
            if unbalanced and rng.random() < 0.05:
                continue
            eff = 0.0
            if g and t >= g:
                eff = (1.0 + 0.4 * (t - g)) * (1.0 + (2010 - g) / 3.0)
                truth_sum.setdefault(int(t - g), []).append(eff)
            rows.append((i, t, g, alpha[i] + lam[j] + eff + rng.normal(0, 0.3)))
    df = pd.DataFrame(rows, columns=["unit", "year", "cohort", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = ds.Panel(df, unit="unit", time="year", cohort="cohort")
    return panel, {k: float(np.mean(v)) for k, v in truth_sum.items()}
