"""PSM-DID: MatchIt golden matches, balance convention, same-year property, known effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.data.simulate import simulate_staggered
from didstudy.estimation._inputs import frame_twfe
from didstudy.estimation.psm import balance_stats, psm_did

pytestmark = pytest.mark.filterwarnings("ignore::didstudy.errors.SingletonWarning")

REF = Path(__file__).resolve().parents[1] / "reference" / "psm"

# glm (IRLS, epsilon 1e-14) and our Newton solver reach the same maximiser to ~1e-15;
# 1e-8 leaves room for the 15 significant digits R writes.
PSCORE_TOL = 1e-8
# balance statistics are means and SDs of the same numbers: only rounding differs.
BALANCE_TOL = 1e-10
# a coefficient computed two ways (weights vs stacked rows) on the same data
IDENTITY_TOL = 1e-9

# name -> (k, replace, caliper in SD of the distance, MatchIt discard[, distance])
SPECS: dict[str, tuple] = {  # type: ignore[type-arg]
    "k1_norep": (1, False, None, "none"),
    "k2_norep": (2, False, None, "none"),
    "k1_rep": (1, True, None, "none"),
    "k2_rep": (2, True, None, "none"),
    "k1_norep_cal": (1, False, 0.1, "none"),
    "k2_norep_cal": (2, False, 0.05, "none"),
    "k1_norep_cs": (1, False, None, "treated"),
    "k1_rep_cal_cs": (1, True, 0.1, "both"),
    "k1_norep_lin_cal": (1, False, 0.2, "none", "logit"),
}


def _golden_panel() -> pd.DataFrame:
    """The R-generated panel (SIMULATED) plus an outcome and a staggered policy dummy."""
    panel = pd.read_csv(REF / "panel.csv")
    rng = np.random.default_rng(5)
    panel["policy"] = ((panel["group"] == 1) & (panel["year"] >= 2012)).astype(int)
    panel["y"] = 0.3 * panel["x1"] + 0.5 * panel["policy"] + rng.normal(0, 0.1, len(panel))
    return panel


@pytest.mark.r
@pytest.mark.parametrize("spec", list(SPECS))
def test_matches_reproduce_matchit(spec: str) -> None:
    k, replace, caliper, discard, *rest = SPECS[spec]
    panel = _golden_panel()
    res = psm_did(
        panel,
        "y",
        "policy",
        ["x1", "x2", "x3"],
        unit="unit",
        time="year",
        k=k,
        replace=replace,
        caliper=caliper,
        common_support=discard,
        distance=rest[0] if rest else "propensity",  # type: ignore[arg-type]
    )
    gold = pd.read_csv(REF / "matches.csv")
    gold = gold[gold["spec"] == spec][["year", "treated", "rank", "control"]]
    mine = res.matches.rename(columns={"time": "year"})[["year", "treated", "rank", "control"]]
    key = ["year", "treated", "rank"]
    pd.testing.assert_frame_equal(
        mine.sort_values(key).reset_index(drop=True).astype("int64"),
        gold.sort_values(key).reset_index(drop=True).astype("int64"),
    )
    # propensity scores of the matched pairs equal glm's
    ps = pd.read_csv(REF / "pscore.csv").set_index(["unit", "year"])["pscore"]
    got = res.matches.set_index(["treated", "time"])["pscore_treated"]
    np.testing.assert_allclose(got.to_numpy(), ps.loc[got.index].to_numpy(), atol=PSCORE_TOL)
    # balance: MatchIt summary() standardised mean differences, before and after
    bal = pd.read_csv(REF / "balance.csv")
    bal = bal[bal["spec"] == spec].set_index(["year", "variable"])
    mine_bal = res.balance[res.balance["scope"] == "year"].set_index(["time", "variable"])
    mine_bal = mine_bal.loc[bal.index]
    for ours, theirs in [
        ("smd_before", "smd_all"),
        ("smd_after", "smd_matched"),
        ("mean_treated_after", "mean_t_matched"),
        ("mean_control_after", "mean_c_matched"),
    ]:
        np.testing.assert_allclose(mine_bal[ours], bal[theirs], atol=BALANCE_TOL, err_msg=ours)
    # N after matching: matched treated rows + distinct control rows used
    n_pairs_rows = res.matches.groupby("time").agg(
        t=("treated", "nunique"), c=("control", "nunique")
    )
    assert res.nobs_matched == int(n_pairs_rows.sum().sum())
    assert res.stats()["nobs_before_matching"] == len(panel)


def test_standardised_difference_hand_formula() -> None:
    x = np.array([[1.0], [2.0], [4.0], [0.0], [1.0], [5.0]])
    t = np.array([True, True, True, False, False, False])
    w = np.array([1.0, 1.0, 0.0, 2.0, 0.0, 0.0])
    b = balance_stats(x, t, w)
    sd_t = np.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2)
    assert b.smd_before[0] == pytest.approx((7 / 3 - 2) / sd_t)
    assert b.smd_after[0] == pytest.approx((1.5 - 0.0) / sd_t)
    pooled = balance_stats(x, t, w, denominator="pooled")
    sd_c = np.std([0.0, 1.0, 5.0], ddof=1)
    assert pooled.smd_before[0] == pytest.approx((7 / 3 - 2) / np.sqrt((sd_t**2 + sd_c**2) / 2))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 1000),
    k=st.integers(1, 2),
    replace=st.booleans(),
    caliper=st.sampled_from([None, 0.5]),
)
def test_no_treated_unit_matched_to_another_year(
    seed: int, k: int, replace: bool, caliper: float | None
) -> None:
    df = simulate_staggered(
        n_units=60,
        periods=range(2010, 2016),
        cohorts={2012: 8, 2014: 8},
        n_never=44,
        n_controls=2,
        seed=seed,
    )
    res = psm_did(
        df,
        "y",
        "treat",
        ["x1", "x2"],
        unit="unit",
        time="time",
        k=k,
        replace=replace,
        caliper=caliper,
    )
    m = res.matches
    assert (m["treated_time"] == m["control_time"]).all()
    assert (m["time"] == m["treated_time"]).all()
    ever = df.groupby("unit")["treat"].max()
    assert (ever.loc[m["treated"]].to_numpy() == 1).all()
    assert (ever.loc[m["control"]].to_numpy() == 0).all()
    if not replace:
        assert not m.duplicated(["time", "control"]).any()


def test_recovers_known_effect_and_weights_equal_stacking() -> None:
    df = simulate_staggered(
        n_units=240,
        periods=range(2005, 2015),
        cohorts={2008: 30, 2011: 30},
        n_never=180,
        effect=0.2,
        n_controls=3,
        noise_sd=0.05,
        seed=11,
    )
    assert df.attrs["simulated"]
    truth = 0.2
    for by_year in (True, False):
        res = psm_did(
            df, "y", "treat", ["x1", "x2", "x3"], unit="unit", time="time", by_year=by_year
        )
        est = res.regression.term("treat")
        # simulated truth within 4 standard errors (and the SE is small)
        assert abs(est.estimate - truth) < 4 * est.std_error
        assert est.std_error < 0.03
    # with replacement: frequency-weighted TWFE == unweighted TWFE on the stacked pairs
    res = psm_did(df, "y", "treat", ["x1", "x2", "x3"], unit="unit", time="time", replace=True, k=2)
    assert res.options["weights"] == "frequency"
    m = res.matches
    rows = pd.concat(
        [
            m[["treated", "time"]].drop_duplicates().rename(columns={"treated": "unit"}),
            m[["control", "time"]].rename(columns={"control": "unit"}),
        ]
    )
    stacked = rows.merge(df, on=["unit", "time"])
    # the stacked matched sample repeats (unit, time) pairs: a frame-level fit, not a Panel
    direct = frame_twfe(
        stacked, "y", "treat", ["x1", "x2", "x3"], fe=["unit", "time"], cluster="unit"
    )
    assert res.regression.coef["treat"] == pytest.approx(direct.coef["treat"], abs=IDENTITY_TOL)
    assert res.nobs_matched < len(df)
    pooled = res.balance[res.balance["scope"] == "pooled"]
    assert (pooled["smd_after"].abs() < pooled["smd_before"].abs() + 0.1).all()


def test_random_order_is_seeded_and_balance_frame_layout() -> None:
    panel = _golden_panel()
    kw = dict(unit="unit", time="time", m_order="random", seed=3)
    panel = panel.rename(columns={"year": "time"})
    a = psm_did(panel, "y", "policy", ["x1", "x2"], **kw)  # type: ignore[arg-type]
    b = psm_did(panel, "y", "policy", ["x1", "x2"], **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.matches, b.matches)
    c = psm_did(panel, "y", "policy", ["x1", "x2"], unit="unit", time="time")
    assert not a.matches["control"].equals(c.matches["control"])
    frame = a.balance_frame(percent=True)
    assert list(frame.columns) == [
        "variable",
        "mean_treated_before",
        "mean_control_before",
        "std_diff_before",
        "mean_treated_after",
        "mean_control_after",
        "std_diff_after",
    ]
    pooled = a.balance[a.balance["scope"] == "pooled"]
    np.testing.assert_allclose(frame["std_diff_after"], 100 * pooled["smd_after"])
    assert len(a.balance_frame(2012)) == 2


@pytest.mark.r
@pytest.mark.parametrize(
    ("spec", "k", "replace"), [("pooled_k1_norep", 1, False), ("pooled_k2_rep", 2, True)]
)
def test_pooled_matches_reproduce_matchit(spec: str, k: int, replace: bool) -> None:
    panel = _golden_panel()
    res = psm_did(
        panel,
        "y",
        "policy",
        ["x1", "x2", "x3"],
        unit="unit",
        time="year",
        by_year=False,
        k=k,
        replace=replace,
        common_support=False,
    )
    gold = pd.read_csv(REF / "matches_pooled.csv")
    cols = ["treated", "treated_year", "rank", "control", "control_year"]
    gold = gold[gold["spec"] == spec][cols]
    mine = res.matches.rename(
        columns={"treated_time": "treated_year", "control_time": "control_year"}
    )[cols]
    key = ["treated", "treated_year", "rank"]
    pd.testing.assert_frame_equal(
        mine.sort_values(key).reset_index(drop=True).astype("int64"),
        gold.sort_values(key).reset_index(drop=True).astype("int64"),
    )
    # pooled matching may (and here does) cross years
    assert (mine["treated_year"] != mine["control_year"]).any()
