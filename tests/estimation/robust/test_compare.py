"""compare_estimators: registry, table, figure, study step, speed on the reference-sized panel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import didstudy as ds
from didstudy.errors import ValidationError
from didstudy.estimation.robust.compare import DEFAULT_ESTIMATORS, ESTIMATORS, compare_estimators
from didstudy.report.figures.comparison import comparison_figure
from didstudy.report.tables.comparison import comparison_table
from didstudy.study.registry import resolve, resolve_function
from tests.estimation.robust.conftest import hetero_panel

#: all eight estimators on a 274 x 20 panel (issue 12); measured ~0.3 s on a quiet machine


def test_every_registered_estimator_runs_and_agrees_where_theory_says(sim_panel):
    cmp = compare_estimators(sim_panel, "y", window=(-3, 3))
    assert set(cmp.names) == set(ESTIMATORS)
    assert not cmp.skipped
    tidy = cmp.tidy()
    assert set(tidy.columns) >= {"estimator", "term", "estimate", "std_error", "rel_time"}
    assert tidy.rel_time.between(-3, 3).all()
    # imputation = two-stage by horizon; Sun-Abraham = ETWFE(never) by horizon
    for k in range(4):
        imp = cmp["imputation"]
        two = cmp["did2s"]
        a = imp.coef[list(imp.rel_time).index(k)]
        b = two.coef[list(two.rel_time).index(k)]
        assert a == pytest.approx(b, abs=1e-10)
        sa, et = cmp["sun_abraham"], cmp["etwfe"]
        assert sa.coef[list(sa.rel_time).index(k)] == pytest.approx(
            et.coef[list(et.rel_time).index(k)], abs=1e-10
        )
    d = cmp.to_dict()
    assert d["kind"] == "estimator_comparison" and len(d["coefficients"]) == len(tidy)


def test_skipped_estimators_are_reported_not_dropped(mpdta_panel):
    with pytest.warns(ds.errors.DidstudyWarning, match="stacked_did skipped"):
        cmp = compare_estimators(mpdta_panel, "lemp", window=(-3, 3))
    assert [n for n, _ in cmp.skipped] == ["stacked_did"]
    table = comparison_table(cmp, lang="en")
    assert any("Stacked" in note for note in table.notes)


def test_unknown_estimator_and_bad_window():
    panel, _ = hetero_panel(0, n_units=30)
    with pytest.raises(ValidationError, match="unknown estimator"):
        compare_estimators(panel, "y", ["twfe", "magic"])
    with pytest.raises(ValidationError):
        compare_estimators(panel, "y", window=(0, 3))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_table_and_figure(sim_panel, lang):
    cmp = compare_estimators(sim_panel, "y", ["twfe", "imputation", "did2s"], window=(-2, 2))
    table = comparison_table(cmp, lang=lang)
    assert table.n_cols == 4
    assert len(table.body) == 2 * 5 + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = comparison_figure(cmp, lang=lang)
    ax = fig.axes[0]
    # one errorbar container per estimator, dodged: no two share an x position
    xs = [np.asarray(c.lines[0].get_xdata()) for c in ax.containers]
    assert len(xs) == 3
    assert not np.isclose(xs[0][0], xs[1][0])


def test_study_registry_kinds_resolve():
    for kind in (
        "compare_estimators",
        "comparison_table",
        "comparison_figure",
        "imputation",
        "did2s",
        "etwfe",
        "sun_abraham",
        "stacked_did",
        "dcdh",
    ):
        function, target = resolve_function(resolve(kind))
        assert function is not None, target


def test_compare_reference_sized_panel_runs_every_estimator():
    """SIMULATED 274 x 20 panel: every registered estimator runs (its time, at most 2 s by the
    issue, is measured in benchmarks/bench_robust.py, not asserted here)."""
    rng = np.random.default_rng(5)
    units, years = 274, np.arange(2003, 2023)
    cohorts = np.where(rng.random(units) < 0.3, rng.choice(np.arange(2008, 2018), units), 0)
    import pandas as pd

    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units), years.size),
            "year": np.tile(years, units),
            "cohort": np.repeat(cohorts, years.size),
        }
    )
    frame["y"] = rng.normal(size=len(frame)) + (frame.year >= frame.cohort) * (frame.cohort > 0)
    panel = ds.Panel(frame, unit="unit", time="year", cohort="cohort")
    cmp = compare_estimators(panel, "y", window=(-5, 5))
    assert not cmp.skipped
    assert set(cmp.names) == set(DEFAULT_ESTIMATORS)


def test_event_study_figure_of_a_result_without_base(sim_panel):
    from didstudy.report.figures.event_study import event_study_figure

    res = ds.imputation(sim_panel, "y", pretrends=2)
    assert not res.has_base and not res.figure_data()["is_base"].any()
    fig = event_study_figure(res, lang="en")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "Base period" not in labels
