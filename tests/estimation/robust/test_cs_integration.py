"""callaway_santanna everywhere a result goes: tables, figure, study steps, results.json."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from didstudy.data.panel import Panel
from didstudy.estimation.robust import callaway_santanna
from didstudy.report.figures.group_time import cs_event_study_figure
from didstudy.report.tables.group_time import aggregation_table, group_time_table
from didstudy.report.tables.to_text import table_to_markdown as to_text

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    df = pd.read_csv(ROOT / "src" / "didstudy" / "data" / "datasets" / "mpdta.csv")
    panel = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    return callaway_santanna(panel, y="lemp", seed=1)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tables(result, lang: str) -> None:  # type: ignore[no-untyped-def]
    cells = group_time_table(result, lang=lang)
    assert len(cells.body) == 12
    assert "-0.0105" in to_text(cells) and "0.168" in " ".join(cells.notes)
    for kind in ("simple", "group", "calendar", "dynamic"):
        table = aggregation_table(result, kind, lang=lang)
        agg = result.aggregate(kind)
        assert len(table.body) == (1 if kind == "simple" else len(agg.labels) + 1)
        assert f"{agg.overall_estimate:.4f}" in to_text(table)
    assert "事件研究" in aggregation_table(result, "dynamic", lang="zh").caption


def test_figure_has_both_bands(result) -> None:  # type: ignore[no-untyped-def]
    fig = cs_event_study_figure(result, lang="en")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("uniform" in t for t in labels) and any("pointwise" in t for t in labels)
    assert len(ax.collections) >= 1  # the shaded sup-t band


def test_to_dict_is_json_with_cells_and_aggregations(result) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(json.dumps(result.to_dict()))
    assert len(out["cells"]) == 12 and out["inference"]["seed"] == 1
    dyn = out["aggregations"]["dynamic"]["estimates"]
    assert dyn[-1]["term"] == "overall"
    assert dyn[-1]["estimate"] == pytest.approx(-0.07724, abs=1e-5)


def test_mpdta_study_runs_the_cs_steps(tmp_path: Path) -> None:
    from didstudy.study.run import run_study

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_study(ROOT / "examples" / "mpdta.toml", out=tmp_path / "report")
    results = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    text = json.dumps(results)
    assert "group_time" in text and "ATT(2004,2006)" in text
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "table_cs_cells" in html and "figure_cs_event_study" in html
