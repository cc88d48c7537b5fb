"""Checks behind :class:`didstudy.data.panel.Panel`.

Each check takes a frame (with the caller's index labels, so that messages point at the caller's
rows) and column names, and either returns cleaned values or raises a
:class:`~didstudy.errors.ValidationError` whose message names the column, the rows and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from didstudy.errors import SwitchingTreatmentError, ValidationError, format_rows

__all__ = [
    "as_numeric",
    "as_periods",
    "check_absorbing",
    "check_binary",
    "check_cohort_constant",
    "check_duplicates",
    "check_no_missing",
    "check_treat_matches_cohort",
    "find_gaps",
]

_YEAR_LABEL = re.compile(r"^\s*([+-]?\d+)(?:\.0+)?\s*年?\s*$")
# how many offending examples a message spells out
_SHOW = 10
# integers up to this magnitude are exact in float64
_EXACT_FLOAT_INT = 2**53


def _labels(index: pd.Index) -> list[Hashable]:
    return [i.item() if isinstance(i, np.generic) else i for i in index.tolist()]


def _py_tuple(key: object) -> str:
    items = key if isinstance(key, tuple) else (key,)
    return "(" + ", ".join(repr(i.item() if isinstance(i, np.generic) else i) for i in items) + ")"


def _examples(values: pd.Series) -> str:
    shown = [f"row {i}: {v!r}" for i, v in list(values.items())[:_SHOW]]
    more = f" (and {len(values) - _SHOW} more)" if len(values) > _SHOW else ""
    return "; ".join(shown) + more


def check_no_missing(series: pd.Series, column: str, role: str, fix: str | None = None) -> None:
    """Raise when ``series`` has missing values."""
    bad = series.isna()
    if bad.any():
        raise ValidationError(
            f"the {role} column has {int(bad.sum())} missing value(s).",
            column=column,
            rows=_labels(series.index[bad]),
            fix=fix or f"fill or drop the rows with a missing {role} before building the Panel.",
        )


def as_numeric(series: pd.Series, column: str, role: str, *, allow_missing: bool) -> pd.Series:
    """Float version of ``series``; non-numeric values (and missing ones, unless allowed) raise.

    Numeric strings such as ``"1"`` or ``" 2010 "`` are accepted; booleans become 0/1.
    """
    if pd.api.types.is_bool_dtype(series):
        out = series.astype("float64")
    elif isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        # what to_numeric(...).astype("float64") gives for a numpy numeric column
        out = pd.Series(series.to_numpy(dtype=np.float64), index=series.index, name=series.name)
    elif pd.api.types.is_numeric_dtype(series):
        out = pd.to_numeric(series, errors="coerce").astype("float64")
    elif pd.api.types.is_datetime64_any_dtype(series):
        raise ValidationError(
            f"the {role} column holds dates, but a number is needed.",
            column=column,
            fix="convert the dates to periods, e.g. df[col].dt.year, or build cohorts with "
            "didstudy.data.treatment.cohorts_from_adoption(..., period='year').",
        )
    else:
        text = series.astype("object").where(series.notna())
        out = pd.to_numeric(
            text.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce"
        ).astype("float64")
        bad = out.isna() & series.notna()
        if bad.any():
            raise ValidationError(
                f"the {role} column has non-numeric values: {_examples(series[bad])}.",
                column=column,
                rows=_labels(series.index[bad]),
                fix=f"recode the {role} column as numbers"
                + (
                    " (dates: build cohorts with cohorts_from_adoption)."
                    if role == "cohort"
                    else "."
                ),
            )
    infinite = np.isinf(out.to_numpy())
    if infinite.any():
        raise ValidationError(
            f"the {role} column has infinite values.",
            column=column,
            rows=_labels(series.index[infinite]),
            fix=f"replace them with finite values{' or 0 for never treated' * (role == 'cohort')}.",
        )
    if not allow_missing:
        check_no_missing(out, column, role)
    return out


def as_periods(series: pd.Series, column: str) -> tuple[pd.Series, str | None]:
    """Integer periods from a time column; returns (int64 series, note on any conversion).

    Integers pass; integral floats are cast; numeric strings such as ``"2010"`` or ``"2010年"``
    are parsed; datetimes become calendar years (the note says so). Anything else raises.
    """
    check_no_missing(series, column, "time")
    if series.dtype == np.int64 and len(series):
        # the float round trip below is exact for |t| < 2**53; skip it then
        values = series.to_numpy()
        if int(values.min()) > -_EXACT_FLOAT_INT and int(values.max()) < _EXACT_FLOAT_INT:
            return series, None
    note: str | None = None
    if pd.api.types.is_bool_dtype(series):
        raise ValidationError(
            "the time column is boolean.",
            column=column,
            fix="pass the column that holds the period (a year or an integer-coded period).",
        )
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series.dt.year.astype("float64")
        note = f"time column '{column}' holds dates; converted to calendar years."
    elif isinstance(series.dtype, pd.PeriodDtype):
        out = pd.Series(series.dt.year.to_numpy(), index=series.index, dtype="float64")
        note = f"time column '{column}' holds periods; converted to calendar years."
    elif pd.api.types.is_numeric_dtype(series):
        out = series.astype("float64")
    else:
        parsed = series.astype("object").map(
            lambda v: m.group(1) if isinstance(v, str) and (m := _YEAR_LABEL.match(v)) else v
        )
        out = pd.to_numeric(parsed, errors="coerce").astype("float64")
        bad = out.isna()
        if bad.any():
            raise ValidationError(
                f"the time column has values that are not integer periods: "
                f"{_examples(series[bad])}.",
                column=column,
                rows=_labels(series.index[bad]),
                fix="use integer years or integer-coded periods; for dates use "
                "pd.to_datetime(df[col]).dt.year, for labels such as '2010Q1' map them to "
                "consecutive integers.",
            )
        note = f"time column '{column}' holds text; parsed as integer periods."
    values = out.to_numpy()
    bad_int = ~np.isfinite(values) | (values != np.round(values))
    if bad_int.any():
        raise ValidationError(
            f"the time column has non-integer values: {_examples(series[bad_int])}.",
            column=column,
            rows=_labels(series.index[bad_int]),
            fix="use integer years or integer-coded periods (e.g. 1, 2, 3, ...).",
        )
    return out.astype("int64"), note


def check_binary(values: pd.Series, column: str) -> pd.Series:
    """Raise unless every value is 0 or 1; return the values as int64."""
    bad = ~values.isin([0.0, 1.0])
    if bad.any():
        raise ValidationError(
            f"the treatment column must be 0/1 but has {_examples(values[bad])}.",
            column=column,
            rows=_labels(values.index[bad]),
            fix="recode the treatment as 0 (untreated) / 1 (treated); for a first-treated-period "
            "column pass it as cohort= instead of treat=.",
        )
    return values.astype("int64")


def check_duplicates(frame: pd.DataFrame, unit: str, time: str) -> None:
    """Raise when a unit-time pair appears more than once, listing the pairs and their rows."""
    if _pairs_unique(frame, unit, time):
        return
    dup = frame.duplicated([unit, time], keep=False)
    if not dup.any():
        return
    groups = frame.loc[dup].groupby([unit, time], sort=True, dropna=False).groups
    pairs = [
        f"{_py_tuple(key)} at rows {format_rows(_labels(pd.Index(rows)), 5)}"
        for key, rows in list(groups.items())[:_SHOW]
    ]
    more = f" (and {len(groups) - _SHOW} more pairs)" if len(groups) > _SHOW else ""
    raise ValidationError(
        f"{len(groups)} ({unit}, {time}) pair(s) appear more than once: {int(dup.sum())} rows "
        f"share a ({unit}, {time}) pair, but a panel has one row per unit and period: "
        + "; ".join(pairs)
        + more
        + ".",
        column=f"{unit}, {time}",
        rows=_labels(frame.index[dup]),
        fix="keep one row per unit and period (drop exact duplicates with "
        "df.drop_duplicates(), or aggregate), or check that the unit and time columns are the "
        "right ones.",
    )


def check_absorbing(frame: pd.DataFrame, unit: str, time: str, treat: str) -> None:
    """Raise when the treatment switches from 1 back to 0 within a unit (sorted by time)."""
    if not _switches_off(frame, unit, time, treat):
        return
    ordered = frame.sort_values([unit, time], kind="stable")
    previous = ordered.groupby(unit, sort=False)[treat].shift()
    off = (previous == 1) & (ordered[treat] == 0)
    if not off.any():
        return
    units = pd.unique(ordered.loc[off, unit])
    detail = "; ".join(
        f"unit {u!r} at {time} {t!r} (row {r!r})"
        for u, t, r in zip(
            ordered.loc[off, unit][:_SHOW],
            ordered.loc[off, time][:_SHOW],
            _labels(ordered.index[off])[:_SHOW],
            strict=True,
        )
    )
    raise SwitchingTreatmentError(
        f"the treatment switches off (1 then 0) in {len(units)} unit(s): {detail}. Staggered "
        "designs assume treatment is absorbing.",
        column=treat,
        rows=_labels(ordered.index[off]),
        fix="check the coding (a policy that ends?); if switching is real pass "
        "allow_switching=True and use an estimator that allows it.",
    )


def _pairs_unique(frame: pd.DataFrame, unit: str, time: str) -> bool:
    """Fast screen: are the (unit, time) pairs unique? (integer keys in a hash table)"""
    u, _ = pd.factorize(frame[unit])
    t, periods = pd.factorize(frame[time])
    key = u.astype(np.int64) * (len(periods) + 1) + t
    return bool(pd.Index(key).is_unique)


def _switches_off(frame: pd.DataFrame, unit: str, time: str, treat: str) -> bool:
    """Fast screen: does some unit go from 1 to 0 between consecutive observed periods?"""
    u, _ = pd.factorize(frame[unit])
    t = frame[time].to_numpy()
    d = frame[treat].to_numpy()
    same = u[1:] == u[:-1]
    if not bool(((u[1:] > u[:-1]) | (same & (t[1:] > t[:-1]))).all()):  # not yet sorted
        order = np.lexsort((t, u))
        u, d = u[order], d[order]
        same = u[1:] == u[:-1]
    return bool(((d[:-1] == 1) & (d[1:] == 0) & same).any())


def check_cohort_constant(frame: pd.DataFrame, unit: str, cohort: pd.Series, column: str) -> None:
    """Raise when a unit has more than one cohort value (NaN and 0 both mean never)."""
    coded = cohort.fillna(0.0)
    n = coded.groupby(frame[unit], sort=False).nunique()
    bad_units = n.index[n > 1]
    if len(bad_units) == 0:
        return
    rows = frame.index[frame[unit].isin(bad_units)]
    detail = "; ".join(
        f"unit {u!r}: {sorted(set(coded[frame[unit] == u].tolist()))}" for u in bad_units[:_SHOW]
    )
    raise ValidationError(
        f"the cohort (first treated period) must be constant within a unit, but {len(bad_units)} "
        f"unit(s) have several values: {detail}.",
        column=column,
        rows=_labels(rows),
        fix="give each unit one first-treated period (0 or missing for never treated); for a "
        "time-varying 0/1 indicator pass it as treat= instead of cohort=.",
    )


def check_treat_matches_cohort(
    frame: pd.DataFrame,
    time: str,
    treat_values: pd.Series,
    cohort_values: pd.Series,
    treat: str,
    cohort: str,
) -> None:
    """Raise when both treat and cohort are given and ``treat != 1{time >= cohort}``."""
    implied = (frame[time] >= cohort_values).astype("int64")
    bad = treat_values != implied
    if not bad.any():
        return
    raise ValidationError(
        f"the treatment column '{treat}' disagrees with 1{{{time} >= {cohort}}} in "
        f"{int(bad.sum())} row(s) (e.g. a time-invariant 'ever treated' flag instead of a "
        "post-treatment indicator).",
        column=treat,
        rows=_labels(frame.index[bad]),
        fix=f"pass only cohort='{cohort}' (the indicator is derived from it), or only treat= "
        "with the post-treatment 0/1 indicator.",
    )


def find_gaps(
    units: pd.Series, times: pd.Series, periods: Sequence[int]
) -> dict[object, list[int]]:
    """Periods missing *inside* each unit's observed span: ``{unit: [missing periods]}``.

    Vectorised: the expected (unit, period) pairs of units with holes are expanded with
    ``np.repeat`` and anti-joined with the observed pairs.
    """
    grid = np.asarray(periods)
    codes, uniques = pd.factorize(units, sort=True)
    pos = np.searchsorted(grid, times.to_numpy())
    n = len(uniques)
    lo = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(n, -1, dtype=np.int64)
    np.minimum.at(lo, codes, pos)
    np.maximum.at(hi, codes, pos)
    count = np.bincount(codes, minlength=n)
    holes = np.flatnonzero(hi - lo + 1 > count)
    if holes.size == 0:
        return {}
    lens = hi[holes] - lo[holes] + 1
    starts = np.cumsum(lens) - lens
    unit_rep = np.repeat(holes, lens)
    pos_rep = np.repeat(lo[holes], lens) + (np.arange(lens.sum()) - np.repeat(starts, lens))
    width = grid.size + 1
    observed = codes.astype(np.int64) * width + pos
    expected = unit_rep * width + pos_rep
    gone = ~np.isin(expected, observed)
    missing = pd.Series(grid[pos_rep[gone]].astype("int64")).groupby(unit_rep[gone]).agg(list)
    out: dict[object, list[int]] = {}
    for code, values in missing.items():
        u = uniques[int(code)]  # type: ignore[call-overload]
        key = u.item() if isinstance(u, np.generic) else u
        out[key] = [int(v) for v in values]
    return out
