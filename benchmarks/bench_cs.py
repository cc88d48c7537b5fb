"""Callaway–Sant'Anna: didstudy vs diff-diff, side by side in one run.

diff-diff is a peer, not a didstudy dependency; run this from the peers environment with
didstudy's source on the path:

    PYTHONPATH=src /work/peers/i11-cs/bin/python -m benchmarks.bench_cs --rounds 5
    PYTHONPATH=src /work/peers/i11-cs/bin/python -m benchmarks.bench_cs --rounds 9 --dataframe

Cases (balanced panels, 20 periods, cohorts in periods 5..16 plus 30% never treated):
ATT(g,t) plus all four aggregations with analytic SEs at 274, 3,000 and 30,000 units (both
tools), on a built Panel and from the DataFrame (didstudy: ``Panel(df, ...)`` + estimate +
aggregations, timed as one; diff-diff takes the DataFrame); 30,000 units with one covariate and
DR (didstudy, time and peak memory); 999 multiplier-bootstrap draws at 3,000 units (didstudy).
Medians over rounds in which the tools alternate order. ``--dataframe`` runs only the
DataFrame-to-result comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd


def make_panel(n_units: int, n_periods: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohorts = np.array([0, *range(5, 17)])
    probs = np.r_[0.3, np.full(12, 0.7 / 12)]
    g = rng.choice(cohorts, size=n_units, p=probs)
    unit = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(1, n_periods + 1), n_units)
    gr = np.repeat(g, n_periods)
    x = np.repeat(rng.normal(size=n_units), n_periods)
    e = t - gr
    effect = np.where((gr > 0) & (e >= 0), 0.1 * (e + 1) * (1 + gr / 10), 0.0)
    y = np.repeat(rng.normal(size=n_units), n_periods) + 0.05 * t + 0.3 * x + effect
    y = y + rng.normal(scale=0.5, size=y.size)
    return pd.DataFrame({"unit": unit, "time": t, "first_treat": gr, "x": x, "y": y})


def build_panel(df: pd.DataFrame) -> tuple[object, float]:
    from didstudy.data.panel import Panel

    start = time.perf_counter()
    panel = Panel(df, unit="unit", time="time", cohort="first_treat")
    return panel, time.perf_counter() - start


def run_didstudy(panel: object, covariates: tuple[str, ...] = ()) -> float:
    """ATT(g,t) + the four aggregations with analytic SEs, on a validated Panel."""
    from didstudy.estimation.robust import callaway_santanna

    start = time.perf_counter()
    res = callaway_santanna(panel, y="y", covariates=covariates, seed=1)  # type: ignore[arg-type]
    for kind in ("simple", "group", "calendar", "dynamic"):
        res.aggregate(kind)  # type: ignore[arg-type]
    return time.perf_counter() - start


def run_from_dataframe(df: pd.DataFrame) -> float:
    """Panel construction (validation, derived timing) + ATT(g,t) + the four aggregations."""
    from didstudy.data.panel import Panel
    from didstudy.estimation.robust import callaway_santanna

    start = time.perf_counter()
    panel = Panel(df, unit="unit", time="time", cohort="first_treat")
    res = callaway_santanna(panel, y="y", seed=1)
    for kind in ("simple", "group", "calendar", "dynamic"):
        res.aggregate(kind)  # type: ignore[arg-type]
    return time.perf_counter() - start


def dataframe_rows(rounds: int) -> None:
    """didstudy from the DataFrame vs diff-diff from the same DataFrame, alternating."""
    for n in (274, 3000, 30000):
        df = make_panel(n)
        run_from_dataframe(df), run_diffdiff(df)  # warm-up: imports, caches
        ours, theirs = [], []
        for r in range(rounds):
            if r % 2 == 0:
                ours.append(run_from_dataframe(df))
                theirs.append(run_diffdiff(df))
            else:
                theirs.append(run_diffdiff(df))
                ours.append(run_from_dataframe(df))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(
            f"{n:>6}x20 from the DataFrame: didstudy {a * 1000:7.1f} ms (Panel + CS + 4 "
            f"aggregations)  diff-diff {b * 1000:7.1f} ms  ratio {b / a:5.1f}x"
        )


def run_diffdiff(df: pd.DataFrame) -> float:
    import diff_diff as dd

    start = time.perf_counter()
    dd.CallawaySantAnna(n_bootstrap=0).fit(
        df, outcome="y", unit="unit", time="time", first_treat="first_treat", aggregate="all"
    )
    return time.perf_counter() - start


def bootstrap_draws(df: pd.DataFrame) -> float:
    from didstudy.estimation.robust import callaway_santanna

    panel, _ = build_panel(df)
    res = callaway_santanna(panel, y="y", seed=1)  # type: ignore[arg-type]
    start = time.perf_counter()
    res.with_inference(bootstrap=True, reps=999)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--dataframe", action="store_true", help="only the DataFrame-to-result comparison"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(
        f"load {os.getloadavg()}, OMP/OPENBLAS threads "
        f"{os.environ.get('OMP_NUM_THREADS')}/{os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    dataframe_rows(args.rounds)
    if args.dataframe:
        return
    for n in (274, 3000, 30000):
        df = make_panel(n)
        ours, theirs, panels = [], [], []
        for _ in range(args.rounds):
            panel, seconds = build_panel(df)
            panels.append(seconds)
            ours.append(run_didstudy(panel))
            theirs.append(run_diffdiff(df))
        a, b, c = (statistics.median(v) for v in (ours, theirs, panels))
        print(
            f"{n:>6}x20 no covariates: didstudy {a * 1000:7.1f} ms (+ Panel {c * 1000:6.1f} ms)"
            f"  diff-diff {b * 1000:7.1f} ms  ratio {b / a:5.1f}x ({b / (a + c):4.1f}x incl. "
            "Panel)"
        )
    big, _ = build_panel(make_panel(30000))
    times = [run_didstudy(big, ("x",)) for _ in range(args.rounds)]
    tracemalloc.start()
    run_didstudy(big, ("x",))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f" 30000x20 one covariate, DR: {statistics.median(times):.3f} s, traced peak "
        f"{peak / 2**20:.0f} MiB, process max RSS {rss:.0f} MiB"
    )
    mid = make_panel(3000)
    boot = [bootstrap_draws(mid) for _ in range(args.rounds)]
    print(f"  3000x20 999 multiplier draws (cells): {statistics.median(boot):.3f} s")


if __name__ == "__main__":
    main()
