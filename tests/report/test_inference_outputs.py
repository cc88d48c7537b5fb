"""Tables and figures of the inference results: HonestDiD, wild bootstrap, pre-trend power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.estimation.event_study import event_study
from didstudy.estimation.twfe import twfe
from didstudy.inference.honest import sensitivity
from didstudy.inference.pretrends import pretrend_power
from didstudy.inference.wild_bootstrap import wild_bootstrap
from didstudy.report.figures.event_study import event_study_figure
from didstudy.report.figures.inference import honest_figure, wild_bootstrap_figure
from didstudy.report.tables import regression_table, table_to_markdown
from didstudy.report.tables.honest import honest_table
from didstudy.results.bootstrap import with_bootstrap

BETA = np.array([0.01, -0.005, 0.002, 0.05, 0.07])
SIGMA = np.diag([0.0001, 0.0001, 0.0001, 0.0002, 0.0003])


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    unit = np.repeat(np.arange(16), 8)
    period = np.tile(np.arange(8), 16)
    treat = ((unit < 5) & (period >= 4)).astype(float)
    y = 0.3 * treat + rng.standard_normal(16)[unit] + rng.standard_normal(unit.size)
    return pd.DataFrame({"unit": unit, "period": period, "treat": treat, "y": y,
                         "cohort": np.where(unit < 5, 4, 0)})  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_honest_table_and_figure(lang: str) -> None:
    res = sensitivity(BETA, SIGMA, 3, np.array([1.0, 0.0]), "relative_magnitude", [0.0, 1.0])
    table = honest_table(res, lang=lang)
    text = table_to_markdown(table)
    assert len(table.body) == 3  # original + two values
    assert f"{res.intervals[1].conf_low:.3f}" in text
    assert ("Breakdown" in text) if lang == "en" else ("临界值" in text)
    fig = honest_figure(res, lang=lang)
    assert len(fig.axes[0].collections) == 2  # original and robust bars


def test_bootstrap_replaces_p_and_interval_in_tables() -> None:
    df = _panel()
    res = twfe(df, "y", "treat", unit="unit", time="period", fe=["unit", "period"], cluster="unit")
    wb = wild_bootstrap(res, df, "treat", reps=999, seed=3)
    assert not wb.enumerated and wb.seed == 3  # 2^16 sign vectors > 999 draws
    boot = with_bootstrap(res, wb)
    row = boot.tidy().set_index("term").loc["treat"]
    assert row["p_value"] == wb.p_value and row["conf_low"] == wb.conf_low
    assert row["std_error"] == pytest.approx(res.term("treat").std_error)
    table = regression_table({"(1)": boot}, statistic="ci", notes=[boot.note()])
    text = table_to_markdown(table)
    assert f"{wb.conf_low:.3f}" in text and "wild cluster bootstrap" in text
    assert boot.to_dict()["wild_bootstrap"][0]["p_value"] == wb.p_value
    fig = wild_bootstrap_figure(wb)
    assert fig.axes[0].get_xlabel() == "Bootstrap t statistic"


def test_event_study_figure_prints_pretrend_power_note() -> None:
    df = _panel()
    es = event_study(df, "y", window=(-3, 3), unit="unit", time="period", cohort="cohort")
    power = pretrend_power(es)
    fig = event_study_figure(es, power=power)
    texts = [t.get_text() for t in fig.texts]
    assert any("50% / 80%" in t for t in texts)
