"""SIMULATED DGP with heterogeneous dynamic effects: TWFE is biased, Callaway–Sant'Anna is not.

simulate_staggered(heterogeneous=True, dynamic=...) gives cohort multipliers 1.5 → 0.5 and
effects growing with event time; parallel trends hold. The truth is the mean effect over
treated rows (= the simple aggregation's estimand) and by event time (= the dynamic one).
Set DIDSTUDY_HEAVY_MC=1 for the 1,000-replication version quoted in docs/decisions/0040.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from didstudy.data.panel import Panel
from didstudy.data.simulate import simulate_staggered
from didstudy.estimation.robust import callaway_santanna
from didstudy.estimation.twfe import twfe

REPS = 1000 if os.environ.get("DIDSTUDY_HEAVY_MC") else 120
# coverage of a 95% interval in REPS draws: binomial sd ~2% at 120 draws; 4 sd either way
COVERAGE_BAND = 4.0 * np.sqrt(0.95 * 0.05 / REPS)


def _draw(seed: int) -> tuple[float, float, float, float, dict[int, float], object]:
    df = simulate_staggered(
        n_units=300,
        periods=range(2001, 2011),
        seed=seed,
        cohorts={2004: 60, 2006: 60, 2008: 60},
        n_controls=0,
        dynamic=lambda e: 0.1 * (e + 1),
        heterogeneous=True,
        noise_sd=0.5,
    )
    truth = df.attrs["truth"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = Panel(df, unit="unit", time="time", cohort="cohort")
        res = callaway_santanna(panel, y="y", seed=seed)
        tw = twfe(panel, y="y", treat="treat", fe=["unit", "time"], cluster="unit")
    simple = res.aggregate("simple")
    dyn = res.aggregate("dynamic")
    tw_coef = float(tw.tidy().set_index("term").loc["treat", "estimate"])
    by_e = dict(zip(dyn.labels, dyn.estimate, strict=True))
    cells = res.tidy().query("time >= group")
    mult = {int(g): v / truth["effect"] for g, v in truth["effect_by_cohort"].items()}
    cell_truth = np.array(
        [mult[g] * 0.1 * (t - g + 1) for g, t in zip(cells["group"], cells["time"], strict=True)]
    )
    hits = np.abs(cells["estimate"].to_numpy() - cell_truth) <= 1.959964 * cells["std_error"]
    return (
        truth["att"],
        simple.overall_estimate,
        simple.overall_std_error,
        tw_coef,
        by_e,
        {**truth, "cell_hits": hits.to_numpy()},
    )


def test_cs_unbiased_twfe_biased_and_coverage() -> None:
    draws = [_draw(seed) for seed in range(REPS)]
    truth = np.array([d[0] for d in draws])
    cs = np.array([d[1] for d in draws])
    se = np.array([d[2] for d in draws])
    tw = np.array([d[3] for d in draws])
    mc_se = np.std(cs - truth) / np.sqrt(REPS)
    bias_cs = float(np.mean(cs - truth))
    bias_tw = float(np.mean(tw - truth))
    coverage = float(np.mean(np.abs(cs - truth) <= 1.959964 * se))
    cell_coverage = float(np.mean(np.concatenate([d[5]["cell_hits"] for d in draws])))
    assert abs(bias_cs) < 4 * mc_se, (bias_cs, mc_se)
    # TWFE averages forbidden comparisons: the bias is many Monte Carlo SEs, and large
    assert abs(bias_tw) > 20 * np.std(tw - truth) / np.sqrt(REPS)
    assert abs(bias_tw) > 0.1 * float(np.mean(truth))
    # cells: pooled coverage of ATT(g,t) (fixed cohorts: no weight-estimation term)
    assert abs(cell_coverage - 0.95) < COVERAGE_BAND, cell_coverage
    # the simple ATT's SE includes the sampling error of the cohort shares, which are fixed
    # in this design, so it is conservative here: coverage at least nominal
    assert 0.95 - COVERAGE_BAND < coverage <= 1.0, coverage
    # the dynamic aggregation recovers the true effect by event time
    by_e = draws[0][5]["att_by_rel_time"]
    mean_e = {e: np.mean([d[4][e] for d in draws]) for e in draws[0][4] if e >= 0}
    for e, est in mean_e.items():
        assert abs(est - by_e[e]) < 4 * mc_se * np.sqrt(2), (e, est, by_e[e])
    print(
        f"SIMULATED MC reps={REPS}: CS bias {bias_cs:+.4f} (MC se {mc_se:.4f}), "
        f"TWFE bias {bias_tw:+.4f}, true ATT {np.mean(truth):.4f}, coverage {coverage:.3f}, "
        f"cell coverage {cell_coverage:.3f}, "
        f"mean SE / sd {np.mean(se) / np.std(cs - truth):.3f}"
    )
