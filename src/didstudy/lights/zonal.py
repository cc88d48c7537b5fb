"""Zonal statistics of many rasters through one overlay per grid (methods spec §3).

The overlay (:mod:`didstudy.lights.overlay`) is a sparse matrix ``W`` (zones × window cells) of
coverage fractions or cell-centre indicators. Per raster only the zones' window is read and the
statistics are sparse mat-vecs, O(nnz): ``mean = Σ_i W[z,i] x_i / Σ_i W[z,i]`` over valid cells is
the area-weighted integral of the piecewise-constant raster over the polygon divided by its
covered area (coverage), or the plain mean of the cells whose centre is inside (center). Nodata
cells are excluded from numerator and denominator.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.errors import DataError, ValidationError
from didstudy.lights.overlay import (
    CoverageEngine,
    Overlay,
    ZonalMethod,
    build_overlay,
    region_mask,
)
from didstudy.lights.raster import (
    LightsWarning,
    check_window_size,
    read_grid,
    read_window,
)
from didstudy.lights.sparse_zonal import (
    cached_overlay,
    prefetched_sparse,
    release_buffers,
    sparse_eligible,
    sparse_task,
)

__all__ = [
    "STATS",
    "CoverageEngine",
    "Overlay",
    "ZonalMethod",
    "apply_overlay",
    "build_overlay",
    "region_mask",
    "zonal_stats",
]

STATS = ("mean", "sum", "count", "max", "min", "nodata")
"""Available statistics. ``count`` and ``nodata`` are Σ weights over valid / nodata cells."""


def apply_overlay(
    overlay: Overlay,
    values: NDArray[np.float64],
    stats: Sequence[str] = ("mean", "sum", "count", "max"),
) -> dict[str, NDArray[np.float64]]:
    """Zonal statistics of one raster window (``NaN`` = nodata) through the overlay.

    ``values`` has :attr:`Overlay.window_shape`. ``mean = Σ w x / Σ w`` over valid cells; ``sum``
    is ``Σ w x``; ``count`` is ``Σ w`` over valid cells; ``max``/``min`` over cells with w > 0.
    """
    _check_stats(stats)
    if values.shape != overlay.window_shape:
        raise ValidationError(
            f"raster window has shape {values.shape}, the overlay expects {overlay.window_shape}",
            fix="rebuild the overlay for this grid",
        )
    return _stats_inplace(overlay, np.array(values, dtype=np.float64).ravel(), stats)


def _stats_inplace(
    overlay: Overlay,
    x: NDArray[np.floating[Any]],
    stats: Sequence[str],
    invalid: NDArray[np.bool_] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """:func:`apply_overlay` on a flat buffer it may overwrite (no full-size allocation).

    ``x`` may be float32 (a float32 raster read without conversion): scipy converts it to
    float64 for the mat-vec and ``max``/``min`` are exact in either type, so the statistics are
    identical to reading into float64 (accumulation is float64 in both cases).
    """
    w = overlay.matrix()
    out: dict[str, NDArray[np.float64]] = {}
    for name, fn in (("max", np.fmax), ("min", np.fmin)):
        if name in stats:
            out[name] = _segment_reduce(fn, x[overlay.indices], overlay.indptr)
    if invalid is None or invalid.shape != x.shape:
        invalid = np.empty(x.shape, dtype=bool)
    np.isfinite(x, out=invalid)
    np.logical_not(invalid, out=invalid)
    need_sum = {"mean", "sum"} & set(stats)
    if invalid.any():
        np.copyto(x, 0.0, where=invalid)
        total = w @ x if need_sum else None
        # nodata cells are few: correct the memoised row weights entry by entry
        sub = overlay.columns()[:, np.flatnonzero(invalid)]
        missing = np.bincount(sub.indices, weights=sub.data, minlength=overlay.n_zones)
        n_missing = np.bincount(sub.indices, minlength=overlay.n_zones)
        all_missing = n_missing == np.diff(overlay.indptr)
        count = np.where(all_missing, 0.0, overlay.row_weights() - missing)
        if "nodata" in stats:
            out["nodata"] = np.where(all_missing, overlay.row_weights(), missing)
    else:
        count = overlay.row_weights().copy()
        total = w @ x if need_sum else None
        if "nodata" in stats:
            out["nodata"] = np.zeros(overlay.n_zones)
    if "mean" in stats:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean"] = np.where(count > 0, total / count, np.nan)  # type: ignore[operator]
    if "sum" in stats:
        out["sum"] = np.where(count > 0, total, np.nan)  # type: ignore[arg-type]
    if "count" in stats:
        out["count"] = count
    return out


_SCRATCH = threading.local()

WindowBuffer = NDArray[np.float64]
BUFFER_DTYPE = np.float64
"""Window buffers are float64: a float32 buffer (exact for float32 rasters, half the bytes) made
scipy convert the vector to a transient float64 copy inside every mat-vec, which cost more CPU
than GDAL's conversion saved and used the same peak memory (measured: benchmarks/RESULTS.md)."""


