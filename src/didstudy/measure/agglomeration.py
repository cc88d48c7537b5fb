"""Industrial co-agglomeration: location quotients, the ISA index, Ellison–Glaeser–Kerr.

The ISA index of the Chinese location-quotient literature (methods spec §4.1; commonly cited to
Yang Renfa 2013, *Management World* 2013(8)) for city i, producer services s, manufacturing m::

    ISAS_i = (I_is / I_i) / (I_s / I)        ISAM_i = (I_im / I_i) / (I_m / I)
    ISA_i  = (1 − |ISAS_i − ISAM_i| / (ISAS_i + ISAM_i)) + (ISAS_i + ISAM_i)

The first term is the "quality" (balance) of co-agglomeration, the second its "depth" (level).
The pairwise index of Ellison, Glaeser & Kerr (2010, *AER* 100(3): 1195–1213, eq. 2) is in
:func:`ellison_glaeser_kerr` (methods spec §4.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.gini import FloatArray, as_values

__all__ = ["coagglomeration", "ellison_glaeser_kerr", "location_quotient"]

Variant = Literal["quality+depth", "quality"]


def location_quotient(
    sector: FloatArray, total: FloatArray, sector_reference: FloatArray, total_reference: FloatArray
) -> FloatArray:
    """Location quotient ``(e_is / e_i) / (E_s / E)`` element-wise; NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lq: FloatArray = (sector / total) / (sector_reference / total_reference)
    lq[~np.isfinite(lq)] = np.nan
    return lq


def _names(x: str | Sequence[str], role: str) -> list[str]:
    names = [x] if isinstance(x, str) else list(x)
    if not names:
        raise DidstudyError(f"no {role} sector given", fix=f"name at least one {role} sector")
    return names


def _wide_from_long(
    df: pd.DataFrame, keys: list[str], sector: str, value: str, wanted: list[str]
) -> pd.DataFrame:
    for col in (*keys, sector, value):
        if col not in df.columns:
            raise DataError("column not in the employment table", column=col)
    dup = df.duplicated([*keys, sector])
    if dup.any():
        raise DataError(
            "several rows for the same city, period and sector",
            column=sector,
            rows=list(df.index[dup.to_numpy()][:20]),
            fix="aggregate the duplicates first",
        )
    wide = df.pivot(index=keys, columns=sector, values=value)
    wide.columns = [str(c) for c in wide.columns]
    missing = [w for w in wanted if w not in wide.columns]
    if missing:
        raise DataError(
            f"sector(s) {', '.join(missing)} not found in the long table",
            column=sector,
            fix=f"available sectors: {', '.join(map(str, wide.columns[:30]))}",
        )
    return wide.reset_index()


def _employment(frame: pd.DataFrame, columns: list[str]) -> FloatArray:
    total = np.zeros(len(frame))
    for col in columns:
        if col not in frame.columns:
            raise DataError("column not in the employment table", column=col)
        vals = as_values(frame[col], name=col, negative="raise", index=list(frame.index))
        total = total + vals
    return total


