"""Data layer benchmark: read_table and Panel against plain pandas and linearmodels.

Run: ``.venv/bin/python -m benchmarks.bench_data [--units N]``. Data are SIMULATED
(``simulate_staggered``), written to a temporary directory as UTF-8 and GBK CSV and Parquet.
Prints seconds (best of 3) and tracemalloc peak memory for didstudy and the rival in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from didstudy.data.io import read_table
from didstudy.data.panel import Panel
from didstudy.data.simulate import simulate_staggered

REPEATS = 3


def _measure(fn: Callable[[], Any]) -> tuple[float, float]:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=10_000)
    args = parser.parse_args()
    df = simulate_staggered(
        n_units=args.units,
        periods=range(2003, 2023),
        cohorts={2008: args.units // 8, 2012: args.units // 8, 2016: args.units // 8},
        n_controls=3,
        seed=0,
    )
    df["city"] = "城市" + df["unit"].astype(str)
    rows: list[tuple[str, float, float, str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        utf8, gbk, parquet = Path(tmp, "u.csv"), Path(tmp, "g.csv"), Path(tmp, "p.parquet")
        df.to_csv(utf8, index=False, encoding="utf-8")
        df.to_csv(gbk, index=False, encoding="gbk")
        df.to_parquet(parquet, index=False)
        for label, path, rival, enc in [
            ("read_table UTF-8 csv (detect)", utf8, "pandas.read_csv", "utf-8"),
            ("read_table GBK csv (detect: utf-8 fails, gbk)", gbk, "pandas.read_csv", "gbk"),
            ("read_table parquet", parquet, "pandas.read_parquet", None),
        ]:
            ours = _measure(lambda path=path: read_table(path))
            if enc is None:
                theirs = _measure(lambda path=path: pd.read_parquet(path))
            else:
                theirs = _measure(lambda path=path, enc=enc: pd.read_csv(path, encoding=enc))
            rows.append((label, *ours, rival, *theirs))

    def build() -> Panel:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Panel(df.drop(columns="city"), unit="unit", time="time", cohort="cohort")

    rows.append(("Panel(cohort=) with all checks", *_measure(build), "", 0.0, 0.0))
    try:
        from linearmodels.panel.data import PanelData

        numeric = df.drop(columns="city").set_index(["unit", "time"])
        rival = _measure(lambda: PanelData(numeric))
        label, t, m, *_ = rows[-1]
        rows[-1] = (label, t, m, "linearmodels PanelData", *rival)
    except ImportError:
        pass

    print(f"SIMULATED panel: {args.units} units x 20 periods = {len(df)} rows")
    print(
        f"{'task':52s} {'didstudy s':>10s} {'MiB':>7s}  {'rival':24s} {'s':>7s} {'MiB':>7s} ratio"
    )
    for label, t, m, rival_name, rt, rm in rows:
        ratio = f"{t / rt:.2f}x" if rt else "-"
        print(f"{label:52s} {t:10.3f} {m:7.1f}  {rival_name:24s} {rt:7.3f} {rm:7.1f} {ratio}")


if __name__ == "__main__":
    main()
