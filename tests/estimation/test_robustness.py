"""Robustness battery: each operation recovers a known effect on simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError
from didstudy.estimation.robustness import (
    anticipation,
    concurrent_policies,
    lead_term,
    robustness_drop,
    robustness_winsorized,
)
from didstudy.estimation.twfe import twfe
from didstudy.results.comparison import combine

pytestmark = pytest.mark.filterwarnings("ignore::didstudy.errors.SingletonWarning")

EFFECT = 0.2
# simulated truth must lie within this many standard errors (a 4-sigma miss has p < 1e-4)
Z_TOL = 4.0
# the same regression computed two ways (operation vs direct twfe call)
IDENTITY_TOL = 1e-10
CONTROLS = ["x1", "x2"]


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    df = simulate_staggered(
        n_units=150,
        periods=range(2004, 2016),
        cohorts={2008: 25, 2011: 25},
        n_never=100,
        effect=EFFECT,
        n_controls=2,
        noise_sd=0.05,
        seed=3,
    )
    assert df.attrs["simulated"]
    return df


def _close(res, term: str, truth: float) -> None:  # type: ignore[no-untyped-def]
    est = res.term(term)
    assert abs(est.estimate - truth) < Z_TOL * est.std_error, (term, est)


def test_drop_equals_direct_regression_and_recovers_effect(sim: pd.DataFrame) -> None:
    codes = list(sim["unit"].unique()[:3])
    out = robustness_drop(
        sim,
        "y",
        "treat",
        CONTROLS,
        unit="unit",
        time="time",
        drop={"municipalities": codes, "first ten": list(sim["unit"].unique()[:10])},
    )
    assert out.names == ["drop municipalities", "drop first ten"]
    direct = twfe(
        sim[~sim["unit"].isin(codes)],
        "y",
        "treat",
        CONTROLS,
        fe=["unit", "time"],
        unit="unit",
        time="time",
    )
    res = out.get("drop municipalities")
    assert res.coef["treat"] == pytest.approx(direct.coef["treat"], abs=IDENTITY_TOL)
    assert res.se["treat"] == pytest.approx(direct.se["treat"], rel=IDENTITY_TOL)
    assert res.nobs == len(sim) - 3 * sim["time"].nunique()
    _close(res, "treat", EFFECT)
    with pytest.raises(ValidationError, match="none of the codes"):
        robustness_drop(sim, "y", "treat", unit="unit", time="time", drop={"x": [-99]})


@pytest.mark.parametrize("lead_effect", [0.0, 0.15])
def test_anticipation_recovers_lead_effect(sim: pd.DataFrame, lead_effect: float) -> None:
    df = sim.copy()
    pre1 = (df["cohort"] > 0) & (df["time"] == df["cohort"] - 1)
    df["y"] = df["y"] + lead_effect * pre1
    res = anticipation(df, "y", "treat", CONTROLS, leads=(1, 2), unit="unit", time="time")
    fit = res.get("anticipation")
    assert fit.term(lead_term("treat", 1)).estimate == pytest.approx(lead_effect, abs=0.03)
    _close(fit, lead_term("treat", 1), lead_effect)
    _close(fit, lead_term("treat", 2), 0.0)
    _close(fit, "treat", EFFECT)
    # the lead dummy is 1 exactly in the year before adoption for eventually treated units
    assert int(pre1.sum()) == 50


def test_concurrent_policies_each_and_all(sim: pd.DataFrame) -> None:
    df = sim.copy()
    rng = np.random.default_rng(0)
    units = df["unit"].unique()
    region_a = set(rng.choice(units, 60, replace=False))
    region_b = set(rng.choice(units, 40, replace=False))
    df["rise"] = (df["unit"].isin(region_a) & (df["time"] >= 2006)).astype(int)
    df["belt"] = (df["unit"].isin(region_b) & (df["time"] >= 2013)).astype(int)
    df["y"] = df["y"] + 0.1 * df["rise"] - 0.05 * df["belt"]
    out = concurrent_policies(
        df,
        "y",
        "treat",
        CONTROLS,
        policies={"rise_central": "rise", "yangtze": "belt"},
        unit="unit",
        time="time",
    )
    assert out.names == ["rise_central", "yangtze", "all concurrent policies"]
    both = out.get("all concurrent policies")
    _close(both, "rise", 0.1)
    _close(both, "belt", -0.05)
    _close(both, "treat", EFFECT)
    assert "belt" not in out.get("rise_central").terms
    only_all = concurrent_policies(
        df, "y", "treat", CONTROLS, policies={"r": "rise"}, mode="all", unit="unit", time="time"
    )
    assert only_all.names == ["all concurrent policies"]
    table = combine(out, {"drop none": both})
    assert table.names[-1] == "drop none" and len(table) == 4
    tidy = table.tidy()
    assert set(tidy["model"]) == set(table.names)


def test_winsorized_equals_direct_and_recovers_effect(sim: pd.DataFrame) -> None:
    from didstudy.measure.transform import winsorize

    df = sim.copy()
    # contaminate the outcome with huge outliers in a few treated post-adoption observations
    idx = df.index[df["treat"] == 1][:8]
    df.loc[idx, "y"] = df.loc[idx, "y"] + 50.0
    raw = twfe(df, "y", "treat", CONTROLS, fe=["unit", "time"], unit="unit", time="time").term(
        "treat"
    )
    assert abs(raw.estimate - EFFECT) > 0.5  # the outliers wreck the baseline
    out = robustness_winsorized(df, "y", "treat", CONTROLS, unit="unit", time="time")
    assert out.names == ["winsorized p1/p99"]
    res = out.get("winsorized p1/p99")
    wf = winsorize(df, ["y", *CONTROLS], cuts=(1, 99), replace=True).frame
    assert wf["y"].max() < 10.0  # the outliers were clipped
    direct = twfe(wf, "y", "treat", CONTROLS, fe=["unit", "time"], unit="unit", time="time")
    assert res.coef["treat"] == pytest.approx(direct.coef["treat"], abs=IDENTITY_TOL)
    assert abs(res.coef["treat"] - EFFECT) < 0.1 * abs(raw.estimate - EFFECT)
    assert df["y"].max() > 40.0  # the caller's frame is untouched


def test_panel_input_equals_dataframe_input(sim: pd.DataFrame) -> None:
    from didstudy.data.panel import Panel
    from didstudy.estimation.heterogeneity import heterogeneity
    from didstudy.estimation.mechanisms import mechanisms
    from didstudy.estimation.psm import psm_did

    panel = Panel(sim, unit="unit", time="time", treat="treat")
    df_kw = {"unit": "unit", "time": "time"}
    groups = {"half": {u: int(u) % 2 for u in sim["unit"].unique()}}
    calls = [
        lambda d, **k: robustness_drop(d, "y", "treat", CONTROLS, drop={"a": [1, 2]}, **k),
        lambda d, **k: anticipation(d, "y", "treat", CONTROLS, **k),
        lambda d, **k: mechanisms(d, "y", "treat", ["x2"], ["x1"], **k),
        lambda d, **k: heterogeneity(d, "y", "treat", groups, CONTROLS, reps=20, **k).models,
        lambda d, **k: {"psm": psm_did(d, "y", "treat", CONTROLS, **k).regression},
    ]
    for call in calls:
        via_panel = combine(call(panel))
        via_frame = combine(call(sim, **df_kw))
        pd.testing.assert_frame_equal(via_panel.tidy(), via_frame.tidy())
