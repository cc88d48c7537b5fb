"""Cost of observation weights in the robust estimators (decision record 0063).

    PYTHONPATH=src .venv/bin/python -m benchmarks.bench_robust_weights [--units 3000]
        [--rounds 3] [--memory-units 30000]

The SIMULATED panel of ``benchmarks.bench_robust`` plus a seeded weight column ``w`` (uniform
0.5..3, varying by unit and year). Each (estimator, weighted?) runs in its own subprocess with
``OPENBLAS_NUM_THREADS=1``; weighted and unweighted alternate within each round and the median
of the best-of-``reps`` wall times is reported, with the weighted/unweighted ratio. Peak memory
(``ru_maxrss``) of the weighted imputation, did2s and stacked_did at ``--memory-units``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_robust import ENV, MAKE_DATA, ROOT

RUN = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
import didstudy as ds
name, path, reps, weighted = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
df = pd.read_csv(path)
df["w"] = np.round(np.random.default_rng(63).uniform(0.5, 3.0, len(df)), 3)
panel = ds.Panel(df, unit="unit", time="year", cohort="cohort")
kw = {"weights": "w"} if weighted else {}
calls = {
    "imputation": lambda: ds.imputation(panel, "y", **kw),
    "did2s": lambda: ds.did2s(panel, "y", **kw),
    "etwfe": lambda: ds.etwfe(panel, "y", **kw),
    "sun_abraham": lambda: ds.sun_abraham(panel, "y", **kw),
    "stacked_did": lambda: ds.stacked_did(panel, "y", window=(-3, 3), **kw),
    "dcdh": lambda: ds.dcdh(panel, "y", effects=4, placebos=3, **kw),
}
best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter(); calls[name](); best = min(best, time.perf_counter() - t0)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": best, "rss_mib": rss}))
"""

NAMES = ("imputation", "did2s", "etwfe", "sun_abraham", "stacked_did", "dcdh")


def _run(name: str, path: str, reps: int, weighted: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", RUN, name, path, str(reps), "1" if weighted else "0"],
        env={**ENV, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--memory-units", type=int, default=30000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "panel.csv")
        subprocess.run([sys.executable, "-c", MAKE_DATA, str(args.units), path], check=True)
        times: dict[tuple[str, bool], list[float]] = {}
        for _ in range(args.rounds):
            for name in NAMES:
                for weighted in (False, True):
                    r = _run(name, path, args.reps, weighted)
                    times.setdefault((name, weighted), []).append(r["seconds"])
        print(f"| estimator ({args.units} x 20) | unweighted | weighted | ratio |")
        print("|---|---|---|---|")
        for name in NAMES:
            a = statistics.median(times[(name, False)])
            b = statistics.median(times[(name, True)])
            print(f"| {name} | {a:.3f} s | {b:.3f} s | {b / a:.2f} |")
        if args.memory_units:
            big = str(Path(tmp) / "big.csv")
            subprocess.run(
                [sys.executable, "-c", MAKE_DATA, str(args.memory_units), big], check=True
            )
            for name in ("imputation", "did2s", "stacked_did"):
                r = _run(name, big, 1, True)
                print(
                    f"memory {name} weighted {args.memory_units} x 20: {r['seconds']:.2f} s, "
                    f"{r['rss_mib']:.0f} MiB"
                )


if __name__ == "__main__":
    main()
