"""Write the bundled SIMULATED raster set of `didstudy demo --from-rasters`.

Usage (from the repository root, with the raster extra installed):

    PYTHONPATH=src python scripts/make_lights_demo.py

Writes src/didstudy/data/lights_demo/: ntl_2003.tif ... ntl_2022.tif (float32, deflate),
counties.geojson (one square polygon per county, EPSG:3857) and mapping.csv.gz (county -> city by
year). Deterministic: the same seed gives the same arrays (didstudy.lights.demo_rasters).
"""

from __future__ import annotations

from pathlib import Path

from didstudy.lights.demo_rasters import SEED, write_demo_rasters

TARGET = Path(__file__).resolve().parents[1] / "src" / "didstudy" / "data" / "lights_demo"

if __name__ == "__main__":
    files = write_demo_rasters(TARGET, SEED)
    total = sum(f.stat().st_size for f in files)
    print(f"wrote {len(files)} files, {total / 1e6:.2f} MB, to {TARGET}")
