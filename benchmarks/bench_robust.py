"""Heterogeneity-robust estimators against the fastest Python peers, side by side.

    PYTHONPATH=src .venv/bin/python -m benchmarks.bench_robust [--units 3000] [--rounds 3]
        [--peer-python /work/peers/i12-robust/venv/bin/python] [--memory-units 30000]

SIMULATED panel: ``units`` x 20 years (2001-2020), cohorts 2005..2016 every other year plus 30%
never treated, effects growing with time since adoption. Every tool runs in its own subprocess
with ``OPENBLAS_NUM_THREADS=1`` (the machine is shared; threaded BLAS only spins), tools
alternate over ``rounds`` and the median wall time of each is reported. Peers (diff-diff 3.13,
pyfixest 0.60, py-did-multiplegt-dyn, did-imputation 0.1) run from ``--peer-python`` (a venv with
them installed; they are never dependencies of didstudy). Peak memory at ``--memory-units`` is
the child's maximum resident set size (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ROOT = Path(__file__).resolve().parents[1]

MAKE_DATA = """
import numpy as np, pandas as pd, sys
units, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(12)
years = np.arange(2001, 2021)
cohort = np.where(rng.random(units) < 0.3, 0, rng.choice(np.arange(2005, 2017, 2), units))
g = np.repeat(cohort, years.size); t = np.tile(years, units)
post = (g > 0) & (t >= g)
eff = np.where(post, (1 + 0.2 * (t - g)) * (1 + (2016 - g) / 10), 0.0)
y = np.repeat(rng.normal(size=units), years.size) + 0.05 * (t - 2001) + eff
y = y + rng.normal(0, 0.5, y.size)
pd.DataFrame({"unit": np.repeat(np.arange(units), years.size), "year": t, "cohort": g,
              "D": post.astype(int), "y": y}).to_csv(path, index=False)
