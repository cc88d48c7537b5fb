"""DMSP corrections against the hand-computed vectors of the methods spec (§2.2-2.5)."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.errors import DataError, ValidationError
from didstudy.lights.calibrate import (
    calibration_table,
    coefficients_for,
    compose_same_year,
    continuity_correction,
    dmsp_series,
    fit_intercalibration,
    intercalibrate,
)
from didstudy.lights.saturation import cap, hsi, threshold, vanui

EXACT = 0.0  # integer-valued inputs: the corrections are exact in floating point
ROUNDOFF = 1e-12  # a handful of float operations on O(100) values

SPEC_INPUT = np.array([[4, 0, 10], [6, 3, 12], [5, 2, 9], [0, 4, 11], [8, 4, 10]], dtype=float)
SPEC_OUTPUT = {
    "sequential": [[4, 0, 10], [6, 3, 12], [0, 3, 12], [0, 4, 12], [8, 4, 10]],
    "simultaneous": [[4, 0, 10], [6, 3, 12], [0, 3, 12], [5, 4, 11], [8, 4, 10]],
}


def test_compose_same_year_spec_vector() -> None:
    got = compose_same_year([0, 5, 7], [3, 0, 9])
    np.testing.assert_array_equal(got, [0.0, 0.0, 8.0])
    got = compose_same_year([np.nan, 2.0], [1.0, 4.0])
    assert np.isnan(got[0]) and got[1] == 3.0
    with pytest.raises(ValidationError, match="shape"):
        compose_same_year([1, 2], [1, 2, 3])


@pytest.mark.parametrize("mode", ["sequential", "simultaneous"])
def test_continuity_spec_vectors(mode: str) -> None:
    got = continuity_correction(SPEC_INPUT, mode=mode)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got, np.array(SPEC_OUTPUT[mode], dtype=float))
    # the same rule on a 3-d stack (years × rows × cols) gives the same numbers
    cube = SPEC_INPUT.reshape(5, 1, 3)
    np.testing.assert_array_equal(
        continuity_correction(cube, mode=mode)[:, 0, :],  # type: ignore[arg-type]
        np.array(SPEC_OUTPUT[mode], dtype=float),
    )


def test_continuity_sequential_is_monotone_unless_next_year_dark() -> None:
    rng = np.random.default_rng(3)
    stack = rng.integers(1, 64, size=(8, 200)).astype(float)  # no zeros: never reset
    out = continuity_correction(stack, "sequential")
    assert np.all(np.diff(out[:-1], axis=0) >= 0)  # interior years never dim
    np.testing.assert_array_equal(out[[0, -1]], stack[[0, -1]])
    with pytest.raises(ValidationError, match="mode"):
        continuity_correction(stack, "both")  # type: ignore[arg-type]


def test_intercalibration_hand_computed() -> None:
    c = coefficients_for("F15", 2005)  # Elvidge 2014 row: (0.6367, 1.2838, -0.0041)
    assert (c.c0, c.c1, c.c2, c.reference) == (0.6367, 1.2838, -0.0041, "F12 1999")
    dn = np.array([0.0, 10.0, 40.0, 63.0, np.nan])
    expected = [0.0, 0.6367 + 12.838 - 0.41, 0.6367 + 51.352 - 6.56, 63.0, np.nan]
    np.testing.assert_allclose(intercalibrate(dn, c), expected, atol=ROUNDOFF)
    # without keep_zero the intercept lights background cells
    assert intercalibrate([0.0], c, keep_zero=False)[0] == pytest.approx(0.6367)
    ref = coefficients_for("F12", 1999)
    np.testing.assert_array_equal(intercalibrate(dn[:4], ref), dn[:4])


def test_liu_table_and_rebasing_round_trip() -> None:
    liu = coefficients_for("F16", 2007, table="liu2012")
    assert liu.reference == "F16 2007" and (liu.c0, liu.c1, liu.c2) == (0.0, 1.0, 0.0)
    c = coefficients_for("F14", 2002, table="liu2012")
    assert (c.c0, c.c1, c.c2) == (0.4874, 1.1597, -0.0030)
    # rebasing F15 2005 onto F15 2005's own scale must be the identity (f^{-1}(f(x)) = x)
    dn = np.arange(1.0, 50.0)
    self_ref = coefficients_for("F15", 2005, reference=("F15", 2005))
    np.testing.assert_allclose(intercalibrate(dn, self_ref), dn, atol=1e-9)
    # and rebasing onto F16 2008 equals f_R^{-1}(f_X(x)) solved by bisection (alternative algorithm)
    x = coefficients_for("F14", 2001)
    r = coefficients_for("F16", 2008)
    reb = intercalibrate(dn, coefficients_for("F14", 2001, reference=("F16", 2008)))
    target = x.c0 + x.c1 * dn + x.c2 * dn**2
    lo, hi = np.zeros_like(dn), np.full_like(dn, 200.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = r.c0 + r.c1 * mid + r.c2 * mid**2 < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    np.testing.assert_allclose(reb, np.clip(lo, 0, 63), atol=1e-9)
    with pytest.raises(ValidationError, match="no coefficients for satellite-year F18 2013"):
        coefficients_for("F18", 2013)
    with pytest.raises(ValidationError, match="unknown inter-calibration table"):
        coefficients_for("F15", 2005, table="nope")


def test_tables_are_the_specified_ones() -> None:
    elv = calibration_table("elvidge2014")
    assert len(elv) == 33 and not ((elv.satellite == "F16") & (elv.year > 2009)).any()
    assert set(elv.loc[elv.satellite == "F18", "year"]) == {2010, 2011, 2012}
    assert len(calibration_table("liu2012")) == 30


def test_fit_intercalibration_recovers_known_quadratic() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(1, 60, size=5000)
    truth = (1.5, 0.9, 0.002)
    r = truth[0] + truth[1] * x + truth[2] * x**2 + rng.normal(0, 0.5, x.size)
    fit = fit_intercalibration(x, r, satellite="f15", year=2004, reference_name="F16 2007")
    assert fit.satellite == "F15" and fit.source == "fitted" and fit.n == int((r < 63).sum())
    # sampling error of 5,000 pairs with noise sd 0.5: a few standard errors
    assert abs(fit.c0 - truth[0]) < 0.1 and abs(fit.c1 - truth[1]) < 0.01
    assert abs(fit.c2 - truth[2]) < 2e-4 and fit.r2 is not None and fit.r2 > 0.99
    # OLS identity: np.polyfit on the same pairs gives the same coefficients
    keep = r < 63
    np.testing.assert_allclose(
        np.polyfit(x[keep], r[keep], 2)[::-1], [fit.c0, fit.c1, fit.c2], rtol=1e-9
    )
    mask = np.zeros(x.size, dtype=bool)
    with pytest.raises(DataError, match="usable cell pairs"):
        fit_intercalibration(x, r, satellite="F15", year=2004, reference_name="x", mask=mask)


def test_saturation_options() -> None:
    np.testing.assert_array_equal(threshold([0, 3, 7, 20]), [0, 0, 7, 20])
    np.testing.assert_array_equal(cap([10, 70, np.nan])[:2], [10, 63])
    dn = np.array([0.0, 31.5, 63.0])
    ndvi = np.array([0.8, 0.5, 0.3])
    np.testing.assert_allclose(vanui(dn, ndvi), [0.0, 0.25, 0.7], atol=ROUNDOFF)
    ols = dn / 63
    nd = np.clip(ndvi, 0, 1)
    expected = ((1 - nd) + ols) / ((1 - ols) + nd + ols * nd)
    np.testing.assert_allclose(hsi(dn, ndvi), expected, atol=ROUNDOFF)
    assert hsi([31.5], [0.5])[0] == pytest.approx(0.8, abs=ROUNDOFF)  # (0.5+0.5)/(0.5+0.5+0.25)
    with pytest.raises(ValidationError, match="scale factor"):
        vanui(dn, ndvi * 10000)


def test_dmsp_series_chains_the_corrections() -> None:
    rng = np.random.default_rng(9)
    imgs = {
        (s, y): rng.integers(0, 64, 50).astype(float)
        for s, y in [("F14", 2002), ("F15", 2002), ("F15", 2003), ("F16", 2004)]
    }
    own = fit_intercalibration(
        imgs["F16", 2004] + 1,
        imgs["F16", 2004],
        satellite="F16",
        year=2004,
        reference_name="F12 1999",
        drop_zero=False,
    )
    series = dmsp_series(imgs, coefficients={("F16", 2004): own}, continuity="simultaneous")
    assert series.years == (2002, 2003, 2004)
    by_hand = [
        compose_same_year(
            intercalibrate(imgs["F14", 2002], coefficients_for("F14", 2002)),
            intercalibrate(imgs["F15", 2002], coefficients_for("F15", 2002)),
        ),
        intercalibrate(imgs["F15", 2003], coefficients_for("F15", 2003)),
        intercalibrate(imgs["F16", 2004], own),
    ]
    np.testing.assert_array_equal(
        series.stack, continuity_correction(np.stack(by_hand), "simultaneous")
    )
    assert series.parameters["intercalibration"]["F16 2004"]["source"] == "fitted"  # type: ignore[index]
    raw = dmsp_series(imgs, continuity=None)
    np.testing.assert_array_equal(raw.stack[1], by_hand[1])
