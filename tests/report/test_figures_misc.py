"""Dagum decomposition and treatment roll-out figures: the data drawn are the data given."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from didstudy.errors import DataError
from didstudy.report.figures import _style
from didstudy.report.figures.dagum import _shares_percent, dagum_figure
from didstudy.report.figures.rollout import rollout_figure, rollout_matrix
from didstudy.report.figures.save import figure_bytes, save_figure

# Shares are computed in floating point and rescaled by 100.
SHARE_TOL = 1e-9


def _components(shares: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    time = np.arange(2005, 2013)
    gw = 0.04 + 0.01 * rng.random(time.size)
    gnb = 0.20 + 0.02 * rng.random(time.size)
    gt = 0.05 + 0.01 * rng.random(time.size)
    g = gw + gnb + gt
    frame = pd.DataFrame({"time": time, "G": g, "Gw": gw, "Gnb": gnb, "Gt": gt})
    if shares:
        frame = frame.assign(share_w=gw / g, share_nb=gnb / g, share_t=gt / g)
    return frame.iloc[::-1]  # unsorted on purpose


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dagum_lines_are_the_components(lang: str, tmp_path: Path) -> None:
    components = _components()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zh falls back to English without a CJK font
        fig = dagum_figure(SimpleNamespace(components=components), lang=lang, kind="both")
    lines_ax, shares_ax = fig.axes
    ordered = components.sort_values("time")
    drawn = [line.get_ydata() for line in lines_ax.get_lines()]
    for got, column in zip(drawn, ["G", "Gw", "Gnb", "Gt"], strict=True):
        np.testing.assert_array_equal(got, ordered[column].to_numpy())
    np.testing.assert_array_equal(lines_ax.get_lines()[0].get_xdata(), ordered["time"])
    assert len(shares_ax.collections) == 3
    labels = [t.get_text() for t in lines_ax.get_legend().get_texts()]
    assert labels[0] == ("总体 G" if fig.didstudy_lang == "zh" else "Overall G")
    png, svg = save_figure(fig, tmp_path / f"dagum_{lang}", dpi=50)
    assert png.read_bytes()[:4] == b"\x89PNG" and b"<svg" in svg.read_bytes()[:2000]


def test_shares_in_percent_add_to_100_whatever_the_input() -> None:
    fractions = _shares_percent(_components(shares=True))
    derived = _shares_percent(_components(shares=False))
    percents = _shares_percent(
        _components().assign(
            share_w=lambda f: 100 * f["share_w"],
            share_nb=lambda f: 100 * f["share_nb"],
            share_t=lambda f: 100 * f["share_t"],
        )
    )
    for shares in (fractions, derived, percents):
        np.testing.assert_allclose(shares.sum(axis=1), 100.0, atol=SHARE_TOL)
    np.testing.assert_allclose(fractions.to_numpy(), derived.to_numpy(), atol=SHARE_TOL)
    np.testing.assert_allclose(fractions.to_numpy(), percents.to_numpy(), atol=SHARE_TOL)


@pytest.mark.parametrize("kind", ["lines", "shares"])
def test_dagum_single_panel(kind: str) -> None:
    fig = dagum_figure(_components(), kind=kind, title="x", time_label="t")  # type: ignore[arg-type]
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel() == "t"


def test_dagum_bad_input() -> None:
    with pytest.raises(DataError, match=r"lack the column.*Gnb"):
        dagum_figure(_components().drop(columns="Gnb"))
    twice = pd.concat([_components(), _components()])
    with pytest.raises(DataError, match="several rows for one period"):
        dagum_figure(twice)


def _rollout_frame() -> pd.DataFrame:
    cohorts = {"b": 2012, "a": 2014, "c": None, "d": 2012, "e": None}
    rows = [
        (unit, year, int(cohort is not None and year >= cohort))
        for unit, cohort in cohorts.items()
        for year in range(2010, 2017)
        if not (unit == "e" and year == 2010)
    ]
    return pd.DataFrame(rows, columns=["city", "year", "policy"]).sample(frac=1.0, random_state=3)


def test_rollout_matrix_sorted_by_cohort() -> None:
    matrix, cohort = rollout_matrix(_rollout_frame(), "city", "year", "policy")
    assert list(matrix.index) == ["b", "d", "a", "c", "e"]
    assert list(matrix.columns) == list(range(2010, 2017))
    assert cohort.tolist()[:3] == [2012.0, 2012.0, 2014.0] and cohort.iloc[3:].isna().all()
    assert matrix.loc["b"].tolist() == [0, 0, 1, 1, 1, 1, 1]
    assert np.isnan(matrix.loc["e", 2010]) and matrix.loc["e", 2011] == 0


def test_rollout_figure_draws_the_matrix_and_reads_a_panel() -> None:
    frame = _rollout_frame()
    panel = SimpleNamespace(frame=frame, unit="city", time="year", treat="policy")
    fig = rollout_figure(panel)
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    matrix, _ = rollout_matrix(frame, "city", "year", "policy")
    np.testing.assert_array_equal(image.filled(np.nan), matrix.to_numpy(dtype=float))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "d", "a", "c", "e"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Treated", "Not treated", "Missing"]
    grouped = rollout_figure(frame, "city", "year", "policy", max_unit_labels=2).axes[0]
    assert [t.get_text() for t in grouped.get_yticklabels()] == [
        "Cohort 2012 (n=2)",
        "Cohort 2014 (n=1)",
        "Never treated (n=2)",
    ]
    np.testing.assert_allclose(grouped.get_yticks(), [0.5, 2.0, 3.5])


def test_rollout_bad_input() -> None:
    frame = _rollout_frame()
    with pytest.raises(DataError, match="lack the column"):
        rollout_figure(frame)
    with pytest.raises(DataError, match="must be 0/1"):
        rollout_figure(frame.assign(policy=2), "city", "year", "policy")
    with pytest.raises(DataError, match="share a unit and period"):
        rollout_figure(pd.concat([frame, frame.head(1)]), "city", "year", "policy")


def test_chinese_figures_have_every_glyph() -> None:
    """With a CJK font, drawing the Chinese figures raises no missing-glyph warning."""
    _style.find_cjk_font.cache_clear()
    if _style.find_cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    frame = _rollout_frame().assign(city=lambda f: "城市" + f["city"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fig in (
            dagum_figure(_components(), lang="zh"),
            rollout_figure(frame, "city", "year", "policy", lang="zh"),
        ):
            assert fig.didstudy_lang == "zh"
            figure_bytes(fig, "png", dpi=50)  # outside the style block: re-entered on save


def test_chinese_unit_names_without_cjk_font_fall_back_to_cohort_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from didstudy.errors import DidstudyWarning
    from didstudy.report.figures import rollout

    monkeypatch.setattr(rollout, "find_cjk_font", lambda: None)
    frame = _rollout_frame().assign(city=lambda f: "城市" + f["city"])
    with pytest.warns(DidstudyWarning, match="cohorts instead of units"):
        ax = rollout_figure(frame, "city", "year", "policy").axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("Cohort 2012") and not any("城市" in t for t in labels)


@pytest.mark.parametrize("index", [["city"], ["city", "year"]])
def test_rollout_figure_reads_a_real_panel_built_from_an_indexed_frame(index: list[str]) -> None:
    """A Panel of a frame indexed by its own unit (and time) columns, as after
    ``df.set_index("city", drop=False)``: the figure is the frame's roll-out matrix (this used to
    fail with "'city' is both an index level and a column label")."""
    from didstudy.data.panel import Panel

    frame = _rollout_frame()
    panel = Panel(frame.set_index(index, drop=False), unit="city", time="year", treat="policy")
    fig = rollout_figure(panel)
    image = fig.axes[0].get_images()[0].get_array()
    matrix, _ = rollout_matrix(frame, "city", "year", "policy")
    np.testing.assert_array_equal(image.filled(np.nan), matrix.to_numpy(dtype=float))
    assert list(rollout_matrix(panel)[0].index) == ["b", "d", "a", "c", "e"]
