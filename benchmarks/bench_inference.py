"""Benchmark: wild cluster bootstrap (didstudy vs pyfixest's ``wildboottest``) and HonestDiD.

Run: ``PYTHONPATH=src .venv/bin/python -m benchmarks.bench_inference`` (``--peer-python`` names
a Python with pyfixest + wildboottest, e.g. ``/work/peers/i13-infer/bin/python``; ``--rounds``).

Data: SIMULATED panels from ``simulate_staggered`` (N units × 20 years, about 10% treated in
three cohorts, 5 controls); ``y ~ treat + x1..x5 | unit + year``, CRV1 by unit. Each
measurement runs in its own subprocess (one BLAS thread for every side) so that its peak RSS is
its own; sides alternate over rounds and medians are reported.

* WCR, Rademacher weights, 9,999 draws, H0: treat = 0: didstudy ``wild_bootstrap`` (design
  re-built from the data, draws, p-value, interval by test inversion) vs pyfixest
  ``Feols.wildboottest(param="treat", reps=9999)`` (p-value only) at 274 × 20;
* didstudy at 3,000 × 20 and 30,000 × 20 (peak RSS; pyfixest's ``wildboottest`` builds
  N × B arrays, over 16 GB at 3,000 × 20 as measured for the issue, and is not run there);
* HonestDiD relative magnitudes (C-LF) over 10 values of M̄ on the published Medicaid event
  study (5 pre, 2 post periods), breakdown value included.
* ``--robust``: WCR of the post-period average of the robust estimators (imputation, did2s,
  Sun-Abraham, ETWFE; 5 controls; decision 0054) with 9,999 draws at 274 × 20 and 3,000 × 20.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CONTROLS = [f"x{k}" for k in range(1, 6)]
ROOT = Path(__file__).resolve().parents[1]


def panel(n_units: int) -> Any:
    """SIMULATED: ``n_units`` × 20 years, ~10% treated in three cohorts, 5 controls."""
    from didstudy.data.simulate import simulate_staggered

    treated = max(3, n_units // 10)
    third = treated // 3
    return simulate_staggered(
        n_units=n_units,
        periods=range(2003, 2023),
        cohorts={2010: third, 2012: third, 2014: treated - 2 * third},
        n_never=n_units - treated,
        n_controls=5,
        effect=0.02,
        seed=2024,
    )


def _didstudy(n_units: int) -> dict[str, Any]:
    from didstudy.data.panel import as_panel
    from didstudy.estimation.twfe import twfe
    from didstudy.inference.wild_bootstrap import wild_bootstrap

    df = as_panel(panel(n_units), unit="unit", time="time", treat="treat")
    res = twfe(df, "y", "treat", CONTROLS, fe=["unit", "time"], cluster="unit")
    start = time.perf_counter()
    wb = wild_bootstrap(res, df, "treat", reps=9999, seed=1)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "p_value": wb.p_value, "ci": [wb.conf_low, wb.conf_high]}


def _pyfixest(n_units: int) -> dict[str, Any]:
    import pyfixest as pf

    df = panel(n_units)
    fit = pf.feols("y ~ treat + x1 + x2 + x3 + x4 + x5 | unit + time", df, vcov={"CRV1": "unit"})
    start = time.perf_counter()
    out = fit.wildboottest(param="treat", reps=9999, seed=1)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "p_value": float(out["Pr(>|t|)"])}


def _honest() -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from didstudy.estimation.event_study import event_study
    from didstudy.inference.honest import honest_did

    df = pd.read_csv(ROOT / "tests/reference/honest/ehec_data.csv")
    df = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))]
    es = event_study(
        df, "dins", window=(-6, 1), unit="stfips", time="year", cohort="yexp2", ssc="stata"
    )
    start = time.perf_counter()
    res = honest_did(es, mbar=list(np.linspace(0.0, 2.0, 10)))
    return {"seconds": time.perf_counter() - start, "breakdown": res.breakdown}


def _robust(estimator: str, n_units: int) -> dict[str, Any]:
    from didstudy.data.panel import Panel
    from didstudy.estimation.robust import did2s, etwfe, imputation, sun_abraham
    from didstudy.inference.wild_bootstrap import wild_bootstrap

    df = panel(n_units)
    p = Panel(df.drop(columns=["treat"]), unit="unit", time="time", cohort="cohort")
    fits = {
        "imputation": lambda: imputation.imputation(p, "y", CONTROLS),
        "did2s": lambda: did2s.did2s(p, "y", CONTROLS, window=(-5, 5)),
        "sun_abraham": lambda: sun_abraham.sun_abraham(p, "y", CONTROLS, window=(-5, 5)),
        "etwfe": lambda: etwfe.etwfe(p, "y", CONTROLS[:1]),
    }
    res = fits[estimator]()
    start = time.perf_counter()
    wb = wild_bootstrap(res, p, "post_average", reps=9999, seed=1)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "p_value": wb.p_value, "ci": [wb.conf_low, wb.conf_high]}


def child(what: str, n_units: int) -> None:
    """Run one measurement and print JSON with the peak RSS."""
    sys.path.insert(0, str(ROOT / "src"))
    if what.startswith("robust:"):
        out = _robust(what.split(":", 1)[1], n_units)
    elif what == "didstudy":
        out = _didstudy(n_units)
    elif what == "pyfixest":
        out = _pyfixest(n_units)
    else:
        out = _honest()
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run(python: str, what: str, n_units: int) -> dict[str, Any]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
    command = [python, str(Path(__file__).resolve()), "--child", what, "--units", str(n_units)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child")
    parser.add_argument("--robust", action="store_true", help="the robust estimators only")
    parser.add_argument("--robust-units", type=int, nargs="+", default=[274, 3000])
    parser.add_argument("--units", type=int, default=274)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-python", default="/work/peers/i13-infer/bin/python")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.units)
        return
    print("load:", os.getloadavg())
    if args.robust:
        for n_units in args.robust_units:
            rounds = args.rounds if n_units < 1000 else 1
            for est in ("imputation", "did2s", "sun_abraham", "etwfe"):
                runs = [run(sys.executable, f"robust:{est}", n_units) for _ in range(rounds)]
                ok = [r["seconds"] for r in runs if "seconds" in r]
                print(n_units, est, statistics.median(ok) if ok else None, json.dumps(runs[-1]))
        return
    small: dict[str, list[dict[str, Any]]] = {"didstudy": [], "pyfixest": [], "honest": []}
    for _ in range(args.rounds):  # alternate the sides
        small["didstudy"].append(run(sys.executable, "didstudy", 274))
        small["pyfixest"].append(run(args.peer_python, "pyfixest", 274))
        small["honest"].append(run(sys.executable, "honest", 0))
    summary = {}
    for side, rows in small.items():
        ok = [r for r in rows if "seconds" in r]
        summary[side] = {
            "median_seconds": statistics.median(r["seconds"] for r in ok) if ok else None,
            "peak_rss_mib": max((r["peak_rss_mib"] for r in ok), default=None),
            "runs": rows,
        }
    print(json.dumps(summary, indent=1, default=str))
    for n_units in (3000, 30000):
        print(n_units, "didstudy", json.dumps(run(sys.executable, "didstudy", n_units)))
    # pyfixest's wildboottest is not run at 3,000 x 20 on the shared machine: the issue measured
    # over 16 GB there (N x B arrays), which would starve the other processes


if __name__ == "__main__":
    main()
