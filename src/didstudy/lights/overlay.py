"""The zonal overlay: which cells each zone covers and with which weight, computed once per grid.

An :class:`Overlay` is a sparse matrix ``W`` (zones × cells of the zones' bounding window):

* ``method="coverage"`` (default): ``W[z, i]`` = fraction of cell i covered by polygon z, from
  exact polygon–cell clipping in float64 (:mod:`didstudy.lights.coverage`; or exactextract's
  ``cell_id`` and ``coverage`` operations with ``engine="exactextract"``).
* ``method="center"``: ``W[z, i] = 1`` when the centre of cell i falls inside polygon z (GDAL's
  rasterisation rule, as in ArcGIS "Zonal Statistics as Table" and rasterstats
  ``all_touched=False``). The label grid is rasterised once.

It is keyed by the grid (transform, shape, CRS) and a hash of the zones, and saved to ``.npz``
(``allow_pickle=False``) together with the per-cell index of the sparse kernel
(:func:`didstudy.lights.sparse_zonal.cell_index`), so both are paid once per grid and zone set.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from didstudy.errors import DataError, ValidationError
from didstudy.lights.raster import (
    Grid,
    LightsWarning,
    read_grid,
    read_zones,
    require,
    zones_to_grid_crs,
)

__all__ = [
    "CoverageEngine",
    "Overlay",
    "ZonalMethod",
    "build_overlay",
    "build_overlay_cached",
    "region_mask",
]

ZonalMethod = Literal["coverage", "center"]
CoverageEngine = Literal["exact", "exactextract"]

#: Version of the ``.npz`` layout; 2 adds the cell index (``cell_index_*`` arrays). A file of
#: another version, or one that cannot be read, is rebuilt and overwritten.
OVERLAY_FORMAT = 2
#: Prefix of the cell-index arrays stored beside the overlay's.
INDEX_PREFIX = "cell_index_"


@dataclass(frozen=True)
class Overlay:
    """Which cells of a grid each zone covers, and with which weight.

    Attributes
    ----------
    grid
        The raster grid the overlay belongs to (transform, shape, CRS).
    method
        ``"coverage"`` or ``"center"``.
    zone_ids
        Zone ids in row order of the matrix.
    window
        ``(row0, row1, col0, col1)``, half-open: the cells that any zone touches.
    indptr, indices, weights
        CSR arrays of W (zones × window cells, window flattened row-major).
    zone_area
        Polygon areas in the grid's CRS units (to report zones partly outside the raster).
    zones_hash
        Hash of the zone geometries (in the grid's CRS) and ids.
    """

    grid: Grid
    method: ZonalMethod
    zone_ids: NDArray[Any]
    window: tuple[int, int, int, int]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    weights: NDArray[np.float64]
    zone_area: NDArray[np.float64]
    zones_hash: str
    engine: CoverageEngine = "exact"
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle the data only (memoised matrices and the lock are rebuilt where unpickled)."""
        return (
            Overlay,
            (
                self.grid,
                self.method,
                self.zone_ids,
                self.window,
                self.indptr,
                self.indices,
                self.weights,
                self.zone_area,
                self.zones_hash,
                self.engine,
            ),
        )

    @property
    def key(self) -> str:
        """Cache key: grid, zones, method and engine."""
        return f"{self.grid.key}-{self.zones_hash}-{self.method}-{self.engine}"

    @property
    def n_zones(self) -> int:
        return len(self.zone_ids)

    @property
    def window_shape(self) -> tuple[int, int]:
        r0, r1, c0, c1 = self.window
        return (r1 - r0, c1 - c0)

    def matrix(self) -> Any:
        """The scipy CSR matrix W (built once, memoised; safe to call from several threads)."""
        hit = self._memo.get("csr")
        if hit is None:
            from scipy import sparse

            h, w = self.window_shape
            hit = sparse.csr_matrix(
                (self.weights, self.indices, self.indptr), shape=(self.n_zones, h * w)
            )
            self._memo.setdefault("csr", hit)
        return hit

    def columns(self) -> Any:
        """W in CSC form (cell → zones), built on first use: nodata corrections cost O(#nodata)."""
        with self._lock:
            if "csc" not in self._memo:
                self._memo["csc"] = self.matrix().tocsc()
        return self._memo["csc"]

    def row_weights(self) -> NDArray[np.float64]:
        """Σ_i W[z, i] per zone: covered cells (coverage) or cell count (center), memoised."""
        hit = self._memo.get("rows")
        if hit is None:
            hit = np.asarray(self.matrix().sum(axis=1)).ravel()
            self._memo.setdefault("rows", hit)
        out: NDArray[np.float64] = hit
        return out

    def covered_fraction(self) -> NDArray[np.float64]:
        """Share of each polygon's area on the raster (coverage overlays; 1 = fully inside)."""
        covered = np.add.reduceat(np.append(self.weights, 0.0), self.indptr[:-1])
        covered[np.diff(self.indptr) == 0] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out: NDArray[np.float64] = covered * self.grid.cell_area / self.zone_area
        return out

    def save(self, path: str | Path, extra: dict[str, NDArray[Any]] | None = None) -> None:
        """Write to ``.npz`` (atomic rename), with ``extra`` arrays (the cell index) beside."""
        g = self.grid
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npz")
        os.close(fd)
        np.savez(
            tmp,
            format=np.array(OVERLAY_FORMAT),
            transform=np.array(g.transform),
            shape=np.array([g.height, g.width]),
            crs_wkt=np.array(g.crs_wkt),
            nodata=np.array(np.nan if g.nodata is None else g.nodata),
            method=np.array(self.method),
            zone_ids=self.zone_ids,
            window=np.array(self.window),
            indptr=self.indptr,
            indices=self.indices,
            weights=self.weights,
            zone_area=self.zone_area,
            zones_hash=np.array(self.zones_hash),
            engine=np.array(self.engine),
            **{INDEX_PREFIX + k: v for k, v in (extra or {}).items()},  # type: ignore[arg-type]
        )
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | Path) -> Overlay:
        """Read an overlay written by :meth:`save` (its extra arrays go to the memo)."""
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != OVERLAY_FORMAT:
                raise DataError(
                    "overlay cache has an old format",
                    file=str(path),
                    fix="delete the file; it is rebuilt automatically",
                )
            nod = float(z["nodata"])
            grid = Grid(
                tuple(float(v) for v in z["transform"]),  # type: ignore[arg-type]
                int(z["shape"][0]),
                int(z["shape"][1]),
                str(z["crs_wkt"]),
                None if np.isnan(nod) else nod,
            )
            w = tuple(int(v) for v in z["window"])
            extra = {k[len(INDEX_PREFIX) :]: z[k] for k in z.files if k.startswith(INDEX_PREFIX)}
            overlay = cls(
                grid,
                "center" if str(z["method"]) == "center" else "coverage",
                z["zone_ids"],
                (w[0], w[1], w[2], w[3]),
                z["indptr"],
                z["indices"],
                z["weights"],
                z["zone_area"],
                str(z["zones_hash"]),
                "exactextract" if str(z["engine"]) == "exactextract" else "exact",
            )
        if extra:
            overlay._memo["cell_index_arrays"] = extra
        return overlay


