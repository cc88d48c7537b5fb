"""Monte Carlo over seeds: does the SIMULATED reference design reject parallel trends at its
nominal rate?

For each seed the reference-study data are rebuilt (``build_reference_study(seed)``), the
demo's sample rules applied (the 276 cities of docs/decisions/0007), INDG taken from the DGP's
target (equal to the measured Dagum G_jj to 1e-10, tests/data), and the demo's event study run
(controls, window [-6, 8], base -1, endpoints binned, clustered by city). Recorded per seed: the
joint pre-trend F test's p value, the five lead coefficients and the number of negative leads.

Run: ``PYTHONPATH=src python -m benchmarks.reference_pretrend_mc --seeds 200 --out mc.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from didstudy.data.china.sample import SampleRules
from didstudy.data.reference_study import build_reference_study
from didstudy.estimation.event_study import event_study

CONTROLS = ["ln_trans", "ln_gdp", "saver", "edu", "country"]
#: the demo's sample rules (the paper's: decision 0007), from the package, not a copy
RULES = SampleRules()


def demo_sample(seed: int) -> pd.DataFrame:
    """The demo's city panel for ``seed`` with INDG from the DGP's target."""
    data = build_reference_study(seed)
    frame = data.cities.merge(data.indg_target, on=["code", "year"])
    keep = (
        frame["type"].isin(RULES.types)
        & ~frame["name"].isin(RULES.drop_names)
        & ~frame["province"].isin(RULES.drop_provinces)
        & (frame["n_counties_min"] >= RULES.min_counties)
    )
    return frame.loc[keep].reset_index(drop=True)


def one(seed: int) -> dict[str, float]:
    frame = demo_sample(seed)
    res = event_study(
        frame,
        y="indg",
        controls=CONTROLS,
        window=(-6, 8),
        base=-1,
        unit="code",
        time="year",
        cohort="cohort",
        cluster="code",
    )
    tidy = res.tidy()
    pre = tidy.loc[tidy["rel_time"].between(-6, -2)] if "rel_time" in tidy else tidy.iloc[:5]
    assert res.pretrend is not None
    leads = {f"lead{int(r.rel_time)}": float(r.estimate) for r in pre.itertuples()} | {
        f"se{int(r.rel_time)}": float(r.std_error) for r in pre.itertuples()
    }
    return leads | {
        "seed": seed,
        "n_units": frame["code"].nunique(),
        "pretrend_f": res.pretrend.f,
        "pretrend_p": res.pretrend.p_f,
        "pretrend_p_chi2": res.pretrend.p_chi2,
        "n_negative_leads": int((pre["estimate"] < 0).sum()),
        "mean_lead": float(pre["estimate"].mean()),
        "mean_post": float(tidy.loc[tidy["rel_time"] >= 0, "estimate"].mean())
        if "rel_time" in tidy
        else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--out", default="mc_pretrend.csv")
    args = parser.parse_args(argv)
    rows = []
    start = time.perf_counter()
    for seed in [20100112, *range(args.first, args.first + args.seeds)]:
        rows.append(one(seed))
        if len(rows) % 20 == 0:
            pd.DataFrame(rows).to_csv(args.out, index=False)
            print(len(rows), f"{time.perf_counter() - start:.0f}s", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    mc = table.iloc[1:]
    for level in (0.01, 0.05, 0.10):
        rate = float((mc["pretrend_p"] < level).mean())
        se = np.sqrt(level * (1 - level) / len(mc))
        print(f"rejection at {level:.2f}: {rate:.3f} (MC se under H0 {se:.3f}, n={len(mc)})")
    print(table.iloc[0].to_dict())
    oracle(mc)
    return 0


def oracle(mc: pd.DataFrame) -> None:
    """Separate the DGP from the inference: are the leads centred on 0, do the clustered
    standard errors match the Monte Carlo spread, and what does a Wald test with the Monte
    Carlo covariance of the leads (the oracle) reject?"""
    from scipy import stats

    leads = [c for c in mc.columns if c.startswith("lead")]
    ses = ["se" + c[4:] for c in leads]
    b = mc[leads].to_numpy()
    for lead, se in zip(leads, ses, strict=True):
        print(
            f"{lead}: mean {mc[lead].mean():+.5f} (se {mc[lead].std() / np.sqrt(len(mc)):.5f}),"
            f" MC sd {mc[lead].std():.5f}, mean clustered SE {mc[se].mean():.5f},"
            f" ratio {mc[lead].std() / mc[se].mean():.3f}"
        )
    cov = np.cov(b, rowvar=False)
    wald = np.einsum("ij,jk,ik->i", b, np.linalg.inv(cov), b)
    for level in (0.01, 0.05, 0.10):
        print(
            f"oracle Wald (MC covariance) rejection at {level:.2f}:"
            f" {(stats.chi2.sf(wald, len(leads)) < level).mean():.3f}"
        )


if __name__ == "__main__":
    sys.exit(main())