def _scratch(overlay: Overlay) -> tuple[WindowBuffer, NDArray[np.bool_]]:
    """One reusable (window float64, window bool) pair per worker thread, for this overlay."""
    key = f"{overlay.key}{overlay.window}"
    hit: tuple[WindowBuffer, NDArray[np.bool_]] | None = None
    if getattr(_SCRATCH, "key", None) == key:
        hit = _SCRATCH.buffers
    if hit is None:
        _SCRATCH.buffers = None
        check_window_size("the rasters' grid", overlay.window_shape)
        hit = (
            np.empty(overlay.window_shape, dtype=BUFFER_DTYPE),
            np.empty(overlay.window_shape, dtype=bool).ravel(),
        )
        _SCRATCH.key, _SCRATCH.buffers = key, hit
    return hit


def _release_scratch() -> None:
    _SCRATCH.key, _SCRATCH.buffers = None, None


def _segment_reduce(
    fn: Any, gathered: NDArray[np.floating[Any]], indptr: NDArray[np.int64]
) -> NDArray[np.float64]:
    n = indptr.size - 1
    res = np.full(n, np.nan)
    nonempty = np.diff(indptr) > 0
    if gathered.size:
        red = fn.reduceat(gathered, indptr[:-1][nonempty])
        res[nonempty] = red
    return res


def _check_stats(stats: Sequence[str]) -> None:
    bad = [s for s in stats if s not in STATS]
    if bad or not stats:
        raise ValidationError(f"unknown statistics {bad}", fix=f"choose from {list(STATS)}")


Transform = Callable[[NDArray[np.float64]], NDArray[np.float64]]


RasterItem = tuple[str, tuple[str, ...], tuple[float, ...], Transform | None]


def _check_grid(overlay: Overlay, path: str) -> None:
    if read_grid(path).key != overlay.grid.key:
        raise DataError(
            "raster is not on the overlay's grid",
            file=path,
            fix="group rasters by grid; zonal_stats does this automatically",
        )


def _read_item(overlay: Overlay, item: RasterItem, out: WindowBuffer) -> NDArray[np.floating[Any]]:
    """Check the raster's grid and read the overlay's window (into ``out`` when it fits)."""
    path, _, extra_nodata, _ = item
    _check_grid(overlay, path)
    r0, r1, c0, c1 = overlay.window
    return read_window(path, (r0, r1), (c0, c1), extra_nodata, out=out)


def _compute_item(
    overlay: Overlay,
    item: RasterItem,
    values: NDArray[np.floating[Any]],
    invalid: NDArray[np.bool_],
) -> dict[str, NDArray[np.float64]]:
    """Optional pixel transform (always on float64), then the mat-vecs."""
    _, stats, _, transform = item
    if transform is not None:
        values = np.array(transform(values.astype(np.float64)), dtype=np.float64)
    return _stats_inplace(overlay, values.ravel(), stats, invalid)


def raster_task(overlay: Overlay, item: RasterItem) -> dict[str, NDArray[np.float64]]:
    """One raster through the overlay: windowed read, optional pixel transform, mat-vecs.

    Module-level (picklable) so any executor can run it; ``overlay`` is shared once per worker.
    """
    r0, r1, _, _ = overlay.window
    if r1 <= r0:
        _check_grid(overlay, item[0])
        return apply_overlay(overlay, np.empty((0, 0)), item[1])
    if sparse_eligible(item[1], item[2], item[3]):
        _check_grid(overlay, item[0])
        done = sparse_task(overlay, item[0], item[1], item[2])
        if done is not None:
            return done
    buffer, invalid = _scratch(overlay)
    return _compute_item(overlay, item, _read_item(overlay, item, buffer), invalid)