def _national_totals(
    national: object, times: pd.Series | None, n: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Broadcast user-given reference totals (services, manufacturing, total) to the rows."""
    keys = ("services", "manufacturing", "total")
    if isinstance(national, pd.DataFrame):
        ref = national
        if times is not None:
            if times.name not in ref.columns:
                raise DataError(
                    "the national totals table has no time column",
                    column=str(times.name),
                    fix="add a column with the period next to services, manufacturing, total",
                )
            ref = ref.set_index(times.name)
        missing = [k for k in keys if k not in ref.columns]
        if missing:
            raise DataError(
                f"national totals need columns {', '.join(keys)}; missing {', '.join(missing)}"
            )
        if times is None:
            if len(ref) != 1:
                raise DataError("without a time column the national totals must be one row")
            return tuple(np.full(n, float(ref[k].iloc[0])) for k in keys)  # type: ignore[return-value]
        lookup = ref.reindex(times.to_numpy())
        absent = lookup[list(keys)].isna().any(axis=1).to_numpy()
        if absent.any():
            raise DataError(
                "no national totals for some periods",
                column=str(times.name),
                rows=sorted(set(times.to_numpy()[absent].tolist()))[:20],
                fix="give national totals for every period in the data",
            )
        return tuple(lookup[k].to_numpy(dtype=np.float64) for k in keys)  # type: ignore[return-value]
    if isinstance(national, Mapping):
        if all(k in national for k in keys):
            return tuple(np.full(n, float(national[k])) for k in keys)  # type: ignore[return-value]
        if times is None:
            raise DataError("national totals must map services, manufacturing and total to numbers")
        frame = pd.DataFrame.from_dict(dict(national), orient="index")
        frame.index.name = times.name
        return _national_totals(frame.reset_index(), times, n)
    raise DidstudyError(
        f"national must be 'sample', a DataFrame or a mapping, got {type(national).__name__}",
        fix="use national='sample' (sums over the cities in the data) or give the totals",
    )


def _employment_table(
    employment: pd.DataFrame,
    keys: list[str],
    s_names: list[str],
    m_names: list[str],
    sector: str | None,
    value: str | None,
    total: str | None,
) -> tuple[pd.DataFrame, str]:
    """A wide table (one row per city and period) and the name of its total column."""
    if sector is not None or value is not None:
        if sector is None or value is None:
            raise DidstudyError(
                "a long table needs both sector= and value=",
                fix="name the sector-label column and the employment column",
            )
        long = employment.copy()
        long[sector] = long[sector].astype(str)
        wanted = [*s_names, *m_names] + ([total] if total is not None else [])
        frame = _wide_from_long(long, keys, sector, value, wanted)
        if total is not None:
            return frame, total
        sector_cols = [c for c in frame.columns if c not in keys]
        frame["__total__"] = frame[sector_cols].sum(axis=1, min_count=len(sector_cols))
        return frame, "__total__"
    if total is None:
        raise DidstudyError(
            "a wide table needs total= (the column of total employment)",
            fix="name the total-employment column, e.g. total='employment_total'",
        )
    for col in keys:
        if col not in employment.columns:
            raise DataError("column not in the employment table", column=col)
    return employment.reset_index(drop=True), total


def _reference_totals(
    national: Any, times: pd.Series | None, s: FloatArray, m: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """National services, manufacturing and total employment per row: the sample's own sums
    over complete rows per period (``national="sample"``) or the given totals."""
    if not isinstance(national, str):
        return _national_totals(national, times, len(s))
    if national != "sample":
        raise DidstudyError(
            f"national must be 'sample' or given totals, got {national!r}",
            fix="use national='sample' or pass a DataFrame/mapping of totals",
        )
    complete = ~np.isnan(s + m + t)
    grp = (
        pd.Series(np.zeros(len(s), dtype=np.int64))
        if times is None
        else pd.Series(pd.factorize(times)[0])
    )
    parts = []
    for arr in (s, m, t):
        masked = pd.Series(np.where(complete, arr, 0.0))
        parts.append(masked.groupby(grp).transform("sum").to_numpy(dtype=np.float64))
    return parts[0], parts[1], parts[2]


def coagglomeration(
    employment: pd.DataFrame,
    city: str,
    time: str | None = None,
    services: str | Sequence[str] = (),
    manufacturing: str | Sequence[str] = (),
    total: str | None = None,
    *,
    sector: str | None = None,
    value: str | None = None,
    variant: Variant = "quality+depth",
    national: object = "sample",
) -> pd.DataFrame:
    """Producer-services × manufacturing co-agglomeration index (ISA) per city and period.

    Parameters
    ----------
    employment
        Wide table (one row per city and period, one column per sector) or long table (one row
        per city, period and sector; give ``sector`` and ``value``).
    city, time
        Column names of the city and the period (``time=None`` for a cross-section).
    services
        Producer-services sector column(s) (wide) or sector label(s) (long), summed; e.g. the five
        sectors transport/storage/post, IT, finance, leasing/business services, research.
    manufacturing
        Manufacturing column(s) or label(s).
    total
        Total employment column (wide) or label (long). For a long table ``None`` sums every
        sector row of the city-period.
    sector, value
        For a long table: the sector-label and employment columns.
    variant
        ``"quality+depth"`` (the paper's ISA) or ``"quality"`` (first term only).
    national
        Reference totals ``I_s, I_m, I``: ``"sample"`` (per period, the sums over the cities in
        the data with complete rows; recommended, internally consistent), or given totals as a
        DataFrame with columns ``[time,] services, manufacturing, total`` or a mapping
        (``{"services":…, "manufacturing":…, "total":…}`` or ``{period: {...}}``).

    Returns
    -------
    pandas.DataFrame
        ``city, [time,] services, manufacturing, total, lq_services (ISAS), lq_manufacturing
        (ISAM), quality, depth, isa``. Rows with a missing employment figure get NaN and are left
        out of the sample totals; a zero city total gives NaN.

    Notes
    -----
    Methods spec §4.1 (verify against the paper you replicate: sector lists and national totals
    differ across studies). ``isa = quality + depth`` or ``quality``.
    """
    if variant not in ("quality+depth", "quality"):
        raise DidstudyError(
            f"variant must be 'quality+depth' or 'quality', got {variant!r}",
            fix="use variant='quality+depth' (the paper) or 'quality'",
        )
    if not isinstance(employment, pd.DataFrame):
        raise DataError("employment must be a pandas DataFrame")
    s_names = _names(services, "services")
    m_names = _names(manufacturing, "manufacturing")
    keys = [city] + ([time] if time is not None else [])
    frame, total_col = _employment_table(employment, keys, s_names, m_names, sector, value, total)
    dup = frame.duplicated(keys)
    if dup.any():
        raise DataError(
            "several rows for the same city and period",
            column=city,
            rows=list(frame.index[dup.to_numpy()][:20]),
            fix="aggregate or drop the duplicates",
        )
    s = _employment(frame, s_names)
    m = _employment(frame, m_names)
    t = _employment(frame, [total_col])
    too_big = (s + m > t * (1 + 1e-9)) & ~np.isnan(s + m + t)
    if too_big.any():
        raise DataError(
            "services plus manufacturing employment exceed total employment",
            column=total_col,
            rows=list(frame.index[too_big][:20]),
            fix="check that the total column is total employment over all sectors",
        )
    times = frame[time] if time is not None else None
    ref_s, ref_m, ref_t = _reference_totals(national, times, s, m, t)
    lq_s = location_quotient(s, t, ref_s, ref_t)
    lq_m = location_quotient(m, t, ref_m, ref_t)
    depth = lq_s + lq_m
    with np.errstate(divide="ignore", invalid="ignore"):
        quality = 1.0 - np.abs(lq_s - lq_m) / depth
    quality[~np.isfinite(quality)] = np.nan
    isa = quality + depth if variant == "quality+depth" else quality.copy()
    out = frame[keys].copy()
    out["services"] = s
    out["manufacturing"] = m
    out["total"] = t
    out["lq_services"] = lq_s
    out["lq_manufacturing"] = lq_m
    out["quality"] = quality
    out["depth"] = depth
    out["isa"] = isa
    out.attrs["variant"] = variant
    out.attrs["national"] = national if isinstance(national, str) else "given"
    return out


def ellison_glaeser_kerr(
    employment: pd.DataFrame,
    area: str,
    industries: Sequence[str],
    total: str,
    *,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Ellison–Glaeser–Kerr pairwise co-agglomeration index across areas.

    ``γ^c_ij = Σ_m (s_mi − x_m)(s_mj − x_m) / (1 − Σ_m x_m²)`` (Ellison, Glaeser & Kerr 2010,
    eq. 2): ``s_mi`` is area m's share of industry i's employment, ``x_m`` area m's share of total
    employment. One number per industry pair and per ``by`` group (e.g. province, or province ×
    year), computed across the areas (cities) in that group.

    Parameters
    ----------
    employment
        Wide table, one row per area (and ``by`` group).
    area
        Area column (used to check that each area appears once per group).
    industries
        Two or more industry employment columns; every pair is returned.
    total
        Total employment column (all industries).
    by
        Optional grouping column(s).

    Returns
    -------
    pandas.DataFrame
        ``[by...,] industry_i, industry_j, gamma, n_areas``; gamma NaN when an industry has no
        employment in the group or there is a single area.
    """
    if len(industries) < 2:
        raise DidstudyError("need at least two industries", fix="pass industries=['s', 'm']")
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for col in (area, total, *industries, *by_cols):
        if col not in employment.columns:
            raise DataError("column not in the employment table", column=col)
    frame = employment.reset_index(drop=True)
    dup = frame.duplicated([*by_cols, area])
    if dup.any():
        raise DataError(
            "an area appears more than once in a group",
            column=area,
            rows=list(frame.index[dup.to_numpy()][:20]),
            fix="aggregate to one row per area (and by-group) first",
        )
    values = {c: _employment(frame, [c]) for c in (*industries, total)}
    groups: list[tuple[tuple[object, ...], np.ndarray]] = [((), frame.index.to_numpy())]
    if by_cols:
        grouper = by_cols[0] if len(by_cols) == 1 else by_cols
        groups = [
            (key if isinstance(key, tuple) else (key,), np.asarray(idx))
            for key, idx in frame.groupby(grouper, sort=True).indices.items()
        ]
    rows = []
    for key, idx in groups:
        t = values[total][idx]
        ok = ~np.isnan(t)
        for i, j in combinations(industries, 2):
            a, b = values[i][idx], values[j][idx]
            use = ok & ~np.isnan(a) & ~np.isnan(b)
            x = t[use] / t[use].sum() if t[use].sum() > 0 else np.full(int(use.sum()), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                si = a[use] / a[use].sum()
                sj = b[use] / b[use].sum()
                gamma = float(np.sum((si - x) * (sj - x)) / (1.0 - np.sum(x**2)))
            if not np.isfinite(gamma):
                gamma = float("nan")
            rows.append((*key, i, j, gamma, int(use.sum())))
    return pd.DataFrame(rows, columns=[*by_cols, "industry_i", "industry_j", "gamma", "n_areas"])
