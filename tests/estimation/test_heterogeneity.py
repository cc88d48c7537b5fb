"""Heterogeneity: split-sample estimates, the interaction identity, the permutation test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError
from didstudy.estimation.heterogeneity import (
    heterogeneity,
    permutation_test,
    split_coefficients,
    split_coefficients_loop,
)
from didstudy.estimation.twfe import twfe

pytestmark = pytest.mark.filterwarnings("ignore::didstudy.errors.SingletonWarning")

# same least-squares problem solved by two algorithms (closed form vs demean + lstsq)
ALGO_TOL = 1e-9
# simulated truth must lie within this many standard errors
Z_TOL = 4.0


def _panel(seed: int, effect_a: float, effect_b: float, n: int = 120) -> pd.DataFrame:
    """SIMULATED staggered panel; group a (half the units of every cohort) gets effect_a."""
    df = simulate_staggered(
        n_units=n,
        periods=range(2006, 2016),
        cohorts={2009: n // 6, 2012: n // 6},
        n_never=n - 2 * (n // 6),
        effect=1.0,
        n_controls=2,
        noise_sd=0.05,
        seed=seed,
    )
    units = np.sort(df["unit"].unique())
    group_a = set(units[::2])
    df["big"] = df["unit"].isin(group_a).astype(int)
    scale = np.where(df["big"] == 1, effect_a, effect_b)
    df["y"] = df["y"] - df["treat"] * 1.0 + df["treat"] * scale
    return df


def test_full_interaction_equals_split_difference_and_recovers_effects() -> None:
    df = _panel(1, 0.3, 0.1)
    res = heterogeneity(
        df,
        "y",
        "treat",
        by="big",
        controls=["x1", "x2"],
        unit="unit",
        time="time",
        reps=199,
        seed=4,
    )
    assert res.models.names == ["big: 0", "big: 1"]
    b0, b1 = res.models.get("big: 0"), res.models.get("big: 1")
    direct = twfe(
        df[df["big"] == 1],
        "y",
        "treat",
        ["x1", "x2"],
        fe=["unit", "time"],
        unit="unit",
        time="time",
    )
    assert b1.coef["treat"] == pytest.approx(direct.coef["treat"], abs=1e-12)
    row = res.differences.iloc[0]
    # the fully interacted model is the two split regressions stacked: exact identity
    assert row["interaction_estimate"] == pytest.approx(row["difference"], abs=1e-10)
    assert row["difference"] == pytest.approx(b0.coef["treat"] - b1.coef["treat"], abs=1e-12)
    # known effects recovered, difference detected by both tests
    assert abs(b1.coef["treat"] - 0.3) < Z_TOL * b1.se["treat"]
    assert abs(b0.coef["treat"] - 0.1) < Z_TOL * b0.se["treat"]
    assert row["interaction_p_value"] < 0.01
    assert row["permutation_p_value"] < 0.01 and row["permutation_reps"] == 199
    # the interaction SE is the split SEs combined (independent clusters), up to the
    # small-sample factors of the stacked vs the split models (within 10%)
    se_split = np.hypot(b0.se["treat"], b1.se["treat"])
    assert row["interaction_std_error"] == pytest.approx(se_split, rel=0.1)
    assert res.to_dict()["differences"][0]["permutation_reps"] == 199
    # only the treatment interacted: a different (restricted) model, still near the truth
    tr = heterogeneity(
        df,
        "y",
        "treat",
        by="big",
        controls=["x1", "x2"],
        unit="unit",
        time="time",
        test="interaction",
        interact="treatment",
    )
    assert tr.differences.iloc[0]["interaction_estimate"] == pytest.approx(-0.2, abs=0.05)
    assert tr.differences.iloc[0]["permutation_p_value"] is None


def test_closed_form_kernel_equals_loop_and_twfe() -> None:
    df = _panel(2, 0.2, 0.2, n=60).sort_values(["unit", "time"])
    units = np.sort(df["unit"].unique())
    T = df["time"].nunique()
    Z = df[["y", "treat", "x1", "x2"]].to_numpy().reshape(units.size, T, 4)
    rng = np.random.default_rng(0)
    members = rng.uniform(size=(units.size, 12)) < 0.5
    members[:, 0] = np.isin(units, df.loc[df["big"] == 1, "unit"])
    fast = split_coefficients(Z, members)
    uc = np.searchsorted(units, df["unit"].to_numpy())
    tc = df["time"].to_numpy() - df["time"].min()
    slow = split_coefficients_loop(Z.reshape(-1, 4), uc, tc, members)
    ok = np.isfinite(slow)
    np.testing.assert_array_equal(ok, np.isfinite(fast))
    np.testing.assert_allclose(fast[ok], slow[ok], atol=ALGO_TOL)
    direct = twfe(
        df[df["big"] == 1],
        "y",
        "treat",
        ["x1", "x2"],
        fe=["unit", "time"],
        unit="unit",
        time="time",
    )
    assert fast[0] == pytest.approx(direct.coef["treat"], abs=ALGO_TOL)


def test_permutation_p_uniform_under_null_and_seeded() -> None:
    pvals = []
    for seed in range(60):
        df = _panel(100 + seed, 0.2, 0.2, n=36)
        is_a = df["big"] == 1
        _, p, _ = permutation_test(
            df, "y", "treat", ["x1"], "unit", "time", is_a, reps=99, seed=seed
        )
        pvals.append(p)
    pv = np.array(pvals)
    # uniform-ish: a KS test does not reject, and the 10% tail holds about 10%
    assert sps.kstest(pv, "uniform").pvalue > 0.01
    assert 0.0 < np.mean(pv <= 0.1) < 0.25
    df = _panel(7, 0.2, 0.2, n=36)
    a = permutation_test(df, "y", "treat", [], "unit", "time", df["big"] == 1, reps=50, seed=3)
    b = permutation_test(df, "y", "treat", [], "unit", "time", df["big"] == 1, reps=50, seed=3)
    assert a == b


def test_unbalanced_mapping_and_errors() -> None:
    df = _panel(3, 0.3, 0.0, n=60)
    df = df.drop(index=df.index[::17]).reset_index(drop=True)  # unbalanced: loop path
    units = np.sort(df["unit"].unique())
    mapping = {u: ("east" if i % 3 else "west") for i, u in enumerate(units)}
    res = heterogeneity(
        df,
        "y",
        "treat",
        by={"region": mapping, "size": "big"},
        controls=["x1"],
        unit="unit",
        time="time",
        reps=49,
        seed=1,
    )
    assert res.models.names == ["region: east", "region: west", "size: 0", "size: 1"]
    size = res.differences.set_index("dimension").loc["size"]
    assert size["interaction_estimate"] == pytest.approx(size["difference"], abs=1e-10)
    assert size["permutation_p_value"] < 0.05
    df["varying"] = (df["time"] > 2010).astype(int)
    with pytest.raises(ValidationError, match="changes within units"):
        heterogeneity(df, "y", "treat", by="varying", unit="unit", time="time", reps=9)
