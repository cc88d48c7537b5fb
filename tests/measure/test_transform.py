"""Winsorising like Stata winsor2: Stata's default percentile definition, by group, trim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.transform import winsorize


def test_hand_computed_stata_percentiles() -> None:
    """x = 1..10: P = 10·10/100 = 1 is an integer -> p10 = (x_(1)+x_(2))/2 = 1.5; p90 = 9.5.
    x = 1..7 with cuts (20, 80): P = 1.4 -> x_(2) = 2; P = 5.6 -> x_(6) = 6."""
    df = pd.DataFrame({"x": np.arange(1, 11, dtype=float)})
    res = winsorize(df, "x", cuts=(10, 90))
    assert res.frame["x_w"].tolist() == [1.5, 2, 3, 4, 5, 6, 7, 8, 9, 9.5]
    rep = res.report.iloc[0]
    assert (rep["lower"], rep["upper"], rep["n_low"], rep["n_high"]) == (1.5, 9.5, 1, 1)
    assert df["x"].tolist() == list(range(1, 11))  # input untouched
    df7 = pd.DataFrame({"x": [7.0, 1, 3, 2, 6, 5, 4]})
    frame, report = winsorize(df7, "x", cuts=(20, 80), replace=True)
    assert frame["x"].tolist() == [6.0, 2, 3, 2, 6, 5, 4]
    assert report["n_changed"].iloc[0] == 2
    trimmed, _ = winsorize(df7, "x", cuts=(20, 80), trim=True)
    assert trimmed["x_tr"].isna().tolist() == [True, True, False, False, False, False, False]
    # 0 / 100 mean no cut on that side
    one_sided, _ = winsorize(df7, "x", cuts=(0, 80), suffix="_cap")
    assert one_sided["x_cap"].tolist() == [6.0, 1, 3, 2, 6, 5, 4]


def test_by_group_matches_numpy_type2() -> None:
    """Stata's default = Hyndman-Fan type 2 = numpy 'averaged_inverted_cdf' (alternative code)."""
    rng = np.random.default_rng(12)
    n = 2000
    df = pd.DataFrame(
        {
            "year": rng.integers(2000, 2010, n),
            "region": rng.choice(["east", "west"], n),
            "a": np.round(rng.lognormal(size=n), 1),
            "b": rng.integers(0, 50, n),
        }
    )
    df.loc[rng.choice(n, 40, replace=False), "a"] = np.nan
    res = winsorize(df, ["a", "b"], cuts=(1, 99), by=["year", "region"])
    for (year, region), sub in df.groupby(["year", "region"]):
        for col in ("a", "b"):
            x = sub[col].dropna().to_numpy(dtype=float)
            lo, hi = np.percentile(x, [1, 99], method="averaged_inverted_cdf")
            got = res.frame.loc[sub.index, f"{col}_w"].dropna().to_numpy()
            np.testing.assert_allclose(got, np.clip(x, lo, hi), rtol=0, atol=0)
            rep = res.report[
                (res.report["column"] == col)
                & (res.report["year"] == year)
                & (res.report["region"] == region)
            ].iloc[0]
            assert rep["lower"] == lo and rep["upper"] == hi
            assert rep["n"] == len(x)
            assert rep["n_low"] == (x < lo).sum() and rep["n_high"] == (x > hi).sum()
    assert res.frame["a_w"].isna().sum() == 40
    assert res.to_dict()["kind"] == "winsorize"


def test_bad_input() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"], "g": [1, None]})
    with pytest.raises(DataError, match="non-numeric"):
        winsorize(df, "s")
    with pytest.raises(DataError, match="not in the data"):
        winsorize(df, "y")
    with pytest.raises(DidstudyError, match="cuts"):
        winsorize(df, "x", cuts=(99, 1))
    with pytest.raises(DataError, match="by"):
        winsorize(df, "x", by="g")
    with pytest.raises(DataError, match="infinite"):
        winsorize(pd.DataFrame({"x": [1.0, np.inf]}), "x")


def test_values_a_hair_beyond_the_cut_are_moved_and_ties_at_the_cut_are_not() -> None:
    """n = 7, cuts (20, 80): P = 1.4 -> p20 = x_(2) = 2; P = 5.6 -> p80 = x_(6) = 6.
    A value 1e-9 below p20 (above p80) is moved onto the cut; values equal to a cut stay."""
    eps = 1e-9
    df = pd.DataFrame({"x": [2 - eps, 2.0, 2.0, 4.0, 5.0, 6.0, 6 + eps]})
    frame, report = winsorize(df, "x", cuts=(20, 80))
    assert frame["x_w"].tolist() == [2.0, 2.0, 2.0, 4.0, 5.0, 6.0, 6.0]
    rep = report.iloc[0]
    assert (rep["lower"], rep["upper"]) == (2.0, 6.0)
    assert (rep["n_low"], rep["n_high"], rep["n_changed"]) == (1, 1, 2)
    trimmed, _ = winsorize(df, "x", cuts=(20, 80), trim=True)
    assert trimmed["x_tr"].isna().tolist() == [True, False, False, False, False, False, True]
