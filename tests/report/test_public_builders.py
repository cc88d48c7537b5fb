"""Every table and figure builder is reachable from ``import didstudy`` and works on results of
the Python API, without a study file: build each one and write it to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import didstudy as ds

pytest.importorskip("matplotlib")

TABLES = (
    "regression_table", "bacon_table", "placebo_table", "balance_table", "psm_balance_table",
    "dagum_table", "descriptive_table", "definitions_table",
)  # fmt: skip
FIGURES = ("event_study_figure", "placebo_figure", "bacon_figure", "dagum_figure", "rollout_figure")


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    df = ds.simulate_staggered(
        n_units=60, periods=range(2001, 2011), cohorts={2004: 10, 2007: 10}, n_never=40,
        n_controls=2, seed=3,
    )  # fmt: skip
    panel = ds.Panel(df, unit="unit", time="time", treat="treat")
    rng = np.random.default_rng(4)
    counties = pd.DataFrame(
        {
            "city": np.repeat(np.arange(6), 20),
            "year": np.tile(np.repeat([2001, 2002], 10), 6),
            "light": rng.lognormal(size=120),
        }
    )
    return {
        "frame": df,
        "panel": panel,
        "twfe": ds.twfe(panel, "y", "treat", controls=["x1"]),
        "stepwise": ds.stepwise(panel, "y", "treat", ["x1", "x2"]),
        "event": ds.event_study(panel, "y", window=(-3, 3)),
        "placebo": ds.placebo(panel, "y", reps=40, seed=1),
        "bacon": ds.bacon(panel, "y", "treat"),
        "psm": ds.psm_did(panel, "y", "treat", covariates=["x1", "x2"], seed=1),
        "dagum": ds.dagum_panel(counties, "light", "city", "year"),
    }


def test_builders_are_exported() -> None:
    for name in (*TABLES, *FIGURES, "write_table", "save_figure"):
        assert name in ds.__all__ and callable(getattr(ds, name)), name
        doc = getattr(ds, name).__doc__ or ""
        for section in ("Parameters", "Returns", "Examples"):
            assert section in doc, f"{name} has no {section} section"


def test_every_table_builds_from_api_results_and_writes(
    results: dict[str, object], tmp_path: Path
) -> None:
    r = results
    tables = {
        "regression_table": ds.regression_table([("TWFE", r["twfe"]), *r["stepwise"]]),  # type: ignore[misc]
        "bacon_table": ds.bacon_table(r["bacon"]),
        "placebo_table": ds.placebo_table(r["placebo"]),
        "balance_table": ds.balance_table(r["psm"].balance_frame("pooled")),  # type: ignore[attr-defined]
        "psm_balance_table": ds.psm_balance_table(r["psm"], per_year=True),
        "dagum_table": ds.dagum_table(r["dagum"]),
        "descriptive_table": ds.descriptive_table(r["frame"], ["y", "treat", "x1"]),
        "definitions_table": ds.definitions_table([["y", "outcome", "simulated"]]),
    }
    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        paths = ds.write_table(table, tmp_path / name, formats=("md", "csv", "tex", "html"))
        assert len(paths) == 4
        for path in paths.values():
            assert path.stat().st_size > 0, (name, path)
    regression = (tmp_path / "regression_table.md").read_text(encoding="utf-8")
    coefficient = r["twfe"].coef["treat"]  # type: ignore[attr-defined]
    assert f"{coefficient:.3f}"[:5] in regression


def test_every_figure_builds_from_api_results_and_saves(
    results: dict[str, object], tmp_path: Path
) -> None:
    r = results
    figures = {
        "event_study_figure": ds.event_study_figure(r["event"]),
        "placebo_figure": ds.placebo_figure(r["placebo"]),
        "bacon_figure": ds.bacon_figure(r["bacon"]),
        "dagum_figure": ds.dagum_figure(r["dagum"]),
        "rollout_figure": ds.rollout_figure(r["panel"]),
    }
    assert set(figures) == set(FIGURES)
    for name, figure in figures.items():
        paths = ds.save_figure(figure, tmp_path / name, formats=("png", "svg"))
        assert [Path(p).suffix for p in paths] == [".png", ".svg"], name
        assert all(Path(p).stat().st_size > 1_000 for p in paths), name


def test_event_time_terms_are_labelled_not_split_as_interactions() -> None:
    """``rel_time::-3`` is a factor level ("Event time = -3"), never ``rel_time ×  × -3``."""
    from didstudy.report.labels import variable_label

    assert variable_label("rel_time::-3", "en") == "Event time = -3"
    assert variable_label("rel_time::2", "zh") == "相对政策实施年份 = 2"
    assert variable_label("innoap:policy", "en") == "innoap × policy"
    assert "×" not in variable_label("cell::2004::2005", "en")
