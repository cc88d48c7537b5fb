"""Gini, Theil (T, L), coefficient of variation, sd of logs; grouped table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.inequality import (
    coefficient_of_variation,
    gini,
    inequality_by_group,
    sd_logs,
    theil,
)

# sums of a few hundred O(1) terms in float64
EXACT_TOL = 1e-12
# log-normal sample of 400,000: sampling sd of these statistics is below 2e-3
DGP_TOL = 1e-2


GOLDEN = Path(__file__).resolve().parents[1] / "reference" / "measure" / "pysal_golden.json"


def test_theil_against_pysal() -> None:
    """Theil T total, between and within equal PySAL inequality.theil.TheilD. Golden file made by
    ``.venv/bin/python tests/reference/measure/make_pysal_golden.py`` (PySAL is test-only)."""
    ref = json.loads(GOLDEN.read_text(encoding="utf-8"))["theil"]
    y = np.asarray(ref["values"])
    g = np.asarray(ref["groups"])
    res = theil(y, g, kind="T")
    assert res.total == pytest.approx(ref["T"], abs=EXACT_TOL)
    assert res.between == pytest.approx(ref["between"], abs=EXACT_TOL)
    assert res.within == pytest.approx(ref["within"], abs=EXACT_TOL)
    assert theil(y).total == pytest.approx(ref["T"], abs=EXACT_TOL)


@pytest.mark.parametrize("kind", ["T", "L"])
@pytest.mark.parametrize("weighted", [False, True])
def test_theil_decomposition_and_weights(kind: str, weighted: bool) -> None:
    rng = np.random.default_rng(9)
    y = rng.lognormal(1.0, 0.8, 300)
    g = rng.integers(0, 7, 300)
    w = rng.integers(1, 4, 300).astype(float) if weighted else None
    res = theil(y, g, kind=kind, weights=w)  # type: ignore[arg-type]
    assert res.within + res.between == pytest.approx(res.total, abs=EXACT_TOL)
    # direct formula
    ww = np.ones_like(y) if w is None else w
    mu = np.dot(ww, y) / ww.sum()
    if kind == "T":
        direct = np.dot(ww, (y / mu) * np.log(y / mu)) / ww.sum()
    else:
        direct = np.dot(ww, np.log(mu / y)) / ww.sum()
    assert res.total == pytest.approx(direct, abs=EXACT_TOL)
    if w is not None:  # integer weights are frequency weights
        rep = theil(np.repeat(y, w.astype(int)), np.repeat(g, w.astype(int)), kind=kind)  # type: ignore[arg-type]
        assert rep.between == pytest.approx(res.between, abs=EXACT_TOL)
    json.dumps(res.to_dict(), allow_nan=False)
    assert set(res.tidy()["term"]) >= {"within", "between"}


def test_known_truth_lognormal() -> None:
    """ln y ~ N(0, σ²): sd of logs = σ, Theil T = Theil L = σ²/2, CV = sqrt(exp(σ²) − 1),
    Gini = 2Φ(σ/√2) − 1 = erf(σ/2)."""
    sigma = 0.7
    y = np.random.default_rng(21).lognormal(0.0, sigma, 400_000)
    assert sd_logs(y) == pytest.approx(sigma, abs=DGP_TOL)
    assert theil(y, kind="T").total == pytest.approx(sigma**2 / 2, abs=DGP_TOL)
    assert theil(y, kind="L").total == pytest.approx(sigma**2 / 2, abs=DGP_TOL)
    assert coefficient_of_variation(y) == pytest.approx(np.sqrt(np.exp(sigma**2) - 1), abs=DGP_TOL)
    assert gini(y) == pytest.approx(math.erf(sigma / 2), abs=DGP_TOL)


def test_simple_measures_and_errors() -> None:
    y = np.array([1.0, 2.0, 4.0, 8.0])
    assert coefficient_of_variation(y) == pytest.approx(np.std(y) / np.mean(y), abs=EXACT_TOL)
    assert coefficient_of_variation(y, ddof=1) == pytest.approx(
        np.std(y, ddof=1) / np.mean(y), abs=EXACT_TOL
    )
    assert sd_logs(y) == pytest.approx(np.std(np.log(y)), abs=EXACT_TOL)
    assert gini([5.0, 5.0, 5.0]) == 0.0
    assert np.isnan(gini([0.0, 0.0]))
    assert gini([1.0, np.nan, 3.0]) == pytest.approx(gini([1.0, 3.0]))
    with pytest.raises(DataError, match="missing"):
        gini([1.0, np.nan], missing="raise")
    with pytest.raises(DataError, match="strictly positive"):
        theil([0.0, 1.0], kind="L")
    with pytest.raises(DataError, match="strictly positive"):
        sd_logs([0.0, 1.0])
    with pytest.raises(DidstudyError, match="kind"):
        theil([1.0, 2.0], kind="X")  # type: ignore[arg-type]
    assert theil([0.0, 1.0], kind="T").total == pytest.approx(np.log(2))


@pytest.mark.parametrize("weighted", [False, True])
def test_inequality_by_group_equals_loop(weighted: bool) -> None:
    rng = np.random.default_rng(4)
    n = 400
    df = pd.DataFrame(
        {
            "year": rng.integers(2000, 2004, n),
            "city": rng.choice(["a", "b", "c", "d", "e"], n),
            "light": np.round(rng.gamma(2, 4, n), 1) + 0.1,
            "pop": rng.uniform(1, 5, n),
        }
    )
    df.loc[:5, "light"] = np.nan
    df.loc[10:12, "light"] = 0.0
    wcol = "pop" if weighted else None
    table = inequality_by_group(df, "light", "city", "year", weights=wcol, min_units=2)
    assert list(table.columns[:5]) == ["year", "city", "n", "n_dropped_missing", "mean"]
    for row in table.itertuples(index=False):
        sub = df[(df["year"] == row.year) & (df["city"] == row.city)].dropna(subset=["light"])
        w = None if wcol is None else sub[wcol]
        assert row.n == len(sub)
        assert row.gini == pytest.approx(gini(sub["light"], w), abs=EXACT_TOL)
        assert row.theil_t == pytest.approx(theil(sub["light"], weights=w).total, abs=EXACT_TOL)
        assert row.cv == pytest.approx(coefficient_of_variation(sub["light"], w), abs=EXACT_TOL)
        if (sub["light"] > 0).all():
            assert row.theil_l == pytest.approx(
                theil(sub["light"], kind="L", weights=w).total, abs=EXACT_TOL
            )
            assert row.sd_log == pytest.approx(sd_logs(sub["light"], w), abs=EXACT_TOL)
        else:
            assert np.isnan(row.theil_l) and np.isnan(row.sd_log)
    per_year = inequality_by_group(df, "light", None, "year", measures=["gini"])
    assert list(per_year.columns) == ["year", "n", "n_dropped_missing", "mean", "gini"]
    assert per_year["gini"].iloc[0] == pytest.approx(
        gini(df.loc[df["year"] == per_year["year"].iloc[0], "light"]), abs=EXACT_TOL
    )
    with pytest.raises(DidstudyError, match="unknown inequality"):
        inequality_by_group(df, "light", "city", measures=["atkinson"])