def _zones_hash(frame: Any, id_col: str) -> str:
    h = hashlib.sha256()
    h.update(np.asarray(frame[id_col].astype(str)).astype("U").tobytes())
    for wkb in frame.geometry.to_wkb():
        h.update(wkb)
    return h.hexdigest()[:16]


def _window_of_bounds(grid: Grid, bounds: Sequence[float]) -> tuple[int, int, int, int]:
    """Grid rows/cols (half-open) covering ``bounds``, clipped to the grid; may be empty."""
    inv = ~grid.affine()
    xmin, ymin, xmax, ymax = bounds
    cs, rs = zip(*(inv @ (x, y) for x in (xmin, xmax) for y in (ymin, ymax)), strict=True)
    r0 = max(int(np.floor(min(rs))), 0)
    r1 = min(int(np.ceil(max(rs))), grid.height)
    c0 = max(int(np.floor(min(cs))), 0)
    c1 = min(int(np.ceil(max(cs))), grid.width)
    return (r0, max(r1, r0), c0, max(c1, c0))


def _to_local(
    cells: NDArray[np.int64], grid: Grid, window: tuple[int, int, int, int]
) -> NDArray[Any]:
    """Global cell ids → indices in the window (row-major), int32 when the window allows."""
    rows, cols = np.divmod(cells, grid.width)
    width = window[3] - window[2]
    local: NDArray[Any] = ((rows - window[0]) * width + (cols - window[2])).astype(
        _index_dtype(window)
    )
    return local


