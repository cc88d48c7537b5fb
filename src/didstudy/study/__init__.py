"""didstudy.study: the declarative study file (TOML), its plan and its runner.

``run_study(path, out)`` validates the file, loads and samples the data, runs every step (cached
by content hash) and writes the report atomically; ``load_spec`` / ``make_plan`` validate without
running (``didstudy validate``). See docs/decisions/0006-study-spec.md.
"""

from __future__ import annotations

from didstudy.study.plan import Plan, PlannedStep, make_plan
from didstudy.study.run import ProgressEvent, StudyOutcome, prepare, run_study
from didstudy.study.spec import StudySpec, load_spec, parse_spec, spec_json_schema

__all__ = [
    "Plan",
    "PlannedStep",
    "ProgressEvent",
    "StudyOutcome",
    "StudySpec",
    "load_spec",
    "make_plan",
    "parse_spec",
    "prepare",
    "run_study",
    "spec_json_schema",
]