def prefetched_tasks(
    overlay: Overlay, items: Sequence[RasterItem]
) -> Iterator[tuple[int, dict[str, NDArray[np.float64]]]]:
    """:func:`raster_task` over ``items`` in order, reading raster i+1 while computing raster i.

    One reader thread (GDAL decodes outside the GIL, itself on all cores) fills one of two
    float64 window buffers while this thread runs the statistics on the other: two windows in
    memory instead of one, the price of the overlap.
    """
    from concurrent.futures import ThreadPoolExecutor

    r0, r1, _, _ = overlay.window
    if r1 <= r0 or len(items) < 2:
        for i, item in enumerate(items):
            yield i, raster_task(overlay, item)
        return
    if all(sparse_eligible(it[1], it[2], it[3]) for it in items):
        for item in items:
            _check_grid(overlay, item[0])
        plain = [(it[0], it[1], it[2]) for it in items]
        for i, res in prefetched_sparse(overlay, plain):
            yield i, res if res is not None else raster_task(overlay, items[i])
        return
    check_window_size(items[0][0], overlay.window_shape)
    buffers = (
        np.empty(overlay.window_shape, dtype=BUFFER_DTYPE),
        np.empty(overlay.window_shape, dtype=BUFFER_DTYPE),
    )
    invalid = np.empty(buffers[0].size, dtype=bool)
    with ThreadPoolExecutor(1, thread_name_prefix="didstudy-read") as pool:
        pending = pool.submit(_read_item, overlay, items[0], buffers[0])
        for i, item in enumerate(items):
            values = pending.result()
            if i + 1 < len(items):
                pending = pool.submit(_read_item, overlay, items[i + 1], buffers[(i + 1) % 2])
            yield i, _compute_item(overlay, item, values, invalid)


def _raster_items(rasters: Any) -> list[tuple[str, str]]:
    """Normalise to [(label, path)]: a glob, a path, a list of paths or a {label: path} map."""
    import glob as globmod

    if isinstance(rasters, Mapping):
        items = [(str(k), str(v)) for k, v in rasters.items()]
    elif isinstance(rasters, (str, Path)):
        text = str(rasters)
        paths = sorted(globmod.glob(text)) if any(ch in text for ch in "*?[") else [text]
        items = [(Path(p).stem, p) for p in paths]
    elif isinstance(rasters, Iterable):
        items = [(Path(str(p)).stem, str(p)) for p in rasters]
    else:
        raise ValidationError(f"rasters must be paths, a glob or a mapping, not {type(rasters)}")
    if not items:
        raise DataError(f"no raster matched {rasters!r}", fix="check the glob pattern")
    labels = [k for k, _ in items]
    dup = sorted({k for k in labels if labels.count(k) > 1})
    if dup:
        raise DataError(f"raster labels are not unique: {dup}", fix="pass a {label: path} mapping")
    missing = [p for _, p in items if not Path(p).exists()]
    if missing:
        raise DataError("raster files not found", rows=missing, fix="check the paths")
    return items


def _from_cache(
    members: list[tuple[str, str]],
    cache: Any,
    overlay_key: str,
    params: str,
    meta: dict[str, Any],
    progress: Callable[[str], None] | None,
) -> tuple[dict[str, dict[str, NDArray[np.float64]]], list[tuple[str, str, str | None]]]:
    """Statistics of the rasters found in the cache, and the rasters still to compute."""
    results: dict[str, dict[str, NDArray[np.float64]]] = {}
    todo: list[tuple[str, str, str | None]] = []
    for label, path in members:
        ckey = cache.key(path, overlay_key, params) if cache is not None else None
        hit = cache.get(ckey) if cache is not None and ckey is not None else None
        if hit is not None:
            results[label] = hit
            meta["cached"].append(label)
            if progress is not None:
                progress(label)
        else:
            todo.append((label, path, ckey))
    return results, todo


