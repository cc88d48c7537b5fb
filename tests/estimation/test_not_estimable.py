"""A treatment that cannot be estimated is an error, never a silently missing row (issue 9).

Four designs identify no effect: no treated unit, no untreated observation, every unit treated
at once (absorbed by the period effects), no unit changing status (absorbed by the unit
effects). The Panel names each; estimators refuse a treatment regressor the fixed effects
absorb, naming the column, and split-sample steps name the group.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import didstudy as ds
from didstudy.errors import EstimationError, PanelWarning, ValidationError

#: least-squares fit of a 0/1 column on unit and period dummies: exact up to rounding
ABSORBED_TOL = 1e-9


def _df() -> pd.DataFrame:
    df = ds.simulate_staggered(
        n_units=30, periods=range(2001, 2011), cohorts={2004: 6, 2007: 6}, seed=2
    )
    df["east"] = (df["unit"].rank(method="dense") % 2).astype(int)
    return df


CASES = {
    "no treated unit": (lambda d: d.assign(treat=0), "no unit is treated"),
    "every row treated": (lambda d: d.assign(treat=1), "every row is treated"),
    "all at once": (
        lambda d: d.assign(treat=(d["time"] >= 2005).astype(int)),
        "all units are treated at the same time",
    ),
    "only always and never treated": (
        lambda d: d.assign(treat=(d["unit"].rank(method="dense") <= 5).astype(int)),
        "no unit changes treatment status",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_panel_names_each_design_that_identifies_nothing(case: str) -> None:
    make, needle = CASES[case]
    panel = ds.as_panel(make(_df()), unit="unit", time="time", treat="treat")
    with pytest.raises(ValidationError, match=needle) as err:
        panel.require_estimable()
    assert "column 'treat'" in str(err.value) and "Fix:" in str(err.value)
    # the estimator refuses too, instead of dropping the row with a warning
    with pytest.raises(EstimationError, match="cannot be estimated") as fit_err:
        ds.twfe(panel, y="y", treat="treat")
    assert "column 'treat'" in str(fit_err.value)


def test_the_good_design_passes() -> None:
    panel = ds.as_panel(_df(), unit="unit", time="time", treat="treat")
    panel.require_estimable()
    assert np.isfinite(ds.twfe(panel, y="y", treat="treat").coef["treat"])


def test_collinear_treatments_and_stepwise_refuse() -> None:
    df = _df()
    df["copy"] = df["treat"]
    panel = ds.as_panel(df, unit="unit", time="time", treat="treat")
    with pytest.raises(EstimationError, match="collinear with other regressors"):
        ds.twfe(panel, y="y", treat=["treat", "copy"])
    with pytest.raises(EstimationError, match="cannot be estimated"):
        ds.stepwise(panel, y="y", treat=["treat", "copy"], controls=["x1"])


def test_subsamples_without_treated_units_are_errors_naming_the_group() -> None:
    df = _df()
    treated_units = df.loc[df["treat"] == 1, "unit"].unique()
    df["group"] = np.where(df["unit"].isin(treated_units), "treated", "never")
    df.loc[df["unit"] == df["unit"].iloc[0], "group"] = "never"
    panel = ds.as_panel(df, unit="unit", time="time", treat="treat")
    with pytest.raises(EstimationError, match="group 'never'") as err:
        ds.heterogeneity(panel, y="y", treat="treat", by="group", test="interaction")
    assert "cannot be estimated" in str(err.value)
    with pytest.raises(DidstudyErrorTypes, match=r"no unit is treated|cannot be estimated"):
        ds.robustness_drop(panel, y="y", treat="treat", drop={"treated": list(treated_units)})


DidstudyErrorTypes = (ValidationError, EstimationError)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 7), min_size=1, max_size=7),
    st.integers(2, 6),
)
def test_require_estimable_iff_the_fixed_effects_absorb_the_treatment(
    cohorts: list[int], n_periods: int
) -> None:
    """Property: refused exactly when the two-way (LSDV) residual of D is zero (balanced)."""
    periods = np.arange(1, n_periods + 1)
    unit = np.repeat(np.arange(len(cohorts)), n_periods)
    time = np.tile(periods, len(cohorts))
    g = np.repeat(cohorts, n_periods)
    d = ((g > 0) & (time >= g)).astype(float)
    dummies = np.column_stack(
        [unit == u for u in range(len(cohorts))] + [time == t for t in periods[1:]]
    ).astype(float)
    fitted = dummies @ np.linalg.lstsq(dummies, d, rcond=None)[0]
    absorbed = bool(np.allclose(d, fitted, atol=ABSORBED_TOL))
    frame = pd.DataFrame({"u": unit, "t": time, "d": d.astype(int)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        panel = ds.as_panel(frame, unit="u", time="t", treat="d")
    if absorbed:
        with pytest.raises(ValidationError, match="so no treatment effect can be estimated"):
            panel.require_estimable()
    else:
        panel.require_estimable()
