"""The README's Python walk-through runs as written (on SIMULATED data) and its pieces agree."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import didstudy as ds


def test_public_api_names_resolve() -> None:
    for name in ds.__all__:
        assert getattr(ds, name) is not None, name
    with pytest.raises(AttributeError):
        _ = ds.no_such_function  # type: ignore[attr-defined]


def test_readme_walk_through() -> None:
    df = ds.simulate_staggered(
        n_units=60, periods=range(2003, 2013), cohorts={2007: 10, 2009: 10}, n_controls=3, seed=1
    )
    assert df.attrs["simulated"] is True
    df = df.rename(
        columns={
            "y": "indg",
            "cohort": "first_year",
            "unit": "city",
            "time": "year",
            "x1": "ln_gdp",
            "x2": "edu",
            "x3": "saver",
        }
    )
    panel = ds.Panel(df, unit="city", time="year", cohort="first_year", cluster="city")
    assert panel.describe()["n_units"] == 60

    res = ds.twfe(panel, y="indg", treat="_treated", controls=["ln_gdp", "edu"])
    assert set(res.tidy()["term"]) == {"_treated", "ln_gdp", "edu"}
    assert res.with_vcov("hc1").se["_treated"] != res.se["_treated"]
    steps = ds.stepwise(panel, y="indg", treat="_treated", controls=["ln_gdp", "edu", "saver"])
    full = ds.twfe(panel, y="indg", treat="_treated", controls=["ln_gdp", "edu", "saver"])
    last = steps.tidy().query("model == '(4)' and term == '_treated'")["estimate"].item()
    assert last == pytest.approx(full.coef["_treated"], rel=1e-12)

    es = ds.event_study(panel, y="indg", window=(-5, 5), base=-1)
    assert es.pretrend is not None and 0 <= es.pretrend.p_f <= 1
    pl = ds.placebo(panel, y="indg", treat="_treated", reps=50, seed=1)
    assert pl.coef.shape == (50,) and 0 < pl.p_two_sided <= 1
    summary = ds.bacon(panel, y="indg", treat="_treated").summary()
    assert summary["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    twfe_plain = ds.twfe(panel, y="indg", treat="_treated")
    weighted = float((summary["estimate"] * summary["weight"]).sum())
    assert weighted == pytest.approx(twfe_plain.coef["_treated"], abs=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psm = ds.psm_did(panel, y="indg", treat="_treated", covariates=["ln_gdp", "edu"])
    assert psm.regression.nobs < len(df)

    rng = np.random.default_rng(0)
    d = ds.dagum(rng.uniform(1, 10, 40), rng.integers(0, 5, 40))
    assert d.Gw + d.Gnb + d.Gt == pytest.approx(d.G, abs=1e-12)


def test_readme_panel_baseline_and_seed() -> None:
    """The README's as_panel / Baseline / seed lines run as written and agree with keywords."""
    df = ds.simulate_staggered(
        n_units=60, periods=range(2003, 2013), cohorts={2007: 10, 2009: 10}, n_controls=4, seed=1
    ).rename(
        columns={"y": "indg", "cohort": "first_year", "unit": "city", "time": "year"}
        | {"x1": "ln_gdp", "x2": "edu", "x3": "saver", "x4": "ln_trans"}
    )
    panel = ds.as_panel(df, unit="city", time="year", cohort="first_year", cluster="city")
    panel.require_estimable()
    base = ds.Baseline(y="indg", treat="_treated", controls=["ln_gdp", "edu"])
    res = ds.twfe(panel, spec=base)
    assert res.spec == base
    keywords = ds.twfe(panel, y="indg", treat="_treated", controls=["ln_gdp", "edu"])
    assert res.coef.equals(keywords.coef)
    assert ds.twfe(panel, spec=base, controls=[]).terms == ("_treated",)
    steps = ds.stepwise(panel, spec=base.override(controls=["ln_trans", "ln_gdp", "saver"]))
    assert len(steps) == 4
    pl = ds.placebo(panel, y="indg", treat="_treated", reps=30)
    again = ds.placebo(panel, y="indg", treat="_treated", reps=30, seed=pl.seed)
    np.testing.assert_array_equal(again.coef, pl.coef)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psm = ds.psm_did(panel, spec=base, covariates=["ln_gdp", "edu"])
    assert psm.regression.spec is not None and psm.regression.spec.controls == ("ln_gdp", "edu")