def _index_dtype(window: tuple[int, int, int, int]) -> Any:
    size = (window[1] - window[0]) * (window[3] - window[2])
    return np.int32 if size < 2**31 - 1 else np.int64


def _coverage_triplets(
    frame: Any, raster_path: str | Path, grid: Grid, window: tuple[int, int, int, int]
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]:
    """(zone index, window cell index, coverage) for every touched cell, via exactextract."""
    exactextract = require("exactextract", "Coverage-weighted zonal statistics")
    rasterio = require("rasterio", "Coverage-weighted zonal statistics")
    gdf = frame[[frame.geometry.name]].copy()
    gdf["_zone"] = np.arange(len(gdf), dtype=np.int64)
    with rasterio.open(raster_path) as src:
        out = exactextract.exact_extract(
            src,
            gdf,
            ["cell_id", "coverage"],
            include_cols=["_zone"],
            output="pandas",
            strategy="feature-sequential",
        )
    zone_col = out["_zone"].to_numpy(dtype=np.int64)
    cells = [np.asarray(c, dtype=np.int64) for c in out["cell_id"]]
    covs = [np.asarray(c, dtype=np.float64) for c in out["coverage"]]
    sizes = np.array([c.size for c in cells], dtype=np.int64)
    zone = np.repeat(zone_col, sizes)
    cell = np.concatenate(cells) if cells else np.empty(0, np.int64)
    cov = np.concatenate(covs) if covs else np.empty(0, np.float64)
    keep = cov > 0
    return zone[keep], _to_local(cell[keep], grid, window), cov[keep]


def _exact_triplets(
    frame: Any, grid: Grid, window: tuple[int, int, int, int]
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]:
    """(zone index, window cell index, coverage) from :func:`polygon_coverage` (float64)."""
    from didstudy.lights.coverage import polygon_coverage

    inv = ~grid.affine()
    inverse = (inv.a, inv.b, inv.c, inv.d, inv.e, inv.f)
    zs, cs, ws = [], [], []
    for i, geom in enumerate(frame.geometry):
        cells, cov = polygon_coverage(geom, inverse, grid.height, grid.width)
        zs.append(np.full(cells.size, i, dtype=np.int32))
        cs.append(_to_local(cells, grid, window))
        ws.append(cov)
    if not zs:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float64)
    return np.concatenate(zs), np.concatenate(cs), np.concatenate(ws)


def _overlapping_zones(frame: Any) -> NDArray[np.int64]:
    """Indices of zones whose interiors overlap another zone's (shared edges do not count)."""
    shapely = require("shapely", "Cell-centre zonal statistics")
    geoms = frame.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="overlaps")
    contains_l, contains_r = tree.query(geoms, predicate="contains")
    pairs = np.concatenate([np.stack([left, right]), np.stack([contains_l, contains_r])], axis=1)
    pairs = pairs[:, pairs[0] != pairs[1]]
    return np.unique(pairs).astype(np.int64)


