"""Coverage Monte Carlo of the wild cluster bootstrap vs CRV1 (SIMULATED data).

DGP (issue 13): 274 units x 20 years, unit and year effects, AR(1) errors with rho = 0.5,
staggered adoption of a constant effect tau = 0.1 by ``n_treated`` units (adoption years drawn
uniformly in years 6-15); TWFE with unit and year fixed effects, errors clustered by unit.
For each replication: is tau inside the CRV1 95% interval, and inside the WCR interval
(Rademacher weights, 999 draws, test inversion)?

    PYTHONPATH=src python benchmarks/mc_wild_coverage.py --reps 1000 --treated 8 28
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

from didstudy.data.panel import as_panel
from didstudy.estimation.twfe import twfe
from didstudy.inference.wild_bootstrap import wild_bootstrap

TAU = 0.1


def panel(rng: np.random.Generator, n_units: int, n_years: int, n_treated: int) -> pd.DataFrame:
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(n_years), n_units)
    adopt = np.full(n_units, 10**6)
    treated = rng.choice(n_units, n_treated, replace=False)
    adopt[treated] = rng.integers(5, 15, n_treated)
    d = (year >= adopt[unit]).astype(float)
    e = rng.standard_normal((n_units, n_years))
    for t in range(1, n_years):
        e[:, t] += 0.5 * e[:, t - 1]
    y = rng.standard_normal(n_units)[unit] + rng.standard_normal(n_years)[year] + TAU * d
    y = y + e.ravel()
    return pd.DataFrame({"unit": unit, "year": year, "d": d, "y": y})


def run(reps: int, n_treated: int, boot_reps: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    crv1 = wcr = 0
    started = time.perf_counter()
    for r in range(reps):
        df = as_panel(panel(rng, 274, 20, n_treated), unit="unit", time="year", treat="d")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = twfe(df, "y", "d", fe=["unit", "year"], cluster="unit")
            wb = wild_bootstrap(res, df, "d", reps=boot_reps, seed=seed * 100_000 + r)
        est = res.term("d")
        crv1 += est.conf_low <= TAU <= est.conf_high
        wcr += wb.conf_low <= TAU <= wb.conf_high
    return {
        "n_treated": n_treated,
        "reps": reps,
        "crv1_coverage": crv1 / reps,
        "wcr_coverage": wcr / reps,
        "mc_se": float(np.sqrt(0.95 * 0.05 / reps)),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--boot-reps", type=int, default=999)
    parser.add_argument("--treated", type=int, nargs="+", default=[8, 28])
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    out = [run(args.reps, g, args.boot_reps, args.seed + g) for g in args.treated]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
