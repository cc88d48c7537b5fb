"""The demo's heterogeneity dimensions and groups have English labels (demo --lang en)."""

from __future__ import annotations

from types import SimpleNamespace

from didstudy.study.render import _labels
from didstudy.study.run import prepare
from tests.study.test_run import DEMO


def test_heterogeneity_dimensions_and_groups_are_labelled_in_both_languages() -> None:
    plan, context = prepare(DEMO)
    step = next(s for s in plan.steps if s.kind.kind == "heterogeneity")
    by = dict(step.arguments["by"])
    frame = context.frame
    names = set(by)
    for column in by.values():
        names |= {str(v) for v in frame[column].dropna().unique()}
    assert len(names) == 4 + 8
    fake = SimpleNamespace(loaded=context.loaded)
    english = _labels(fake, "en")  # type: ignore[arg-type]
    chinese = _labels(fake, "zh")  # type: ignore[arg-type]
    missing = sorted(n for n in names if n not in english)
    assert not missing, f"no label_en for {missing}"
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in english[n]) for n in names)
    assert all(chinese[n] == n for n in names)
