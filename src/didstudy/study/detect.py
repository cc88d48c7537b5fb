"""Proposing the column roles of a panel file (``didstudy init``).

Detection reads only the frame: the period column (integral, year-like or named like a period),
the unit column (one row per unit and period, several periods per unit), the treatment (a 0/1
indicator that switches on and stays on) or the cohort (the first treated period, constant
within a unit; never treated coded as empty, 0 or a year after the sample such as 9999), the
outcome and a few controls. Every choice is a proposal written into the study file with the
alternatives; explicit choices (``--unit`` ...) are never second-guessed, only checked to exist.
The rules and their limits are recorded in docs/decisions/0070-study-init.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from didstudy.data.io import suggest_columns
from didstudy.errors import DataError

__all__ = ["Roles", "detect_roles"]

MAX_CONTROLS = 4
# two controls this correlated carry the same information (e.g. police and log police)
REDUNDANT_CORRELATION = 0.9
# a candidate control this correlated with the treatment indicator is another treatment measure
TREATMENT_CORRELATION = 0.5
YEARS = (1800, 2200)

_TIME_HINT = re.compile(r"(^|_|\b)(year|yr|time|period|t|wave|date)($|_|\b)|年", re.I)
_UNIT_HINT = re.compile(
    r"(^|_|\.)(id|code|unit|state|st|city|county|countyreal|country|province|firm|name|region|"
    r"district|prefecture|fips|iso|school|person)s?($|_|\.|\d)|城市|代码|地区|省|县|市|企业|名称",
    re.I,
)
_TREAT_HINT = re.compile(
    r"(^|_|\.)(treat\w*|treated|post|policy|did|d|du|dt|reform|law|adopt\w*|program\w*|pilot)"
    r"($|_|\.)|政策|处理|试点|示范",
    re.I,
)
_COHORT_HINT = re.compile(
    r"first|cohort|adopt|effyear|eff_year|divyear|gvar|(^|_|\.)g($|_|\.)|year_treat|treat_year|"
    r"treatment_date|start|首次|批准|设立",
    re.I,
)
_OUTCOME_HINT = re.compile(
    r"(^|_|\.)(y|outcome|dep\w*|indg|gini)($|_|\.)|^l_|^ln_?|^log|rate|被解释", re.I
)
_CONTROL_HINT = re.compile(
    r"pop|gdp|income|unemploy|edu|pover|police|density|urban|wage|invest|trans|saver|fdi|"
    r"industry|country|人口|经济|收入|教育",
    re.I,
)


@dataclass(frozen=True)
class Roles:
    """The proposed roles of a panel file's columns.

    Attributes
    ----------
    unit, time
        Unit identifier and period columns.
    treat, cohort
        Exactly one is set: the 0/1 treatment column or the first-treated-period column.
    outcome
        The outcome of the steps.
    controls
        Time-varying numeric controls (at most :data:`MAX_CONTROLS`).
    covariates
        Covariates of the propensity score (the controls, else time-invariant numeric columns).
    outcomes
        Other outcome candidates (for mechanisms).
    groups
        Time-invariant columns with 2-6 values (for heterogeneity).
    split
        ``(column, value)`` when (unit, period) repeats across the values of a low-cardinality
        column (e.g. ``sex`` in a state x year x sex panel): the study keeps one value.
    notes
        One line per decision, written as comments into the study file.
    detected
        The roles that were detected rather than given.
    """

    unit: str
    time: str
    treat: str | None
    cohort: str | None
    outcome: str
    controls: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    split: tuple[str, Any] | None = None
    notes: tuple[str, ...] = ()
    detected: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)


def _hint(pattern: re.Pattern[str], name: str) -> bool:
    return bool(pattern.search(str(name)))


def _ranked(columns: Sequence[str], pattern: re.Pattern[str]) -> list[str]:
    """Columns with a name hint first, each group in file order."""
    return sorted(columns, key=lambda c: (not _hint(pattern, c), list(columns).index(c)))


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series | None:
    series = frame[column]
    if pd.api.types.is_bool_dtype(series):
        return series.astype("int64")
    if not pd.api.types.is_numeric_dtype(series):
        return None
    return series


def _integral(values: pd.Series) -> bool:
    finite = values.dropna().to_numpy(dtype=float)
    return finite.size > 0 and bool(np.all(np.isfinite(finite) & (finite == np.round(finite))))


def _time_candidates(frame: pd.DataFrame) -> list[str]:
    out = []
    for column in map(str, frame.columns):
        values = _numeric(frame, column)
        if values is None or values.isna().any() or not _integral(values):
            continue
        distinct = values.nunique()
        yearly = bool(values.between(*YEARS).all())
        if 2 <= distinct <= 200 and distinct < len(frame) and (yearly or _hint(_TIME_HINT, column)):
            out.append(column)
    return _ranked(out, _TIME_HINT)


def _unit_candidates(frame: pd.DataFrame, time: str) -> list[str]:
    out = []
    for column in map(str, frame.columns):
        if column == time or frame[column].isna().any():
            continue
        series = frame[column]
        if pd.api.types.is_float_dtype(series) and not _integral(series):
            continue
        distinct = series.nunique()
        if distinct >= 2 and len(frame) >= 2 * distinct:
            out.append(column)
    return _ranked(out, _UNIT_HINT)


def _split_for(frame: pd.DataFrame, unit: str, time: str) -> tuple[str, Any] | None:
    """A low-cardinality column whose values make (unit, time) unique, and its first value."""
    for column in map(str, frame.columns):
        if column in (unit, time) or frame[column].isna().any():
            continue
        if 2 <= frame[column].nunique() <= 10 and not frame.duplicated([unit, time, column]).any():
            first = frame[column].iloc[0]
            return column, first.item() if isinstance(first, np.generic) else first
    return None


def _by_unit(frame: pd.DataFrame, unit: str, time: str) -> pd.DataFrame:
    return frame.sort_values([unit, time], kind="stable")


def _treat_candidates(frame: pd.DataFrame, unit: str, time: str) -> list[str]:
    ordered = _by_unit(frame, unit, time)
    out = []
    for column in map(str, frame.columns):
        values = _numeric(ordered, column)
        if column in (unit, time) or values is None or values.isna().any():
            continue
        if not set(np.unique(values.to_numpy())) <= {0, 1}:
            continue
        steps = values.groupby(ordered[unit], sort=False).diff().dropna()
        if (steps < 0).any() or not (steps > 0).any():
            continue  # switches off, or never switches on within a unit
        out.append(column)
    return _ranked(out, _TREAT_HINT)


def _cohort_candidates(frame: pd.DataFrame, unit: str, time: str) -> list[str]:
    periods = frame[time]
    first, last = float(periods.min()), float(periods.max())
    out = []
    for column in map(str, frame.columns):
        values = _numeric(frame, column)
        if column in (unit, time) or values is None or not _integral(values):
            continue
        if values.groupby(frame[unit]).nunique(dropna=False).max() > 1:
            continue
        inside = values[(values > first) & (values <= last)]
        if inside.empty or (values.dropna() < 0).any():
            continue
        out.append(column)
    return [c for c in _ranked(out, _COHORT_HINT) if _hint(_COHORT_HINT, c)] or out


def _varying(frame: pd.DataFrame, unit: str, column: str) -> bool:
    return bool((frame.groupby(unit)[column].nunique() > 1).any())


def _numeric_free(frame: pd.DataFrame, taken: set[str]) -> list[str]:
    out = []
    for column in map(str, frame.columns):
        values = _numeric(frame, column)
        if column in taken or column.startswith("_") or values is None:
            continue
        if values.isna().any() or values.nunique() < 3:
            continue
        out.append(column)
    return out


def _correlation(a: pd.Series, b: pd.Series) -> float:
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(abs(np.corrcoef(x, y)[0, 1]))


def _pick_controls(
    frame: pd.DataFrame, candidates: Sequence[str], outcome: str, treatment: pd.Series
) -> list[str]:
    chosen: list[str] = []
    for column in _ranked(candidates, _CONTROL_HINT):
        series = frame[column]
        if _correlation(series, treatment) > TREATMENT_CORRELATION:
            continue
        others = [outcome, *chosen]
        if any(_correlation(series, frame[o]) > REDUNDANT_CORRELATION for o in others):
            continue
        chosen.append(column)
        if len(chosen) == MAX_CONTROLS:
            break
    return chosen


def _groups(frame: pd.DataFrame, unit: str, taken: set[str]) -> list[str]:
    out = []
    for column in map(str, frame.columns):
        if column in taken or column.startswith("_") or frame[column].isna().any():
            continue
        if 2 <= frame[column].nunique() <= 6 and not _varying(frame, unit, column):
            out.append(column)
    return out


def _require(frame: pd.DataFrame, column: str | None, role: str, file: str) -> None:
    if column is not None and column not in frame.columns:
        near = suggest_columns(column, list(frame.columns), n=3)
        raise DataError(
            f"the {role} column '{column}' given on the command line is not in the data",
            file=file,
            column=column,
            fix=f"did you mean {', '.join(repr(n) for n in near)}?" if near else "check the name",
        )


def _fail(role: str, file: str, flag: str, candidates: Sequence[str] = ()) -> DataError:
    seen = f" (columns: {', '.join(map(str, candidates[:12]))})" if candidates else ""
    return DataError(
        f"cannot detect the {role} column{seen}",
        file=file,
        fix=f"name it on the command line: {flag} <column>",
    )


def _time_and_unit(
    frame: pd.DataFrame, unit: str | None, time: str | None, file: str
) -> tuple[str, str, tuple[str, Any] | None, list[str]]:
    notes: list[str] = []
    if time is None:
        found = _time_candidates(frame)
        if not found:
            raise _fail("period (time)", file, "--time", list(map(str, frame.columns)))
        time = found[0]
        kind = "years" if frame[time].between(*YEARS).all() else "integer periods"
        notes.append(f"time = {time!r}: complete, {kind}" + _others(found))
    split = None
    if unit is None:
        found = _unit_candidates(frame, time)
        unique = [c for c in found if not frame.duplicated([c, time]).any()]
        if unique:
            unit = unique[0]
            notes.append(f"unit = {unit!r}: one row per {unit} and {time}" + _others(unique))
        elif found:
            unit = found[0]
            split = _split_for(frame, unit, time)
            if split is None:
                raise _fail("unit", file, "--unit", found)
            notes.append(
                f"unit = {unit!r}: ({unit}, {time}) repeats across the values of {split[0]!r}; "
                f"the sample keeps {split[0]} = {split[1]!r} (change it in [sample])"
            )
        else:
            raise _fail("unit", file, "--unit", list(map(str, frame.columns)))
    elif frame.duplicated([unit, time]).any():
        split = _split_for(frame, unit, time)
        if split is not None:
            notes.append(f"({unit}, {time}) repeats: the sample keeps {split[0]} = {split[1]!r}")
    return unit, time, split, notes


def _others(found: Sequence[str]) -> str:
    rest = [c for c in found[1:6]]
    return f" (other candidates: {', '.join(rest)})" if rest else ""


def _treatment(
    frame: pd.DataFrame, unit: str, time: str, treat: str | None, cohort: str | None, file: str
) -> tuple[str | None, str | None, list[str]]:
    if treat is not None or cohort is not None:
        return treat, cohort if treat is None else None, []
    treats = _treat_candidates(frame, unit, time)
    cohorts = _cohort_candidates(frame, unit, time)
    named = [c for c in treats if _hint(_TREAT_HINT, c)]
    if named or (treats and not cohorts):
        chosen = treats[0]
        return chosen, None, [
            f"treat = {chosen!r}: 0/1, switches on once and stays on" + _others(treats)
            + (f"; cohort candidates: {', '.join(cohorts[:5])}" if cohorts else "")
        ]  # fmt: skip
    if cohorts:
        return None, cohorts[0], [
            f"cohort = {cohorts[0]!r}: constant within {unit}, a period of the sample"
            + _others(cohorts)
        ]  # fmt: skip
    raise _fail(
        "treatment (a 0/1 indicator that switches on) or cohort (first treated period)",
        file,
        "--treat or --cohort",
    )


def _cohort_facts(frame: pd.DataFrame, unit: str, time: str, cohort: str) -> dict[str, int]:
    per_unit = frame.groupby(unit)[cohort].first()
    first, last = frame[time].min(), frame[time].max()
    return {
        "never_empty": int(per_unit.isna().sum()),
        "never_zero": int((per_unit == 0).sum()),
        "never_after_sample": int((per_unit > last).sum()),
        "always_treated": int(((per_unit > 0) & (per_unit <= first)).sum()),
    }


def _indicator(frame: pd.DataFrame, time: str, treat: str | None, cohort: str | None) -> pd.Series:
    if treat is not None:
        return pd.to_numeric(frame[treat], errors="coerce").fillna(0)
    g = pd.to_numeric(frame[str(cohort)], errors="coerce")
    return ((g > 0) & (frame[time] >= g)).astype(float)


def _never_treated(frame: pd.DataFrame, unit: str, indicator: pd.Series) -> int:
    return int((indicator.groupby(frame[unit]).max() == 0).sum())


def detect_roles(
    frame: pd.DataFrame,
    *,
    file: str = "<data>",
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
    cohort: str | None = None,
    y: str | None = None,
    controls: Sequence[str] | None = None,
) -> Roles:
    """Propose the column roles of a panel; explicit arguments win over detection.

    Parameters
    ----------
    frame
        The data as read by :func:`didstudy.read_table`.
    file
        Name of the file, for messages.
    unit, time, treat, cohort, y, controls
        Roles chosen by the user (checked to exist, never overridden). Give at most one of
        ``treat`` and ``cohort``.

    Returns
    -------
    Roles

    Raises
    ------
    DataError
        A given column is missing, or a role cannot be detected (the message names the flag).

    Examples
    --------
    >>> import didstudy as ds
    >>> roles = detect_roles(ds.load_dataset("mpdta"))
    >>> roles.unit, roles.time, roles.cohort, roles.outcome
    ('countyreal', 'year', 'first.treat', 'lemp')
    """
    for role, column in (("unit", unit), ("time", time), ("treat", treat), ("cohort", cohort)):
        _require(frame, column, role, file)
    for column in (y, *(controls or ())):
        _require(frame, column, "outcome/control", file)
    given = {"unit": unit, "time": time, "treat": treat, "cohort": cohort, "y": y}
    unit, time, split, notes = _time_and_unit(frame, unit, time, file)
    sample = frame if split is None else frame.loc[frame[split[0]] == split[1]]
    treat, cohort, more = _treatment(sample, unit, time, treat, cohort, file)
    notes += more
    taken = {unit, time, str(treat or cohort)} | ({split[0]} if split else set())
    indicator = _indicator(sample, time, treat, cohort)
    free = _numeric_free(sample, taken)
    varying = [c for c in free if _varying(sample, unit, c) and sample[c].nunique() > 2]
    varying = [c for c in varying if _correlation(sample[c], indicator) < 0.999]
    outcome = y or _pick_outcome(varying, file)
    if y is None:
        notes.append(f"y = {outcome!r}: a time-varying numeric column" + _others(
            _ranked([c for c in varying], _OUTCOME_HINT)
        ))  # fmt: skip
    if controls is None:
        rest = [c for c in varying if c != outcome]
        chosen = _pick_controls(sample, rest, outcome, indicator)
    else:
        chosen = list(controls)
    fixed = [c for c in free if c not in varying and c != outcome]
    facts: dict[str, Any] = {
        "units": int(sample[unit].nunique()),
        "periods": int(sample[time].nunique()),
        "rows": len(sample),
        "balanced": _balanced(sample, unit, time, outcome),
        "never_treated": _never_treated(sample, unit, indicator),
        "first": int(sample[time].min()),
        "last": int(sample[time].max()),
    }
    if cohort is not None:
        facts.update(_cohort_facts(sample, unit, time, cohort))
    return Roles(
        unit=unit,
        time=time,
        treat=treat,
        cohort=cohort,
        outcome=outcome,
        controls=tuple(chosen),
        covariates=tuple(chosen) or tuple(fixed[:MAX_CONTROLS]),
        outcomes=tuple(c for c in _ranked(varying, _OUTCOME_HINT) if c != outcome)[:3],
        groups=tuple(_groups(sample, unit, taken | {outcome}))[:3],
        split=split,
        notes=tuple(notes),
        detected=tuple(role for role, value in given.items() if value is None),
        facts=facts,
    )


def _balanced(frame: pd.DataFrame, unit: str, time: str, outcome: str) -> bool:
    """Every unit observed, with the outcome, in every period of the sample."""
    complete = frame.loc[frame[outcome].notna()]
    counts = complete.groupby(unit)[time].nunique()
    return bool(len(counts) == frame[unit].nunique() and (counts == frame[time].nunique()).all())


def _pick_outcome(candidates: Sequence[str], file: str) -> str:
    ranked = _ranked(candidates, _OUTCOME_HINT)
    if not ranked:
        raise _fail("outcome", file, "--y")
    return ranked[0]
