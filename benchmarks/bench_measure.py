"""Benchmark of the measurement kernels (Dagum decomposition, Gini) against brute force and PySAL.

Run: ``.venv/bin/python -m benchmarks.bench_measure`` (add ``--quick`` for a smaller run,
``--sweep-block`` to time the pair tables for several block lengths of the pair kernel).

Targets (issue 3): 3,000 units in 300 groups × 20 periods ≤ 50 ms in total; 1,000,000 units in
1,000 groups ≤ 2 s with peak memory ≤ 1 GiB. Large cases run in a fresh subprocess each, so the
peak resident memory (``ru_maxrss``) and the tracemalloc peak belong to that case alone.
PySAL ``inequality`` is a benchmark rival only (it has Gini, no Dagum decomposition).
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
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from didstudy.measure.inequality import dagum, dagum_panel, gini


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs; the matching CPU time is kept in ``LAST_CPU``."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    LAST_CPU[0] = best_cpu
    return best


LAST_CPU = [float("nan")]


def panel_data(seed: int = 0) -> pd.DataFrame:
    """Simulated county panel: 3,000 units in 300 cities (2–18 units each) × 20 years."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 19, 300)
    sizes = np.round(sizes * 3000 / sizes.sum()).astype(int)
    sizes[-1] += 3000 - sizes.sum()
    city = np.repeat(np.arange(300), sizes)
    n = city.shape[0]
    years = np.arange(2003, 2023)
    return pd.DataFrame(
        {
            "year": np.repeat(years, n),
            "city": np.tile(city, years.shape[0]),
            "county": np.tile(np.arange(n), years.shape[0]),
            "light": np.round(rng.gamma(1.5, 6.0, n * years.shape[0]), 2),
        }
    )


def big_data(n: int, k: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.round(rng.gamma(1.5, 6.0, n), 3), rng.integers(0, k, n)


def brute_force_components(y: np.ndarray, g: np.ndarray, chunk: int = 2000) -> float:
    """O(n²) overall G and Σ_j S_jj by explicit pair differences (chunked rows)."""
    total = 0.0
    within = 0.0
    for start in range(0, y.shape[0], chunk):
        block = np.abs(y[start : start + chunk, None] - y[None, :])
        total += block.sum()
        within += block[g[start : start + chunk, None] == g[None, :]].sum()
    return total / (2 * y.shape[0] * y.sum()) + 0 * within


def pysal_cells(df: pd.DataFrame) -> None:
    from inequality.gini import Gini

    for _, sub in df.groupby(["year", "city"], sort=False)["light"]:
        Gini(sub.to_numpy())
    for _, sub in df.groupby("year", sort=False)["light"]:
        Gini(sub.to_numpy())


def run_case(case: str, n: int, k: int) -> dict[str, Any]:
    """One large case, measured in this (fresh) process; imports happen before the clock starts.

    The timed run is not traced; ``tracemalloc`` runs in a separate second call.
    """
    from inequality.gini import Gini

    y, g = big_data(n, k)

    def pysal_groups() -> None:
        Gini(y)
        order = np.argsort(g, kind="stable")
        bounds = np.flatnonzero(np.diff(g[order])) + 1
        for part in np.split(y[order], bounds):
            Gini(part)

    cases: dict[str, Callable[[], object]] = {
        "dagum_pairs": lambda: dagum(y, g, pairs=True),
        "dagum_components": lambda: dagum(y, g, pairs=False),
        "gini": lambda: gini(y),
        "pysal_gini": lambda: Gini(y),
        "pysal_groups": pysal_groups,
    }
    fn = cases[case]
    dagum(y[:1000], g[:1000])  # warm-up: lazy imports and first-call costs
    # timed run without tracemalloc (tracing every allocation slows the kernels down), then the
    # process peak RSS, then a second, traced run for the Python-level allocation peak
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "case": case,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "tracemalloc_peak_mib": peak / 2**20,
        "max_rss_mib": rss_kib / 1024,
    }


def sweep_block(n: int, k: int) -> None:
    """Best of 3 wall and CPU time of ``dagum()`` (pair tables) per block length L."""
    from didstudy.measure.dagum import default_block

    y, g = big_data(n, k)
    dagum(y[:1000], g[:1000])
    print(f"load average at start: {os.getloadavg()}; default L = {default_block(n, k)}")
    for length in (32, 48, 64, 80, 90, 100, 112, 128):
        t = best_of(lambda length=length: dagum(y, g, block=length), 3)
        print(f"  L = {length:4d}: wall {t:6.3f} s  cpu {LAST_CPU[0]:6.3f} s")


