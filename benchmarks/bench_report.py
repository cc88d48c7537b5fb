"""Report benchmark: publication tables from fitted models, didstudy vs pyfixest ``etable``.

Run::

    .venv/bin/python -m benchmarks.bench_report

Data are SIMULATED (``simulate_staggered``, seed 2024): 274 units × 20 years, 5 controls. Six
columns as in the reference study's Table 3 (the controls added one at a time), fitted once by
each tool; only the table rendering is timed (best of ``REPEAT`` warm runs; tracemalloc peak of
one run). pyfixest 0.60 ``etable`` renders its own models (``type="tex"``, ``"md"``); didstudy
builds one :class:`Table` and renders it to every format.
"""

from __future__ import annotations

import contextlib
import io
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

REPEAT = 7
CONTROLS = ["x1", "x2", "x3", "x4", "x5"]


def _best(fn: Callable[[], Any]) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak / 2**20


def main() -> None:
    import pyfixest as pf

    import didstudy as ds
    from didstudy.data.simulate import simulate_staggered
    from didstudy.report.html import ReportSection, render_html_report
    from didstudy.report.tables import regression_table, render_table

    df = simulate_staggered(
        n_units=274, periods=range(2003, 2023), cohorts={2010: 10, 2012: 10, 2014: 8},
        n_controls=5, seed=2024,
    )  # fmt: skip
    specs = [CONTROLS[:k] for k in range(0, 6)]
    ours = [
        (f"({i + 1})", ds.twfe(df, y="y", treat="treat", controls=c, fe=["unit", "time"],
                               cluster="unit", unit="unit", time="time"))
        for i, c in enumerate(specs)
    ]  # fmt: skip
    theirs = [
        pf.feols(
            "y ~ treat" + "".join(f" + {x}" for x in c) + " | unit + time",
            data=df,
            vcov={"CRV1": "unit"},
        )
        for c in specs
    ]

    def table() -> Any:
        return regression_table(ours, kind="baseline", number=3, dep_var="y")

    rows: list[tuple[str, float, float]] = []
    for fmt in ("tex", "md", "html", "csv", "docx", "xlsx"):
        seconds, peak = _best(lambda fmt=fmt: render_table(table(), fmt))  # type: ignore[misc]
        rows.append((f"didstudy build + {fmt}", seconds, peak))
    seconds, peak = _best(
        lambda: render_html_report([ReportSection("Results", items=(table(),))], {"title": "t"})
    )
    rows.append(("didstudy report.html (1 table)", seconds, peak))
    for fmt in ("tex", "md"):
        with contextlib.redirect_stdout(io.StringIO()):  # etable(type="md") prints the table
            seconds, peak = _best(lambda fmt=fmt: pf.etable(theirs, type=fmt))  # type: ignore[misc]
        rows.append((f"pyfixest etable {fmt}", seconds, peak))

    times = dict((name, s) for name, s, _ in rows)
    print(f"{'task':<36}{'best (ms)':>12}{'peak (MiB)':>12}")
    for name, seconds, peak in rows:
        print(f"{name:<36}{1000 * seconds:>12.2f}{peak:>12.2f}")
    for fmt in ("tex", "md"):
        ratio = times[f"pyfixest etable {fmt}"] / times[f"didstudy build + {fmt}"]
        print(f"ratio pyfixest/didstudy ({fmt}): {ratio:.1f}")


if __name__ == "__main__":
    main()