def _long_frame(
    items: list[tuple[str, str]],
    done: dict[str, tuple[NDArray[Any], dict[str, NDArray[np.float64]]]],
    stats: tuple[str, ...],
    id_col: str,
) -> pd.DataFrame:
    """One row per zone and raster, in the order of the rasters."""
    frames: list[pd.DataFrame] = []
    for label, _ in items:
        ids, res = done[label]
        part = pd.DataFrame({id_col: ids, "raster": label})
        for stat in stats:
            part[stat] = res[stat]
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def zonal_stats(
    rasters: Any,
    zones: Any,
    id_col: str,
    stats: Sequence[str] = ("mean", "sum", "count", "max"),
    method: ZonalMethod = "coverage",
    *,
    engine: CoverageEngine = "exact",
    nodata: Sequence[float] = (),
    transform: Transform | None = None,
    transform_params: Mapping[str, Any] | None = None,
    executor: Any = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Zonal statistics of many rasters over one polygon layer, overlay computed once per grid.

    Parameters
    ----------
    rasters
        A glob (``"ntl/*.tif"``), a path, a list of paths, or a ``{label: path}`` mapping. Rasters
        may be on different grids (e.g. DMSP and VIIRS); one overlay is built per grid.
    zones
        Polygon file (GeoJSON, GeoPackage, shapefile) or GeoDataFrame. Reprojected to each grid's
        CRS; a missing CRS on either side is an error.
    id_col
        Unique zone id column.
    stats
        Any of ``mean, sum, count, max, min, nodata`` (:data:`STATS`).
    method
        ``"coverage"`` (default; area-weighted by the covered fraction of each cell) or
        ``"center"`` (cell centre inside the polygon; ArcGIS "Zonal Statistics as Table",
        rasterstats).
    engine
        Source of coverage fractions: ``"exact"`` (float64 polygon–cell clipping, default) or
        ``"exactextract"`` (float32 fractions); see :func:`build_overlay`.
    nodata
        Extra values treated as nodata besides the raster's own (e.g. ``(255,)`` for DMSP).
    transform, transform_params
        Optional pixel-wise correction applied to each window after reading (e.g.
        ``functools.partial(intercalibrate, coefficients=...)``), and its parameters for the
        metadata and the cache key.
    executor
        A :class:`didstudy.kernels.resample.Executor` (default: in-process serial).
    cache_dir
        Directory for the overlay (``.npz``) and per-raster results keyed by content hash; a rerun
        skips rasters already done.
    progress
        Called with each raster's label when it is done (the CLI drives a progress bar with it).

    Returns
    -------
    pandas.DataFrame
        Long table ``id_col, raster, <stats>``, one row per zone and raster, every zone present.
        ``.attrs["lights"]`` holds the method, grids, overlay keys, zones with no valid cell and
        the transform parameters. Zones with no valid cell raise a :class:`LightsWarning`.

    Examples
    --------
    >>> import didstudy as ds
    >>> table = ds.zonal_stats("ntl/*.tif", "counties.gpkg", "code")  # doctest: +SKIP
    >>> table.columns.tolist()  # doctest: +SKIP
    ['code', 'raster', 'mean', 'sum', 'count', 'max']
    """
    from didstudy.kernels.resample import SerialExecutor
    from didstudy.lights.cache import ResultCache

    stats = tuple(stats)
    _check_stats(stats)
    items = _raster_items(rasters)
    run = executor if executor is not None else SerialExecutor()
    cache = ResultCache(cache_dir) if cache_dir is not None else None
    by_grid: dict[str, list[tuple[str, str]]] = {}
    for label, path in items:
        g = read_grid(path)
        by_grid.setdefault(g.key, []).append((label, path))
    done: dict[str, tuple[NDArray[Any], dict[str, NDArray[np.float64]]]] = {}
    meta: dict[str, Any] = {
        "method": method,
        "engine": engine if method == "coverage" else None,
        "stats": list(stats),
        "nodata": list(nodata),
        "transform": dict(transform_params or {}),
        "overlays": {},
        "empty_zones": {},
        "cached": [],
    }
    params = repr((stats, tuple(nodata), sorted((transform_params or {}).items()), transform))
    for key, members in by_grid.items():
        overlay = cached_overlay(zones, id_col, members[0][1], method, cache, engine)
        meta["overlays"][key] = {
            "key": overlay.key,
            "rasters": [lab for lab, _ in members],
            "nnz": int(overlay.indices.size),
            "window": list(overlay.window),
        }
        results, todo = _from_cache(members, cache, overlay.key, params, meta, progress)
        tasks = [(path, stats, tuple(float(v) for v in nodata), transform) for _, path, _ in todo]
        stream = (
            prefetched_tasks(overlay, tasks)
            if getattr(run, "prefetch", False)
            else run.imap(raster_task, overlay, tasks)
        )
        for i, res in stream:
            label, _, ckey = todo[i]
            results[label] = res
            if cache is not None and ckey is not None:
                cache.put(ckey, res)
            if progress is not None:
                progress(label)
        for label, _ in members:
            done[label] = (overlay.zone_ids, results[label])
            empty = _empty_zones(overlay, results[label])
            if empty:
                meta["empty_zones"][label] = empty
    out = _long_frame(items, done, stats, id_col)
    if meta["empty_zones"]:
        n = sum(len(v) for v in meta["empty_zones"].values())
        first = next(iter(meta["empty_zones"].items()))
        warnings.warn(
            f"{n} zone-raster pairs have no valid cell (all nodata or outside the raster); "
            f"their statistics are NaN, e.g. raster {first[0]!r}: ids {first[1][:10]}",
            LightsWarning,
            stacklevel=2,
        )
    out.attrs["lights"] = meta
    _release_scratch()
    release_buffers()
    return out


def _empty_zones(overlay: Overlay, res: Mapping[str, NDArray[np.float64]]) -> list[str]:
    if "count" in res:
        empty = res["count"] <= 0
    else:
        first = next(iter(res.values()))
        empty = np.isnan(first)
    return [str(v) for v in overlay.zone_ids[empty]]
