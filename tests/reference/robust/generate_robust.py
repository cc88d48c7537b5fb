"""Generate the golden files of the heterogeneity-robust estimators (tests/estimation/robust).

Run with the peers' venv (never a runtime dependency of didstudy):

    python -m venv /work/peers/i12-robust/venv
    /work/peers/i12-robust/venv/bin/pip install did-imputation==0.1.0 pyfixest==0.60.0 \
        diff-diff==3.13.0 py-did-multiplegt-dyn
    /work/peers/i12-robust/venv/bin/python tests/reference/robust/generate_robust.py

Inputs: ``sim_staggered.csv`` (written here from a seeded DGP, SIMULATED: 60 units x 10 years,
cohorts 2004/2006/2008/never, effects varying by cohort and time, a time-varying control ``x``,
units nested in 6 states) and ``/work/shared/data/mpdta.csv`` (R ``did`` 2.5.1, see its .md).
Conventions: did-imputation 0.1.0 (Python port of BJS's Stata did_imputation, "smart" averages by
cohort x period, clustered by unit); pyfixest 0.60 did2s (GMM vcov clustered by unit, no
small-sample factor).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
MPDTA = Path("/work/shared/data/mpdta.csv")


def simulate() -> pd.DataFrame:
    rng = np.random.default_rng(20240612)
    units = np.arange(1, 61)
    cohort = np.repeat([2004, 2006, 2008, 0], 15)
    state = (units - 1) % 6 + 1
    rows = []
    alpha = rng.normal(0, 1, units.size)
    for year in range(2001, 2011):
        lam = 0.1 * (year - 2001) + rng.normal(0, 0.2)
        for i, u in enumerate(units):
            g = cohort[i]
            x = rng.normal(0, 1) + 0.05 * (year - 2001)
            eff = 0.0
            if g and year >= g:
                eff = (1.0 + 0.3 * (year - g)) * (1.0 + (2008 - g) / 4.0)
            y = alpha[i] + lam + 0.5 * x + eff + rng.normal(0, 0.5)
            rows.append((u, year, g, state[i], x, y))
    return pd.DataFrame(rows, columns=["unit", "year", "cohort", "state", "x", "y"])


def gen_imputation(sim: pd.DataFrame, mpdta: pd.DataFrame) -> dict:
    from did_imputation import did_imputation

    out: dict = {}
    d = mpdta.copy()
    d["Ei"] = d["first.treat"].replace(0, np.nan)
    r = did_imputation(
        d, y="lemp", i="countyreal", t="year", Ei="Ei", allhorizons=True, pretrends=3, minn=0
    )
    out["mpdta_horizons"] = {
        "estimates": r.estimates,
        "std_errors": r.std_errors,
        "pre_estimates": r.pretrends_estimates,
        "pre_std_errors": r.pretrends_std_errors,
    }
    r = did_imputation(d, y="lemp", i="countyreal", t="year", Ei="Ei", minn=0)
    out["mpdta_overall"] = {"estimates": r.estimates, "std_errors": r.std_errors}
    s = sim.copy()
    s["Ei"] = s["cohort"].replace(0, np.nan)
    # did-imputation 0.1.0 fails (NaN horizon names) or returns zeros for horizons on this
    # panel; only the overall ATT with a control is taken from it here
    r = did_imputation(s, y="y", i="unit", t="year", Ei="Ei", controls=["x"], minn=0)
    out["sim_x_overall"] = {"estimates": r.estimates, "std_errors": r.std_errors}
    return {
        k: {kk: {str(a): float(b) for a, b in vv.items()} for kk, vv in v.items()}
        for k, v in out.items()
    }


def gen_did2s(sim: pd.DataFrame) -> dict:
    import pyfixest as pf

    s = sim.copy()
    s["rel_year"] = np.where(s.cohort > 0, s.year - s.cohort, np.inf)
    s["D"] = ((s.cohort > 0) & (s.year >= s.cohort)).astype(int)
    out = {}
    specs = {
        "event_unit": ("~0|unit+year", "~i(rel_year,ref=-1.0)"),
        "static_unit": ("~0|unit+year", "~D"),
        "event_unit_x": ("~x|unit+year", "~i(rel_year,ref=-1.0)"),
        "static_state": ("~0|state+year", "~D"),
    }
    for name, (first, second) in specs.items():
        m = pf.did2s(
            s, yname="y", first_stage=first, second_stage=second, treatment="D", cluster="unit"
        )
        t = m.tidy()
        out[name] = {
            "terms": [str(x) for x in t.index],
            "estimate": t["Estimate"].tolist(),
            "std_error": t["Std. Error"].tolist(),
        }
    return out


def gen_saturated(mpdta: pd.DataFrame) -> dict:
    """pyfixest 0.60 saturated event study (Sun-Abraham regression, never-treated controls,
    ssc k_adj/nonnested/G_adj as printed by the model) and its aggregate()."""
    import pyfixest as pf

    m = pf.event_study(
        mpdta,
        yname="lemp",
        idname="countyreal",
        tname="year",
        gname="first.treat",
        estimator="saturated",
        cluster="countyreal",
    )
    t = m.tidy()
    a = m.aggregate()
    return {
        "cells": {
            "terms": [str(x) for x in t.index],
            "estimate": t["Estimate"].tolist(),
            "std_error": t["Std. Error"].tolist(),
        },
        "aggregate": {
            "rel_time": [float(x) for x in a.index],
            "estimate": a["Estimate"].astype(float).tolist(),
            "std_error": a["Std. Error"].astype(float).tolist(),
        },
    }


def simulate_switching() -> pd.DataFrame:
    """SIMULATED non-absorbing treatment: 80 units x 8 periods; units start untreated or treated
    and switch at a random date (some switch back later); effect 1.5 x current treatment."""
    rng = np.random.default_rng(777)
    rows = []
    for u in range(1, 81):
        base = int(rng.random() < 0.3)
        first = int(rng.integers(2, 10))  # 9 = never switches within 1..8
        back = first + int(rng.integers(2, 5)) if rng.random() < 0.3 else 99
        alpha = rng.normal()
        for t in range(1, 9):
            d = base if t < first else (1 - base if t < back else base)
            y = alpha + 0.2 * t + 1.5 * d + rng.normal(0, 0.5)
            rows.append((u, t, d, y))
    return pd.DataFrame(rows, columns=["unit", "t", "d", "y"])


def gen_dcdh(sim: pd.DataFrame, switching: pd.DataFrame) -> dict:
    """py-did-multiplegt-dyn 2.x (polars 1.9.0), default options (not less_conservative_se)."""
    import polars as pl
    from did_multiplegt_dyn import DidMultiplegtDyn

    out = {}
    s = sim.copy()
    s["D"] = ((s.cohort > 0) & (s.year >= s.cohort)).astype(int)
    cases = {
        "staggered": (s, "year", "D", 3, 2),
        "switching": (switching, "t", "d", 3, 2),
    }
    for name, (df, time, treat, eff, pla) in cases.items():
        m = DidMultiplegtDyn(pl.from_pandas(df), "y", "unit", time, treat, effects=eff, placebo=pla)
        m.fit()
        r = m.result["did_multiplegt_dyn"]
        out[name] = {
            "effects": r["Effects"]["Estimate"].astype(float).tolist(),
            "effects_se": r["Effects"]["SE"].astype(float).tolist(),
            "effects_switchers": r["Effects"]["Switchers"].astype(float).tolist(),
            "placebos": r["Placebos"]["Estimate"].astype(float).tolist(),
            "placebos_se": r["Placebos"]["SE"].astype(float).tolist(),
            "p_jointplacebo": float(r["p_jointplacebo"]),
        }
    return out


def gen_diffdiff(sim: pd.DataFrame) -> dict:
    """diff-diff 3.13.0 on the simulated panel, clustered by unit (their CR1 conventions)."""
    import diff_diff as dd

    kw = {"outcome": "y", "unit": "unit", "time": "year", "first_treat": "cohort"}
    fits = {
        "sun_abraham": (dd.SunAbraham(cluster="unit"), {}),
        "imputation": (dd.ImputationDiD(cluster="unit"), {"aggregate": "event_study"}),
        "two_stage": (dd.TwoStageDiD(cluster="unit"), {"aggregate": "event_study"}),
        "stacked": (dd.StackedDiD(kappa_pre=2, kappa_post=2), {"aggregate": "event_study"}),
    }
    out: dict = {}
    for name, (est, extra) in fits.items():
        r = est.fit(sim, **kw, **extra)
        ev = r.event_study_effects
        keys = sorted(int(k) for k in ev if ev[k]["n_obs" if "n_obs" in ev[k] else "n_groups"])
        out[name] = {
            "rel_time": keys,
            "estimate": [float(ev[k]["effect"]) for k in keys],
            "std_error": [float(ev[k]["se"]) for k in keys],
        }
    r = dd.WooldridgeDiD(cluster="unit").fit(sim, **kw)
    gt = r.group_time_effects
    cells = sorted(gt)
    out["etwfe_cells"] = {
        "cells": [[int(g), int(t)] for g, t in cells],
        "estimate": [float(gt[c]["att"] if "att" in gt[c] else gt[c]["effect"]) for c in cells],
    }
    return out


def main() -> None:
    sim = simulate()
    sim.to_csv(HERE / "sim_staggered.csv", index=False, float_format="%.17g")
    switching = simulate_switching()
    switching.to_csv(HERE / "sim_switching.csv", index=False, float_format="%.17g")
    mpdta = pd.read_csv(MPDTA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        golden = {
            "source": "tests/reference/robust/generate_robust.py (see its docstring)",
            "imputation": gen_imputation(sim, mpdta),
            "did2s": gen_did2s(sim),
            "saturated": gen_saturated(mpdta),
            "dcdh": gen_dcdh(sim, switching),
            "diff_diff": gen_diffdiff(sim),
        }
    (HERE / "robust_golden.json").write_text(json.dumps(golden, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
