"""Cold start: a fresh process imports the library, reads a csv and fits one TWFE.

Run::

    .venv/bin/python -m benchmarks.bench_cold_start                 # 9 rounds
    .venv/bin/python -m benchmarks.bench_cold_start --before DIR    # also a checkout's src/

Each round starts one fresh interpreter per tool, in alternating order (the machine is shared
and its load drifts), and times the whole child from the parent: interpreter start, ``import``,
``read_csv`` of a SIMULATED 274 x 20 panel (``unit, year, d, y``; seed 1) and one fit of
``y ~ d | unit + year`` clustered by unit, then ``tidy()`` (p-values and intervals). Medians over
the rounds are reported, with the minimum. Tools: didstudy (this tree), optionally didstudy from
another ``src`` directory (``--before``), and pyfixest ``feols`` (``pf.feols(...).tidy()``).
BLAS threads are left at their default; ``uptime`` is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = {
    "didstudy": (
        "import didstudy as ds\n"
        "df = ds.read_table({path!r})\n"
        # a DataFrame names its roles since the estimator core (decision 0020); the "before"
        # checkout predates as_panel and takes fe= alone
        "kw = {{'unit': 'unit', 'time': 'year'}} if hasattr(ds, 'as_panel') else {{}}\n"
        "ds.twfe(df, 'y', 'd', fe=['unit', 'year'], cluster='unit', **kw).tidy()\n"
    ),
    "pyfixest": (
        "import pandas as pd\nimport pyfixest as pf\n"
        "df = pd.read_csv({path!r})\n"
        "pf.feols('y ~ d | unit + year', data=df, vcov={{'CRV1': 'unit'}}).tidy()\n"
    ),
}


def write_panel(path: Path, units: int = 274, periods: int = 20) -> None:
    """A SIMULATED staggered panel with a known effect of 0.5 (seed 1)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    unit = np.repeat(np.arange(units), periods)
    year = np.tile(np.arange(2000, 2000 + periods), units)
    cohort = rng.integers(2005, 2030, units)
    d = (year >= cohort[unit]).astype(float)
    y = 0.5 * d + rng.normal(size=units)[unit] + rng.normal(size=unit.size)
    pd.DataFrame({"unit": unit, "year": year, "d": d, "y": y}).to_csv(path, index=False)


def run_child(code: str, src: Path | None) -> float:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--before", type=Path, help="another checkout: its src/ is timed too")
    parser.add_argument("--no-pyfixest", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.csv"
        write_panel(path)
        tools: list[tuple[str, str, Path | None]] = [
            ("didstudy", CHILD["didstudy"].format(path=str(path)), ROOT / "src")
        ]
        if args.before is not None:
            tools.append(
                ("didstudy (before)", CHILD["didstudy"].format(path=str(path)), args.before / "src")
            )
        if not args.no_pyfixest:
            tools.append(("pyfixest", CHILD["pyfixest"].format(path=str(path)), None))
        for _, code, src in tools:  # warm the file cache and any byte-code compilation
            run_child(code, src)
        times: dict[str, list[float]] = {name: [] for name, _, _ in tools}
        for r in range(args.rounds):
            order = tools if r % 2 == 0 else tools[::-1]
            for name, code, src in order:
                times[name].append(run_child(code, src))
    print(f"uptime: {os.getloadavg()}  rounds: {args.rounds}")
    base = statistics.median(times["didstudy"])
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"{name:20s} median {med:.3f} s  min {min(values):.3f} s  "
            f"ratio to didstudy {med / base:.2f}"
        )


if __name__ == "__main__":
    main()
