"""Benchmark: zonal statistics of many rasters on a China-sized grid, against rasterstats.

Run: ``.venv/bin/python -m benchmarks.bench_lights --scale 1.0 --rasters 20``

A synthetic 30″ grid (7,440 × 4,320 = 32.1 M cells at ``--scale 1``; each side times ``scale``),
float32 tiled GeoTIFFs (256² tiles, deflate) and ~2,850 Voronoi "counties" (times ``scale²``).
Each measurement runs in its own subprocess so that its peak RSS (``ru_maxrss``) is its own.

Measured in the same run:

* didstudy, ``method="center"`` and ``method="coverage"``: overlay build once, then per raster
  (windowed read + sparse mat-vecs), and N rasters end to end serially and with 2 processes;
* rasterstats 0.21 ``zonal_stats`` (cell centre, the like-for-like rival) on one raster;
* exactextract ``exact_extract(..., ["mean"])`` (coverage) on one raster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FULL_W, FULL_H, FULL_ZONES = 7440, 4320, 2850
CELL = 1.0 / 120.0  # 30 arc-seconds
ORIGIN = (73.0, 18.0)  # lower-left corner, degrees


def _peak_mib() -> float:
    """Peak RSS of this process in MiB (process-pool workers are not included: Linux charges a
    spawned child the parent's pages at fork time, so their ru_maxrss is not informative)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _dmsp_like(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Lit discs (DN falling linearly from 63 at the centre) around random towns, else 0."""
    arr = np.zeros((h, w), np.float32)
    n_towns = max(round(3000 * h * w / (FULL_H * FULL_W)), 10)
    ys, xs = rng.integers(0, h, n_towns), rng.integers(0, w, n_towns)
    radii = rng.integers(3, 25, n_towns)
    return draw_towns(arr, ys, xs, radii)


def draw_towns(arr: np.ndarray, ys: np.ndarray, xs: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Lit discs on ``arr`` (DN falling linearly from 63 at each centre), floored to integers."""
    h, w = arr.shape
    for y, x, rad in zip(ys, xs, radii, strict=True):
        y0, y1, x0, x1 = max(y - rad, 0), min(y + rad, h), max(x - rad, 0), min(x + rad, w)
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - y
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - x
        disc = np.clip(63 * (1 - np.hypot(dy, dx) / rad), 0, 63).astype(np.float32)
        np.maximum(arr[y0:y1, x0:x1], disc, out=arr[y0:y1, x0:x1])
    return np.floor(arr)


def generate(
    directory: Path,
    scale: float,
    n_rasters: int,
    seed: int = 1,
    pattern: str = "noise",
    grid: str = "china",
) -> dict[str, Any]:
    """Write ``n_rasters`` float32 tiled GeoTIFFs and a Voronoi zone GeoPackage.

    ``pattern="noise"``: every cell lit, a smooth field plus float noise (worst case for the
    deflate decoder). ``pattern="dmsp"``: DMSP-like integer DN 0-63, lit discs around 3,000
    simulated towns on a dark background (about 94 % of cells 0 at full scale), as real
    stable-lights composites of China look.
    """
    import geopandas as gpd
    import rasterio
    import shapely
    from rasterio.transform import from_origin
    from shapely.geometry import MultiPoint, box

    w, h = round(FULL_W * scale), round(FULL_H * scale)
    n_zones = max(round(FULL_ZONES * scale * scale), 4)
    dtype, nodata = "float32", -1.0
    if grid == "dmsp4k":  # issue 14's grid: 4,000 x 3,000 uint8, 800 zones, DMSP-like
        w, h, n_zones, dtype, nodata, pattern = 4000, 3000, 800, "uint8", 255.0, "dmsp"
    rng = np.random.default_rng(seed)
    transform = from_origin(ORIGIN[0], ORIGIN[1] + h * CELL, CELL, CELL)
    profile = dict(
        driver="GTiff",
        height=h,
        width=w,
        count=1,
        dtype=dtype,
        crs="EPSG:4326",
        transform=transform,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    )
    # smooth "urban" field plus noise; a band of nodata to exercise masking
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    base = (20 * np.sin(6 * xx) * np.cos(4 * yy) + 25).astype(np.float32)
    if pattern == "dmsp":
        base = _dmsp_like(h, w, rng)
    paths = []
    for i in range(n_rasters):
        if pattern == "dmsp":
            arr = np.minimum(np.floor(base * np.float32(1 + 0.02 * i)), np.float32(63))
        else:
            arr = base * np.float32(1 + 0.02 * i) + rng.random((h, w), dtype=np.float32) * 5
        arr[: max(h // 200, 1), :] = nodata
        path = directory / f"ntl_{2000 + i}.tif"
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr.astype(dtype), 1)
        paths.append(str(path))
        del arr
    xmin, ymin = ORIGIN
    xmax, ymax = xmin + w * CELL, ymin + h * CELL
    pts = MultiPoint(rng.uniform([xmin, ymin], [xmax, ymax], size=(n_zones, 2)))
    frame = box(xmin, ymin, xmax, ymax)
    cells = shapely.voronoi_polygons(pts, extend_to=frame)
    polys = [c.intersection(frame) for c in cells.geoms]
    zones = gpd.GeoDataFrame(
        {"county": [f"{i:06d}" for i in range(len(polys))]}, geometry=polys, crs="EPSG:4326"
    )
    zpath = directory / "zones.gpkg"
    zones.to_file(zpath)
    return {
        "nodata": nodata,
        "dark_share": float((base == 0).mean()) if pattern == "dmsp" else 0.0,
        "paths": paths,
        "zones": str(zpath),
        "width": w,
        "height": h,
        "cells": w * h,
        "n_zones": len(polys),
    }


def stage_ours(info: dict[str, Any], method: str, workers: int, kind: str) -> dict[str, Any]:
    from didstudy.kernels.resample import get_executor
    from didstudy.lights.raster import read_window
    from didstudy.lights.sparse_zonal import cell_index, read_native, sparse_stats
    from didstudy.lights.zonal import (
        _scratch,
        _stats_inplace,
        build_overlay,
        prefetched_tasks,
        raster_task,
        zonal_stats,
    )

    paths = info["paths"]
    nodata = float(info.get("nodata", -1.0))
    t0 = time.perf_counter()
    overlay = build_overlay(info["zones"], "county", paths[0], method=method)  # type: ignore[arg-type]
    t_overlay = time.perf_counter() - t0
    t0 = time.perf_counter()
    cell_index(overlay)
    t_index = time.perf_counter() - t0
    r0, r1, c0, c1 = overlay.window
    per_read, per_compute = [], []
    sparse_read, sparse_compute = [], []
    buffer, invalid = _scratch(overlay)
    for _round in range(2):  # alternate the dense and the sparse path, twice each raster
        for path in paths[: min(4, len(paths))]:
            t1 = time.perf_counter()
            values = read_window(path, (r0, r1), (c0, c1), (nodata,), out=buffer)
            t2 = time.perf_counter()
            dense = _stats_inplace(overlay, values.ravel(), ("mean", "count"), invalid)
            t3 = time.perf_counter()
            native = read_native(overlay, path, (nodata,))
            t4 = time.perf_counter()
            assert native is not None
            fast = sparse_stats(overlay, native[0], native[1], ("mean", "count"))
            t5 = time.perf_counter()
            np.testing.assert_allclose(fast["mean"], dense["mean"], rtol=1e-12)
            per_read.append(t2 - t1)
            per_compute.append(t3 - t2)
            sparse_read.append(t4 - t3)
            sparse_compute.append(t5 - t4)
    # per raster in a stream over all rasters, overlay built: sequential (one float32 buffer)
    # and prefetched (reader thread fills the next buffer while this one is computed)
    items = [(p, ("mean", "count"), (nodata,), None) for p in paths]
    stream: dict[str, float] = {}
    if kind == "serial":
        t5 = time.perf_counter()
        for item in items:
            raster_task(overlay, item)  # type: ignore[arg-type]
        stream["sequential"] = (time.perf_counter() - t5) / len(items)
        # the previous code path: one float64 buffer, GDAL converts float32 -> float64
        b64 = np.empty(overlay.window_shape)
        t5 = time.perf_counter()
        for path in paths:
            v = read_window(path, (r0, r1), (c0, c1), (nodata,), out=b64)
            _stats_inplace(overlay, v.ravel(), ("mean", "count"), invalid)
        stream["sequential_float64"] = (time.perf_counter() - t5) / len(items)
        del b64
        t5 = time.perf_counter()
        for _ in prefetched_tasks(overlay, items):  # type: ignore[arg-type]
            pass
        stream["prefetched"] = (time.perf_counter() - t5) / len(items)
    executor = get_executor(kind, workers=workers)  # type: ignore[arg-type]
    t4 = time.perf_counter()
    table = zonal_stats(
        paths, info["zones"], "county", stats=("mean", "count"), method=method, executor=executor,
        nodata=(nodata,),
    )  # type: ignore[arg-type]  # fmt: skip
    t_total = time.perf_counter() - t4
    return {
        "method": method,
        "workers": workers,
        "overlay_s": t_overlay,
        "nnz": int(overlay.indices.size),
        "cell_index_s": t_index,
        "dense_read_s": float(np.median(per_read)),
        "dense_compute_s": float(np.median(per_compute)),
        "dense_per_raster_s": float(np.median(np.add(per_read, per_compute))),
        "read_s": float(np.median(sparse_read)),
        "compute_s": float(np.median(sparse_compute)),
        "per_raster_s": float(np.median(np.add(sparse_read, sparse_compute))),
        "compute_over_read": float(np.median(np.divide(sparse_compute, sparse_read))),
        "stream_per_raster_s": stream,
        "end_to_end_s": t_total,
        "n_rasters": len(paths),
        "rows": len(table),
        "peak_rss_mib": _peak_mib(),
        "overlay_mib": (overlay.indices.nbytes + overlay.weights.nbytes) / 2**20,
    }


def stage_rasterstats(info: dict[str, Any], n: int) -> dict[str, Any]:
    import geopandas as gpd
    from rasterstats import zonal_stats

    zones = gpd.read_file(info["zones"])
    times = []
    for path in info["paths"][:n]:
        t0 = time.perf_counter()
        zonal_stats(zones, path, stats=["mean", "count"], all_touched=False,
                    nodata=info.get("nodata", -1.0))  # fmt: skip
        times.append(time.perf_counter() - t0)
    return {"per_raster_s": float(np.median(times)), "n": n, "peak_rss_mib": _peak_mib()}


def stage_exactextract(info: dict[str, Any], n: int) -> dict[str, Any]:
    import geopandas as gpd
    from exactextract import exact_extract

    zones = gpd.read_file(info["zones"])
    times = []
    for path in info["paths"][:n]:
        t0 = time.perf_counter()
        exact_extract(path, zones, ["mean", "count"], output="pandas", strategy="raster-sequential")
        times.append(time.perf_counter() - t0)
    return {"per_raster_s": float(np.median(times)), "n": n, "peak_rss_mib": _peak_mib()}


def _run_stage(args: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_lights", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=0.25,
        help="side length relative to the China grid (1.0 = 7440 x 4320)",
    )
    parser.add_argument("--rasters", type=int, default=20)
    parser.add_argument(
        "--rival-rasters",
        type=int,
        default=1,
        help="rasters timed with rasterstats and exactextract",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-rivals", action="store_true")
    parser.add_argument(
        "--skip-executors", action="store_true", help="skip the 2-thread / 2-process runs"
    )
    parser.add_argument(
        "--pattern",
        choices=("noise", "dmsp"),
        default="noise",
        help="noise: every cell lit with float noise (worst case); dmsp: DMSP-like sparse lights",
    )
    parser.add_argument(
        "--grid",
        choices=("china", "dmsp4k"),
        default="china",
        help="china: 7,440 x 4,320 x scale float32; dmsp4k: 4,000 x 3,000 uint8, 800 zones",
    )
    parser.add_argument("--data-dir", help="keep (and reuse) the generated rasters here")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="center", help=argparse.SUPPRESS)
    parser.add_argument("--executor", default="serial", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.stage:
        info = json.loads(Path(ns.info).read_text())
        if ns.stage == "ours":
            res = stage_ours(info, ns.method, ns.workers, ns.executor)
        elif ns.stage == "rasterstats":
            res = stage_rasterstats(info, ns.rival_rasters)
        else:
            res = stage_exactextract(info, ns.rival_rasters)
        print(json.dumps(res))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_lights_") as tmp:
        d = Path(ns.data_dir) if ns.data_dir else Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        ipath = d / "info.json"
        info = json.loads(ipath.read_text()) if ipath.exists() else {}
        stale = info.get("scale") != ns.scale or info.get("pattern", "noise") != ns.pattern
        stale = stale or info.get("grid", "china") != ns.grid
        if stale or len(info.get("paths", [])) != ns.rasters:
            t0 = time.perf_counter()
            generated = generate(d, ns.scale, ns.rasters, pattern=ns.pattern, grid=ns.grid)
            info = {"scale": ns.scale, "pattern": ns.pattern, "grid": ns.grid, **generated}
            print(f"generated {ns.rasters} rasters in {time.perf_counter() - t0:.1f} s")
            ipath.write_text(json.dumps(info))
        print(
            f"{ns.rasters} rasters of {info['height']}x{info['width']} "
            f"({info['cells'] / 1e6:.1f} M cells), {info['n_zones']} zones",
            flush=True,
        )
        common = ["--info", str(ipath), "--rival-rasters", str(ns.rival_rasters)]
        results: dict[str, Any] = {
            "scale": ns.scale,
            **{k: info[k] for k in ("width", "height", "cells", "n_zones")},
        }
        for method in ("center", "coverage"):
            results[f"ours_{method}"] = _run_stage(
                [
                    "--stage",
                    "ours",
                    "--method",
                    method,
                    "--workers",
                    "1",
                    "--executor",
                    "serial",
                    *common,
                ]
            )
            print(method, json.dumps(results[f"ours_{method}"]), flush=True)
        for kind in () if ns.skip_executors else ("threads", "processes"):
            results[f"ours_center_{kind}"] = _run_stage(
                [
                    "--stage",
                    "ours",
                    "--method",
                    "center",
                    "--workers",
                    str(ns.workers),
                    "--executor",
                    kind,
                    *common,
                ]
            )
            print(kind, json.dumps(results[f"ours_center_{kind}"]), flush=True)
        if not ns.skip_rivals:
            results["rasterstats"] = _run_stage(["--stage", "rasterstats", *common])
            print("rasterstats", json.dumps(results["rasterstats"]), flush=True)
            results["exactextract"] = _run_stage(["--stage", "exactextract", *common])
            print("exactextract", json.dumps(results["exactextract"]), flush=True)
            rs = results["rasterstats"]["per_raster_s"]
            ee = results["exactextract"]["per_raster_s"]
            c = results["ours_center"]
            v = results["ours_coverage"]
            print(
                f"\nper raster (read + stats): ours center {c['per_raster_s']:.3f} s "
                f"(compute {c['compute_s']:.3f} s), coverage {v['per_raster_s']:.3f} s "
                f"(compute {v['compute_s']:.3f} s); rasterstats {rs:.2f} s; "
                f"exactextract {ee:.2f} s"
            )
            if c["stream_per_raster_s"]:
                pf = c["stream_per_raster_s"]["prefetched"]
                print(
                    f"center, prefetched stream: {pf:.3f} s per raster including the read; "
                    f"rasterstats / that: {rs / pf:.1f}x"
                )
            print(
                f"ratio rasterstats / ours center: {rs / c['per_raster_s']:.1f}x; "
                f"exactextract / ours coverage: {ee / v['per_raster_s']:.1f}x"
            )
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
