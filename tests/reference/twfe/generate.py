"""Regenerate the TWFE golden files with pyfixest (a test-time oracle only).

Command (from the repository root)::

    .venv/bin/python -m tests.reference.twfe.generate

Writes ``data_<case>.csv`` (the simulated panel, labelled simulated) and ``golden.json`` (for each
case and small-sample convention: coefficients, standard errors, nobs, t degrees of freedom).

The small-sample convention is pinned explicitly in every call: pyfixest 0.60's default
``k_fixef="nonnested"`` counts nested fixed effects inconsistently between processes (DESIGN.md),
so goldens use ``ssc(k_adj=True, k_fixef="full" | "none", G_adj=True, G_df="min")``; the
didstudy side passes the same convention (``ssc={"fixef_k": "full" | "none"}``). The fixest
default ("nested") is checked against the published castle numbers and the formula tests.
pyfixest is run with ``fixef_tol=1e-14`` so that its demeaning error is below the tolerances.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

#: Cases: name -> (n_units, n_periods, share of rows dropped, fixed effects, vcov, weights)
CASES: dict[str, dict[str, Any]] = {
    "balanced_2fe_crv1": dict(
        units=60, periods=10, drop=0.0, fe=["unit", "time"], vcov={"CRV1": "unit"}, weights=None
    ),
    "unbalanced_2fe_crv1_weights": dict(
        units=80, periods=9, drop=0.15, fe=["unit", "time"], vcov={"CRV1": "unit"}, weights="w"
    ),
    "unbalanced_3fe_crv1": dict(
        units=90,
        periods=8,
        drop=0.1,
        fe=["unit", "time", "region^time"],
        vcov={"CRV1": "unit"},
        weights=None,
    ),
    "balanced_2fe_twoway": dict(
        units=50,
        periods=12,
        drop=0.0,
        fe=["unit", "time"],
        vcov={"CRV1": "unit+time"},
        weights=None,
    ),
    "unbalanced_3fe_twoway_weights": dict(
        units=70,
        periods=10,
        drop=0.1,
        fe=["unit", "time", "region^time"],
        vcov={"CRV1": "unit+region"},
        weights="w",
    ),
    "unbalanced_2fe_hetero": dict(
        units=60, periods=8, drop=0.2, fe=["unit", "time"], vcov="hetero", weights="w"
    ),
    "balanced_2fe_iid": dict(
        units=40, periods=6, drop=0.0, fe=["unit", "time"], vcov="iid", weights=None
    ),
}
CONTROLS = ["x1", "x2"]
TREAT = "d"
SSC = ("full", "none")


def simulate(seed: int, units: int, periods: int, drop: float) -> pd.DataFrame:
    """A staggered-adoption panel with unit, time and region-by-time effects (simulated)."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(periods), units)
    region = unit % 5
    cohort = rng.choice(np.r_[np.arange(2, periods), 10_000], size=units)
    d = (time >= cohort[unit]).astype(float)
    x1 = rng.normal(size=unit.size) + 0.5 * d
    x2 = rng.gamma(2.0, 1.0, size=unit.size)
    y = (
        0.8 * d
        + 0.3 * x1
        - 0.2 * x2
        + rng.normal(size=units)[unit]
        + rng.normal(size=periods)[time]
        + rng.normal(size=(5, periods))[region, time]
        + rng.normal(size=units)[unit] * rng.normal(size=unit.size)
    )
    df = pd.DataFrame(
        {
            "unit": unit,
            "time": time,
            "region": region,
            "d": d,
            "x1": x1,
            "x2": x2,
            "y": y,
            "w": rng.uniform(0.5, 3.0, size=unit.size),
        }
    )
    if drop:
        df = df.loc[rng.uniform(size=len(df)) >= drop].reset_index(drop=True)
    return df


def main() -> None:
    import pyfixest as pf

    golden: dict[str, Any] = {
        "generator": "tests/reference/twfe/generate.py",
        "oracle": f"pyfixest {pf.__version__}",
        "command": ".venv/bin/python -m tests.reference.twfe.generate",
        "note": "simulated data; ssc pinned: k_adj=True, G_adj=True, G_df='min'",
        "cases": {},
    }
    for seed, (name, case) in enumerate(CASES.items(), start=100):
        df = simulate(seed, case["units"], case["periods"], case["drop"])
        df.to_csv(HERE / f"data_{name}.csv", index=False)
        fml = f"y ~ {TREAT} + {' + '.join(CONTROLS)} | {' + '.join(case['fe'])}"
        entry: dict[str, Any] = {
            "formula": fml,
            "fe": case["fe"],
            "vcov": case["vcov"],
            "weights": case["weights"],
            "results": {},
        }
        for k_fixef in SSC:
            fit = pf.feols(
                fml,
                data=df,
                vcov=case["vcov"],
                weights=case["weights"],
                ssc=pf.ssc(k_adj=True, k_fixef=k_fixef, G_adj=True, G_df="min"),
                fixef_tol=1e-14,
            )
            entry["results"][k_fixef] = {
                "coef": {k: float(v) for k, v in fit.coef().items()},
                "se": {k: float(v) for k, v in fit.se().items()},
                "nobs": int(fit._N),
                "df_t": float(fit._df_t),
            }
        golden["cases"][name] = entry
    (HERE / "golden.json").write_text(json.dumps(golden, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {HERE}")


if __name__ == "__main__":
    main()
