"""County → city membership by year, with code changes linked and every mismatch listed.

The shipped table ``didstudy/data/china/counties_by_year.csv`` (MCA code lists 2003-2022, see
``data/china/PROVENANCE.md``) gives each county-level code's parent prefecture per year. County
polygons carry the codes of one boundary vintage; when such a code does not exist in a data year
(e.g. a county that became a district under a new code), it is linked through the code-change
table ``data/china/areacodes_yescallop/result.csv`` (column 新代码: successor codes; entries with a
``[year]`` suffix are partial transfers and are not code replacements).
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from didstudy.errors import DataError
from didstudy.lights.raster import LightsWarning

__all__ = ["CityMapping", "county_table", "map_counties"]

MAX_LINK_DEPTH = 6
"""Longest chain of code changes followed when linking a county code across years."""


def _china_file(*parts: str) -> Any:
    return resources.files("didstudy.data").joinpath("china", *parts)


@lru_cache(maxsize=1)
def _shipped_table() -> pd.DataFrame:
    with _china_file("counties_by_year.csv").open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={"county_code": str, "city_code": str})
    return frame


@lru_cache(maxsize=1)
def _city_codes_by_year() -> dict[int, set[str]]:
    """Prefecture-level codes per year (cities_by_year.csv), e.g. 东莞 441900 without counties."""
    with _china_file("cities_by_year.csv").open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={"code": str})
    return {int(str(y)): set(g["code"]) for y, g in frame.groupby("year")}


def county_table() -> pd.DataFrame:
    """The shipped county → city table (columns year, county_code, county_name, city_code, ...)."""
    return _shipped_table().copy()


@lru_cache(maxsize=1)
def _code_links() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Successor and predecessor graphs of full code replacements (not partial transfers)."""
    with _china_file("areacodes_yescallop", "result.csv").open("r", encoding="utf-8-sig") as fh:
        frame = pd.read_csv(fh, dtype=str)
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for old, new in zip(frame["代码"], frame["新代码"], strict=True):
        if not isinstance(new, str) or not new:
            continue
        for item in new.split(";"):
            code = item.strip()
            if not code or "[" in code or code == old:
                continue
            succ.setdefault(old, []).append(code)
            pred.setdefault(code, []).append(old)
    return succ, pred


def _normalise_codes(values: pd.Series) -> pd.Series:
    """County codes as 6-character strings whether they arrive as int, float or str."""
    text = values.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return text


@dataclass(frozen=True)
class CityMapping:
    """Counties with their city per year, plus everything that could not be matched.

    Attributes
    ----------
    frame
        The input rows that were matched, with a ``city`` column added (and ``link`` saying how:
        ``"direct"``, ``"linked:<code>"``, ``"user"`` or, for a polygon carrying the code of a
        prefecture-level city without counties (东莞 441900, 中山 442000, 嘉峪关 620200, 儋州),
        ``"prefecture-level city without counties"`` (the city is its own single unit).
    unmatched
        ``county, year, reason`` for every input row without a city (never silently dropped).
    cities_without_counties
        ``year, city`` for cities in the mapping that no input county maps to.
    """

    frame: pd.DataFrame
    unmatched: pd.DataFrame
    cities_without_counties: pd.DataFrame


def _link(code: str, year: int, present: dict[int, dict[str, str]]) -> tuple[str | None, str]:
    """Find the city of ``code`` in ``year`` via code changes (both directions)."""
    succ, pred = _code_links()
    codes = present.get(year)
    if codes is None:
        return None, f"year {year} is outside the mapping's years"
    found: dict[str, str] = {}
    for graph in (pred, succ):
        seen = {code}
        queue: deque[tuple[str, int]] = deque([(code, 0)])
        while queue:
            cur, depth = queue.popleft()
            if cur != code and cur in codes:
                found[cur] = codes[cur]
                continue
            if depth >= MAX_LINK_DEPTH:
                continue
            for nxt in graph.get(cur, []):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, depth + 1))
    cities = sorted(set(found.values()))
    if len(cities) == 1:
        return cities[0], "linked:" + "+".join(sorted(found))
    if not cities:
        return None, f"code not in the {year} list and no code change links it to one"
    return None, f"code changes link it to several cities in {year}: {cities}"


def _mapping_table(
    mapping: Any,
    source: str,
    mapping_county: str,
    mapping_city: str,
    mapping_year: str | None,
) -> tuple[dict[int, dict[str, str]], set[tuple[int, str]], bool]:
    """County -> city per year (-1: one mapping for every year), the county-years without a
    parent city, and whether the mapping is by year."""
    if mapping is None:
        table = _shipped_table()
    elif isinstance(mapping, (str, Path)):
        table = pd.read_csv(mapping, dtype=str)
    else:
        table = mapping.copy()
    for col in (mapping_county, mapping_city):
        if col not in table.columns:
            raise DataError(
                f"column not found in the {source}",
                column=col,
                fix=f"columns are {list(table.columns)}; pass mapping_county=/mapping_city=",
            )
    yearly = mapping_year is not None and mapping_year in table.columns
    tab = pd.DataFrame(
        {
            "county": _normalise_codes(table[mapping_county]),
            "city": table[mapping_city].astype(str),
            "year": pd.to_numeric(table[mapping_year]).astype("int64") if yearly else -1,
        }
    )
    tab = tab.drop_duplicates()
    dup = tab.duplicated(["county", "year"], keep=False)
    if dup.any():
        raise DataError(
            f"the {source} assigns a county to more than one city in one year",
            rows=list(tab.index[dup] + 1)[:20],
            fix="keep one city per county-year",
        )
    orphan = tab["city"].isna() | (tab["city"].str.strip() == "")
    orphans = {
        (int(y), c) for y, c in zip(tab.loc[orphan, "year"], tab.loc[orphan, "county"], strict=True)
    }
    tab = tab.loc[~orphan]
    present: dict[int, dict[str, str]] = {
        int(str(y)): dict(zip(g["county"], g["city"], strict=True)) for y, g in tab.groupby("year")
    }
    return present, orphans, yearly


