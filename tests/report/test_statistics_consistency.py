"""One number everywhere: every statistic a figure prints equals the table's and results.json's.

Each figure of the demo is rebuilt from the run's results; every number in its texts (titles,
annotations, legend entries; tick labels excluded) must be claimed by a statistic of
:mod:`didstudy.report.statistics` whose value in ``results.json``, printed with the statistic's
digits, is that number, and — when a table reports the statistic — the table's cell, in the row
named by the same label, is the same string. A number nobody claims fails the test.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

from didstudy.report.figures.bacon import bacon_figure
from didstudy.report.figures.event_study import event_study_figure
from didstudy.report.figures.placebo import placebo_figure
from didstudy.report.labels import text as label_text
from didstudy.report.statistics import STATISTICS, format_statistic, statistic_label
from tests.report._demo import demo_run

NUMBER = re.compile(r"(?<![\w.])[-−]?\d+\.\d+")


@dataclass(frozen=True)
class Claim:
    """Where a statistic printed in a figure lives: its text prefix, JSON path, table row."""

    key: str
    prefix: Callable[[str], str]
    json_path: tuple[str, ...]
    table: str | None = None
    row: Callable[[str], str] | None = None


FIGURES: dict[str, tuple[Callable[..., Any], str, tuple[Claim, ...]]] = {
    "placebo": (
        placebo_figure,
        "placebo",
        (
            Claim(
                "p_two_sided",
                lambda lang: statistic_label("p_two_sided", lang) + " = ",
                ("placebo", "result", "stats", "p_two_sided"),
                "placebo_summary",
                lambda lang: statistic_label("p_two_sided", lang),
            ),
            Claim(
                "estimate",
                lambda lang: statistic_label("estimate", lang) + " = ",
                ("placebo", "result", "estimate"),
                "placebo_summary",
                lambda lang: label_text("placebo_actual", lang),
            ),
        ),
    ),
    "event_study": (
        event_study_figure,
        "event_study",
        (
            Claim("pretrend_f", lambda lang: "F = ", ("event_study", "result", "pretrend", "f")),
            Claim(
                "pretrend_p_f", lambda lang: "p = ", ("event_study", "result", "pretrend", "p_f")
            ),
        ),
    ),
    "bacon": (
        bacon_figure,
        "bacon",
        (
            Claim(
                "twfe_estimate",
                lambda lang: statistic_label("twfe_estimate", lang) + " = ",
                ("bacon", "result", "estimate"),
                "table4_bacon",
                lambda lang: label_text("bacon_total", lang),
            ),
        ),
    ),
}
PARAMETER_TEXTS = re.compile(r"^p = 0\.1$")  # the placebo figure's threshold line: an input


def _texts(figure: Any) -> list[str]:
    figure.canvas.draw()
    ticks = {  # tick labels and offsets (the axes' own numbers); axis labels stay
        id(text)
        for ax in figure.axes
        for axis in (ax.xaxis, ax.yaxis)
        for text in axis.findobj(Text)
        if text is not axis.label
    }
    return [t.get_text() for t in figure.findobj(Text) if id(t) not in ticks and t.get_text()]


def _json(results: dict[str, Any], path: tuple[str, ...]) -> float:
    node: Any = results["steps"]
    for part in path:
        node = node[part]
    return float(node)


def _table_cell(outcome: Any, table: str, row: str) -> str:
    with (outcome.out / "tables" / f"{table}.csv").open(encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if r and r[0] == row]
    assert len(rows) == 1, f"{table}: {len(rows)} rows named {row!r}"
    return rows[0][1]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("figure_name", sorted(FIGURES))
def test_every_number_in_a_figure_is_the_tables_and_results_json(
    figure_name: str, lang: str
) -> None:
    outcome, results, objects = demo_run(lang)
    build, step, claims = FIGURES[figure_name]
    figure = build(objects[step], lang=lang)
    try:
        texts = _texts(figure)
    finally:
        plt.close(figure)
    claimed = 0
    for text in texts:
        numbers = NUMBER.findall(text)
        if not numbers or PARAMETER_TEXTS.match(text):
            continue
        for number in numbers:
            owners = [
                c for c in claims if re.search(re.escape(c.prefix(lang)) + re.escape(number), text)
            ]
            assert len(owners) == 1, f"{figure_name}: {number} in {text!r} is no known statistic"
            claim = owners[0]
            value = _json(results, claim.json_path)
            assert format_statistic(claim.key, value) == number, (claim.key, value, number)
            if claim.table is not None and claim.row is not None:
                cell = _table_cell(outcome, claim.table, claim.row(lang))
                assert cell == number, f"{claim.table}: {cell} vs figure {number}"
            claimed += 1
    assert claimed == len(claims), f"{figure_name}: {claimed} of {len(claims)} statistics printed"


def test_the_placebo_p_value_and_share_say_which_definition_they_are() -> None:
    """(k+1)/(R+1) and k/R differ; their labels say which, in both languages."""
    for lang in ("zh", "en"):
        assert "(k+1)/(R+1)" in statistic_label("p_two_sided", lang)
        assert "k/R" in statistic_label("share_beyond", lang)
        assert "k/R" in statistic_label("permutation_p_value", lang)
    assert len({s.en for s in STATISTICS.values()}) == len(STATISTICS)
    assert len({s.zh for s in STATISTICS.values()}) == len(STATISTICS)
    outcome, results, _ = demo_run("zh")
    stats = results["steps"]["placebo"]["result"]["stats"]
    k = round(stats["share_beyond"] * stats["n_valid"])
    assert stats["p_two_sided"] == pytest.approx((k + 1) / (stats["n_valid"] + 1), rel=1e-12)
    cell = _table_cell(outcome, "placebo_summary", statistic_label("share_beyond", "zh"))
    assert cell == format_statistic("share_beyond", stats["share_beyond"])


def test_heterogeneity_terms_are_one_name_in_table_and_note() -> None:
    """费舍尔组合检验 vs Fisher 置换检验: the table row and the note name the test alike."""
    outcome, _, _ = demo_run("zh")
    content = (outcome.out / "tables" / "table6_heterogeneity.md").read_text(encoding="utf-8")
    assert "费舍尔" not in content
    assert content.count("Fisher 置换检验") >= 2