def _center_triplets(
    frame: Any, grid: Grid, window: tuple[int, int, int, int]
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]:
    """(zone index, window cell index, 1.0) for every cell whose centre is inside a zone."""
    require("rasterio", "Cell-centre zonal statistics")
    from rasterio import features, windows

    r0, r1, c0, c1 = window
    dtype = _index_dtype(window)
    if r1 <= r0 or c1 <= c0:
        return np.empty(0, np.int32), np.empty(0, dtype), np.empty(0, np.float64)
    win = windows.Window(c0, r0, c1 - c0, r1 - r0)
    wt = windows.transform(win, grid.affine())
    shape = (r1 - r0, c1 - c0)
    geoms = list(frame.geometry)
    labels = features.rasterize(
        ((g, i + 1) for i, g in enumerate(geoms)),
        out_shape=shape,
        transform=wt,
        fill=0,
        dtype="int32",
        all_touched=False,
    )
    flat = labels.ravel()
    local = np.flatnonzero(flat).astype(dtype)
    zone = flat[local] - 1
    del labels, flat
    overlapping = _overlapping_zones(frame)
    if overlapping.size:
        # a cell counts for every zone containing its centre (as rasterstats): zones that overlap
        # another are rasterised one by one, the label grid serves the others
        keep = ~np.isin(zone, overlapping)
        zs, ls = [zone[keep]], [local[keep]]
        for i in overlapping:
            mask = features.rasterize(
                [(geoms[i], 1)],
                out_shape=shape,
                transform=wt,
                fill=0,
                dtype="uint8",
                all_touched=False,
            )
            idx = np.flatnonzero(mask).astype(dtype)
            ls.append(idx)
            zs.append(np.full(idx.size, i, dtype=np.int32))
        local = np.concatenate(ls)
        zone = np.concatenate(zs)
    return zone, local, np.ones(local.size, dtype=np.float64)


def _sort_entries(
    zone: NDArray[Any], local: NDArray[Any], weight: NDArray[np.float64], n: int
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]:
    """Order entries by (zone, cell) for CSR; O(nnz) radix sort when cells are already ascending."""
    if zone.size < 2:
        return zone, local, weight
    by_zone = np.all(zone[1:] >= zone[:-1])
    if by_zone and np.all((local[1:] > local[:-1]) | (zone[1:] != zone[:-1])):
        return zone, local, weight  # already ordered (no boolean compaction of nnz entries)
    if n < 2**15 and np.all(local[1:] > local[:-1]):
        order = np.argsort(zone.astype(np.int16), kind="stable")  # radix sort
    else:
        order = np.lexsort((local, zone))
    return zone[order], local[order], weight[order]


