"""The bundled SIMULATED raster set: night-time light of the reference study's counties.

``didstudy demo --from-rasters`` runs the reference study from rasters instead of from the
simulated county table. The raster set is made here, deterministically, and written into the
package by ``scripts/make_lights_demo.py``:

* every county of the reference study (real codes, 2003-2022 membership) is a square block of
  ``BLOCK x BLOCK`` cells on a synthetic map, counties of one city side by side; cells outside
  every county are dark (0);
* the cells of county ``c`` in year ``t`` hold ``light_ct * (1 + SPREAD * p)``, with ``light_ct``
  the simulated county light of the reference study (decision 0007) and ``p`` a fixed pattern
  with mean zero, stored as float32; a county absent in year ``t`` is dark that year;
* the grid is EPSG:3857 with 1 km cells and integer corner coordinates, so polygon edges lie
  exactly on cell edges.

:func:`array_indg` is the array-level pipeline (county means from the arrays with
:func:`numpy.bincount`, the same county -> city mapping, :func:`dagum_panel`) that the raster
study step must reproduce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["BLOCK", "DemoRasters", "array_indg", "demo_arrays", "write_demo_rasters"]

BLOCK = 3
SPREAD = 0.4
PATTERN = np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0], [0.5, 0.0, -0.5]])
CELL = 1000.0
ORIGIN = (10_000_000.0, 5_000_000.0)
CRS = "EPSG:3857"
SEED = 20100112
BORDER = 2


@dataclass(frozen=True)
class DemoRasters:
    """The simulated raster set in memory.

    Attributes
    ----------
    arrays
        ``{year: float32 array}`` on one grid.
    county_of_cell
        Index into ``county_codes`` of every cell (-1 outside every county).
    county_codes
        The 6-digit county codes, in block order.
    mapping
        ``county_code, city_code, year``: county membership of every year.
    transform
        GDAL affine transform of the grid (upper-left origin, north up).
    """

    arrays: dict[int, NDArray[np.float32]]
    county_of_cell: NDArray[np.int64]
    county_codes: NDArray[np.int64]
    mapping: pd.DataFrame
    transform: tuple[float, float, float, float, float, float]

    @property
    def shape(self) -> tuple[int, int]:
        return self.county_of_cell.shape  # type: ignore[return-value]


def _layout(n: int) -> tuple[NDArray[np.int64], int]:
    """Cell -> county index for ``n`` counties on a square lattice of blocks."""
    per_row = math.ceil(math.sqrt(n))
    rows = math.ceil(n / per_row)
    height, width = rows * BLOCK + 2 * BORDER, per_row * BLOCK + 2 * BORDER
    index = np.full((height, width), -1, dtype=np.int64)
    for k in range(n):
        r, c = divmod(k, per_row)
        top, left = BORDER + r * BLOCK, BORDER + c * BLOCK
        index[top : top + BLOCK, left : left + BLOCK] = k
    return index, per_row


def demo_arrays(seed: int = SEED) -> DemoRasters:
    """Build the SIMULATED raster set from the reference study's county light.

    Parameters
    ----------
    seed
        Seed of the reference study's simulation (:func:`build_reference_study`).

    Returns
    -------
    DemoRasters

    Examples
    --------
    >>> demo = demo_arrays()
    >>> sorted(demo.arrays)[:2], demo.arrays[2003].dtype
    ([2003, 2004], dtype('float32'))
    """
    from didstudy.data.reference_study import build_reference_study

    counties = build_reference_study(seed).counties
    first_city = counties.groupby("county_code")["city_code"].first()
    order = first_city.reset_index().sort_values(["city_code", "county_code"], kind="stable")
    codes = order["county_code"].to_numpy(dtype=np.int64)
    index, _ = _layout(len(codes))
    position = pd.Series(np.arange(len(codes)), index=codes)
    pattern = np.tile(PATTERN, (index.shape[0] // BLOCK + 1, index.shape[1] // BLOCK + 1))
    pattern = pattern[: index.shape[0], : index.shape[1]]
    arrays: dict[int, NDArray[np.float32]] = {}
    for year, rows in counties.groupby("year", sort=True):
        level = np.zeros(len(codes))
        level[position[rows["county_code"].to_numpy()].to_numpy()] = rows["light"].to_numpy()
        values = np.where(index >= 0, level[np.maximum(index, 0)] * (1 + SPREAD * pattern), 0.0)
        arrays[int(year)] = values.astype(np.float32)  # type: ignore[arg-type]
    mapping = counties[["county_code", "city_code", "year"]].reset_index(drop=True)
    transform = (CELL, 0.0, ORIGIN[0], 0.0, -CELL, ORIGIN[1])
    return DemoRasters(arrays, index, codes, mapping, transform)


def array_indg(demo: DemoRasters, min_units: int = 2) -> pd.DataFrame:
    """INDG per city-year computed from the arrays directly (the reference for the raster step).

    County light is the mean of the county's cells (:func:`numpy.bincount`, float64), mapped to
    its city with the same county -> city table, then :func:`dagum_panel` as in
    :func:`didstudy.lights.pipeline.lights_panel` (negative values clipped, ``min_units``).

    Returns
    -------
    pandas.DataFrame
        ``dagum_panel(...).groups``: ``time, group, n, mean, gini``, ...
    """
    from didstudy.lights.mapping import map_counties
    from didstudy.measure.inequality import dagum_panel

    inside = demo.county_of_cell >= 0
    cells = demo.county_of_cell[inside]
    counts = np.bincount(cells, minlength=len(demo.county_codes)).astype(np.float64)
    frames = []
    for year, array in sorted(demo.arrays.items()):
        sums = np.bincount(cells, weights=array[inside].astype(np.float64),
                           minlength=len(demo.county_codes))  # fmt: skip
        frames.append(pd.DataFrame({
            "county": demo.county_codes.astype(str), "year": year, "light": sums / counts,
        }))  # fmt: skip
    county = pd.concat(frames, ignore_index=True)
    mapping = demo.mapping.astype(str)
    mapped = map_counties(county, "county", "year", mapping)
    frame = mapped.frame
    valid = frame[np.isfinite(frame["light"].to_numpy(dtype=float))]
    result = dagum_panel(
        valid, value="light", group="city", time="year", min_units=min_units, negative="clip"
    )
    return result.groups


def _zones(demo: DemoRasters) -> Any:
    import geopandas as gpd
    from shapely.geometry import box

    boxes = []
    for k in range(len(demo.county_codes)):
        rows, cols = np.nonzero(demo.county_of_cell == k)
        left = ORIGIN[0] + CELL * cols.min()
        top = ORIGIN[1] - CELL * rows.min()
        boxes.append(box(left, top - CELL * BLOCK, left + CELL * BLOCK, top))
    return gpd.GeoDataFrame(
        {"county_code": [f"{c:06d}" for c in demo.county_codes]}, geometry=boxes, crs=CRS
    )


def write_demo_rasters(folder: str | Path, seed: int = SEED) -> list[Path]:
    """Write the raster set: ``ntl_<year>.tif``, ``counties.geojson`` and ``mapping.csv.gz``.

    Parameters
    ----------
    folder
        Output directory (created).
    seed
        As :func:`demo_arrays`.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    import rasterio

    from didstudy.lights.raster import Grid, write_raster

    demo = demo_arrays(seed)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    crs = rasterio.crs.CRS.from_string(CRS).to_wkt()
    grid = Grid(demo.transform, demo.shape[0], demo.shape[1], crs)
    written = [
        write_raster(target / f"ntl_{year}.tif", array.astype(np.float64), grid)
        for year, array in sorted(demo.arrays.items())
    ]
    zones = target / "counties.geojson"
    zones.unlink(missing_ok=True)
    _zones(demo).to_file(zones, driver="GeoJSON", engine="pyogrio")
    mapping = target / "mapping.csv.gz"
    table = demo.mapping.assign(county_code=demo.mapping["county_code"].map("{:06d}".format))
    table.to_csv(mapping, index=False, compression={"method": "gzip", "mtime": 0})
    return [*written, zones, mapping]
