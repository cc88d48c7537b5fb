"""The demo's heterogeneity dimensions and groups have English labels (demo --lang en)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pydantic
import pytest

from didstudy.study.render import _labels, per_language
from didstudy.study.run import prepare, run_study
from didstudy.study.spec import StepSpec
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


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_english_demo_prints_no_chinese_in_tables_and_figure_captions(tmp_path: Path) -> None:
    """--lang en: step titles and arguments given per language ({ zh = ..., en = ... }) and
    labelled column names leave no Chinese in any English table or figure caption."""
    out = tmp_path / "en"
    run_study(DEMO, out, lang="en", overrides={"reps": 20}, formats=("md",))
    tables = sorted((out / "tables").glob("*.md"))
    assert len(tables) >= 9
    chinese = [p.name for p in tables if _has_cjk(p.read_text(encoding="utf-8"))]
    assert not chinese, f"Chinese text in English tables: {chinese}"
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", (out / "report.html").read_text())
    assert len(captions) >= 4 and not any(_has_cjk(c) for c in captions)
    assert "Rise of Central China" in (out / "tables" / "table5_robustness.md").read_text()


def test_titles_and_arguments_per_language() -> None:
    assert per_language({"zh": "缩尾", "en": "Winsorised"}, "en") == "Winsorised"
    assert per_language({"zh": "缩尾"}, "en") == "缩尾"  # falls back to the one given
    keep = {"municipalities": [110000]}
    assert per_language(keep, "en") is keep
    step = StepSpec(kind="twfe", name="a", title={"zh": "基准", "en": "Baseline"})
    assert (step.title_for("zh"), step.title_for("en")) == ("基准", "Baseline")
    with pytest.raises(pydantic.ValidationError, match="per language"):
        StepSpec(kind="twfe", name="a", title={"fr": "Base"})
