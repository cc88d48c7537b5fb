"""The model F statistic of a regression (issue 15: an esttab/reghdfe-style F row)."""

from __future__ import annotations

import numpy as np
import pytest

import didstudy as ds
from didstudy.kernels.distributions import t_sf

# the same quadratic form by two algebras (eigen-decomposition vs a linear solve)
FORM_TOL = 1e-10


@pytest.fixture(scope="module")
def panel() -> ds.Panel:
    df = ds.simulate_staggered(n_units=60, periods=range(2001, 2011), seed=4)
    return ds.as_panel(df, unit="unit", time="time", treat="treat")


def test_one_coefficient_f_is_t_squared(panel: ds.Panel) -> None:
    res = ds.twfe(panel, "y", "treat")
    st = res.stats()
    t = res.term("treat").statistic
    assert st["f_df1"] == 1
    assert st["f_stat"] == pytest.approx(t**2, rel=FORM_TOL)
    assert st["f_p"] == pytest.approx(2 * t_sf(abs(t), res.df_t), rel=1e-8)


def test_joint_f_is_the_wald_form_over_k(panel: ds.Panel) -> None:
    res = ds.twfe(panel, "y", "treat", ["x1", "x2"])
    b, v = np.asarray(res.params), np.asarray(res.cov)
    expected = float(b @ np.linalg.solve(v, b)) / len(b)
    st = res.stats()
    assert st["f_df1"] == 3 and st["f_stat"] == pytest.approx(expected, rel=FORM_TOL)
    assert 0.0 <= st["f_p"] <= 1.0
    # a new covariance gives a new F (inference is a transformation, issue 9)
    hc1 = res.with_vcov("hc1").stats()
    assert hc1["f_stat"] != pytest.approx(st["f_stat"], rel=1e-6)


def test_the_f_row_prints_in_a_table(panel: ds.Panel) -> None:
    res = ds.twfe(panel, "y", "treat", ["x1"])
    table = ds.regression_table({"(1)": res}, stats=["nobs", "f_stat", "f_p"], lang="en")
    labels = [row.cells[0].text for row in table.body]
    assert "F statistic (all coefficients)" in labels and "Prob > F" in labels
    printed = {row.cells[0].text: row.cells[1].text for row in table.body}
    assert float(printed["F statistic (all coefficients)"]) == pytest.approx(
        res.stats()["f_stat"], abs=0.01
    )