def build_overlay(
    zones: Any,
    id_col: str,
    raster: str | Path,
    method: ZonalMethod = "coverage",
    engine: CoverageEngine = "exact",
) -> Overlay:
    """Compute the overlay of ``zones`` on the grid of ``raster`` (done once per grid).

    Parameters
    ----------
    zones
        Polygon file (GeoJSON, GeoPackage, shapefile) or GeoDataFrame; reprojected to the raster's
        CRS. Invalid geometries are repaired (with a warning); a missing CRS is an error.
    id_col
        Column with a unique zone id.
    raster
        Any raster on the target grid (its pixels are not used for the center method).
    method
        ``"coverage"`` (coverage fractions) or ``"center"`` (cell-centre rule).
    engine
        Coverage fractions from :func:`didstudy.lights.coverage.polygon_coverage` (``"exact"``,
        float64, the default) or from exactextract's ``cell_id``/``coverage`` operations
        (``"exactextract"``; its fractions are rounded to float32, relative error ~6e-8).
    """
    if method not in ("coverage", "center"):
        raise ValidationError(f"unknown zonal method {method!r}", fix="use 'coverage' or 'center'")
    shapely = require("shapely", "Zonal overlays")
    grid = read_grid(raster)
    frame = zones_to_grid_crs(read_zones(zones, id_col), grid)
    if engine not in ("exact", "exactextract"):
        raise ValidationError(
            f"unknown coverage engine {engine!r}", fix="use 'exact' or 'exactextract'"
        )
    window = _window_of_bounds(grid, frame.total_bounds)
    if window[1] <= window[0] or window[3] <= window[2]:
        window = (0, 0, 0, 0)
    if method == "coverage" and engine == "exactextract":
        zone, local, weight = _coverage_triplets(frame, raster, grid, window)
    elif method == "coverage":
        zone, local, weight = _exact_triplets(frame, grid, window)
    else:
        zone, local, weight = _center_triplets(frame, grid, window)
    zone, local, weight = _sort_entries(zone, local, weight, len(frame))
    n = len(frame)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(zone, minlength=n), out=indptr[1:])
    del zone
    ids = frame[id_col].to_numpy()
    if ids.dtype == object:
        ids = ids.astype(str)
    overlay = Overlay(
        grid,
        method,
        ids,
        window,
        indptr,
        local,
        weight,
        np.asarray(shapely.area(frame.geometry.to_numpy()), dtype=np.float64),
        _zones_hash(frame, id_col),
        engine if method == "coverage" else "exact",
    )
    outside = np.diff(indptr) == 0
    if outside.any():
        which = ids[outside].astype(str).tolist()
        rule = "touch no cell" if method == "coverage" else "contain no cell centre"
        warnings.warn(
            f"{len(which)} zones {rule} of the raster (ids {', '.join(which[:10])}"
            f"{' ...' if len(which) > 10 else ''}); they are reported with count 0 and NaN mean",
            LightsWarning,
            stacklevel=2,
        )
    return overlay


def region_mask(zones: Any, id_col: str, raster: str | Path) -> NDArray[np.bool_]:
    """Boolean full-grid mask of cells whose centre is in any zone (e.g. an invariant region)."""
    ov = build_overlay(zones, id_col, raster, method="center")
    mask = np.zeros(ov.grid.height * ov.grid.width, dtype=bool)
    r0, _, c0, _ = ov.window
    rows, cols = np.divmod(ov.indices.astype(np.int64), ov.window_shape[1])
    mask[(rows + r0) * ov.grid.width + cols + c0] = True
    return mask.reshape(ov.grid.height, ov.grid.width)


def build_overlay_cached(
    zones: Any,
    id_col: str,
    raster: str,
    method: ZonalMethod,
    cache: Any,
    engine: CoverageEngine = "exact",
    extra: Callable[[Overlay], dict[str, NDArray[Any]]] | None = None,
) -> Overlay:
    """Load the overlay from ``cache`` when grid, zones, method and engine match; else build it.

    ``cache`` is a :class:`didstudy.lights.cache.ResultCache` or ``None`` (no caching). ``extra``
    gives arrays saved beside a newly built overlay (the sparse kernel's cell index, see
    :func:`didstudy.lights.sparse_zonal.cached_overlay`); they come back in its memo on load.
    """
    if cache is None:
        return build_overlay(zones, id_col, raster, method, engine)
    grid = read_grid(raster)
    frame = zones_to_grid_crs(read_zones(zones, id_col), grid)
    used = engine if method == "coverage" else "exact"
    key = f"{grid.key}-{_zones_hash(frame, id_col)}-{method}-{used}"
    path = cache.overlay_path(key)
    if path.exists():
        try:
            return Overlay.load(path)
        except (DataError, OSError, ValueError, KeyError, EOFError):
            pass  # an old format or a damaged file: rebuilt and overwritten below
    overlay = build_overlay(frame, id_col, raster, method, engine)
    overlay.save(path, extra(overlay) if extra is not None else None)
    cache.prune(path)  # the cache stays within its size bound (lights/cache.py)
    return overlay
