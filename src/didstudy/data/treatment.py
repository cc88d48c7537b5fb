"""Treatment timing: cohorts from adoption lists, indicators from cohorts and back."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from didstudy.errors import PanelWarning, ValidationError, format_rows

__all__ = [
    "cohort_from_treatment",
    "cohorts_from_adoption",
    "event_time",
    "to_period",
    "treatment_from_cohort",
]

Period = Literal["year", "quarter", "month"]


def to_period(values: pd.Series, period: Period = "year", *, column: str = "date") -> pd.Series:
    """Integer periods from dates or period labels.

    Integers (or numeric text such as ``"2010"``) are taken as periods as they are. Dates
    (datetimes or text such as ``"2010-01-12"``) become ``year`` (2010), ``quarter``
    (``10 * year + quarter``, 20101) or ``month`` (``100 * year + month``, 201001). Missing
    values stay missing.

    Raises
    ------
    ValidationError
        Values that are neither integers nor parseable dates (rows listed).
    """
    if period not in ("year", "quarter", "month"):
        raise ValidationError(
            f"unknown period {period!r}.", fix="use period='year', 'quarter' or 'month'."
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
    else:
        numeric = pd.to_numeric(
            values.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce"
        )
        is_int = numeric.notna() & (numeric == np.round(numeric))
        if bool((is_int | values.isna()).all()):
            return numeric.astype("Int64")
        dates = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        text = values[~is_int & values.notna()].astype(str)
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = parsed.isna()
        if bad.any():
            shown = "; ".join(f"row {i}: {v!r}" for i, v in list(text[bad].items())[:10])
            raise ValidationError(
                f"values that are neither integer periods nor dates: {shown}.",
                column=column,
                rows=list(text.index[bad]),
                fix="write dates as YYYY-MM-DD or periods as integers (e.g. 2010).",
            )
        dates = dates.astype(parsed.dtype)
        dates[parsed.index] = parsed
        out = pd.Series(pd.NA, index=values.index, dtype="Int64")
        out[is_int] = numeric[is_int].astype("int64")
        conv = _date_periods(dates[parsed.index], period)
        out[conv.index] = conv
        return out
    return _date_periods(dates, period)


def _date_periods(dates: pd.Series, period: Period) -> pd.Series:
    year: pd.Series = dates.dt.year.astype("Int64")
    if period == "year":
        return year
    sub: pd.Series = dates.dt.quarter if period == "quarter" else dates.dt.month
    scale = 10 if period == "quarter" else 100
    out: pd.Series = scale * year + sub.astype("Int64")
    return out


def cohorts_from_adoption(
    adoption: pd.DataFrame | pd.Series | Mapping[Hashable, Any],
    units: pd.Series | pd.Index | list[Any] | np.ndarray[Any, Any] | None = None,
    *,
    unit_col: str | None = None,
    date_col: str | None = None,
    period: Period = "year",
) -> pd.Series:
    """First treated period of each adopting unit, from a list of adoption dates.

    Parameters
    ----------
    adoption
        ``{unit: date or period}``, a Series indexed by unit, or a frame with ``unit_col`` and
        ``date_col`` (a two-column frame uses its columns in that order by default). Dates such
        as ``"2010-01-12"`` are converted with :func:`to_period`.
    units
        Units of the panel. Listed units that are not in it are reported with a
        :class:`~didstudy.errors.PanelWarning` and left out of the result.
    unit_col, date_col
        Columns of the adoption frame.
    period
        ``"year"`` (default), ``"quarter"`` or ``"month"``; see :func:`to_period`.

    Returns
    -------
    pandas.Series
        Integer cohort (first treated period) indexed by unit, name ``"cohort"``. Units of the
        panel that are absent from the list are never treated (not in the Series; map with
        ``.fillna(0)``). ``attrs["unmatched"]`` lists adoption units not in ``units``.

    Warns
    -----
    PanelWarning
        Units listed more than once (the earliest period is kept), units with a missing date
        (dropped), units not in the panel.

    Raises
    ------
    ValidationError
        Unparseable dates, missing columns, or no adopting unit in the panel at all.

    Examples
    --------
    >>> cohorts_from_adoption({"A": "2010-06-01", "B": 2012}, units=["A", "B", "C"]).to_dict()
    {'A': 2010, 'B': 2012}
    """
    if isinstance(adoption, pd.DataFrame):
        cols = list(adoption.columns)
        if unit_col is None and date_col is None and len(cols) == 2:
            unit_col, date_col = str(cols[0]), str(cols[1])
        if unit_col is None or date_col is None:
            raise ValidationError(
                f"the adoption table has columns {cols}; which are the unit and the date?",
                fix="pass unit_col= and date_col=.",
            )
        from didstudy.data.io import require_columns

        require_columns(adoption, [unit_col, date_col], role="adoption")
        keys = adoption[unit_col].reset_index(drop=True)
        raw = adoption[date_col].reset_index(drop=True)
    elif isinstance(adoption, pd.Series):
        keys = pd.Series(adoption.index, dtype=adoption.index.dtype)
        raw = adoption.reset_index(drop=True)
        date_col = date_col or str(adoption.name or "date")
    elif isinstance(adoption, Mapping):
        keys = pd.Series(list(adoption.keys()))
        raw = pd.Series(list(adoption.values()), dtype="object")
        date_col = date_col or "date"
    else:
        raise ValidationError(
            f"adoption must be a mapping, Series or DataFrame, got {type(adoption).__name__}.",
            fix="pass {unit: first treated date} or a table with unit and date columns.",
        )
    g = to_period(raw, period, column=date_col)
    missing = g.isna()
    if missing.any():
        warnings.warn(
            f"{int(missing.sum())} adoption entries have no date and are ignored: units "
            f"{format_rows(keys[missing].tolist())}.",
            PanelWarning,
            stacklevel=2,
        )
    table = pd.DataFrame({"unit": keys[~missing], "cohort": g[~missing].astype("int64")})
    counts = table["unit"].value_counts()
    repeated = counts.index[counts > 1]
    if len(repeated):
        detail = "; ".join(
            f"{u!r}: {sorted(table.loc[table['unit'] == u, 'cohort'].tolist())}"
            for u in list(repeated)[:10]
        )
        warnings.warn(
            f"{len(repeated)} unit(s) are listed more than once; the earliest period is kept: "
            f"{detail}.",
            PanelWarning,
            stacklevel=2,
        )
    cohorts = table.groupby("unit", sort=True)["cohort"].min().rename("cohort")
    cohorts.index.name = unit_col or "unit"
    unmatched: list[Any] = []
    if units is not None:
        present = pd.Index(pd.unique(np.asarray(units)))
        inside = cohorts.index.isin(present)
        unmatched = cohorts.index[~inside].tolist()
        if len(cohorts) and not inside.any():
            ex_list, ex_panel = cohorts.index[0], present[0] if len(present) else None
            raise ValidationError(
                f"none of the {len(cohorts)} adopting units appear in the panel (e.g. list "
                f"{ex_list!r} of type {type(ex_list).__name__}, panel {ex_panel!r} of type "
                f"{type(ex_panel).__name__}).",
                column=unit_col,
                fix="use the same unit codes and types in both (e.g. convert codes with "
                ".astype(str) or .astype(int)).",
            )
        if unmatched:
            warnings.warn(
                f"{len(unmatched)} adopting unit(s) are not in the panel and are ignored: "
                f"{format_rows(unmatched)}.",
                PanelWarning,
                stacklevel=2,
            )
        cohorts = cohorts[inside]
    cohorts.attrs["unmatched"] = unmatched
    return cohorts


def treatment_from_cohort(time: Any, cohort: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The absorbing indicator :math:`D_{it} = 1\\{G_i > 0,\\ t \\ge G_i\\}`.

    ``cohort`` codes never treated as 0, NaN or ``inf``.
    """
    t = np.asarray(time, dtype=np.float64)
    g = np.asarray(cohort, dtype=np.float64)
    treated = np.isfinite(g) & (g != 0) & (t >= g)
    out: np.ndarray[Any, np.dtype[np.int64]] = treated.astype(np.int64)
    return out


def cohort_from_treatment(unit: Any, time: Any, treat: Any) -> np.ndarray[Any, Any]:
    """Per-row first treated period of the row's unit (``inf`` when never treated)."""
    t = pd.Series(np.asarray(time, dtype=np.float64))
    d = np.asarray(treat)
    first = t.where(d == 1).groupby(np.asarray(unit), sort=False).transform("min")
    return first.fillna(np.inf).to_numpy(dtype=np.float64)


def event_time(time: Any, cohort: Any) -> np.ndarray[Any, Any]:
    """Relative time :math:`t - G_i`; NaN for never treated (cohort 0, NaN or ``inf``)."""
    t = np.asarray(time, dtype=np.float64)
    g = np.asarray(cohort, dtype=np.float64)
    ok = np.isfinite(g) & (g != 0)
    return np.where(ok, t - np.where(ok, g, 0.0), np.nan)
