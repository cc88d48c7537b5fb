"""`didstudy lights`: outputs, cache reuse on rerun, bad input exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

gpd = pytest.importorskip("geopandas")
from shapely.geometry import box  # noqa: E402

from didstudy.cli import main  # noqa: E402
from tests.lights._helpers import write_raster  # noqa: E402


def test_cli_zonal_indg_cache_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    for year in (2010, 2011):
        write_raster(
            tmp_path / f"ntl_{year}.tif",
            rng.uniform(1, 60, (20, 20)),
            crs="EPSG:4326",
            origin=(116.0, 30.0),
            size=0.1,
        )
    codes = ["340822", "340824", "340825", "341102", "341103"]
    geoms = [box(116.0 + 0.4 * i, 30.0, 116.4 + 0.4 * i, 31.7) for i in range(5)]
    zpath = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs="EPSG:4326").to_file(zpath)
    glob = str(tmp_path / "ntl_*.tif")
    out = tmp_path / "out" / "z.csv"
    assert (
        main(
            [
                "lights",
                glob,
                "--zones",
                str(zpath),
                "--id",
                "code",
                "-o",
                str(out),
                "--method",
                "center",
                "--stats",
                "mean,max",
            ]
        )
        == 0
    )
    z = pd.read_csv(out)
    assert list(z.columns) == ["code", "raster", "mean", "max"] and len(z) == 10
    cache = tmp_path / "cache"
    panel_out = tmp_path / "p.parquet"
    args = [
        "lights",
        glob,
        "-z",
        str(zpath),
        "--id",
        "code",
        "-o",
        str(panel_out),
        "--mapping",
        "china",
        "--cache",
        str(cache),
    ]
    assert main(args) == 0
    indg = pd.read_parquet(tmp_path / "p_indg.parquet")
    assert set(indg["group"]) == {"340800", "341100"} and set(indg["time"]) == {2010, 2011}
    assert (tmp_path / "p_components.parquet").exists()
    meta = json.loads((tmp_path / "p_metadata.json").read_text(encoding="utf-8"))
    assert meta["method"] == "coverage" and meta["engine"] == "exact" and meta["min_units"] == 2
    stamp = {p.name: p.stat().st_mtime_ns for p in cache.glob("result-*.npz")}
    assert len(stamp) == 2
    assert main([*args, "--threads", "2"]) == 0  # rerun: served from the cache, not rewritten
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("result-*.npz")} == stamp
    capsys.readouterr()
    assert main(["lights", "--help"]) == 0
    assert "--scheduler" in capsys.readouterr().out
    assert main(["lights", str(tmp_path / "none_*.tif"), "-z", str(zpath), "--id", "code"]) == 2
    assert "no raster matched" in capsys.readouterr().err
    assert main(["lights", glob, "-z", str(zpath), "--id", "nope", "-o", str(out)]) == 2
    assert "zone id column not found" in capsys.readouterr().err
    assert (
        main(["lights", glob, "-z", str(zpath), "--id", "code", "-o", str(tmp_path / "x.txt")]) == 2
    )
