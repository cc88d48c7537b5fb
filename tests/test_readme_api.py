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
