"""Loaders of the packaged China facts: every file reads with the documented shape and keys."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from didstudy.data import china

# row counts documented in src/didstudy/data/china/PROVENANCE.md
DOCUMENTED = [
    (china.demonstration_zones, 43, ["zone_id", "city", "approval_year", "in_paper_sample"]),
    (china.cities, 350, ["code", "name", "type", "first_year", "last_year"]),
    (china.cities_by_year, 6742, ["year", "code", "name"]),
    (china.city_changes, 43, ["code", "name", "doc_no"]),
    (china.counties_by_year, 57095, ["year", "county_code", "city_code", "parent_kind"]),
    (china.resource_cities, 126, ["code", "name", "category"]),
    (china.agglomerations, 95, ["agglomeration", "admin_code", "level"]),
    (china.old_revolutionary_areas, 57, ["area", "admin_code", "coverage"]),
    (china.census, 369, ["code", "popu_2010", "popu_2020"]),
]


@pytest.mark.parametrize(
    ("loader", "rows", "columns"), DOCUMENTED, ids=[d[0].__name__ for d in DOCUMENTED]
)
def test_loader_shape(loader: Callable[[], pd.DataFrame], rows: int, columns: list[str]) -> None:
    frame = loader()
    assert len(frame) == rows
    assert set(columns) <= set(frame.columns)
    frame.iloc[0, 0] = None  # a copy: the cached table is not affected
    assert loader().iloc[0, 0] is not None


def test_codes_are_integers_and_census_maps_municipalities() -> None:
    assert str(china.cities()["code"].dtype) == "Int64"
    census = china.census().set_index("code")
    assert census.loc[110000, "city"] == "北京市"
    zones = china.demonstration_zones()
    assert zones.loc[zones["city"] == "合肥市", "approval_year"].iloc[0] == 2010
    categories = china.resource_cities()["category"].value_counts().to_dict()
    assert categories == {"mature": 66, "declining": 24, "growing": 20, "regenerating": 16}
