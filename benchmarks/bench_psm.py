"""Benchmark: year-by-year PSM matching and the bdiff permutation test on a reference-sized panel.

Run: ``.venv/bin/python -m benchmarks.bench_psm [--reps 1000] [--rival-reps 40]``

SIMULATED data shaped like the reference study: 274 cities x 20 years (2003-2022), 28 treated
in cohorts 2010-2014, 5 controls. Measured in the same run:

* PSM: didstudy ``psm_did`` matching stage (20 yearly logits + nearest-neighbour matching) vs
  R MatchIt 4.5.1 (``glm`` + ``matchit`` per year, timed inside R with ``system.time`` so that R's
  start-up is excluded; skipped when ``Rscript`` is absent). The matches are compared.
* Permutation test (Stata ``bdiff``, R re-estimations of two split-sample TWFE): didstudy's
  closed-form vectorised kernel, didstudy's loop (demean + lstsq per permutation), and a loop of
  pyfixest ``feols`` calls (timed on ``--rival-reps`` permutations and scaled per permutation).

Times are the best of 3 warm runs; peak memory is the ``tracemalloc`` peak of one more run
(Python allocations, NumPy included).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _panel() -> pd.DataFrame:
    from didstudy.data.simulate import simulate_staggered

    df = simulate_staggered(
        n_units=274,
        periods=range(2003, 2023),
        cohorts={2010: 6, 2011: 6, 2012: 6, 2013: 5, 2014: 5},
        n_never=246,
        effect=-0.025,
        n_controls=5,
        seed=2025,
    )
    df["group"] = (df["cohort"] > 0).astype(int)
    return df


def _timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall time of ``repeat`` warm runs, and the tracemalloc peak of one more run."""
    out = fn()  # warm-up (imports, caches)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, out


R_SCRIPT = r"""
suppressPackageStartupMessages(library(MatchIt))
args <- commandArgs(trailingOnly = TRUE)
panel <- read.csv(args[1])
out <- list()
el <- system.time({
  for (t in sort(unique(panel$time))) {
    d <- panel[panel$time == t, ]
    rownames(d) <- as.character(d$unit)
    fit <- glm(group ~ x1 + x2 + x3 + x4 + x5, data = d, family = binomial())
    ps <- fitted(fit)
    o <- order(ps, decreasing = TRUE); d2 <- d[o, ]; ps2 <- ps[o]; tr <- d2$group == 1
    D <- outer(ps2[tr], ps2[!tr], function(a, b) abs(a - b))
    dimnames(D) <- list(rownames(d2)[tr], rownames(d2)[!tr])
    m <- matchit(group ~ x1 + x2 + x3 + x4 + x5, data = d2, method = "nearest",
                 distance = D, m.order = "data")
    mm <- m$match.matrix
    out[[length(out) + 1]] <- data.frame(time = t, treated = as.integer(rownames(mm)),
                                         control = as.integer(mm[, 1]))
  }
})[["elapsed"]]
write.csv(do.call(rbind, out), args[2], row.names = FALSE)
cat(el, "\n")
"""


def bench_psm(df: pd.DataFrame) -> dict[str, Any]:
    from didstudy.estimation.psm import psm_did

    covs = ["x1", "x2", "x3", "x4", "x5"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ds, mem, res = _timed(
            lambda: psm_did(df, "y", "treat", covs, unit="unit", time="time", common_support=False)
        )
    out: dict[str, Any] = {"didstudy_s": t_ds, "didstudy_peak_mib": mem}
    if shutil.which("Rscript") is None:
        out["r"] = "Rscript not found: skipped"
        return out
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, script = Path(tmp, "p.csv"), Path(tmp, "m.csv"), Path(tmp, "b.R")
        df.to_csv(src, index=False, float_format="%.17g")
        script.write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", str(script), str(src), str(dst)], capture_output=True, text=True, check=True
        )
        out["matchit_s"] = float(proc.stdout.split()[-1])
        theirs = pd.read_csv(dst).sort_values(["time", "treated"]).reset_index(drop=True)
    mine = res.matches[["time", "treated", "control"]].sort_values(["time", "treated"])
    out["matches_identical"] = bool(
        np.array_equal(mine.to_numpy(dtype=np.int64), theirs.to_numpy(dtype=np.int64))
    )
    return out


def bench_permutation(df: pd.DataFrame, reps: int, rival_reps: int) -> dict[str, Any]:
    from didstudy.estimation.heterogeneity import (
        _codes,
        permutation_test,
        split_coefficients_loop,
    )

    rng = np.random.default_rng(0)
    units = np.sort(df["unit"].unique())
    big = set(rng.choice(units, units.size // 2, replace=False))
    is_a = df["unit"].isin(big)
    ctrl = ["x1", "x2", "x3", "x4", "x5"]
    t_vec, mem, (d_obs, p, _) = _timed(
        lambda: permutation_test(df, "y", "treat", ctrl, "unit", "time", is_a, reps=reps, seed=1)
    )
    out: dict[str, Any] = {
        "reps": reps,
        "vectorised_s": t_vec,
        "vectorised_peak_mib": mem,
        "difference": d_obs,
        "p_value": p,
    }
    # loop path (the fallback for unbalanced panels), per permutation
    uc, tc = _codes(df["unit"]), _codes(df["time"])
    label = np.zeros(units.size, dtype=bool)
    label[uc] = is_a.to_numpy()
    members = np.stack([rng.permutation(label) for _ in range(rival_reps)], axis=1)
    Z = df[["y", "treat", *ctrl]].to_numpy(dtype=np.float64)
    t0 = time.perf_counter()
    split_coefficients_loop(Z, uc, tc, members)
    split_coefficients_loop(Z, uc, tc, ~members)
    out["loop_s_per_rep"] = (time.perf_counter() - t0) / rival_reps
    try:
        import pyfixest as pf
    except ImportError:  # pragma: no cover
        out["pyfixest"] = "not installed"
        return out
    t0 = time.perf_counter()
    fml = "y ~ treat + " + " + ".join(ctrl) + " | unit + time"
    for r in range(rival_reps):
        lab = pd.Series(members[:, r], index=units)
        g = lab.loc[df["unit"]].to_numpy()
        for mask in (g, ~g):
            pf.feols(fml, data=df.loc[mask], vcov="iid").coef()["treat"]
    out["pyfixest_s_per_rep"] = (time.perf_counter() - t0) / rival_reps
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--rival-reps", type=int, default=40)
    args = ap.parse_args()
    df = _panel()
    print(f"SIMULATED panel: {df['unit'].nunique()} units x {df['time'].nunique()} periods")
    psm = bench_psm(df)
    print("PSM year by year (matching + TWFE):", psm)
    if "matchit_s" in psm:
        print(f"  ratio MatchIt / didstudy = {psm['matchit_s'] / psm['didstudy_s']:.2f}")
    perm = bench_permutation(df, args.reps, args.rival_reps)
    print("Permutation test:", perm)
    per_rep = perm["vectorised_s"] / args.reps
    print(f"  vectorised per permutation: {per_rep * 1e3:.3f} ms")
    print(f"  ratio loop / vectorised = {perm['loop_s_per_rep'] / per_rep:.1f}")
    if "pyfixest_s_per_rep" in perm:
        print(f"  ratio pyfixest loop / vectorised = {perm['pyfixest_s_per_rep'] / per_rep:.1f}")


if __name__ == "__main__":
    main()
