"""Benchmark: the whole reference study from 20 China-sized rasters to ``report.html``.

Run (one command; the rasters are generated once into the scratch folder and reused)::

    PYTHONPATH=src .venv/bin/python -m benchmarks.bench_lights_study

SIMULATED inputs, written by :func:`generate` (nothing is committed):

* a 30″ grid of 7,440 × 4,320 = 32.1 M cells (float32, 256² deflate tiles, like the lights
  benchmarks), EPSG:4326;
* one Voronoi polygon per county code of the bundled reference study (3,001 codes over
  2003-2022; about 2,725 exist in a given year), ids are the real 6-digit codes;
* ``ntl_2003.tif`` ... ``ntl_2022.tif``: DMSP-like lit discs around simulated towns (one in every
  county plus 3,000 more) on a dark background (about 93 % of cells 0), scaled per county so that
  its cell-centre mean is the reference study's SIMULATED county light of that year
  (decision 0007); counties absent in a year are dark that year;
* the study file: ``reference_study_rasters.toml`` (the bundled ``demo --from-rasters`` study)
  with its ``lights`` step pointed at these files.

Stages measured, each in a fresh subprocess, three times alternating cold and warm:

* ``didstudy run`` cold: empty report folder, empty step cache, empty overlay cache;
* ``didstudy run`` warm: the same report folder again (step cache and overlay cache kept);
* per-stage times of the cold run from ``manifest.json`` (the ``lights`` step, the other steps,
  render) and, in-process, the pieces of the lights step: overlay (+ cell index), per-raster
  read + statistics, county mapping + Dagum.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

W, H = 7440, 4320
CELL = 1.0 / 120.0  # 30 arc-seconds
ORIGIN = (73.0, 18.0)  # lower-left corner, degrees
SEED = 20100112
FORMAT = 1  # bump when generate() changes


def _towns(h: int, w: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """Lit discs (falling linearly from 63 at the centre) around random towns and ``centres``."""
    arr = np.zeros((h, w), np.float32)
    n = 3000
    ys = np.concatenate([rng.integers(0, h, n), centres[:, 0]])
    xs = np.concatenate([rng.integers(0, w, n), centres[:, 1]])
    radii = np.concatenate([rng.integers(3, 25, n), np.full(len(centres), 3)])
    from benchmarks.bench_lights import draw_towns

    return draw_towns(arr, ys, xs, radii)


def generate(folder: Path) -> dict[str, Any]:
    """Write the SIMULATED zones, mapping and 20 rasters into ``folder`` (see the module doc)."""
    import geopandas as gpd
    import rasterio
    import shapely
    from rasterio import features
    from rasterio.transform import from_origin
    from shapely.geometry import MultiPoint, box

    from didstudy.data.reference_study import build_reference_study

    folder.mkdir(parents=True, exist_ok=True)
    counties = build_reference_study(SEED).counties
    codes = np.sort(counties["county_code"].unique())
    rng = np.random.default_rng(SEED)
    xmin, ymin = ORIGIN
    xmax, ymax = xmin + W * CELL, ymin + H * CELL
    pts = MultiPoint(rng.uniform([xmin, ymin], [xmax, ymax], size=(len(codes), 2)))
    cells = shapely.voronoi_polygons(pts, extend_to=box(xmin, ymin, xmax, ymax))
    polys = [c.intersection(box(xmin, ymin, xmax, ymax)) for c in cells.geoms]
    zones = gpd.GeoDataFrame(
        {"county_code": [f"{c:06d}" for c in codes]}, geometry=polys, crs="EPSG:4326"
    )
    zones.to_file(folder / "counties.gpkg")
    mapping = counties[["county_code", "city_code", "year"]].copy()
    mapping["county_code"] = mapping["county_code"].map("{:06d}".format)
    mapping.to_csv(folder / "mapping.csv", index=False)
    transform = from_origin(xmin, ymax, CELL, CELL)
    label = features.rasterize(
        ((g, i + 1) for i, g in enumerate(zones.geometry)),
        out_shape=(H, W), transform=transform, fill=0, dtype="int32",
    ).ravel() - 1  # fmt: skip
    inv = ~transform
    reps = shapely.get_coordinates(zones.geometry.representative_point())
    centres = np.array([[int(r), int(c)] for c, r in (inv * tuple(p) for p in reps)])
    base = _towns(H, W, rng, np.clip(centres, 0, [H - 1, W - 1])).ravel()
    inside = label >= 0
    zone_mean = np.bincount(label[inside], weights=base[inside], minlength=len(codes))
    zone_mean /= np.maximum(np.bincount(label[inside], minlength=len(codes)), 1)
    position = {int(c): i for i, c in enumerate(codes)}
    profile = dict(
        driver="GTiff", height=H, width=W, count=1, dtype="float32", crs="EPSG:4326",
        transform=transform, nodata=-1.0, tiled=True, blockxsize=256, blockysize=256,
        compress="deflate",
    )  # fmt: skip
    for year, rows in counties.groupby("year", sort=True):
        level = np.zeros(len(codes))
        idx = np.array([position[int(c)] for c in rows["county_code"]])
        level[idx] = rows["light"].to_numpy()
        scale = np.where(zone_mean > 0, level / np.where(zone_mean > 0, zone_mean, 1), 0.0)
        arr = np.where(inside, base * scale[np.maximum(label, 0)], 0.0).astype(np.float32)
        with rasterio.open(folder / f"ntl_{year}.tif", "w", **profile) as dst:
            dst.write(arr.reshape(H, W), 1)
    info = {
        "format": FORMAT,
        "cells": W * H,
        "zones": len(codes),
        "dark_share": float((base == 0).mean()),
        "years": int(counties["year"].nunique()),
    }
    (folder / "info.json").write_text(json.dumps(info))
    return info


def study_file(folder: Path) -> Path:
    """The bundled ``demo --from-rasters`` study with its lights step on the generated files."""
    source = resources.files("didstudy.study.examples").joinpath("reference_study_rasters.toml")
    text = source.read_text(encoding="utf-8")
    replacements = {
        'rasters = "../../data/lights_demo/ntl_*.tif"': 'rasters = "ntl_*.tif"',
        'zones = "../../data/lights_demo/counties.geojson"': 'zones = "counties.gpkg"',
        'mapping = "../../data/lights_demo/mapping.csv.gz"': 'mapping = "mapping.csv"',
    }
    for old, new in replacements.items():
        if old not in text:
            raise SystemExit(f"the bundled study file changed: {old!r} not found")
        text = text.replace(old, new)
    target = folder / "study.toml"
    target.write_text(text, encoding="utf-8")
    return target


def _run(study: Path, out: Path, cache: Path) -> dict[str, Any]:
    """``didstudy run`` in a fresh process; wall time and the manifest's per-step seconds."""
    env = {**os.environ, "DIDSTUDY_CACHE_DIR": str(cache), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "didstudy", "run", str(study), "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"didstudy run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    lights = sum(s["seconds"] for s in steps.values() if s["kind"] == "lights")
    others = sum(s["seconds"] for s in steps.values() if s["kind"] != "lights")
    status = sorted({s["status"] for s in steps.values()})
    return {
        "wall_s": wall,
        "cpu_s": cpu,  # user + system of the run: the lower bound of wall x 2 on 2 idle cores
        "manifest_total_s": manifest["seconds_total"],
        "lights_step_s": lights,
        "other_steps_s": others,
        "render_and_rest_s": manifest["seconds_total"] - lights - others,
        "startup_s": wall - manifest["seconds_total"],
        "statuses": status,
        "report_html": (out / "report.html").exists(),
    }


def _pieces(folder: Path, cache: Path) -> dict[str, Any]:
    """The lights step's pieces in this process: overlay + cell index, per raster, mapping+Dagum."""
    import warnings

    from didstudy.lights.cache import ResultCache
    from didstudy.lights.overlay import build_overlay_cached
    from didstudy.lights.pipeline import lights_panel
    from didstudy.lights.sparse_zonal import cached_overlay, cell_index, read_native, sparse_stats

    warnings.simplefilter("ignore")
    rasters = sorted(str(p) for p in folder.glob("ntl_*.tif"))
    zones = str(folder / "counties.gpkg")
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    overlay = build_overlay_cached(zones, "county_code", rasters[0], "coverage", None)
    out["overlay_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cell_index(overlay)
    out["cell_index_s"] = time.perf_counter() - t0
    store = ResultCache(cache)
    t0 = time.perf_counter()
    cached_overlay(zones, "county_code", rasters[0], "coverage", store)
    out["overlay_build_and_save_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cached_overlay(zones, "county_code", rasters[0], "coverage", store)
    out["overlay_load_s"] = time.perf_counter() - t0
    reads, stats = [], []
    for path in rasters:
        t1 = time.perf_counter()
        window, codes = read_native(overlay, path, ()) or (None, ())
        t2 = time.perf_counter()
        sparse_stats(overlay, window, codes, ("mean",))  # type: ignore[arg-type]
        reads.append(t2 - t1)
        stats.append(time.perf_counter() - t2)
    out["read_s"] = float(np.median(reads))
    out["stats_s"] = float(np.median(stats))
    out["stats_over_read"] = float(np.median(np.divide(stats, reads)))
    t0 = time.perf_counter()
    panel = lights_panel(rasters, zones, "county_code", mapping=str(folder / "mapping.csv"))
    out["lights_panel_s"] = time.perf_counter() - t0
    import didstudy.measure.inequality as ineq

    frame = panel.county[np.isfinite(panel.county["light"].to_numpy(dtype=float))]
    t0 = time.perf_counter()
    ineq.dagum_panel(frame, value="light", group="city", time="year", min_units=2,
                     negative="clip")  # fmt: skip
    out["dagum_s"] = time.perf_counter() - t0
    return out


def _threads() -> dict[str, Any]:
    try:
        from threadpoolctl import threadpool_info

        return {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    except ImportError:
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=str(Path(tempfile.gettempdir()) / "didstudy_bench_lights_study"),
        help="scratch folder for the generated rasters (kept and reused)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="cold/warm alternations")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    folder = Path(ns.data_dir)
    if ns.stage == "pieces":
        print(json.dumps(_pieces(folder, folder / "pieces-cache")))
        return 0
    info_path = folder / "info.json"
    fresh = not info_path.exists() or json.loads(info_path.read_text()).get("format") != FORMAT
    if fresh:
        t0 = time.perf_counter()
        info = generate(folder)
        print(f"generated the SIMULATED rasters in {time.perf_counter() - t0:.0f} s", flush=True)
    info = json.loads(info_path.read_text())
    study = study_file(folder)
    print(f"{info['years']} rasters of {H} x {W} float32 ({info['cells'] / 1e6:.1f} M cells, "
          f"{info['dark_share']:.1%} dark), {info['zones']} county polygons; "
          f"load average {os.getloadavg()}; threads {_threads()}", flush=True)  # fmt: skip
    rounds: list[dict[str, Any]] = []
    for r in range(ns.rounds):
        out, cache = folder / "report", folder / "overlay-cache"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        cold = _run(study, out, cache)
        warm = _run(study, out, cache)
        rounds.append({"cold": cold, "warm": warm, "load": os.getloadavg()})
        print(f"round {r + 1}: cold {cold['wall_s']:.1f} s, CPU {cold['cpu_s']:.1f} s (lights step "
              f"{cold['lights_step_s']:.1f} s, other steps {cold['other_steps_s']:.1f} s, "
              f"render {cold['render_and_rest_s']:.1f} s, start-up {cold['startup_s']:.1f} s); "
              f"warm {warm['wall_s']:.1f} s, CPU {warm['cpu_s']:.1f} s {warm['statuses']}; "
              f"load {os.getloadavg()}",
              flush=True)  # fmt: skip
    shutil.rmtree(folder / "pieces-cache", ignore_errors=True)
    cmd = [sys.executable, "-m", "benchmarks.bench_lights_study", "--data-dir", str(folder),
           "--stage", "pieces"]  # fmt: skip
    pieces = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
                        .stdout.strip().splitlines()[-1])  # fmt: skip
    print("lights step pieces: " + ", ".join(f"{k} {v:.3f}" for k, v in pieces.items()))
    med = {k: float(np.median([r[k]["wall_s"] for r in rounds])) for k in ("cold", "warm")}
    print(f"median of {ns.rounds}: cold {med['cold']:.1f} s, warm {med['warm']:.1f} s "
          f"(target <= 30 s on 2 cores)")  # fmt: skip
    print(json.dumps({"info": info, "rounds": rounds, "pieces": pieces, "median": med}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
