"""Event-study, placebo and Bacon figures: render, count artists, Chinese labels."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.data.simulate import simulate_staggered
from didstudy.estimation.bacon import bacon
from didstudy.estimation.event_study import event_study
from didstudy.inference.placebo import placebo
from didstudy.report.figures._style import find_cjk_font
from didstudy.report.figures.bacon import bacon_figure
from didstudy.report.figures.event_study import event_study_figure
from didstudy.report.figures.placebo import placebo_figure
from didstudy.report.figures.save import figure_bytes, save_figure

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return pd.DataFrame(
        simulate_staggered(
            n_units=60,
            periods=range(2001, 2013),
            cohorts={2004: 8, 2007: 8, 2010: 8},
            n_never=36,
            n_controls=2,
            effect=0.3,
            seed=8,
        )
    )


@pytest.fixture(scope="module")
def results(sim: pd.DataFrame) -> dict[str, object]:
    castle = pd.read_csv(ROOT / "src/didstudy/data/datasets/castle.csv")
    return {
        "event": event_study(
            sim, "y", ["x1"], window=(-4, 4), unit="unit", time="time", cohort="cohort"
        ),
        "placebo": placebo(sim, "y", "treat", ["x1"], reps=80, seed=1, unit="unit", time="time"),
        "bacon": bacon(castle, "l_homicide", "post", unit="state", time="year"),
        "bacon_x": bacon(castle, "l_homicide", "post", ["l_pop"], unit="state", time="year"),
    }


def _texts(fig: object) -> str:
    out = []
    for ax in fig.axes:  # type: ignore[attr-defined]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return " ".join(out)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figures_render_with_expected_artists(
    results: dict[str, object], lang: str, tmp_path: Path
) -> None:
    if lang == "zh" and find_cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    event = results["event"]
    fig = event_study_figure(event, lang=lang)  # type: ignore[arg-type]
    ax = fig.axes[0]
    bars = ax.containers[0]
    n_coef = len(event.rel_time)  # type: ignore[attr-defined]
    assert len(bars.lines[0].get_xdata()) == n_coef
    np.testing.assert_allclose(bars.lines[0].get_ydata(), event.coef[:n_coef])  # type: ignore[attr-defined]
    assert any(line.get_xdata()[0] == -0.5 for line in ax.lines if len(line.get_xdata()) == 2)

    pl = results["placebo"]
    fig2 = placebo_figure(pl, lang=lang)  # type: ignore[arg-type]
    left, right = fig2.axes
    assert len(right.collections[0].get_offsets()) == pl.n_valid  # type: ignore[attr-defined]
    assert len(left.patches) >= 5  # histogram bars
    kde = [line for line in left.lines if len(line.get_xdata()) == 400]
    assert len(kde) == 1
    # the KDE integrates to ~1 over a range covering the draws
    x, y = kde[0].get_xdata(), kde[0].get_ydata()
    assert 0.9 < float(np.trapezoid(y, x)) <= 1.0

    bc = results["bacon"]
    fig3 = bacon_figure(bc, lang=lang)  # type: ignore[arg-type]
    points = sum(len(c.get_offsets()) for c in fig3.axes[0].collections)
    assert points == 25
    fig4 = bacon_figure(results["bacon_x"], lang=lang)  # type: ignore[arg-type]

    for f in (fig, fig2, fig3, fig4):
        png = figure_bytes(f, "png", dpi=50)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        text = _texts(f)
        assert bool(HAN.search(text)) == (lang == "zh"), text
    written = save_figure(fig, tmp_path / "event_study")
    assert [p.suffix for p in written] == [".png", ".svg"] and all(
        p.stat().st_size for p in written
    )


def test_label_overrides_and_options(results: dict[str, object]) -> None:
    fig = event_study_figure(
        results["event"],  # type: ignore[arg-type]
        labels={"title": "Figure 1", "xlabel": "Event time"},
        vline="base",
        show_pretrend=False,
    )
    ax = fig.axes[0]
    assert ax.get_title() == "Figure 1" and ax.get_xlabel() == "Event time"
    assert any(line.get_xdata()[0] == -1 for line in ax.lines if len(line.get_xdata()) == 2)
    assert not ax.texts
    assert ax.get_xticklabels()[0].get_text() == "≤-4"
    fig2 = placebo_figure(results["placebo"], show_pvalues=False, title="Placebo")  # type: ignore[arg-type]
    assert len(fig2.axes) == 1 and fig2.axes[0].get_title() == "Placebo"


def test_chinese_falls_back_without_font(
    results: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import didstudy.report.figures._style as style

    monkeypatch.setattr(style, "find_cjk_font", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = event_study_figure(results["event"], lang="zh")  # type: ignore[arg-type]
    assert not HAN.search(_texts(fig))
    assert any("Chinese" in str(w.message) or "CJK" in str(w.message) for w in caught)
