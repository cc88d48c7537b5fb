"""Rasters + county polygons → county-year light → city-year INDG (Dagum within-city Gini).

The orchestration of the lights part of the data flow (DESIGN.md): zonal statistics with one
overlay per grid (:func:`didstudy.lights.zonal.zonal_stats`), county → city by year
(:func:`didstudy.lights.mapping.map_counties`), then :func:`didstudy.measure.inequality.dagum_panel`
for INDG per city-year and the yearly decomposition G = Gw + Gnb + Gt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import DataError, ValidationError
from didstudy.lights.mapping import map_counties
from didstudy.lights.zonal import CoverageEngine, ZonalMethod, zonal_stats

__all__ = ["LightsPanel", "lights_panel", "year_of"]

_YEAR = re.compile(r"(?<!\d)(19[89]\d|20\d\d)(?:\d\d)?(?!\d)")


def year_of(label: str) -> int:
    """The year in a raster name: the first ``19xx``/``20xx`` (``YYYYMM`` allowed), not in a longer
    number. E.g. ``"F152005"`` fails (ambiguous); ``"F15_2005"``, ``"VNL_201304"`` work."""
    m = _YEAR.search(label)
    if m is None:
        raise DataError(
            f"cannot find a year in the raster name {label!r}",
            fix="name files with the year (e.g. ntl_2005.tif) or pass years={label: year}",
        )
    return int(m.group(1))


@dataclass(frozen=True)
class LightsPanel:
    """County light values and city INDG panel, with every unmatched unit listed.

    Attributes
    ----------
    county
        ``county, year, city, light, n_rasters`` (light = mean over the year's rasters of the
        zone statistic).
    indg
        ``dagum_panel(...).groups``: ``time, group, n, mean, gini`` (gini = INDG) and more.
    components
        ``dagum_panel(...).components``: yearly G, Gw, Gnb, Gt, Gb and shares.
    zonal
        The long zonal-statistics table (one row per zone and raster).
    unmatched, cities_without_counties
        From :class:`didstudy.lights.mapping.CityMapping`.
    metadata
        Method, overlays, corrections, mapping options, empty zones.
    """

    county: pd.DataFrame
    indg: pd.DataFrame
    components: pd.DataFrame
    zonal: pd.DataFrame
    unmatched: pd.DataFrame
    cities_without_counties: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)


def _county_years(
    zonal: pd.DataFrame, id_col: str, stat: str, years: Mapping[str, int] | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """County x year light (mean over the year's rasters) and the year of every raster."""
    labels = zonal["raster"].astype(str)
    year_map = {
        lab: (years[lab] if years and lab in years else year_of(lab)) for lab in labels.unique()
    }
    zonal_years = labels.map(year_map).astype("int64")
    frame = pd.DataFrame(
        {
            "county": zonal[id_col].astype(str).to_numpy(),
            "year": zonal_years.to_numpy(),
            "value": zonal[stat].to_numpy(),
        }
    )
    county = (
        frame.groupby(["county", "year"], sort=True)
        .agg(light=("value", "mean"), n_rasters=("value", "size"))
        .reset_index()
    )
    return county, year_map


def lights_panel(
    rasters: Any,
    zones: Any,
    id_col: str,
    *,
    mapping: pd.DataFrame | str | Path | None = None,
    vintage: int | None = None,
    years: Mapping[str, int] | None = None,
    stat: str = "mean",
    method: ZonalMethod = "coverage",
    engine: CoverageEngine = "exact",
    min_units: int = 2,
    nodata: Sequence[float] = (),
    transform: Callable[[Any], Any] | None = None,
    transform_params: Mapping[str, Any] | None = None,
    executor: Any = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    mapping_county: str = "county_code",
    mapping_city: str = "city_code",
    mapping_year: str | None = "year",
) -> LightsPanel:
    """County night-time light per year and the city INDG panel (reference study's outcome).

    Parameters
    ----------
    rasters, zones, id_col, method, engine, nodata, transform, transform_params, executor,
    cache_dir, progress
        As in :func:`didstudy.lights.zonal.zonal_stats`; ``id_col`` holds county codes.
    mapping, vintage, mapping_county, mapping_city, mapping_year
        As in :func:`didstudy.lights.mapping.map_counties` (default: shipped MCA table, membership
        of each data year).
    years
        ``{raster label: year}``; by default the year is parsed from each file name. Several
        rasters in one year (monthly composites) are averaged per county.
    stat
        The zone statistic used as county light (default the coverage-weighted mean).
    min_units
        Cities with fewer counties in a year get INDG NaN (methods spec §1.5).
    """
    from didstudy.measure.inequality import dagum_panel

    if stat not in ("mean", "sum", "max", "min"):
        raise ValidationError(
            f"stat {stat!r} is not a county light measure",
            fix="use 'mean' (default), 'sum', 'max' or 'min'",
        )
    zonal = zonal_stats(
        rasters,
        zones,
        id_col,
        stats=(stat, "count"),
        method=method,
        engine=engine,
        nodata=nodata,
        transform=transform,
        transform_params=transform_params,
        executor=executor,
        cache_dir=cache_dir,
        progress=progress,
    )
    county, year_map = _county_years(zonal, id_col, stat, years)
    mapped = map_counties(
        county,
        "county",
        "year",
        mapping,
        vintage=vintage,
        mapping_county=mapping_county,
        mapping_city=mapping_city,
        mapping_year=mapping_year,
    )
    cm = mapped.frame
    if cm.empty:
        first = mapped.unmatched.iloc[0]
        raise DataError(
            f"none of the {county['county'].nunique()} zones matched a city "
            f"(e.g. {first['county']} in {first['year']}: {first['reason']})",
            column=id_col,
            fix="check that --id holds 6-digit county codes, or pass a mapping/vintage",
        )
    valid = cm[np.isfinite(cm["light"].to_numpy(dtype=float))]
    result = dagum_panel(
        valid, value="light", group="city", time="year", min_units=min_units, negative="clip"
    )
    meta = dict(zonal.attrs.get("lights", {}))
    meta.update(
        {
            "stat": stat,
            "years": {k: int(v) for k, v in year_map.items()},
            "mapping": "shipped counties_by_year.csv"
            if mapping is None
            else str(mapping if not isinstance(mapping, pd.DataFrame) else "user DataFrame"),
            "vintage": vintage,
            "min_units": min_units,
            "n_missing_light": int(len(cm) - len(valid)),
            "negative_values": "clipped to 0 before the Gini (methods spec §1.5)",
        }
    )
    county_out = cm[["county", "year", "city", "light", "n_rasters", "link"]].reset_index(drop=True)
    return LightsPanel(
        county_out,
        result.groups,
        result.components,
        zonal,
        mapped.unmatched,
        mapped.cities_without_counties,
        meta,
    )