def subprocess_case(case: str, n: int, k: int, single_thread: bool = False) -> dict[str, Any]:
    env = dict(os.environ)
    if single_thread:
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_measure",
            "--case",
            case,
            "--n",
            str(n),
            "--k",
            str(k),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--sweep-block",
        action="store_true",
        help="time dagum() with the pair tables for several block lengths L (tuning only)",
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.n, args.k)))
        return
    if args.sweep_block:
        sweep_block(args.n, args.k)
        return

    repeat = 3 if args.quick else 7
    print(f"load average at start: {os.getloadavg()}")
    print("## Panel: 3,000 units in 300 groups x 20 periods (simulated)")
    df = panel_data()
    t_panel = best_of(lambda: dagum_panel(df, "light", "city", "year"), repeat)
    cpu_panel = LAST_CPU[0]
    periods = [sub for _, sub in df.groupby("year")]
    t_loop_pairs = best_of(
        lambda: [dagum(s["light"], s["city"], min_units=2) for s in periods], max(1, repeat // 3)
    )
    t_loop_fast = best_of(
        lambda: [dagum(s["light"], s["city"], min_units=2, pairs=False) for s in periods],
        max(1, repeat // 3),
    )
    t_brute = best_of(
        lambda: [
            brute_force_components(s["light"].to_numpy(), s["city"].to_numpy()) for s in periods
        ],
        1,
    )
    try:
        t_pysal = best_of(lambda: pysal_cells(df), 1)
    except ImportError:
        t_pysal = float("nan")
    rows = [
        ("dagum_panel (all periods, components + G_jj)", t_panel),
        ("loop of dagum(pairs=True) per period (+ all pair tables)", t_loop_pairs),
        ("loop of dagum(pairs=False) per period", t_loop_fast),
        ("brute force O(n^2) per period (G and within sums only)", t_brute),
        ("PySAL Gini loop over 6,000 city-years + 20 years (G_jj, G only)", t_pysal),
    ]
    for name, t in rows:
        print(f"  {name:66s} {1000 * t:9.1f} ms   x{t / t_panel:8.1f}")
    verdict = "MET" if t_panel <= 0.05 else "NOT MET"
    print(
        f"  target <= 50 ms: {verdict} "
        f"(wall {1000 * t_panel:.1f} ms, cpu {1000 * cpu_panel:.1f} ms)"
    )

    n, k = (200_000, 200) if args.quick else (args.n, args.k)
    print(f"\n## Single sample: {n:,} units in {k:,} groups (each case in a fresh subprocess)")
    results = {}
    for case in ("dagum_components", "dagum_pairs", "gini", "pysal_gini", "pysal_groups"):
        try:
            results[case] = subprocess_case(case, n, k)
        except subprocess.CalledProcessError as exc:
            print(f"  {case}: failed ({exc.stderr.strip().splitlines()[-1:]})")
            continue
        r = results[case]
        print(
            f"  {case:18s} wall {r['seconds']:7.3f} s  cpu {r['cpu_seconds']:7.3f} s  "
            f"tracemalloc peak {r['tracemalloc_peak_mib']:7.1f} MiB  "
            f"max RSS {r['max_rss_mib']:7.1f} MiB"
        )
    print(
        "  single-threaded BLAS (the in-block pairs of the pair kernel still use one thread per"
        " core; CPU time = total over threads):"
    )
    for case in ("dagum_components", "dagum_pairs"):
        r = subprocess_case(case, n, k, single_thread=True)
        results[case + "_1thread"] = r
        print(f"  {case:18s} wall {r['seconds']:7.3f} s  cpu {r['cpu_seconds']:7.3f} s")
    if "pysal_groups" in results:
        base = results["pysal_groups"]["seconds"]
        for case in ("dagum_components", "dagum_pairs"):
            if case in results:
                print(
                    f"  PySAL (G + per-group Gini) / {case}: x{base / results[case]['seconds']:.2f}"
                )
    if "pysal_gini" in results and "gini" in results:
        ratio = results["pysal_gini"]["seconds"] / results["gini"]["seconds"]
        print(f"  PySAL Gini / didstudy gini (overall G): x{ratio:.2f}")
    for case in ("dagum_components", "dagum_pairs"):
        if case in results:
            r = results[case]
            ok = r["seconds"] <= 2.0 and r["max_rss_mib"] <= 1024
            cpu = results[case + "_1thread"]["cpu_seconds"]
            print(
                f"  target {case} <= 2 s and <= 1 GiB: {'MET' if ok else 'NOT MET'} in wall time"
                f" at this load; CPU with single-threaded BLAS {cpu:.2f} s"
            )

    nb = 10_000
    yb, gb = big_data(nb, 100, seed=3)
    t_bf = best_of(lambda: brute_force_components(yb, gb), 1)
    t_dg = best_of(lambda: dagum(yb, gb), repeat)
    print(f"\n## Brute force O(n^2) vs dagum at n = {nb:,}, k = 100")
    print(f"  brute force {t_bf:.3f} s; dagum (all tables) {t_dg:.4f} s; ratio x{t_bf / t_dg:.0f}")


if __name__ == "__main__":
    main()
