"""Panel construction from integer row keys equals the pandas group-by algorithm it replaced.

``_reference_panel`` below is the construction of ``Panel`` before decision record 0023 (pandas
group-bys per check, a sort of the frame), kept here as the reference. Random panels with planted
problems (duplicates, switching treatment, varying or invalid cohorts, missing values, mixed id
types, late and always-treated cohorts, gaps, shuffled rows, odd index labels) must give the same
error (class and full message: rows, units, wording) or the same frame, notes, gaps, periods and
warnings as the reference.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.data.keys import row_keys
from didstudy.data.panel import (
    ALWAYS,
    COHORT,
    DERIVED_COLUMNS,
    NEVER,
    REL_TIME,
    TREATED,
    Panel,
    _check_roles,
)
from didstudy.data.validate import (
    as_numeric,
    as_periods,
    check_absorbing,
    check_binary,
    check_cohort_constant,
    check_duplicates,
    check_no_missing,
    check_treat_matches_cohort,
    find_gaps,
)
from didstudy.errors import DidstudyError, DidstudyWarning, ValidationError, format_rows

# ---------------------------------------------------------------------------------------------
# the reference: Panel construction before decision 0023 (pandas group-bys, sort of the frame)


def _ref_copy(df: pd.DataFrame, named: dict[str, str], unit: str, time: str, notes: list[str]):
    used = list(dict.fromkeys(named.values()))
    work = df.drop(columns=[c for c in DERIVED_COLUMNS if c in df.columns and c not in used])
    work = work.copy(deep=True)
    work.index = work.index.set_names([None] * work.index.nlevels)
    work.attrs = {}
    check_no_missing(work[unit], unit, "unit")
    if work[unit].dtype == object:
        kinds = sorted({type(v).__name__ for v in work[unit].tolist()})
        if len(kinds) > 1:
            raise ValidationError(
                f"the unit column mixes value types ({', '.join(kinds)}), so the same id "
                "written as a number and as text (110000 vs '110000') counts as two units.",
                column=unit,
                fix=f"convert the unit ids to one type, e.g. df['{unit}'].astype(str).",
            )
    periods, note = as_periods(work[time], time)
    if note:
        notes.append(note)
    work[time] = periods
    check_duplicates(work, unit, time)
    return work


def _ref_cohorts(work, unit, time, cohort, treat, treat_values, notes):
    if cohort is None:
        first = work[time].where(treat_values == 1)
        return first.groupby(work[unit], sort=False).transform("min").fillna(np.inf).astype(float)
    t_last_all = int(work[time].max())
    g = as_numeric(work[cohort], cohort, "cohort", allow_missing=True)
    check_cohort_constant(work, unit, g, cohort)
    never = g.isna() | (g == 0)
    values = g.to_numpy()
    bad = ~never & ((values < 0) | (values != np.round(values)))
    if bad.any():
        raise ValidationError(
            "the cohort (first treated period) must be a positive integer period, or 0 "
            "or missing for never treated.",
            column=cohort,
            rows=[i.item() if isinstance(i, np.generic) else i for i in work.index[bad]],
            fix="recode the cohort as the first treated period (e.g. 2010).",
        )
    late = ~never & (g > t_last_all)
    if late.any():
        late_units = pd.unique(work.loc[late, unit])
        notes.append(
            f"{len(late_units)} unit(s) are first treated after the last period "
            f"{t_last_all} (cohorts {sorted({int(v) for v in g[late]})}); they count as "
            "never treated within the sample."
        )
    g_float = g.where(~never & ~late, np.inf).astype("float64")
    if treat_values is not None:
        check_treat_matches_cohort(work, time, treat_values, g_float, treat or "", cohort)
    return g_float


def _reference_panel(df: pd.DataFrame, **roles: Any) -> tuple[pd.DataFrame, list[str], dict]:
    """(frame, notes, gaps) as Panel built them before decision 0023; raises as it did."""
    unit, time = roles["unit"], roles["time"]
    treat, cohort = roles.get("treat"), roles.get("cohort")
    weight, cluster = roles.get("weight"), roles.get("cluster")
    named = _check_roles(df, unit, time, treat, cohort, weight, cluster)
    notes: list[str] = []
    work = _ref_copy(df, named, unit, time, notes)
    treat_values = None
    if treat is not None:
        treat_values = check_binary(
            as_numeric(work[treat], treat, "treatment", allow_missing=False), treat
        )
        work[treat] = treat_values
        if not roles.get("allow_switching", False):
            check_absorbing(work, unit, time, treat)
    g_float = _ref_cohorts(work, unit, time, cohort, treat, treat_values, notes)
    if weight is not None:
        w = as_numeric(work[weight], weight, "weight", allow_missing=False)
        if (w < 0).any():
            raise ValidationError(
                "the weight column has negative values.",
                column=weight,
                rows=[i.item() if isinstance(i, np.generic) else i for i in work.index[w < 0]],
                fix="weights must be non-negative (e.g. population counts).",
            )
        work[weight] = w
    if cluster is not None:
        check_no_missing(work[cluster], cluster, "cluster")
    t_first = work[time].groupby(work[unit], sort=False).transform("min")
    work[COHORT] = g_float
    work[REL_TIME] = (work[time] - g_float).where(np.isfinite(g_float)).astype("float64")
    work[NEVER] = ~np.isfinite(g_float)
    if treat_values is not None:
        work[TREATED] = treat_values.astype("int64")
    else:
        work[TREATED] = (work[time] >= g_float).astype("int64")
    work[ALWAYS] = np.isfinite(g_float) & (g_float <= t_first)
    always_units = pd.unique(work.loc[work[ALWAYS], unit])
    if len(always_units):
        notes.append(
            f"{len(always_units)} unit(s) are treated in their first observed period "
            f"(always treated, no pre-treatment period): {format_rows(list(always_units))}. "
            "They are flagged in the '_always_treated' column; most staggered estimators "
            "drop them, and in two-way fixed effects they only add noise."
        )
    work = work.sort_values([unit, time], kind="stable").reset_index(drop=True)
    grid = np.sort(work[time].unique())
    gaps = find_gaps(work[unit], work[time], grid.tolist())
    if gaps:
        shown = "; ".join(f"{u!r}: {p}" for u, p in list(gaps.items())[:5])
        notes.append(
            f"{len(gaps)} unit(s) have gaps (periods missing inside their observed span): "
            f"{shown}{' ...' if len(gaps) > 5 else ''}. Lags, leads and first differences "
            "skip over them."
        )
    return work, notes, gaps


def _assert_equivalent(df: pd.DataFrame, **roles: Any) -> None:
    """Panel(df, **roles) and the reference agree: same error, or same frame/notes/gaps."""
    before = df.copy(deep=True)
    try:
        expected = _reference_panel(df, **roles)
    except DidstudyError as error:
        with pytest.raises(type(error)) as raised, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Panel(df, **roles)
        assert str(raised.value) == str(error)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = Panel(df, **roles)
    frame, notes, gaps = expected
    pd.testing.assert_frame_equal(panel.frame, frame, check_exact=True)
    assert list(panel.notes) == notes
    # only didstudy's own warnings: "always" also records e.g. a ResourceWarning that garbage
    # collection of another test's object raises while Panel runs (a flaky failure under xdist)
    ours = [str(w.message) for w in caught if issubclass(w.category, DidstudyWarning)]
    assert ours == notes
    assert panel.gaps == gaps
    np.testing.assert_array_equal(panel.periods, np.sort(frame[roles["time"]].unique()))
    assert panel.periods.dtype == np.int64
    pd.testing.assert_frame_equal(df, before, check_exact=True)  # the input is not modified
    assert df.attrs == before.attrs and panel.frame.attrs == {}


# ---------------------------------------------------------------------------------------------
# random panels with planted problems

PROBLEMS = (
    "none",
    "duplicate",
    "switch_off",
    "cohort_varies",
    "cohort_fraction",
    "cohort_negative",
    "cohort_late",
    "always_treated",
    "missing_unit",
    "missing_time",
    "missing_treat",
    "treat_two",
    "disagree",
    "mixed_ids",
    "negative_weight",
    "gap",
)


def _make(draw_ids: str, n_units: int, periods: list[int], rng: np.random.Generator):
    """A panel (one row per unit and kept period), cohorts, 0/1 treatment, weight, cluster."""
    t0, t1 = periods[0], periods[-1]
    choices = np.array([0.0, np.nan, *periods[1:], t1 + 3], dtype=float)
    cohort = rng.choice(choices, size=n_units)
    rows = []
    for i in range(n_units):
        kept = [t for t in periods if rng.random() > 0.15] or [t0]
        for t in kept:
            rows.append((i, t, cohort[i]))
    unit = np.array([r[0] for r in rows])
    time = np.array([r[1] for r in rows], dtype=np.int64)
    g = np.array([r[2] for r in rows], dtype=float)
    ids: Any
    if draw_ids == "int":
        ids = unit * 7 + 100
    elif draw_ids == "str":
        ids = np.array([f"u{i:03d}" for i in unit], dtype=object)
    elif draw_ids == "float":
        ids = unit.astype(float) / 2
    else:  # categorical with categories not in sorted order
        cats = [f"c{i}" for i in rng.permutation(n_units)]
        ids = pd.Categorical([f"c{i}" for i in unit], categories=cats)
    treat = (np.where(np.isnan(g) | (g == 0), np.inf, g) <= time).astype(int)
    return pd.DataFrame(
        {
            "id": ids,
            "year": time,
            "g": g,
            "d": treat,
            "w": rng.uniform(0.5, 2.0, len(rows)),
            "cl": unit % 3,
            "y": rng.normal(size=len(rows)),
        }
    )


def _plant(df: pd.DataFrame, problem: str, rng: np.random.Generator) -> pd.DataFrame:
    df = df.copy()
    i = int(rng.integers(len(df)))
    treated = np.flatnonzero(df["d"].to_numpy() == 1)
    if problem == "duplicate":
        df = pd.concat([df, df.iloc[[i]]])
    elif problem == "switch_off" and len(treated):
        df.iloc[treated[-1], df.columns.get_loc("d")] = 0
    elif problem == "cohort_varies":
        df.iloc[i, df.columns.get_loc("g")] = float(df["year"].iloc[i])
    elif problem == "cohort_fraction":
        df.loc[df["id"] == df["id"].iloc[i], "g"] = 2003.5
    elif problem == "cohort_negative":
        df.loc[df["id"] == df["id"].iloc[i], "g"] = -1.0
    elif problem == "cohort_late":
        df.loc[df["id"] == df["id"].iloc[i], "g"] = float(df["year"].max() + 5)
    elif problem == "always_treated":
        df.loc[df["id"] == df["id"].iloc[i], "g"] = float(df["year"].min())
    elif problem == "missing_unit":
        df["id"] = df["id"].astype(object)
        df.iloc[i, df.columns.get_loc("id")] = None
    elif problem == "missing_time":
        df["year"] = df["year"].astype(float)
        df.iloc[i, df.columns.get_loc("year")] = np.nan
    elif problem == "missing_treat":
        df["d"] = df["d"].astype(float)
        df.iloc[i, df.columns.get_loc("d")] = np.nan
    elif problem == "treat_two":
        df.iloc[i, df.columns.get_loc("d")] = 2
    elif problem == "disagree":
        df.iloc[i, df.columns.get_loc("d")] = 1 - int(df["d"].iloc[i])
    elif problem == "mixed_ids":
        df["id"] = df["id"].astype(object)
        df.iloc[i, df.columns.get_loc("id")] = 12345
    elif problem == "negative_weight":
        df.iloc[i, df.columns.get_loc("w")] = -1.0
    elif problem == "gap":
        df = df.drop(index=df.index[i])
    if "d" in df and "g" in df and problem in ("cohort_late", "always_treated", "cohort_varies"):
        g = np.where(df["g"].isna() | (df["g"] == 0), np.inf, df["g"])
        df["d"] = (g <= df["year"].to_numpy()).astype(int)
    return df


@st.composite
def planted_panels(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, Any]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ids = draw(st.sampled_from(["int", "str", "float", "categorical"]))
    n_units = draw(st.integers(1, 9))
    start = draw(st.integers(1998, 2002))
    periods = list(range(start, start + draw(st.integers(2, 7))))
    df = _plant(_make(ids, n_units, periods, rng), draw(st.sampled_from(PROBLEMS)), rng)
    if draw(st.booleans()):  # shuffled rows
        df = df.iloc[rng.permutation(len(df))]
    index = draw(st.sampled_from(["range", "shuffled_int", "labels"]))
    if index == "shuffled_int":
        df.index = rng.permutation(len(df)) * 3 + 10
    elif index == "labels":
        df.index = [f"r{k}" for k in range(len(df))]
    timing = draw(st.sampled_from(["cohort", "treat", "both"]))
    roles: dict[str, Any] = {"unit": "id", "time": "year"}
    roles |= {"cohort": "g"} if timing in ("cohort", "both") else {}
    roles |= {"treat": "d"} if timing in ("treat", "both") else {}
    if draw(st.booleans()):
        roles |= {"weight": "w", "cluster": "cl"}
    if timing == "treat" and draw(st.booleans()):
        roles["allow_switching"] = True
    return df, roles


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted_panels())
def test_panel_matches_reference_on_planted_problems(case: tuple[pd.DataFrame, dict]) -> None:
    df, roles = case
    _assert_equivalent(df, **roles)


# a large panel: each planted problem raises (or warns) exactly as the reference does
LARGE_UNITS = 3000
LARGE_PERIODS = list(range(2001, 2021))


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("timing", ["cohort", "treat", "both"])
def test_large_shuffled_panel_matches_reference(problem: str, timing: str) -> None:
    rng = np.random.default_rng(PROBLEMS.index(problem))
    df = _plant(_make("str", LARGE_UNITS, LARGE_PERIODS, rng), problem, rng)
    df = df.iloc[rng.permutation(len(df))]
    df.index = rng.permutation(len(df)) + 2  # e.g. file lines
    df.attrs = {"file_lines": tuple(df.index), "source": "planted.csv"}  # as read_table sets
    roles: dict[str, Any] = {"unit": "id", "time": "year", "weight": "w", "cluster": "cl"}
    roles |= {"cohort": "g"} if timing in ("cohort", "both") else {}
    roles |= {"treat": "d"} if timing in ("treat", "both") else {}
    _assert_equivalent(df, **roles)


def test_large_sorted_int_panel_matches_reference() -> None:
    """The run-coded fast path (sorted numeric ids, consecutive periods)."""
    rng = np.random.default_rng(7)
    df = _make("int", LARGE_UNITS, LARGE_PERIODS, rng)
    _assert_equivalent(df, unit="id", time="year", cohort="g")
    _assert_equivalent(df, unit="id", time="year", treat="d")


@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-(2**40), 2**40)), max_size=30),
    st.booleans(),
)
def test_row_keys_match_sort_and_duplicates(pairs: list[tuple[int, int]], as_text: bool) -> None:
    """Codes follow sorted ids, positions the sorted periods, ``order`` sorts the pairs, and
    ``unique`` is pandas' duplicate test (wide period ranges use the sorting branch)."""
    units = pd.Series([f"{u:+d}" if as_text else u for u, _ in pairs], dtype=object)
    if not as_text:
        units = units.astype("int64")
    times = np.array([t for _, t in pairs], dtype=np.int64)
    keys = row_keys(units, times)
    uniq = sorted(set(units))
    assert [uniq[c] for c in keys.unit] == units.tolist()
    np.testing.assert_array_equal(keys.periods[keys.pos], times)
    assert keys.periods.tolist() == sorted(set(times.tolist()))
    frame = pd.DataFrame({"u": units, "t": times})
    assert keys.unique == (not frame.duplicated().any())
    if keys.unique:
        expected = frame.sort_values(["u", "t"], kind="stable").index.to_numpy()
        order = np.arange(len(frame)) if keys.order is None else keys.order
        np.testing.assert_array_equal(order, expected)
        assert keys.has_gaps() == bool(find_gaps(units, pd.Series(times), keys.periods.tolist()))


@pytest.mark.parametrize("timing", [{"treat": "d"}, {"cohort": "g"}])
def test_empty_frame_is_refused(timing: dict[str, str]) -> None:
    """An empty frame is a ValidationError with both timings (it was an empty panel with
    treat= and a bare ValueError with cohort=)."""
    empty = _make("int", 3, LARGE_PERIODS, np.random.default_rng(0)).iloc[:0]
    with pytest.raises(ValidationError, match="the data have no rows"):
        Panel(empty, unit="id", time="year", **timing)
