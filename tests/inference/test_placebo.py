"""Staggered placebo: each draw equals a full TWFE fit, determinism, modes, size and power."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError
from didstudy.estimation.twfe import twfe
from didstudy.inference.placebo import placebo
from didstudy.results.placebo import randomization_p_values

# A draw and a full fit solve the same least-squares problem by different algebra (closed-form
# tail sums / FWL vs full regression): they agree to float rounding.
DRAW_TOL = 1e-10
CONTROLS = ["x1", "x2", "x3"]


def _panel(seed: int = 1, drop_share: float = 0.0, effect: float = 0.2) -> pd.DataFrame:
    df = simulate_staggered(
        n_units=60,
        periods=range(2001, 2013),
        cohorts={2004: 6, 2007: 8, 2010: 6},
        n_never=40,
        n_controls=3,
        effect=effect,
        drop_share=drop_share,
        seed=seed,
    )
    df = pd.DataFrame(df)
    df["region"] = df["unit"] % 7
    df["w"] = 1.0 + (df["unit"] % 3)
    return df


def _refit(df: pd.DataFrame, res: object, draw: int, **kwargs: object) -> tuple[float, float]:
    assignment = res.assignment(draw)  # type: ignore[attr-defined]
    g = df["unit"].map(assignment).astype(float).fillna(np.inf)
    data = df.assign(pseudo=(df["time"] >= g).astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = twfe(
            data, "y", "pseudo", CONTROLS, fe=["unit", "time"], **kwargs, unit="unit", time="time"
        )  # type: ignore[arg-type]
    term = fit.term("pseudo")
    return term.estimate, term.std_error


@pytest.mark.parametrize(
    ("case", "algorithm", "kwargs"),
    [
        ("balanced", "balanced", {}),
        ("balanced", "dense", {}),
        ("balanced-region-cluster", "balanced", {"cluster": "region"}),
        ("unbalanced", "auto", {}),
        ("weights", "auto", {"weights": "w"}),
    ],
)
def test_each_draw_equals_a_full_twfe_fit(case: str, algorithm: str, kwargs: dict) -> None:
    df = _panel(drop_share=0.08 if case == "unbalanced" else 0.0)
    res = placebo(
        df,
        "y",
        "treat",
        CONTROLS,
        reps=40,
        seed=3,
        unit="unit",
        time="time",
        algorithm=algorithm,
        **kwargs,  # type: ignore[arg-type]
    )
    real = twfe(df, "y", "treat", CONTROLS, fe=["unit", "time"], **kwargs, unit="unit", time="time")  # type: ignore[arg-type]
    assert res.estimate == pytest.approx(real.term("treat").estimate, abs=DRAW_TOL)
    assert res.std_error == pytest.approx(real.term("treat").std_error, abs=DRAW_TOL)
    for draw in (0, 17, 39):
        coef, se = _refit(df, res, draw, **kwargs)
        assert res.coef[draw] == pytest.approx(coef, abs=DRAW_TOL)
        assert res.se[draw] == pytest.approx(se, abs=DRAW_TOL)
    assert res.n_treated == 20 and res.pseudo_units.shape == (40, 20)


def test_closed_form_equals_dense_path_and_is_deterministic() -> None:
    df = _panel(seed=2)
    args = {"reps": 300, "seed": 11, "unit": "unit", "time": "time"}
    fast = placebo(df, "y", "treat", CONTROLS, algorithm="balanced", **args)  # type: ignore[arg-type]
    dense = placebo(df, "y", "treat", CONTROLS, algorithm="dense", chunk_size=64, **args)  # type: ignore[arg-type]
    np.testing.assert_array_equal(fast.pseudo_units, dense.pseudo_units)
    np.testing.assert_allclose(fast.coef, dense.coef, rtol=0, atol=DRAW_TOL)
    np.testing.assert_allclose(fast.se, dense.se, rtol=0, atol=DRAW_TOL)
    again = placebo(df, "y", "treat", CONTROLS, chunk_size=7, **args)  # type: ignore[arg-type]
    np.testing.assert_array_equal(again.coef, fast.coef)
    np.testing.assert_array_equal(again.pseudo_cohorts, fast.pseudo_cohorts)
    other = placebo(df, "y", "treat", CONTROLS, reps=300, seed=12, unit="unit", time="time")
    assert not np.array_equal(other.pseudo_units, fast.pseudo_units)


def test_modes_and_timing() -> None:
    df = _panel(seed=4)
    real_units = sorted(df.loc[df["cohort"] > 0, "unit"].unique())
    real_cohorts = np.sort(df.groupby("unit")["cohort"].first().loc[real_units].to_numpy(float))
    units = placebo(df, "y", "treat", reps=50, seed=1, mode="units", unit="unit", time="time")
    for r in range(50):
        np.testing.assert_array_equal(np.sort(units.pseudo_cohorts[r]), real_cohorts)
        assert len(set(units.pseudo_units[r])) == 20
    timing = placebo(
        df,
        "y",
        "treat",
        reps=50,
        seed=1,
        mode="timing",
        timing="uniform",
        timing_range=(2003, 2011),
        unit="unit",
        time="time",
    )
    labels = np.asarray(timing.unit_labels)
    for r in range(50):
        assert sorted(labels[timing.pseudo_units[r]]) == real_units
    assert timing.pseudo_cohorts.min() >= 2003 and timing.pseudo_cohorts.max() <= 2011
    assert len(np.unique(timing.pseudo_cohorts)) == 9  # every period of the range is drawn
    few = placebo(df, "y", "treat", reps=20, seed=1, n_treated=5, unit="unit", time="time")
    assert few.pseudo_units.shape == (20, 5)
    assert set(np.unique(few.pseudo_cohorts)) <= {2004.0, 2007.0, 2010.0}
    with pytest.raises(ValidationError, match="n_treated"):
        placebo(df, "y", "treat", mode="timing", n_treated=3, unit="unit", time="time")
    with pytest.raises(ValidationError, match="units_and_timing"):
        placebo(df, "y", "treat", mode="units", n_treated=30, unit="unit", time="time")
    with pytest.raises(ValidationError, match="mode"):
        placebo(df, "y", "treat", mode="cities", unit="unit", time="time")  # type: ignore[arg-type]


def test_randomization_p_values_by_hand() -> None:
    draws = np.array([-3.0, -1.0, 0.5, 2.0, np.nan, 4.0])
    p = randomization_p_values(draws, 2.0)
    # |b| >= 2: -3, 2, 4 -> 3 of 5 valid draws; b >= 2: 2, 4; b <= 2: -3, -1, 0.5, 2
    assert p["p_two_sided"] == pytest.approx(4 / 6)
    assert p["p_upper"] == pytest.approx(3 / 6)
    assert p["p_lower"] == pytest.approx(5 / 6)
    assert p["share_beyond"] == pytest.approx(3 / 5)


def test_size_under_the_null_and_power() -> None:
    """Null DGP: the 5% randomisation test rejects at 5% (200 data sets x 99 draws)."""
    n_sets = 200
    rejections = 0
    for s in range(n_sets):
        df = simulate_staggered(
            n_units=30,
            periods=6,
            cohorts={3: 4, 5: 4},
            n_never=22,
            n_controls=0,
            effect=0.0,
            seed=1000 + s,
        )
        res = placebo(df, "y", "treat", reps=99, seed=s, unit="unit", time="time")
        rejections += res.p_two_sided <= 0.05
    rate = rejections / n_sets
    mc_error = np.sqrt(0.05 * 0.95 / n_sets)
    assert abs(rate - 0.05) <= 3 * mc_error, rate
    # power and recovery of a known effect
    df = simulate_staggered(
        n_units=60,
        periods=10,
        cohorts={4: 10, 7: 10},
        n_never=40,
        n_controls=0,
        effect=0.3,
        seed=5,
    )
    res = placebo(df, "y", "treat", reps=199, seed=1, unit="unit", time="time")
    assert res.estimate == pytest.approx(0.3, abs=0.05)
    assert res.p_two_sided == pytest.approx(1 / 200)
    assert abs(float(np.nanmean(res.coef))) < 0.03


def test_result_protocol() -> None:
    df = _panel(seed=6)
    res = placebo(df, "y", "treat", CONTROLS, reps=30, seed=2, unit="unit", time="time")
    tidy = res.tidy()
    assert list(tidy.columns[:7]) == [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert tidy["p_value"].iloc[0] == pytest.approx(res.p_two_sided)
    draws = res.draws()
    assert len(draws) == 30 and {"estimate", "p_value"} <= set(draws.columns)
    out = res.to_dict()
    json.dumps(out)
    assert len(out["draws"]["estimate"]) == 30 and out["stats"]["seed"] == 2
    from didstudy.report.tables import placebo_table

    placebo_table(res, res.estimate)


def test_draws_do_not_depend_on_reps() -> None:
    df = _panel(seed=7)
    short = placebo(df, "y", "treat", reps=20, seed=5, unit="unit", time="time")
    long = placebo(df, "y", "treat", reps=300, seed=5, unit="unit", time="time")
    np.testing.assert_array_equal(short.pseudo_units, long.pseudo_units[:20])
    np.testing.assert_array_equal(short.pseudo_cohorts, long.pseudo_cohorts[:20])
    np.testing.assert_array_equal(short.coef, long.coef[:20])


def test_panel_input() -> None:
    from didstudy.data.panel import Panel

    df = _panel(seed=8)
    panel = Panel(df, unit="unit", time="time", cohort="cohort")
    a = placebo(panel, "y", controls=CONTROLS, reps=30, seed=4)
    b = placebo(df, "y", "treat", CONTROLS, reps=30, seed=4, unit="unit", time="time")
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-14)
    assert a.estimate == pytest.approx(b.estimate, abs=1e-14)


def test_two_way_demeaner_equals_the_demean_kernel() -> None:
    from didstudy.estimation.design import prepare_twfe
    from didstudy.kernels.demean import DirectDemeaner

    df = _panel(seed=9, drop_share=0.1)
    x = np.random.default_rng(0).normal(size=(len(df), 40))
    for weights in (None, "w"):
        design = prepare_twfe(df, "y", CONTROLS, ["unit", "time"], weights=weights)
        demeaner = DirectDemeaner.build(design.fe, design.weights)
        assert demeaner is not None
        sub = x[design.sample]
        np.testing.assert_allclose(demeaner.apply_block(sub), design.demean(sub), atol=1e-12)