def _assign_cities(
    codes: Any,
    lookup_years: Any,
    present: dict[int, dict[str, str]],
    orphans: set[tuple[int, str]],
    city_codes: dict[int, set[str]],
    shipped: bool,
    yearly: bool,
) -> tuple[list[str | None], list[str]]:
    """The city of every county-year and how it was linked (or why not)."""
    cities: list[str | None] = []
    links: list[str] = []
    for code, y in zip(codes, lookup_years, strict=True):
        hit = present.get(int(y), {}).get(code)
        if (int(y), code) in orphans:
            cities.append(None)
            links.append(f"no parent city in {y} (e.g. province-administered county)")
        elif hit is not None:
            cities.append(hit)
            links.append("direct" if shipped else "user")
        elif shipped and code in city_codes.get(int(y), set()):
            cities.append(code)
            links.append("prefecture-level city without counties")
        elif shipped:
            city, how = _link(code, int(y), present)
            cities.append(city)
            links.append(how)
        else:
            cities.append(None)
            links.append("county not in the user mapping" + (f" for {y}" if yearly else ""))
    return cities, links


def map_counties(
    values: pd.DataFrame,
    county: str,
    year: str,
    mapping: pd.DataFrame | str | Path | None = None,
    *,
    vintage: int | None = None,
    mapping_county: str = "county_code",
    mapping_city: str = "city_code",
    mapping_year: str | None = "year",
) -> CityMapping:
    """Attach each county-year's city; list unmatched counties and cities without counties.

    Parameters
    ----------
    values
        Long table with a county id column and a year column.
    county, year
        Column names in ``values``.
    mapping
        ``None`` for the shipped MCA table, or a user table (DataFrame or CSV path) with
        ``mapping_county``, ``mapping_city`` and optionally ``mapping_year`` columns. Without a
        year column the mapping is the same for every year.
    vintage
        Use the membership of this year for every year (fixed boundaries, methods spec §6 item 2).
        ``None``: membership of each data year, with code changes linked.

    Returns
    -------
    CityMapping
        Unmatched rows raise a :class:`LightsWarning` and are listed in ``unmatched``.
    """
    for col in (county, year):
        if col not in values.columns:
            raise DataError(
                "column not found in the county values",
                column=col,
                fix=f"columns are {list(values.columns)}",
            )
    source = "shipped counties_by_year.csv" if mapping is None else "user mapping"
    present, orphans, yearly = _mapping_table(
        mapping, source, mapping_county, mapping_city, mapping_year
    )
    city_codes = _city_codes_by_year() if mapping is None else {}
    out = values.copy()
    codes = _normalise_codes(out[county])
    years = pd.to_numeric(out[year]).astype("int64")
    lookup_years = years if yearly else pd.Series(-1, index=out.index)
    if vintage is not None and yearly:
        if int(vintage) not in present:
            raise DataError(
                f"vintage {vintage} is not a year of the {source}",
                fix=f"choose one of {min(present)}-{max(present)}",
            )
        lookup_years = pd.Series(int(vintage), index=out.index)
    cities, links = _assign_cities(
        codes, lookup_years, present, orphans, city_codes, mapping is None, yearly
    )
    out["city"] = pd.Series(cities, index=out.index, dtype=object)
    out["link"] = links
    bad = out["city"].isna()
    unmatched = pd.DataFrame(
        {
            "county": codes[bad].to_numpy(),
            "year": years[bad].to_numpy(),
            "reason": out.loc[bad, "link"].to_numpy(),
        }
    )
    matched = out.loc[~bad].copy()
    matched["city"] = matched["city"].astype(str)
    rows = []
    for y in sorted(set(years)):
        ly = int(vintage) if (vintage is not None and yearly) else (int(y) if yearly else -1)
        have = set(matched.loc[years[~bad] == y, "city"])
        for city in sorted(set(present.get(ly, {}).values()) - have):
            rows.append((int(y), city))
    without = pd.DataFrame(rows, columns=["year", "city"])
    if len(unmatched):
        first = unmatched.iloc[0]
        warnings.warn(
            f"{len(unmatched)} county-year rows have no city in the {source} "
            f"({unmatched['county'].nunique()} counties; e.g. {first['county']} in "
            f"{first['year']}: {first['reason']}); they are listed in .unmatched",
            LightsWarning,
            stacklevel=2,
        )
    return CityMapping(matched, unmatched, without)
