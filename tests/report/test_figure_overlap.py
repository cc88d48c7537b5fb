"""No text overlaps another text or a data artist in any figure of the demo (bounding boxes),
figure sizes stay within journal limits, and the checker itself finds planted overlaps."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from didstudy.report.figures.bacon import bacon_figure
from didstudy.report.figures.dagum import dagum_figure
from didstudy.report.figures.event_study import event_study_figure
from didstudy.report.figures.overlap import collisions, place_clear
from didstudy.report.figures.placebo import placebo_figure
from didstudy.report.outputs import mark_simulated as _mark_simulated
from tests.report._demo import demo_run

MAX_WIDTH_IN = 7.5  # double-column width of Elsevier/Springer/AEA journals (190 mm)
MAX_HEIGHT_IN = 9.5  # full page depth less the caption

BUILDERS = {
    "event_study": (event_study_figure, "event_study"),
    "placebo": (placebo_figure, "placebo"),
    "bacon": (bacon_figure, "bacon"),
    "dagum": (dagum_figure, "dagum"),
}


def _build(name: str, lang: str) -> Any:
    _, _, objects = demo_run(lang)
    build, step = BUILDERS[name]
    figure = build(objects[step], lang=lang)
    _mark_simulated(figure, lang)
    return figure


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_text_overlaps_text_or_data(name: str, lang: str) -> None:
    figure = _build(name, lang)
    try:
        assert collisions(figure) == []
        width, height = figure.get_size_inches()
        assert width <= MAX_WIDTH_IN and height <= MAX_HEIGHT_IN
    finally:
        plt.close(figure)


def test_the_checker_finds_planted_overlaps_and_place_clear_removes_them() -> None:
    figure = Figure(figsize=(4, 3))
    ax = figure.subplots()
    ax.plot([0, 1], [0.97, 0.97], label="flat line at the top")
    ax.errorbar([0.5], [0.5], yerr=[0.4], fmt="o")
    note = ax.text(0.02, 0.97, "annotation", transform=ax.transAxes, va="top")
    ax.legend(loc="center")
    found = collisions(figure)
    assert any("annotation" in f and "line" in f for f in found)
    assert any(f.startswith("legend overlaps") for f in found)
    place_clear(figure)
    assert [f for f in collisions(figure) if "annotation" in f or "legend" in f] == []
    assert note.get_position() != (0.02, 0.97) or ax.get_ylim()[1] > 1.0
    two = Figure()
    two.text(0.5, 0.5, "first")
    two.text(0.5, 0.5, "second")
    assert any("first" in f and "second" in f for f in collisions(two))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_treatment_timing_figure_collapses_never_treated_and_fits(lang: str) -> None:
    from didstudy.data.reference_study import build_reference_study
    from didstudy.report.figures.timing import cohort_timing, treatment_timing_figure

    frame = build_reference_study().cities
    shares, sizes = cohort_timing(frame, "code", "year", "policy")
    n_cohorts = frame.loc[frame["cohort"] > 0, "cohort"].nunique()
    assert len(shares) == n_cohorts + 1 and np.isinf(shares.index[-1])
    assert int(sizes.sum()) == frame["code"].nunique()
    figure = treatment_timing_figure(frame, "code", "year", "policy", lang=lang, title="")
    _mark_simulated(figure, lang)
    try:
        assert collisions(figure) == []
        width, height = figure.get_size_inches()
        assert width <= MAX_WIDTH_IN and height <= 4.0  # 6 rows, not 276
        heat = figure.axes[0]
        assert len(heat.get_yticklabels()) == n_cohorts + 1
        assert figure._suptitle is None
    finally:
        plt.close(figure)


def test_the_demo_draws_the_timing_figure() -> None:
    outcome, _, _ = demo_run("zh")
    assert (outcome.out / "figures" / "figure_timing.png").is_file()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_without_a_cjk_font_no_figure_text_is_chinese(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No boxes, ever: the English fallback covers every text element, the mark included."""
    import warnings

    from matplotlib.text import Text

    from didstudy.report.figures import _style
    from didstudy.report.figures._style import has_cjk

    _, _, objects = demo_run("zh")
    monkeypatch.setattr(_style, "find_cjk_font", lambda: None)
    build, step = BUILDERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure = build(objects[step], lang="zh")
    _mark_simulated(figure, "zh")
    try:
        figure.canvas.draw() if hasattr(figure.canvas, "get_renderer") else None
        texts = [t.get_text() for t in figure.findobj(Text) if t.get_text()]
        assert texts and not [t for t in texts if has_cjk(t)]
    finally:
        plt.close(figure)


@pytest.mark.parametrize("ci", ["bars", "band"])
def test_several_specifications_overlaid_and_dodged(ci: str) -> None:
    from didstudy.report.figures.event_study_overlay import (
        dodged_positions,
        event_study_overlay_figure,
    )

    _, _, objects = demo_run("en")
    result = objects["event_study"]
    figure = event_study_overlay_figure(
        {"TWFE": result, "TWFE (again)": result}, lang="en", ci=ci, title=""
    )
    try:
        ax = figure.axes[0]
        assert collisions(figure) == []
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["TWFE", "TWFE (again)"]
        if ci == "bars":
            first, second = dodged_positions(figure)
            assert np.all(second - first > 0.1)  # dodged: the intervals never coincide
        else:
            assert len(ax.collections) == 2  # one band per specification
        assert ax.get_title() == ""
    finally:
        plt.close(figure)
