"""Raster and polygon input: grids, windowed reads, zone layers in the raster's CRS.

rasterio, geopandas and shapely are optional (``pip install 'didstudy[raster]'``); they are
imported inside functions behind :func:`require`.
"""

from __future__ import annotations

import hashlib
import importlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from didstudy.errors import DataError, DidstudyWarning, MissingDependencyError, ValidationError

__all__ = [
    "Grid",
    "LightsWarning",
    "read_grid",
    "read_window",
    "read_zones",
    "require",
    "write_raster",
    "zones_to_grid_crs",
]


FLOAT32_EXACT = frozenset({"float32", "uint8", "int8", "uint16", "int16"})
"""Pixel types that float32 holds exactly: read them into float32 buffers at half the memory."""

READ_THREADS = "ALL_CPUS"
"""GDAL ``NUM_THREADS`` open option: decompress tiles of one raster on several cores."""


class LightsWarning(DidstudyWarning):
    """Something about the rasters or zones the user should know (repairs, empty zones)."""


def require(package: str, purpose: str) -> Any:
    """Import an optional package or raise :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        extra = "dask" if package.split(".")[0] in {"dask", "distributed"} else "raster"
        raise MissingDependencyError(package.split(".")[0], extra, purpose) from exc


@dataclass(frozen=True)
class Grid:
    """A raster grid: affine transform (GDAL order), shape and CRS (WKT), plus nodata.

    Two rasters with equal :attr:`key` share one overlay.
    """

    transform: tuple[float, float, float, float, float, float]
    height: int
    width: int
    crs_wkt: str
    nodata: float | None = None

    @property
    def key(self) -> str:
        """Hash of transform, shape and CRS (nodata excluded: it does not change the overlay)."""
        text = repr(
            (tuple(round(v, 12) for v in self.transform), self.height, self.width, self.crs_wkt)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def cell_area(self) -> float:
        a, b, _, d, e, _ = self.transform
        return abs(a * e - b * d)

    def affine(self) -> Any:
        affine = require("affine", "Raster grids")
        a, b, c, d, e, f = self.transform
        return affine.Affine(a, b, c, d, e, f)


def read_grid(path: str | Path) -> Grid:
    """Read the grid of a raster file without reading its pixels."""
    rasterio = require("rasterio", "Reading rasters")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise DataError(
                    "the raster has no coordinate reference system",
                    file=str(path),
                    fix="assign one, e.g. `gdal_edit.py -a_srs EPSG:4326 file.tif`",
                )
            t = src.transform
            return Grid(
                (t.a, t.b, t.c, t.d, t.e, t.f),
                src.height,
                src.width,
                src.crs.to_wkt(),
                None if src.nodata is None else float(src.nodata),
            )
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(
            f"cannot open the raster: {exc}",
            file=str(path),
            fix="check the path and that it is a GeoTIFF",
        ) from exc


def read_window(
    path: str | Path,
    rows: tuple[int, int],
    cols: tuple[int, int],
    extra_nodata: tuple[float, ...] = (),
    out: NDArray[np.floating[Any]] | None = None,
) -> NDArray[np.floating[Any]]:
    """Read band 1 over ``rows × cols`` (half-open) with nodata set to ``NaN``.

    Only the window is read (rasterio windowed read, tiles decoded on all cores with GDAL
    ``NUM_THREADS``), so memory is bounded by the zones' extent. ``out`` (float64 or float32,
    window shape) is filled and returned instead of allocating a new array: reusing one buffer
    for every raster avoids page-faulting hundreds of MB per raster. A float32 ``out`` receives
    float32 rasters without conversion (exact) at half the memory; without ``out`` the result
    is float64.
    """
    rasterio = require("rasterio", "Reading rasters")
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    shape = (rows[1] - rows[0], cols[1] - cols[0])
    with rasterio.open(path, NUM_THREADS=READ_THREADS) as src:
        if out is not None and out.dtype == np.float32 and src.dtypes[0] not in FLOAT32_EXACT:
            out = None  # e.g. int32 or float64 pixels: float32 would round them
        win = Window(cols[0], rows[0], shape[1], shape[0])
        flags = src.mask_flag_enums[0]
        if MaskFlags.per_dataset in flags or MaskFlags.alpha in flags:
            data = src.read(1, window=win, masked=True)
            dtype = np.float64 if out is None else out.dtype
            filled = np.ma.filled(data.astype(dtype), np.nan)
            if out is None:
                out = filled
            else:
                out[...] = filled
        else:
            if out is None:
                out = np.empty(shape, dtype=np.float64)
            src.read(1, window=win, out=out)
            if src.nodata is not None and not np.isnan(src.nodata):
                _set_nan(out, float(src.nodata))
    for value in extra_nodata:
        _set_nan(out, value)
    return out


def _set_nan(out: NDArray[np.floating[Any]], value: float) -> None:
    """``out[out == value] = NaN``, comparing as float64 would (float32 buffers included).

    A float32 cell equals ``value`` in float64 only if ``value`` is representable in float32;
    otherwise no cell can match (comparing in float32 would wrongly match a rounded value).
    """
    typed = out.dtype.type(value)
    if float(typed) == value:
        np.copyto(out, np.nan, where=out == typed)


def _zone_frame(zones: Any, id_col: str, gpd: Any) -> tuple[Any, str]:
    """The zones as a GeoDataFrame (a copy) with an id column and a CRS, and their name."""
    name = "<GeoDataFrame>"
    if isinstance(zones, (str, Path)):
        name = str(zones)
        if not Path(zones).exists():
            raise DataError("zone file not found", file=name, fix="check the path")
        try:
            frame = gpd.read_file(zones)
        except Exception as exc:
            raise DataError(
                f"cannot read the zone file: {exc}",
                file=name,
                fix="use GeoJSON, GeoPackage or a shapefile",
            ) from exc
    elif isinstance(zones, gpd.GeoDataFrame):
        frame = zones.copy()
    else:
        raise ValidationError(
            f"zones must be a file path or a GeoDataFrame, not {type(zones).__name__}",
            fix="pass the path of a GeoJSON/GeoPackage/shapefile",
        )
    if id_col not in frame.columns:
        raise DataError(
            f"zone id column not found; columns are {list(frame.columns)}",
            file=name,
            column=id_col,
            fix="pass the right --id column",
        )
    if frame.crs is None:
        raise DataError(
            "the zone layer has no coordinate reference system",
            file=name,
            fix="set it, e.g. gdf.set_crs('EPSG:4326') or add a .prj file",
        )
    return frame, name


def _check_ids(ids: Any, index: Any, name: str, id_col: str) -> None:
    """Every zone has one id, and no id twice (rows counted from 1)."""
    bad = list(index[ids.isna()] + 1)
    if bad:
        raise DataError(
            "zone ids are missing",
            file=name,
            column=id_col,
            rows=bad,
            fix="give every polygon an id",
        )
    dup = index[ids.duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"zone ids are duplicated: {sorted(set(ids[dup].astype(str)))[:10]}",
            file=name,
            column=id_col,
            rows=list(dup + 1),
            fix="dissolve multi-part zones into one row per id",
        )


def read_zones(zones: Any, id_col: str) -> Any:
    """Read polygons (GeoJSON, GeoPackage, shapefile or a GeoDataFrame); check ids and geometry.

    Invalid geometries are repaired with ``shapely.make_valid`` and a :class:`LightsWarning`
    naming the ids. Missing ids, duplicated ids, empty or non-polygon geometries raise.
    """
    gpd = require("geopandas", "Reading zone polygons")
    shapely = require("shapely", "Reading zone polygons")
    frame, name = _zone_frame(zones, id_col, gpd)
    frame = frame.reset_index(drop=True)
    ids = frame[id_col]
    _check_ids(frame[id_col], frame.index, name, id_col)
    geom = frame.geometry
    empty = list(frame.index[geom.isna() | geom.is_empty] + 1)
    if empty:
        raise DataError(
            "zones have empty geometries",
            file=name,
            rows=empty,
            fix="drop or fix these rows before computing zonal statistics",
        )
    invalid = ~geom.is_valid
    if invalid.any():
        which = ids[invalid].astype(str).tolist()
        warnings.warn(
            f"{len(which)} invalid zone geometries repaired with shapely.make_valid "
            f"(ids {', '.join(which[:10])}{' ...' if len(which) > 10 else ''})",
            LightsWarning,
            stacklevel=2,
        )
        repaired = shapely.make_valid(geom[invalid].to_numpy())
        polys = [_polygonal(g, shapely) for g in repaired]
        frame.loc[invalid, frame.geometry.name] = gpd.GeoSeries(
            polys, index=frame.index[invalid], crs=frame.crs
        )
    kinds = frame.geometry.geom_type
    nonpoly = ~kinds.isin(["Polygon", "MultiPolygon"])
    if nonpoly.any():
        raise DataError(
            f"zones must be polygons; found {sorted(set(kinds[nonpoly]))}",
            file=name,
            rows=list(frame.index[nonpoly] + 1),
            fix="keep only polygon features",
        )
    return frame


def _polygonal(geom: Any, shapely: Any) -> Any:
    """Keep the polygonal part of a repaired geometry (make_valid may return a collection)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.unary_union(parts) if parts else geom


