"""Before/after: the TWFE, placebo, Dagum and demo benchmarks under two source trees, alternating.

Run, with a checkout of the base commit (``git worktree add --detach /tmp/before main``)::

    .venv/bin/python -m benchmarks.bench_ab --before /tmp/before [--rounds 3] [--skip-large]

Every measurement is a fresh subprocess whose ``PYTHONPATH`` is one tree's ``src``; the trees
alternate within each round (before, after; then after, before) so that load drifts on the shared
machine hit both alike. Per measurement the children of the existing benchmarks are reused:
``bench_twfe --child`` (warm fit, best of 3 or 1 fits), ``bench_placebo --child`` (500 draws, best
of 15, BLAS 1 thread and the BLAS default), ``bench_measure --case`` (one Dagum sample of 10^6
units in 1,000 groups) and a ``dagum_panel`` child (3,000 units x 20 periods, best of 7), and
``didstudy demo --no-cache`` (wall time of the whole command). Printed: per case and tree the
median and the best over the rounds, and the ratio after/before of the medians. Data are
SIMULATED (the benchmarks' own generators, fixed seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_PANEL_CHILD = """
import json, time
from benchmarks.bench_measure import panel_data
from didstudy.measure.inequality import dagum_panel
df = panel_data()
dagum_panel(df, "light", "city", "year")
best = min(
    (lambda t0: (dagum_panel(df, "light", "city", "year"), time.perf_counter() - t0)[1])(
        time.perf_counter()
    )
    for _ in range(7)
)
print(json.dumps({"seconds": best}))
"""


def _child(tree: Path, argv: list[str], threads: int | None = None) -> float:
    env = dict(os.environ, PYTHONPATH=f"{tree / 'src'}{os.pathsep}{ROOT}")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if threads is None:
            env.pop(var, None)
        else:
            env[var] = str(threads)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    try:
        data: dict[str, Any] = json.loads(last)
    except json.JSONDecodeError:
        return wall
    for key in ("seconds", "best_s"):
        if key in data:
            return float(data[key])
    return wall


def cases(skip_large: bool) -> list[tuple[str, list[str], int | None]]:
    twfe = [(274, 20, 0.0, 0, 3), (3_000, 20, 0.0, 0, 3), (100_000, 20, 0.0, 0, 1)]
    if not skip_large:
        twfe += [(1_000_000, 10, 0.0, 0, 1), (1_000_000, 10, 0.1, 1, 1)]
    out: list[tuple[str, list[str], int | None]] = []
    for units, periods, drop, fe3, repeat in twfe:
        label = f"twfe {units:,}x{periods}" + (" unbalanced 3FE" if fe3 else "")
        argv = ["-m", "benchmarks.bench_twfe", "--child", "didstudy"]
        out.append((label, [*argv, str(units), str(periods), str(drop), str(fe3), str(repeat)], 1))
    placebo = ["-m", "benchmarks.bench_placebo", "--child", "didstudy", "500", "auto", "15"]
    out.append(("placebo 500 draws, BLAS 1 thread", placebo, 1))
    out.append(("placebo 500 draws, BLAS default threads", placebo, None))
    out.append(("dagum_panel 3,000 units x 20 periods", ["-c", _PANEL_CHILD], None))
    measure = ["-m", "benchmarks.bench_measure", "--n", "1000000", "--k", "1000", "--case"]
    out.append(("dagum 10^6 units, 1,000 groups, components", [*measure, "dagum_components"], None))
    out.append(("dagum 10^6 units, 1,000 groups, pair table", [*measure, "dagum_pairs"], None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": ROOT}
    runs = cases(args.skip_large)
    times: dict[str, dict[str, list[float]]] = {
        label: {"before": [], "after": []} for label, _, _ in runs
    }
    if not args.no_demo:
        times["didstudy demo --no-cache (wall)"] = {"before": [], "after": []}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for label, argv, threads in runs:
                for name in order:
                    times[label][name].append(_child(trees[name], argv, threads))
            if not args.no_demo:
                for name in order:
                    demo = ["-m", "didstudy", "demo", "--no-cache", "--out", f"{tmp}/{name}{r}"]
                    times["didstudy demo --no-cache (wall)"][name].append(
                        _child(trees[name], demo)
                    )
            print(f"round {r + 1} done, load {os.getloadavg()}", flush=True)
    print(f"{'case':50s}{'before med':>12}{'after med':>12}{'before min':>12}"
          f"{'after min':>12}{'ratio':>8}")  # fmt: skip
    for label, per in times.items():
        b, a = statistics.median(per["before"]), statistics.median(per["after"])
        print(
            f"{label:50s}{b:12.4f}{a:12.4f}{min(per['before']):12.4f}{min(per['after']):12.4f}"
            f"{a / b:8.3f}"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
