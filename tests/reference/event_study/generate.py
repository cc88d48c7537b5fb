"""Generate the event-study golden files with pyfixest (test-time oracle only).

Command (from the repository root)::

    .venv/bin/python -m tests.reference.event_study.generate

Writes ``sim_data.csv`` (SIMULATED panel, ``didstudy.data.simulate.simulate_staggered``, seed 11,
5% of rows dropped, so unbalanced) and ``golden.json``: for every case, pyfixest 0.60's
``feols("y ~ i(rel, ref=-1) [+ controls] | unit + time", vcov={"CRV1": unit})`` coefficients,
CRV1 standard errors and the Wald statistic of the leads.

The relative-time column ``rel`` is built here independently of didstudy: rows that must carry
no dummy (never-treated units; under ``not_yet`` treated rows before the window) are coded as
the reference period −1; binned endpoints are clipped to the window; dropped rows are removed.

Small-sample convention pinned explicitly to fixest's default
``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)``, i.e. pyfixest
``ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")``:
``V = G/(G−1)·(n−1)/(n−K)·V₀`` with ``K`` = slopes + time levels (unit FE nested in the cluster
not counted). p-values use t(G − 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf

from didstudy.data.simulate import simulate_staggered

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SSC = pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")


def _rel(
    df: pd.DataFrame,
    unit: str,
    time: str,
    cohort: str,
    lo: int,
    hi: int,
    endpoints: str,
    control_group: str,
) -> pd.DataFrame:
    out = df.copy()
    g = out[cohort].astype(float)
    never = (g <= 0) | g.isna() | (g > out[time].max())
    if control_group == "not_yet" and not never.any():
        out = out[out[time] < g.max()].copy()
        g = out[cohort].astype(float)
        never = g > out[time].max()
    rel = out[time] - g
    rel[never] = -1
    below = (~never) & (rel < lo)
    above = (~never) & (rel > hi)
    if control_group == "not_yet":
        rel[below] = -1
    elif endpoints == "bin":
        rel[below] = lo
    if endpoints == "bin":
        rel[above] = hi
    drop = above if endpoints == "drop" else pd.Series(False, index=out.index)
    if endpoints == "drop" and control_group == "never":
        drop = drop | below
    out["rel"] = rel.astype(int)
    return out[~drop]


CASES = [
    # name, data, y, unit, time, cohort, controls, window, endpoints, control_group, weights
    (
        "mpdta_bin",
        "mpdta",
        "lemp",
        "countyreal",
        "year",
        "first.treat",
        [],
        (-3, 3),
        "bin",
        "never",
        None,
    ),
    (
        "sim_bin_controls",
        "sim",
        "y",
        "unit",
        "time",
        "cohort",
        ["x1", "x2"],
        (-4, 4),
        "bin",
        "never",
        None,
    ),
    ("sim_drop", "sim", "y", "unit", "time", "cohort", ["x1"], (-3, 2), "drop", "never", None),
    ("sim_weights", "sim", "y", "unit", "time", "cohort", ["x1"], (-4, 4), "bin", "never", "w"),
    (
        "sim_notyet",
        "sim_all",
        "y",
        "unit",
        "time",
        "cohort",
        ["x1"],
        (-3, 3),
        "bin",
        "not_yet",
        None,
    ),
]


def simulated() -> tuple[pd.DataFrame, pd.DataFrame]:
    sim = simulate_staggered(
        n_units=90,
        periods=range(2001, 2013),
        cohorts={2004: 15, 2006: 15, 2009: 20},
        n_never=40,
        n_controls=2,
        effect=0.3,
        drop_share=0.05,
        seed=11,
    )
    sim["w"] = 0.5 + (sim["unit"] % 7) / 7.0
    sim_all = simulate_staggered(
        n_units=60,
        periods=range(2001, 2013),
        cohorts={2004: 20, 2007: 20, 2010: 20},
        n_never=0,
        n_controls=1,
        effect=0.3,
        seed=12,
    )
    return pd.DataFrame(sim), pd.DataFrame(sim_all)


def main() -> None:
    sim, sim_all = simulated()
    sim.to_csv(HERE / "sim_data.csv", index=False)
    sim_all.to_csv(HERE / "sim_all_treated.csv", index=False)
    data = {
        "mpdta": pd.read_csv(ROOT / "src/didstudy/data/datasets/mpdta.csv"),
        "sim": sim,
        "sim_all": sim_all,
    }
    golden = {
        "pyfixest": pf.__version__,
        "ssc": "k_adj=True, k_fixef=nonnested, G_adj=True",
        "cases": {},
    }
    for name, key, y, unit, time, cohort, controls, window, endpoints, cg, weights in CASES:
        df = _rel(data[key], unit, time, cohort, window[0], window[1], endpoints, cg)
        df = df.rename(columns={cohort: "cohort_col"})
        rhs = " + ".join(["i(rel, ref=-1)", *controls])
        fit = pf.feols(
            f"{y} ~ {rhs} | {unit} + {time}",
            df,
            vcov={"CRV1": unit},
            ssc=SSC,
            weights=weights,
        )
        tidy = fit.tidy()
        terms = [str(t) for t in tidy.index]
        leads = [i for i, t in enumerate(terms) if t.startswith("rel::-")]
        r = np.zeros((len(leads), len(terms)))
        for row, col in enumerate(leads):
            r[row, col] = 1.0
        b = fit.coef().to_numpy()[leads]
        v = fit._vcov[np.ix_(leads, leads)]
        wald = float(b @ np.linalg.solve(v, b))
        golden["cases"][name] = {
            "data": key,
            "y": y,
            "unit": unit,
            "time": time,
            "cohort": cohort,
            "controls": controls,
            "window": list(window),
            "endpoints": endpoints,
            "control_group": cg,
            "weights": weights,
            "nobs": int(fit._N),
            "terms": terms,
            "estimate": [float(x) for x in tidy["Estimate"]],
            "std_error": [float(x) for x in tidy["Std. Error"]],
            "wald_leads": wald,
            "n_leads": len(leads),
        }
    (HERE / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