def zones_to_grid_crs(frame: Any, grid: Grid) -> Any:
    """Reproject polygons to the raster's CRS (never the raster: no resampling error)."""
    pyproj = require("pyproj", "Reprojecting zones")
    target = pyproj.CRS.from_wkt(grid.crs_wkt)
    if pyproj.CRS.from_user_input(frame.crs) == target:
        return frame
    return frame.to_crs(target)


def write_raster(path: str | Path, array: NDArray[np.float64], grid: Grid) -> Path:
    """Write a corrected image as a tiled, deflate-compressed float32 GeoTIFF on ``grid``.

    NaN is nodata. Use it to feed corrected years (e.g. the output of
    :func:`didstudy.lights.calibrate.dmsp_series`) to :func:`didstudy.lights.zonal.zonal_stats`.
    """
    rasterio = require("rasterio", "Writing rasters")
    if array.shape != (grid.height, grid.width):
        raise ValidationError(
            f"array shape {array.shape} does not match the grid {(grid.height, grid.width)}",
            fix="write arrays read on the same grid",
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tiled = grid.height >= 256 and grid.width >= 256
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": grid.height,
        "width": grid.width,
        "count": 1,
        "dtype": "float32",
        "crs": rasterio.crs.CRS.from_wkt(grid.crs_wkt),
        "transform": grid.affine(),
        "nodata": float("nan"),
        "compress": "deflate",
    }
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(np.asarray(array, dtype=np.float32), 1)
    return target