"""

OURS = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
import didstudy as ds
from didstudy.estimation.robust import compare
name, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(path)
panel = ds.Panel(df, unit="unit", time="year", cohort="cohort")
calls = {
    "imputation": lambda: ds.imputation(panel, "y"),
    "did2s": lambda: ds.did2s(panel, "y"),
    "etwfe": lambda: ds.etwfe(panel, "y"),
    "sun_abraham": lambda: ds.sun_abraham(panel, "y"),
    "stacked_did": lambda: ds.stacked_did(panel, "y", window=(-3, 3)),
    "dcdh": lambda: ds.dcdh(panel, "y", effects=4, placebos=3),
    "compare_estimators": lambda: ds.compare_estimators(panel, "y", window=(-5, 5)),
}
times = []
for _ in range(reps):
    start = time.perf_counter(); calls[name](); times.append(time.perf_counter() - start)
print(json.dumps({"times": times,
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PEER = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
name, tool, path, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
df = pd.read_csv(path)
kw = dict(outcome="y", unit="unit", time="year", first_treat="cohort")

def run():
    if tool == "diff-diff":
        import diff_diff as dd
        cls = {"imputation": (dd.ImputationDiD, {"aggregate": "event_study"}),
               "did2s": (dd.TwoStageDiD, {"aggregate": "event_study"}),
               "etwfe": (dd.WooldridgeDiD, {}),
               "sun_abraham": (dd.SunAbraham, {}),
               "stacked_did": (dd.StackedDiD, {"aggregate": "event_study"})}
        if name == "dcdh":
            return dd.ChaisemartinDHaultfoeuille().fit(df, outcome="y", group="unit",
                                                        time="year", treatment="D", L_max=4)
        est, extra = cls[name]
        opts = {"kappa_pre": 3, "kappa_post": 3} if name == "stacked_did" else {"cluster": "unit"}
        return est(**opts).fit(df, **kw, **extra)
    if tool == "pyfixest":
        import pyfixest as pf
        if name == "sun_abraham":
            return pf.event_study(df, yname="y", idname="unit", tname="year", gname="cohort",
                                  estimator="saturated", cluster="unit").aggregate()
        d = df.assign(rel=(df.year - df.cohort).where(df.cohort > 0, float("inf")))
        return pf.did2s(d, yname="y", first_stage="~0|unit+year",
                        second_stage="~i(rel,ref=-1.0)", treatment="D", cluster="unit")
    if tool == "did-imputation":
        from did_imputation import did_imputation
        return did_imputation(df.assign(Ei=df.cohort.where(df.cohort > 0)), y="y", i="unit",
                              t="year", Ei="Ei", minn=0)
    if tool == "did_multiplegt_dyn":
        import polars as pl
        from did_multiplegt_dyn import DidMultiplegtDyn
        m = DidMultiplegtDyn(pl.from_pandas(df), "y", "unit", "year", "D", effects=4, placebo=3)
        return m.fit()
    raise SystemExit(tool)

times = []
for _ in range(reps):
    start = time.perf_counter(); run(); times.append(time.perf_counter() - start)
print(json.dumps({"times": times,
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PEERS: dict[str, tuple[str, ...]] = {
    "imputation": ("diff-diff", "did-imputation"),
    "did2s": ("diff-diff", "pyfixest"),
    "etwfe": ("diff-diff",),
    "sun_abraham": ("diff-diff", "pyfixest"),
    "stacked_did": ("diff-diff",),
    "dcdh": ("diff-diff", "did_multiplegt_dyn"),
}


def _child(python: str, code: str, args: list[str], timeout: float) -> dict[str, object] | None:
    env = {**ENV, "PYTHONPATH": str(ROOT / "src")}
    try:
        out = subprocess.run(
            [python, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"  failed: {' '.join(args[:2])}: {str(exc)[:200]}", file=sys.stderr)
        return None
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, object]]) -> float:
    times = [min(r["times"]) for r in runs]  # type: ignore[type-var, arg-type]
    return float(statistics.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--peer-python", default="/work/peers/i12-robust/venv/bin/python")
    parser.add_argument("--memory-units", type=int, default=30000)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--peer-timeout", type=float, default=900.0)
    args = parser.parse_args()
    ours_py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "panel.csv")
        subprocess.run([ours_py, "-c", MAKE_DATA, str(args.units), data], check=True, env=ENV)
        print(
            f"## {args.units} units x 20 years, rounds {args.rounds}, load "
            f"{os.getloadavg()[0]:.1f}, BLAS threads 1"
        )
        print("| estimator | didstudy | fastest peer (same run) | ratio |")
        print("|---|---|---|---|")
        for name, peers in PEERS.items():
            if args.only and name not in args.only:
                continue
            ours: list[dict[str, object]] = []
            theirs: dict[str, list[dict[str, object]]] = {p: [] for p in peers}
            for _ in range(args.rounds):
                got = _child(ours_py, OURS, [name, data, str(args.reps)], 600)
                if got:
                    ours.append(got)
                for peer in peers:
                    res = _child(args.peer_python, PEER, [name, peer, data, "1"], args.peer_timeout)
                    if res:
                        theirs[peer].append(res)
            t_ours = _median(ours)
            timed = {p: _median(r) for p, r in theirs.items() if r}
            best = min(timed, key=lambda p: timed[p]) if timed else None
            peer_txt = ", ".join(f"{p} {t:.3f} s" for p, t in timed.items()) or "none ran"
            ratio = f"{timed[best] / t_ours:.1f}x" if best else "-"
            print(f"| {name} | {t_ours:.3f} s | {peer_txt} | {ratio} |", flush=True)
        got = _child(ours_py, OURS, ["compare_estimators", data, "3"], 600)
        if got:
            print(f"| compare_estimators (all, window -5..5) | {_median([got]):.3f} s | - | - |")
        if args.memory_units:
            big = str(Path(tmp) / "big.csv")
            subprocess.run(
                [ours_py, "-c", MAKE_DATA, str(args.memory_units), big], check=True, env=ENV
            )
            print(f"\n## memory at {args.memory_units} units x 20 years (peak RSS of the child)")
            for name in ("imputation", "did2s", "stacked_did"):
                res = _child(ours_py, OURS, [name, big, "1"], 1200)
                if res:
                    print(
                        f"- {name}: {_median([res]):.2f} s, peak RSS "
                        f"{float(res['maxrss_mib']):.0f} MiB",
                        flush=True,
                    )  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
