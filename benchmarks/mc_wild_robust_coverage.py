"""Coverage Monte Carlo of the wild bootstrap on the robust estimators (SIMULATED data).

DGP: ``n_units`` units x 10 years, unit and year effects, AR(1) errors with rho = 0.5; a
constant effect tau = 0.1 adopted by ``n_treated`` units in two cohorts (years 5 and 7), the
rest never treated. For each estimator (imputation, did2s, Sun-Abraham, ETWFE) the post-period
average of horizons 0..3 is estimated; does tau lie in the estimator's analytic 95% interval,
and in the WCR interval (Webb weights, ``--boot-reps`` draws, test inversion; decision 0054)?

    PYTHONPATH=src python benchmarks/mc_wild_robust_coverage.py --reps 300 --treated 4 8
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from didstudy.data.panel import Panel
from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.sun_abraham import sun_abraham
from didstudy.inference.wild_bootstrap import wild_bootstrap

TAU = 0.1
N_YEARS = 10
ESTIMATORS: dict[str, Callable[[Any], Any]] = {
    "imputation": lambda p: imputation(p, "y", horizons=[0, 1, 2, 3]),
    "did2s": lambda p: did2s(p, "y", window=(-3, 3)),
    "sun_abraham": lambda p: sun_abraham(p, "y", window=(-3, 3)),
    "etwfe": lambda p: etwfe(p, "y"),
}


def panel(rng: np.random.Generator, n_units: int, n_treated: int) -> Panel:
    unit = np.repeat(np.arange(n_units), N_YEARS)
    year = np.tile(np.arange(N_YEARS), n_units)
    cohort = np.zeros(n_units, dtype=int)
    treated = rng.choice(n_units, n_treated, replace=False)
    cohort[treated[: n_treated // 2]] = 5
    cohort[treated[n_treated // 2 :]] = 7
    d = ((cohort[unit] > 0) & (year >= cohort[unit])).astype(float)
    e = rng.standard_normal((n_units, N_YEARS))
    for t in range(1, N_YEARS):
        e[:, t] += 0.5 * e[:, t - 1]
    y = rng.standard_normal(n_units)[unit] + rng.standard_normal(N_YEARS)[year] + TAU * d
    frame = pd.DataFrame({"unit": unit, "year": year, "cohort": cohort[unit], "y": y + e.ravel()})
    return Panel(frame, unit="unit", time="year", cohort="cohort")


def _post(res: Any) -> tuple[float, float]:
    """The analytic interval of the average of horizons 0..3."""
    from scipy import stats

    terms = [f"rel_time::{k}" for k in range(4)]
    idx = [res.terms.index(t) for t in terms]
    w = np.full(4, 0.25)
    est = float(w @ res.coef[idx])
    se = float(np.sqrt(w @ res.vcov[np.ix_(idx, idx)] @ w))
    crit = float(stats.t.ppf(0.975, res.df_t))
    return est - crit * se, est + crit * se


def run(reps: int, n_units: int, n_treated: int, boot_reps: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    hits = {name: [0, 0] for name in ESTIMATORS}
    seconds = dict.fromkeys(ESTIMATORS, 0.0)
    hyp = {f"rel_time::{k}": 0.25 for k in range(4)}
    for r in range(reps):
        p = panel(rng, n_units, n_treated)
        for name, fn in ESTIMATORS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fn(p)
                low, high = _post(res)
                started = time.perf_counter()
                wb = wild_bootstrap(res, p, hyp, reps=boot_reps, weights="webb", seed=r + 1)
                seconds[name] += time.perf_counter() - started
            hits[name][0] += low <= TAU <= high
            hits[name][1] += wb.conf_low <= TAU <= wb.conf_high
    return {
        "n_units": n_units,
        "n_treated": n_treated,
        "reps": reps,
        "boot_reps": boot_reps,
        "analytic_coverage": {k: v[0] / reps for k, v in hits.items()},
        "wcr_coverage": {k: v[1] / reps for k, v in hits.items()},
        "bootstrap_seconds_per_rep": {k: v / reps for k, v in seconds.items()},
        "mc_se": float(np.sqrt(0.95 * 0.05 / reps)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--boot-reps", type=int, default=399)
    parser.add_argument("--treated", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    out = [run(args.reps, args.units, g, args.boot_reps, args.seed + g) for g in args.treated]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
