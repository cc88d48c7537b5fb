"""Readers for the China fact tables shipped in ``didstudy/data/china`` (see PROVENANCE.md)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from didstudy.errors import DataError

__all__ = [
    "agglomerations",
    "census",
    "china_file",
    "cities",
    "cities_by_year",
    "city_changes",
    "counties_by_year",
    "demonstration_zones",
    "old_revolutionary_areas",
    "resource_cities",
]

_CODE_COLUMNS = (
    "code",
    "province_code",
    "city_code",
    "county_code",
    "admin_code",
    "admin_code_if_known",
    "stable_code_2022",
    "predecessor_code",
)


def china_file(name: str) -> Path:
    """Path of a packaged China fact file, e.g. ``"cities.csv"``."""
    path = Path(str(resources.files("didstudy.data.china").joinpath(name)))
    if not path.is_file():
        raise DataError(
            "packaged China fact file is missing from the installation",
            file=str(path),
            fix="reinstall didstudy (package data 'data/china/**' is required)",
        )
    return path


@lru_cache(maxsize=16)
def _read(name: str) -> pd.DataFrame:
    frame = pd.read_csv(china_file(name), encoding="utf-8", dtype={"name_history": "str"})
    for column in _CODE_COLUMNS:
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def _copy(name: str) -> pd.DataFrame:
    return _read(name).copy()


def cities() -> pd.DataFrame:
    """Every prefecture-level unit and municipality that existed in any year 2003–2022.

    Columns include ``code, name, province, province_code, type, first_year, last_year,
    in_all_years_2003_2022, name_en_auto, stable_code_2022``.
    """
    return _copy("cities.csv")


def cities_by_year() -> pd.DataFrame:
    """One row per (year, prefecture-level code), 2003–2022."""
    return _copy("cities_by_year.csv")


def city_changes() -> pd.DataFrame:
    """Prefecture-level code/name changes 2003–2022 with the approving document and date."""
    return _copy("city_changes_2003_2022.csv")


def counties_by_year() -> pd.DataFrame:
    """Every county-level unit per year 2003–2022 with its parent prefecture (``city_code``)."""
    return _copy("counties_by_year.csv")


def demonstration_zones() -> pd.DataFrame:
    """National industrial-transfer demonstration zones, one row per (zone, city).

    Adds ``approval_year`` (int) parsed from ``approval_date`` (missing for undated rows).
    """
    frame = _copy("demonstration_zones.csv")
    year = frame["approval_date"].astype("str").str.slice(0, 4)
    frame["approval_year"] = pd.to_numeric(year, errors="coerce").astype("Int64")
    return frame


def resource_cities() -> pd.DataFrame:
    """The 126 prefecture-level resource-based cities of the 2013–2020 national plan."""
    return _copy("resource_cities.csv")


def agglomerations() -> pd.DataFrame:
    """Members of the five major urban agglomerations (``level``, ``coverage`` per row)."""
    return _copy("agglomerations.csv")


def old_revolutionary_areas() -> pd.DataFrame:
    """Members of the five key revolutionary old areas (whole or partial coverage)."""
    return _copy("old_revolutionary_areas.csv")


def census() -> pd.DataFrame:
    """2010 and 2020 census population by prefecture (leiii/census, MIT licence).

    Adds ``code``: the prefecture code used in :func:`cities` (municipalities are coded
    ``XX0100`` in the census file and ``XX0000`` in the code lists).
    """
    frame = _copy("census_leiii/census_city_2010_2020.csv")
    municipal = frame["province_code"].isin([110000, 120000, 310000, 500000])
    frame["code"] = frame["city_code"].where(~municipal, frame["province_code"])
    return frame
