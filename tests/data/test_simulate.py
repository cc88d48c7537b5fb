"""Simulated staggered DGP: structure, truth bookkeeping and recovery of the known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError

# unbiased estimator: the estimate must lie within 4 of its own (homoskedastic) standard errors
Z_TOL = 4.0


def _twfe_dummies(df: pd.DataFrame, controls: list[str]) -> tuple[float, float]:
    """TWFE on a balanced panel via the closed-form two-way within transform: (estimate, SE).

    Classical SE with residual degrees of freedom n - k - (N + T - 1).
    """
    cols = ["y", "treat", *controls]
    x = df[cols].astype(float)
    within = (
        x
        - x.groupby(df["unit"]).transform("mean")
        - x.groupby(df["time"]).transform("mean")
        + x.mean()
    ).to_numpy()
    y, design = within[:, 0], within[:, 1:]
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = len(y) - design.shape[1] - (df["unit"].nunique() + df["time"].nunique() - 1)
    sigma2 = resid @ resid / dof
    se = float(np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[0, 0]))
    return float(coef[0]), se


@pytest.mark.parametrize("effect", [0.05, 0.0])
def test_twfe_recovers_known_effect(effect: float) -> None:
    df = simulate_staggered(
        n_units=120,
        periods=range(2003, 2015),
        cohorts={2006: 20, 2009: 20, 2012: 20},
        effect=effect,
        n_controls=3,
        seed=3,
    )
    assert df.attrs["simulated"] is True
    assert df.attrs["truth"]["att"] == pytest.approx(effect)
    with_x, se_x = _twfe_dummies(df, ["x1", "x2", "x3"])
    without_x, se_0 = _twfe_dummies(df, [])
    assert abs(with_x - effect) < Z_TOL * se_x
    assert abs(without_x - effect) < Z_TOL * se_0
    # the controls matter: they soak up residual variance
    assert se_x < 0.5 * se_0


def test_structure_and_truth() -> None:
    df = simulate_staggered(seed=1)
    assert list(df.columns) == [
        "unit",
        "time",
        "cohort",
        "treat",
        "y",
        "x1",
        "x2",
        "x3",
        "x4",
        "x5",
    ]
    assert len(df) == 200 * 20
    assert df.groupby("unit")["cohort"].nunique().max() == 1
    expected = ((df["cohort"] > 0) & (df["time"] >= df["cohort"])).astype(int)
    assert (df["treat"] == expected).all()
    sizes = df.drop_duplicates("unit")["cohort"].value_counts()
    assert sizes[0] == 100 and (sizes.drop(0) == 25).all()
    # controls load on the unit effect: their unit means correlate with the outcome's unit means
    means = df.groupby("unit")[["y", "x1"]].mean()
    assert means.corr().loc["y", "x1"] > 0.3
    again = simulate_staggered(seed=1)
    pd.testing.assert_frame_equal(df, again)
    assert not df.equals(simulate_staggered(seed=2))


def test_dynamic_and_heterogeneous_truth() -> None:
    df = simulate_staggered(
        n_units=60,
        periods=10,
        cohorts={4: 20, 7: 20},
        effect=0.1,
        dynamic=lambda e: 0.1 * (e + 1),
        heterogeneous=True,
        seed=0,
    )
    truth = df.attrs["truth"]
    # multipliers 1.5 (cohort 4) and 0.5 (cohort 7); event time e effect 0.1 (e+1)
    assert truth["effect_by_cohort"] == {4: pytest.approx(0.15), 7: pytest.approx(0.05)}
    # cohort 4 treated at e = 0..6: mean of 1.5*0.1*(1..7) = 0.6
    assert truth["att_by_cohort"][4] == pytest.approx(1.5 * 0.1 * 4)
    assert truth["att_by_cohort"][7] == pytest.approx(0.5 * 0.1 * 2.5)
    # e = 0 has both cohorts equally: mean multiplier 1 -> 0.1
    assert truth["att_by_rel_time"][0] == pytest.approx(0.1)
    assert truth["att_by_rel_time"][6] == pytest.approx(1.5 * 0.7)


def test_unbalanced_and_errors() -> None:
    df = simulate_staggered(drop_share=0.1, seed=0)
    assert 0.85 * 4000 < len(df) < 0.95 * 4000
    with pytest.raises(ValidationError, match="does not add up"):
        simulate_staggered(n_units=10, cohorts={2010: 5}, n_never=2)
    with pytest.raises(ValidationError, match="drop_share"):
        simulate_staggered(drop_share=1.0)


def test_dynamic_called_only_on_treated_event_times() -> None:
    effects = [0.1, 0.2, 0.3]  # an IndexError would reveal a call outside e = 0..2
    df = simulate_staggered(n_units=20, periods=5, cohorts={3: 5}, dynamic=lambda e: effects[e])
    assert df.attrs["truth"]["att_by_rel_time"] == {0: 0.1, 1: 0.2, 2: 0.3}


def test_twfe_unbiased_over_replications() -> None:
    """Monte Carlo: with homogeneous effects the mean TWFE estimate is the true effect."""
    reps = 40
    estimates = np.array(
        [
            _twfe_dummies(
                simulate_staggered(
                    n_units=60,
                    periods=10,
                    cohorts={4: 15, 7: 15},
                    effect=0.05,
                    n_controls=2,
                    seed=seed,
                ),
                ["x1", "x2"],
            )[0]
            for seed in range(reps)
        ]
    )
    mc_se = estimates.std(ddof=1) / np.sqrt(reps)
    assert abs(estimates.mean() - 0.05) < Z_TOL * mc_se
