"""Notebook friendliness: results and tables render as (escaped) HTML; a study built in Python is
the study file, and runs to a byte-identical results.json."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import didstudy as ds
from didstudy.errors import SpecError
from didstudy.report.tables import regression_table
from didstudy.results.protocol import HtmlRepr


@pytest.fixture(scope="module")
def panel() -> ds.Panel:
    frame = ds.load_dataset("castle").rename(columns={"l_police": "<b>police</b>"})
    return ds.Panel(frame, unit="state", time="year", treat="post", cluster="state")


def test_results_render_as_escaped_html(panel: ds.Panel) -> None:
    results = [
        ds.twfe(panel, y="l_homicide", treat="post", controls=["<b>police</b>"]),
        ds.stepwise(panel, y="l_homicide", treat="post", controls=["<b>police</b>", "poverty"]),
        ds.event_study(panel, y="l_homicide", window=(-3, 3)),
        ds.placebo(panel, y="l_homicide", treat="post", reps=20, seed=1),
        ds.bacon(panel, y="l_homicide", treat="post"),
    ]
    for result in results:
        assert isinstance(result, HtmlRepr)
        html = result._repr_html_()
        assert html.startswith("<div>") and "<table" in html
        assert "<b>police</b>" not in html
        for term in result.tidy()["term"].astype(str):
            assert term.replace("<", "&lt;").replace(">", "&gt;") in html
    assert "&lt;b&gt;police&lt;/b&gt;" in results[0]._repr_html_()
    assert "nobs" in results[0]._repr_html_() and "(2)" in results[1]._repr_html_()


def test_tables_render_as_html(panel: ds.Panel) -> None:
    table = regression_table([ds.twfe(panel, y="l_homicide", treat="post")], caption="A < B")
    html = table._repr_html_()
    assert "<table" in html and "A &lt; B" in html and "<style>" in html


def _built(tmp_path: Path) -> ds.Study:
    data = tmp_path / "castle.csv"
    ds.load_dataset("castle").to_csv(data, index=False)
    return (
        ds.Study.new("Castle from Python", seed=7, formats=["md", "csv"])
        .with_data("castle", path="castle.csv")
        .with_panel("castle", unit="state", time="year", treat="post", cluster="state")
        .with_labels("l_homicide", label_en="log homicide rate", label_zh="凶杀率（对数）")
        .with_sample(years=[2000, 2010], where=["population > 0"])
        .add_step("twfe", "baseline", y="l_homicide", treat="post", title="TWFE")
        .add_step("placebo", "placebo", y="l_homicide", treat="post", reps=30)
        .add_step("regression_table", "table", columns=["baseline"], args={"kind": "baseline"})
    )


def test_python_study_equals_its_toml(tmp_path: Path) -> None:
    study = ds.Study(_built(tmp_path).content, tmp_path)
    path = study.write(tmp_path / "study.toml")
    assert ds.Study.from_toml(path).content == tomllib.loads(path.read_text(encoding="utf-8"))
    assert ds.Study.from_toml(path).content == study.content
    assert [s.name for s in study.validate().steps] == ["baseline", "placebo", "table"]
    from_python = study.run(tmp_path / "a")
    from_file = ds.run_study(path, tmp_path / "b")
    a = (tmp_path / "a" / "results.json").read_bytes()
    assert a == (tmp_path / "b" / "results.json").read_bytes()
    assert from_python.results["steps"]["baseline"] == from_file.results["steps"]["baseline"]
    assert "[[steps]]" in study._repr_html_()
    assert study.without_step("placebo").content["steps"][-1]["name"] == "table"


def test_python_study_errors_name_the_key(tmp_path: Path) -> None:
    study = _built(tmp_path).add_step("twfe", "typo", y="l_homicide", treet="post")
    with pytest.raises(SpecError, match="unknown argument 'treet'") as caught:
        ds.Study(study.content, tmp_path).validate()
    assert "line" in str(caught.value) and "did you mean 'treat'" in str(caught.value)


def test_study_is_immutable(tmp_path: Path) -> None:
    base = _built(tmp_path)
    grown = base.add_step("bacon", "bacon", y="l_homicide", treat="post")
    assert len(base.content["steps"]) == 3 and len(grown.content["steps"]) == 4
    relabelled = base.with_labels("l_homicide", label_en="other")
    assert base.content["variables"]["l_homicide"]["label_en"] == "log homicide rate"
    assert relabelled.content["variables"]["l_homicide"]["label_en"] == "other"
