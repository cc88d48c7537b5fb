"""Benchmark: ``didstudy demo`` end to end (500 placebo draws) and its regressions vs pyfixest.

Run: ``.venv/bin/python -m benchmarks.bench_study``

1. The demo in a fresh subprocess (``--no-cache``): wall time, child CPU time and peak RSS, and
   the time per step from ``manifest.json``; then a rerun into the same directory that reuses
   the cache (timed in-process after a first in-process run).
2. The demo's regressions (Table 3's six stepwise columns, the anticipation and four
   concurrent-policy columns of Table 5) with didstudy's ``twfe`` and with pyfixest ``feols`` in
   the same process, on the demo's own INDG panel; the coefficients are compared.

The data are SIMULATED (see didstudy/data/reference_study.py).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3


def _run_demo(out: Path, *extra: str) -> tuple[float, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "didstudy", "demo", "--out", str(out), *extra],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def _rerun_in_process(out: Path) -> tuple[float, float, str]:
    """Two runs in one process (the code version is fixed within a process, while the shared
    working tree changes between processes); the second one is timed."""
    from tests.study.test_run import DEMO

    from didstudy.study.run import run_study

    run_study(DEMO, out)
    started, cpu = time.perf_counter(), time.process_time()
    outcome = run_study(DEMO, out)
    cached = sum(r.status == "cached" for r in outcome.records)
    return (
        time.perf_counter() - started,
        time.process_time() - cpu,
        f"{cached}/{len(outcome.records)} steps cached",
    )


def _regressions() -> list[tuple[str, float, float, float]]:
    import pyfixest as pf
    from tests.study.test_run import DEMO

    import didstudy as ds
    from didstudy.data.panel import Panel
    from didstudy.study.run import prepare

    _, context = prepare(DEMO)
    groups = ds.dagum_panel(
        context.sources["counties"].frame, value="light", group="city_code", time="year"
    ).groups
    frame = context.frame.merge(
        groups[["group", "time", "gini"]].rename(
            columns={"group": "code", "time": "year", "gini": "indg"}
        ),
        on=["code", "year"],
    )
    controls = ["ln_trans", "ln_gdp", "saver", "edu", "country"]
    first = frame.loc[frame["policy"] == 1].groupby("code")["year"].min()
    frame["pre1"] = (frame["year"] == frame["code"].map(first) - 1).astype(int)
    specs = [controls[:k] for k in range(6)]
    specs += [[*controls, "pre1"]]
    specs += [[*controls, p] for p in ("central_rise", "jingjinji", "yangtze_belt", "greater_bay")]
    panel = Panel(frame, unit="code", time="year", treat="policy", cluster="code")

    def ours() -> list[float]:
        return [
            float(ds.twfe(panel, y="indg", treat="policy", controls=c).coef["policy"])
            for c in specs
        ]

    def theirs() -> list[float]:
        out = []
        for c in specs:
            rhs = " + ".join(["policy", *c])
            fit = pf.feols(f"indg ~ {rhs} | code + year", data=frame, vcov={"CRV1": "code"})
            out.append(float(fit.coef()["policy"]))
        return out

    rows = []
    ours()
    theirs()  # warm-up: imports and numba compilation
    for name, function in (("didstudy twfe", ours), ("pyfixest feols", theirs)):
        best = float("inf")
        for _ in range(REPEATS):
            started = time.perf_counter()
            coefs = function()
            best = min(best, time.perf_counter() - started)
        rows.append((name, best, coefs[0], coefs[-1]))
    return rows


def main() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        wall, cpu, rss = _run_demo(out, "--no-cache")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        warm_wall, warm_cpu, hits = _rerun_in_process(out)
        print(f"demo cold: wall {wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss:.0f} MiB")
        print(f"demo rerun (cache, {hits}): wall {warm_wall:.2f} s, CPU {warm_cpu:.2f} s")
        print(f"runner total (manifest): {manifest['seconds_total']:.2f} s")
        print("| step | kind | seconds |\n|---|---|---|")
        for step in manifest["steps"]:
            print(f"| {step['name']} | {step['kind']} | {step['seconds']:.3f} |")
    rows = _regressions()
    base = rows[0][1]
    print("| 11 regressions of Tables 3 and 5 | seconds (best of 3) | ratio | policy (1) | (11) |")
    print("|---|---|---|---|---|")
    for name, seconds, first, last in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / base:.1f} | {first:.10f} | {last:.10f} |")
    uptime = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"load average: {' '.join(uptime)}")


if __name__ == "__main__":
    main()
