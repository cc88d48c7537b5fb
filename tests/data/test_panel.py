"""Panel: derived timing on real data, every validation message, immutability, round trips."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.data.datasets import load_dataset
from didstudy.data.panel import Panel
from didstudy.data.simulate import simulate_staggered
from didstudy.data.treatment import cohort_from_treatment, treatment_from_cohort
from didstudy.data.validate import find_gaps
from didstudy.errors import DataError, PanelWarning, ValidationError


def _small() -> pd.DataFrame:
    """3 units x 4 periods: unit a treated from 2002, b from 2003, c never."""
    return pd.DataFrame(
        {
            "id": np.repeat(["a", "b", "c"], 4),
            "year": np.tile([2000, 2001, 2002, 2003], 3),
            "d": [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0],
            "g": np.repeat([2002, 2003, 0], 4),
            "w": 1.0,
            "y": np.arange(12, dtype=float),
        }
    )


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    assert list(a.columns) == list(b.columns)


def test_castle_timing_groups_from_post() -> None:
    df = load_dataset("castle")
    p = Panel(df, unit="state", time="year", treat="post")
    d = p.describe()
    assert d["cohorts"] == {2005: 1, 2006: 13, 2007: 4, 2008: 2, 2009: 1}
    assert d["n_never_treated"] == 29 and d["n_always_treated"] == 0
    assert (d["n_units"], d["n_periods"], d["n_obs"], d["balanced"]) == (50, 11, 550, True)
    assert d["treated_share"] == pytest.approx(95 / 550)
    f = p.frame
    # derived cohort equals effyear for treated states (the documented trap: not treatment_date)
    treated = ~f["_never_treated"]
    np.testing.assert_array_equal(f.loc[treated, "_cohort"], f.loc[treated, "effyear"])
    assert f.loc[f["state"] == "Florida", "_cohort"].iloc[0] == 2005
    assert (f.loc[treated, "_rel_time"] == f.loc[treated, "year"] - f.loc[treated, "effyear"]).all()
    assert f.loc[~treated, "_rel_time"].isna().all()
    assert np.isinf(f.loc[~treated, "_cohort"]).all()
    assert (f["_treated"] == f["post"]).all() and p.treat == "post"
    assert p.cohorts == (2005, 2006, 2007, 2008, 2009)
    p.require_controls("never")
    assert p.require_controls("not_yet") == ()


def test_mpdta_cohorts() -> None:
    df = load_dataset("mpdta")
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    d = p.describe()
    assert d["cohorts"] == {2004: 20, 2006: 40, 2007: 131}
    assert d["n_never_treated"] == 309
    f = p.frame
    expected = ((f["first.treat"] > 0) & (f["year"] >= f["first.treat"])).astype(int)
    assert (f["_treated"] == expected).all() and p.treat == "_treated"
    rel = f["_rel_time"].dropna()
    assert sorted(rel.unique()) == [-4, -3, -2, -1, 0, 1, 2, 3]
    assert (f.groupby("countyreal")["_rel_time"].count().isin([0, 5])).all()
    # the mpdta trap: `treat` is "ever treated", so passing it as treat= must be refused
    with pytest.raises(ValidationError) as err:
        Panel(df, unit="countyreal", time="year", treat="treat", cohort="first.treat")
    msg = str(err.value)
    assert "column 'treat'" in msg and "disagrees with 1{year >= first.treat}" in msg
    assert "664 row(s)" in msg and "Fix: pass only cohort='first.treat'" in msg


def test_divorce_always_treated_and_late_cohorts() -> None:
    df = load_dataset("divorce")
    df = df[df["sex"] == 2]
    with pytest.warns(PanelWarning) as rec:
        p = Panel(df, unit="st", time="year", cohort="divyear")
    text = " ".join(str(w.message) for w in rec)
    assert "first treated after the last period 1996 (cohorts [2000])" in text
    assert "9 unit(s) are treated in their first observed period" in text
    d = p.describe()
    assert d["n_always_treated"] == 9 and d["cohorts"][1950] == 9
    assert d["n_never_treated"] == 5
    f = p.frame
    assert f.loc[f["_always_treated"], "st"].nunique() == 9
    assert (f.loc[f["_always_treated"], "_treated"] == 1).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"treat": "d"},
        {"cohort": "g"},
        {"treat": "d", "cohort": "g", "weight": "w", "cluster": "id"},
    ],
)
def test_never_mutates_caller(kwargs: dict[str, str]) -> None:
    df = _small()
    df.index = pd.Index([10 * i for i in range(len(df))])
    df["year"] = df["year"].astype(str)  # forces a conversion in the private copy
    df.attrs["note"] = "mine"
    df["_cohort"] = -1.0  # a stale derived column in the input
    before = copy.deepcopy(df)
    with pytest.warns(PanelWarning):
        p = Panel(df, unit="id", time="year", **kwargs)
    _assert_same(df, before)
    f = p.frame
    f["y"] = 0.0
    f.loc[0, "_cohort"] = 1.0
    assert p.frame["y"].sum() == _small()["y"].sum()
    assert p.frame.loc[0, "_cohort"] == 2002
    with pytest.raises(AttributeError, match="immutable"):
        p.unit = "x"  # type: ignore[misc]
    _assert_same(df, before)


def _messages(df: pd.DataFrame, **kwargs: object) -> str:
    with pytest.raises((ValidationError, DataError)) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        Panel(df, **kwargs)  # type: ignore[arg-type]
    return str(err.value)


def _edit(col: str, rows: list[int], value: object) -> pd.DataFrame:
    df = _small()
    if isinstance(value, float):
        df[col] = df[col].astype(float)
    elif not isinstance(value, int):
        df[col] = df[col].astype(object)
    df.loc[rows, col] = value
    return df


ROLES = {"unit": "id", "time": "year", "treat": "d"}


@pytest.mark.parametrize(
    ("df", "kwargs", "expected"),
    [
        (
            pd.concat([_small(), _small().iloc[[1, 5]]], ignore_index=True),
            ROLES,
            [
                "column 'id, year'",
                "rows 1, 5, 12, 13",
                "2 (id, year) pair(s) appear more than once",
                "('a', 2001) at rows 1, 12",
                "('b', 2001) at rows 5, 13",
                "Fix: keep one row per unit and period",
            ],
        ),
        (_edit("year", [3], np.nan), ROLES, ["column 'year'", "rows 3", "missing", "Fix:"]),
        (
            _edit("year", [2, 7], "2002/03"),
            ROLES,
            ["column 'year'", "rows 2, 7", "not integer periods", "'2002/03'", "Fix:"],
        ),
        (_edit("year", [4], 2000.5), ROLES, ["column 'year'", "rows 4", "non-integer", "Fix:"]),
        (_edit("id", [0], None), ROLES, ["column 'id'", "rows 0", "unit column", "missing"]),
        (_edit("d", [6], np.nan), ROLES, ["column 'd'", "rows 6", "missing value", "Fix:"]),
        (
            _edit("d", [6, 8], "yes"),
            ROLES,
            ["column 'd'", "rows 6, 8", "non-numeric", "row 6: 'yes'", "Fix: recode"],
        ),
        (
            _edit("d", [9], 2),
            ROLES,
            ["column 'd'", "rows 9", "must be 0/1", "row 9: 2.0", "pass it as cohort="],
        ),
        (
            _edit("d", [3], 0),
            ROLES,
            [
                "column 'd'",
                "rows 3",
                "switches off (1 then 0) in 1 unit(s): unit 'a' at year 2003 (row 3)",
                "allow_switching=True",
            ],
        ),
        (
            _edit("g", [5], 2001),
            {"unit": "id", "time": "year", "cohort": "g"},
            ["column 'g'", "rows 4, 5, 6, 7", "unit 'b': [2001.0, 2003.0]", "Fix: give each"],
        ),
        (
            _edit("g", [0, 1, 2, 3], "2002-03-01"),
            {"unit": "id", "time": "year", "cohort": "g"},
            ["column 'g'", "rows 0, 1, 2, 3", "non-numeric", "cohorts_from_adoption"],
        ),
        (
            _edit("g", [0, 1, 2, 3], -5),
            {"unit": "id", "time": "year", "cohort": "g"},
            ["column 'g'", "rows 0, 1, 2, 3", "positive integer", "Fix:"],
        ),
        (
            _edit("w", [2], -1.0),
            {**ROLES, "weight": "w"},
            ["column 'w'", "rows 2", "negative", "Fix:"],
        ),
        (_edit("w", [2], np.nan), {**ROLES, "weight": "w"}, ["column 'w'", "rows 2", "missing"]),
        (
            _small().assign(cl=lambda x: x["id"].astype(object).where(x.index != 1, None)),
            {**ROLES, "cluster": "cl"},
            ["column 'cl'", "rows 1", "cluster column", "missing"],
        ),
        (
            _small(),
            {"unit": "ID", "time": "year", "treat": "d"},
            ["column 'ID'", "unit column 'ID' not found", "did you mean 'id'"],
        ),
        (_small(), {"unit": "id", "time": "year"}, ["no treatment given", "Fix: pass treat="]),
        (_small(), {"unit": "id", "time": "id", "treat": "d"}, ["two roles"]),
        (
            _small().assign(id=[1, 1, 1, 1, "b", "b", "b", "b", 3, 3, 3, 3]),
            ROLES,
            ["column 'id'", "mixes value types (int, str)", "astype(str)"],
        ),
    ],
)
def test_validation_messages(
    df: pd.DataFrame, kwargs: dict[str, object], expected: list[str]
) -> None:
    msg = _messages(df, **kwargs)
    for piece in expected:
        assert piece in msg, (piece, msg)
    assert "\nFix: " in msg


def test_require_controls() -> None:
    df = _small()
    df = df[df["id"] != "c"]
    p = Panel(df, unit="id", time="year", treat="d")
    with pytest.raises(ValidationError) as err:
        p.require_controls("never")
    msg = str(err.value)
    assert "no never-treated units" in msg and "column 'd'" in msg and "Fix:" in msg
    # not-yet-treated: b (2003) is a comparison for a (2002); b itself has none
    assert p.require_controls("not_yet") == (2003,)
    single = Panel(
        df.assign(d=lambda x: (x["year"] >= 2002).astype(int)), unit="id", time="year", treat="d"
    )
    with pytest.raises(ValidationError, match="no not-yet-treated units"):
        single.require_controls("not_yet")


def test_always_treated_gaps_and_imbalance() -> None:
    df = _small()
    df.loc[df["id"] == "c", "d"] = 1  # c treated from its first period
    df = df.drop(index=[5, 11])  # b misses 2001 (a gap), c misses 2003 (imbalance only)
    with pytest.warns(PanelWarning) as rec:
        p = Panel(df, unit="id", time="year", treat="d")
    text = " ".join(str(w.message) for w in rec)
    assert "1 unit(s) are treated in their first observed period" in text and ": c." in text
    assert "1 unit(s) have gaps" in text and "'b': [2001]" in text
    d = p.describe()
    assert d["balanced"] is False and d["n_obs"] == 10
    assert d["gaps"] == {"b": [2001]} and d["n_units_with_gaps"] == 1
    assert d["always_treated"] == ["c"] and d["n_always_treated"] == 1
    assert d["cohorts"] == {2000: 1, 2002: 1, 2003: 1} and d["n_never_treated"] == 0
    assert p.frame.groupby("id")["_always_treated"].all().to_dict() == {
        "a": False,
        "b": False,
        "c": True,
    }


@pytest.mark.parametrize(
    ("values", "note"),
    [
        (["2000", "2001", "2002", "2003"], "parsed as integer periods"),
        (["2000年", "2001年", "2002年", "2003年"], "parsed as integer periods"),
        (pd.to_datetime(["2000-06-30", "2001-01-01", "2002-12-31", "2003-07-01"]), "calendar"),
        ([2000.0, 2001.0, 2002.0, 2003.0], None),
    ],
)
def test_time_conversions(values: object, note: str | None) -> None:
    df = _small()
    df["year"] = np.tile(np.asarray(values), 3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        p = Panel(df, unit="id", time="year", treat="d")
    if note:
        assert any(note in str(w.message) for w in rec)
    else:
        assert not rec
    assert p.frame["year"].dtype == np.int64
    assert p.periods.tolist() == [2000, 2001, 2002, 2003]
    assert p.describe()["cohorts"] == {2002: 1, 2003: 1}


def test_switching_allowed_and_subset() -> None:
    df = _small()
    df.loc[3, "d"] = 0
    p = Panel(df, unit="id", time="year", treat="d", allow_switching=True)
    assert p.frame.loc[3, "_treated"] == 0 and p.frame.loc[3, "_cohort"] == 2002
    q = Panel(_small(), unit="id", time="year", treat="d", weight="w")
    with pytest.warns(PanelWarning, match="always treated"):
        late = q.subset(q.frame["year"] >= 2002)
    # a is treated in its first remaining period: always treated in the subset
    assert late.always_treated == ["a"] and late.weight == "w"
    assert late.n_periods == 2 and q.n_periods == 4
    same = q.with_frame(q.frame)
    pd.testing.assert_frame_equal(same.frame, q.frame)
    with pytest.raises(ValidationError, match="mask has shape"):
        q.subset([True, False])


def test_from_adoption() -> None:
    df = _small().drop(columns=["d", "g"])
    adoption = pd.DataFrame({"city": ["a", "b", "z"], "date": ["2002-03-01", "2003-11-30", "2001"]})
    with pytest.warns(PanelWarning, match="not in the panel"):
        p = Panel.from_adoption(df, "id", "year", adoption, unit_col="city", date_col="date")
    assert p.unit_cohorts().to_dict() == {"a": 2002, "b": 2003, "c": np.inf}
    assert "first_treated" not in df.columns
    assert (p.frame["_treated"] == _small()["d"]).all()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.one_of(st.just(0), st.integers(1, 9)), min_size=1, max_size=8),
    st.integers(1, 6),
)
def test_cohort_treatment_round_trip(cohorts: list[int], n_periods: int) -> None:
    periods = np.arange(1, n_periods + 1)
    unit = np.repeat(np.arange(len(cohorts)), n_periods)
    time = np.tile(periods, len(cohorts))
    g = np.repeat(cohorts, n_periods).astype(float)
    d = treatment_from_cohort(time, g)
    g_back = cohort_from_treatment(unit, time, d)
    # a cohort is recoverable only when it falls inside the sample; later ones look never treated
    inside = (g > 0) & (g <= n_periods)
    expected = np.where(inside, np.maximum(g, 1), np.inf)
    # cohorts before the sample are seen as the first period (always treated)
    np.testing.assert_array_equal(g_back, expected)
    np.testing.assert_array_equal(treatment_from_cohort(time, g_back), d)
    frame = pd.DataFrame({"u": unit, "t": time, "d": d, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        by_d = Panel(frame, unit="u", time="t", treat="d").frame
        by_g = Panel(frame, unit="u", time="t", cohort="g").frame
    np.testing.assert_array_equal(by_d["_treated"], by_g["_treated"])
    np.testing.assert_array_equal(by_d["_cohort"], expected)
    np.testing.assert_array_equal(by_g["_cohort"], np.where(inside, g, np.inf))


def test_simulated_panel_matches_truth() -> None:
    df = simulate_staggered(
        n_units=40, periods=range(2003, 2013), cohorts={2006: 10, 2009: 10}, seed=0
    )
    p = Panel(df, unit="unit", time="time", treat="treat")
    q = Panel(df, unit="unit", time="time", cohort="cohort")
    assert p.describe()["cohorts"] == q.describe()["cohorts"] == {2006: 10, 2009: 10}
    np.testing.assert_array_equal(p.frame["_cohort"], q.frame["_cohort"])


def test_find_gaps_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    df = simulate_staggered(
        n_units=60, periods=12, cohorts={5: 20}, n_controls=0, drop_share=0.3, seed=1
    )
    df = df.iloc[rng.permutation(len(df))]
    grid = sorted(df["time"].unique())
    fast = find_gaps(df["unit"], df["time"], grid)
    slow = {}
    for u, t in df.groupby("unit")["time"]:
        seen = set(t)
        hole = [p for p in grid if min(seen) < p < max(seen) and p not in seen]
        if hole:
            slow[u] = hole
    assert fast == slow and len(slow) > 20
