"""Synthetic rasters and polygons for the lights tests (rasterio + shapely, in tmp_path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def write_raster(
    path: Path,
    array: np.ndarray,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    size: float = 1.0,
    crs: str | None = "EPSG:32650",
    nodata: float | None = None,
    tiled: bool = False,
) -> Path:
    """Write band 1; ``origin`` is the lower-left corner, north-up, square cells of ``size``."""
    import rasterio
    from rasterio.transform import from_origin

    h, w = array.shape
    transform = from_origin(origin[0], origin[1] + h * size, size, size)
    profile: dict[str, Any] = dict(
        driver="GTiff",
        height=h,
        width=w,
        count=1,
        dtype=str(array.dtype),
        transform=transform,
        nodata=nodata,
    )
    if crs is not None:
        profile["crs"] = crs
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


def voronoi_zones(n: int, width: float, height: float, seed: int, crs: str = "EPSG:32650") -> Any:
    """``n`` Voronoi cells clipped to the box [0, width] × [0, height], ids ``"Z000"`` …"""
    import geopandas as gpd
    import shapely
    from shapely.geometry import MultiPoint, box

    rng = np.random.default_rng(seed)
    pts = MultiPoint(rng.uniform([0, 0], [width, height], size=(n, 2)))
    frame = box(0, 0, width, height)
    cells = shapely.voronoi_polygons(pts, extend_to=frame)
    polys = [c.intersection(frame) for c in cells.geoms]
    return gpd.GeoDataFrame(
        {"zone": [f"Z{i:03d}" for i in range(len(polys))]}, geometry=polys, crs=crs
    )


def exact_mean(
    array: np.ndarray, geom: Any, size: float = 1.0, origin: tuple[float, float] = (0.0, 0.0)
) -> float:
    """Area-weighted mean of a piecewise-constant raster over ``geom``: every cell clipped with
    shapely (an algorithm independent of exactextract)."""
    import shapely

    h, w = array.shape
    xmin, ymin, xmax, ymax = geom.bounds
    c0 = max(int(np.floor((xmin - origin[0]) / size)), 0)
    c1 = min(int(np.ceil((xmax - origin[0]) / size)), w)
    top = origin[1] + h * size
    r0 = max(int(np.floor((top - ymax) / size)), 0)
    r1 = min(int(np.ceil((top - ymin) / size)), h)
    rr, cc = np.mgrid[r0:r1, c0:c1]
    boxes = shapely.box(
        origin[0] + cc * size, top - (rr + 1) * size, origin[0] + (cc + 1) * size, top - rr * size
    )
    areas = shapely.area(shapely.intersection(boxes, geom))
    vals = array[rr, cc].astype(float)
    keep = areas > 0
    return float(np.sum(vals[keep] * areas[keep]) / np.sum(areas[keep]))
