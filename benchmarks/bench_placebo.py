"""Benchmark: staggered placebo draws, didstudy vs a pyfixest loop over the same draws.

Run: ``.venv/bin/python -m benchmarks.bench_placebo`` (``--big 100000`` draws for the memory
check; ``--threads N`` BLAS threads in the children, default 1; ``--threads 0`` leaves the BLAS
default, so that the library's own choice of threads for its kernels is measured).

Data: a SIMULATED reference-sized panel (``simulate_staggered``): 274 units × 20 years
(2003–2022), 28 treated units in three cohorts, 5 controls; baseline
``y ~ treat + x1..x5 | unit + year``, CRV1 by unit. Each measurement runs in its own subprocess
(same BLAS thread setting for every side) so that its peak RSS (``ru_maxrss``) and tracemalloc
peak are its own.

Measured in the same run:

* didstudy ``placebo(reps=500)`` end to end (design, real fit, draws, estimation); best of 7
  warm runs, and the dense ``algorithm="dense"`` path (``fit_many``) for comparison;
* pyfixest ``feols`` on the first 20 of the same draws (pseudo-treatment column rebuilt from
  ``PlaceboResult.assignment``), per-fit time extrapolated to 500 fits; the coefficients and
  SEs are compared with didstudy's draws;
* didstudy ``placebo(reps=100_000)``: wall time, peak RSS and tracemalloc peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd

CONTROLS = [f"x{k}" for k in range(1, 6)]
PYFIXEST_FITS = 20


def simulated_panel(drop_share: float = 0.0) -> pd.DataFrame:
    """SIMULATED: 274 units × 20 years, 28 treated, 5 controls (seed 2024); ``drop_share`` of the
    rows dropped at random for an unbalanced variant."""
    from didstudy.data.simulate import simulate_staggered

    return pd.DataFrame(
        simulate_staggered(
            n_units=274,
            periods=range(2003, 2023),
            cohorts={2010: 10, 2012: 9, 2014: 9},
            n_never=246,
            n_controls=5,
            effect=0.02,
            drop_share=drop_share,
            seed=2024,
        )
    )


def _run_placebo(df: Any, reps: int, algorithm: str = "auto") -> Any:
    """``df``: a DataFrame, or the Panel built once outside the timed runs (decision 0020)."""
    from didstudy.inference.placebo import placebo

    return placebo(
        _panel(df),
        "y",
        "treat",
        CONTROLS,
        fe=["unit", "time"],
        reps=reps,
        seed=1,
        algorithm=algorithm,  # type: ignore[arg-type]
    )


def _panel(df: Any) -> Any:
    """The validated Panel (built once), or the frame in a "before" tree without ``as_panel``."""
    from didstudy.data import panel as panel_module

    if not hasattr(panel_module, "as_panel") or isinstance(df, panel_module.Panel):
        return df
    return panel_module.as_panel(df, unit="unit", time="time", treat="treat")


def child_didstudy(
    reps: int, algorithm: str, repeats: int, drop_share: float = 0.0
) -> dict[str, Any]:
    df = _panel(simulated_panel(drop_share))
    _run_placebo(df, min(reps, 50), algorithm)  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = _run_placebo(df, reps, algorithm)
        times.append(time.perf_counter() - t0)
    # memory in a separate run: tracemalloc slows numpy's allocations down
    tracemalloc.start()
    _run_placebo(df, reps, algorithm)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "best_s": min(times),
        "median_s": float(np.median(times)),
        "tracemalloc_peak_mib": peak / 2**20,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "estimate": res.estimate,
        "p_two_sided": res.p_two_sided,
        "coef_head": res.coef[:PYFIXEST_FITS].tolist(),
        "se_head": res.se[:PYFIXEST_FITS].tolist(),
        "n_valid": res.n_valid,
    }


def child_pyfixest() -> dict[str, Any]:
    import warnings

    import pyfixest as pf

    df = simulated_panel()
    res = _run_placebo(df, PYFIXEST_FITS)
    fml = "y ~ pseudo + " + " + ".join(CONTROLS) + " | unit + time"
    ssc = pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")
    datasets = []
    for r in range(PYFIXEST_FITS):
        g = df["unit"].map(res.assignment(r)).astype(float).fillna(np.inf)
        datasets.append(df.assign(pseudo=(df["time"] >= g).astype(float)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.feols(fml, datasets[0], vcov={"CRV1": "unit"}, ssc=ssc)  # warm-up (JIT, imports)
        coef, se = [], []
        t0 = time.perf_counter()
        for data in datasets:
            fit = pf.feols(fml, data, vcov={"CRV1": "unit"}, ssc=ssc)
            coef.append(float(fit.coef()["pseudo"]))
            se.append(float(fit.se()["pseudo"]))
        elapsed = time.perf_counter() - t0
    return {
        "per_fit_s": elapsed / PYFIXEST_FITS,
        "coef": coef,
        "se": se,
        "version": pf.__version__,
    }


def _spawn(args: list[str], threads: int) -> dict[str, Any]:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if threads > 0:  # 0: the BLAS default (the library then picks its kernels' threads)
            env[var] = str(threads)
        else:
            env.pop(var, None)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_placebo", "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--child", nargs="*")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    ns = parser.parse_args(argv)
    if ns.child is not None:
        kind = ns.child[0]
        if kind == "didstudy":
            drop = float(ns.child[4]) if len(ns.child) > 4 else 0.0
            out = child_didstudy(int(ns.child[1]), ns.child[2], int(ns.child[3]), drop)
        else:
            out = child_pyfixest()
        print(json.dumps(out))
        return 0

    print(
        f"SIMULATED panel 274 x 20, 28 treated, 5 controls; BLAS threads = {ns.threads}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    fast = _spawn(["didstudy", "500", "auto", "15"], ns.threads)
    dense = _spawn(["didstudy", "500", "dense", "3"], ns.threads)
    unbalanced = _spawn(["didstudy", "500", "auto", "3", "0.05"], ns.threads)
    rival = _spawn(["pyfixest"], ns.threads)
    diff_b = float(np.max(np.abs(np.array(rival["coef"]) - np.array(fast["coef_head"]))))
    diff_se = float(np.max(np.abs(np.array(rival["se"]) - np.array(fast["se_head"]))))
    loop_500 = rival["per_fit_s"] * 500
    print(
        f"didstudy placebo 500 draws (closed form): best {fast['best_s'] * 1e3:.1f} ms, "
        f"median {fast['median_s'] * 1e3:.1f} ms, tracemalloc peak "
        f"{fast['tracemalloc_peak_mib']:.1f} MiB, peak RSS {fast['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"didstudy placebo 500 draws (dense fit_many path): best {dense['best_s'] * 1e3:.1f} ms, "
        f"tracemalloc peak {dense['tracemalloc_peak_mib']:.1f} MiB"
    )
    print(
        f"didstudy placebo 500 draws, unbalanced panel (5% of rows dropped; dense path with "
        f"vectorised two-way demeaning): best {unbalanced['best_s'] * 1e3:.1f} ms, tracemalloc "
        f"peak {unbalanced['tracemalloc_peak_mib']:.1f} MiB"
    )
    print(
        f"pyfixest {rival['version']} feols loop: {rival['per_fit_s'] * 1e3:.1f} ms per fit "
        f"({PYFIXEST_FITS} fits timed) -> {loop_500:.2f} s for 500 (extrapolated)"
    )
    print(
        f"ratio pyfixest/didstudy: {loop_500 / fast['best_s']:.0f}x (closed form), "
        f"{loop_500 / dense['best_s']:.0f}x (dense); "
        f"max |coef diff| {diff_b:.2e}, max |se diff| {diff_se:.2e} over {PYFIXEST_FITS} draws"
    )
    big = _spawn(["didstudy", str(ns.big), "auto", "1"], ns.threads)
    base = _spawn(["didstudy", "1", "auto", "1"], ns.threads)
    print(
        f"didstudy placebo {ns.big} draws: {big['best_s']:.2f} s, peak RSS "
        f"{big['peak_rss_mib']:.0f} MiB, tracemalloc peak {big['tracemalloc_peak_mib']:.1f} MiB, "
        f"valid draws {big['n_valid']} (the same child with 1 draw: peak RSS "
        f"{base['peak_rss_mib']:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
