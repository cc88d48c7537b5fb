"""One run of the bundled demo study per test session (zh and en), shared by the output tests.

The run uses the demo's own seed and settings except the placebo/permutation repetitions, which
are cut to keep the suite fast (statistics are compared between outputs of the same run, so the
number of draws does not matter).
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import didstudy.study.render as render_module
from didstudy.study.run import StudyOutcome, run_study
from tests.study.test_run import DEMO

DEMO_REPS = 99  # draws of the placebo and permutation steps in the shared run


TABLES: dict[str, list[Any]] = {}  # lang -> the Table objects the demo run wrote


@functools.cache
def demo_run(lang: str = "zh") -> tuple[StudyOutcome, dict[str, Any], dict[str, Any]]:
    """``(outcome, results.json, result objects by step)`` of the demo in ``lang``; the
    tables it wrote are in :data:`TABLES`."""
    out = Path(tempfile.mkdtemp(prefix=f"didstudy-demo-{lang}-")) / "report"
    seen: dict[str, Any] = {}
    tables = TABLES.setdefault(lang, [])
    original = render_module.render_report
    write_table = render_module.write_table_files

    def spy(context: Any, *args: Any, **kwargs: Any) -> Any:
        seen.update(context.results)
        return original(context, *args, **kwargs)

    def spy_table(table: Any, *args: Any, **kwargs: Any) -> Any:
        tables.append(table)
        return write_table(table, *args, **kwargs)

    with (
        mock.patch.object(render_module, "render_report", spy),
        mock.patch.object(render_module, "write_table_files", spy_table),
    ):
        outcome = run_study(
            DEMO,
            out,
            lang=lang,
            overrides={"reps": DEMO_REPS},
            formats=("md", "csv", "tex", "docx"),
            cache=False,
        )
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return outcome, results, seen
