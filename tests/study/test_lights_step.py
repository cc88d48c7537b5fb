"""The `lights` study step: rasters -> INDG joined to the panel, cached by content.

The bundled raster set is SIMULATED (didstudy.lights.demo_rasters). The step must reproduce the
array-level pipeline's INDG exactly (same float32 cells, same mapping, same dagum_panel), agree
with the simulated county light it was made from up to float32 rounding, and run the whole
reference study from rasters (`didstudy demo --from-rasters`) within 60 seconds.
"""

from __future__ import annotations

import json
import shutil
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rasterio")
pytest.importorskip("geopandas")

from didstudy.cli import main
from didstudy.data.reference_study import build_reference_study
from didstudy.errors import DataError, SpecError
from didstudy.lights.demo_rasters import array_indg, demo_arrays, write_demo_rasters
from didstudy.measure.inequality import dagum_panel
from didstudy.study.lights_step import lights
from didstudy.study.run import run_study

BUNDLED = Path(str(resources.files("didstudy.data").joinpath("lights_demo")))
# float32 storage of the cells: relative rounding of one cell value, 2^-24, grows a little in
# the means and the Gini of a handful of counties
FLOAT32_GINI = 1e-6


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(group=frame["group"].astype(str).str.zfill(6))
    return out.sort_values(["time", "group"]).reset_index(drop=True)


@pytest.fixture(autouse=True)
def _own_overlay_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's per-user lights cache is its own temporary folder (never ~/.cache)."""
    monkeypatch.setenv("DIDSTUDY_CACHE_DIR", str(tmp_path / "user-cache"))


@pytest.fixture(scope="module")
def step_result() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lights("ntl_*.tif", "counties.geojson", "county_code", overlay_cache=False,
                      mapping="mapping.csv.gz", base_dir=str(BUNDLED))  # fmt: skip


def test_step_reproduces_the_array_pipeline_exactly(step_result: object) -> None:
    got = _by_key(step_result.groups)  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unmatched county-years, as in the step
        want = _by_key(array_indg(demo_arrays()))
    assert got[["time", "group", "n"]].equals(want[["time", "group", "n"]])
    np.testing.assert_array_equal(got["gini"].to_numpy(), want["gini"].to_numpy())
    np.testing.assert_array_equal(got["mean"].to_numpy(), want["mean"].to_numpy())


def test_step_matches_the_simulated_county_light(step_result: object) -> None:
    counties = build_reference_study(20100112).counties
    truth = dagum_panel(counties, value="light", group="city_code", time="year", min_units=2)
    got = _by_key(step_result.groups)  # type: ignore[attr-defined]
    want = _by_key(truth.groups)
    merged = got.merge(want, on=["time", "group"], suffixes=("", "_county"), validate="1:1")
    assert len(merged) == len(want)
    np.testing.assert_allclose(merged["gini"], merged["gini_county"], rtol=FLOAT32_GINI,
                               atol=FLOAT32_GINI)  # fmt: skip


def test_bundled_files_are_what_the_script_writes(tmp_path: Path) -> None:
    import rasterio

    write_demo_rasters(tmp_path)
    names = sorted(p.name for p in BUNDLED.iterdir() if p.suffix != ".md")
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        if name.endswith(".tif"):
            with rasterio.open(BUNDLED / name) as a, rasterio.open(tmp_path / name) as b:
                np.testing.assert_array_equal(a.read(1), b.read(1))
                assert a.transform == b.transform and a.crs == b.crs
        else:
            assert (BUNDLED / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert sum(p.stat().st_size for p in BUNDLED.iterdir()) < 4e6


def _small_study(folder: Path) -> Path:
    for year in (2009, 2010):
        shutil.copy(BUNDLED / f"ntl_{year}.tif", folder / f"ntl_{year}.tif")
    study = folder / "study.toml"
    study.write_text(f"""
[study]
seed = 1
formats = ["md"]
[data.cities]
simulate = "reference_study"
table = "cities"
[panel]
data = "cities"
unit = "code"
time = "year"
treat = "policy"
[sample]
years = [2009, 2010]
[[steps]]
kind = "lights"
name = "lights"
into = "indg"
rasters = "ntl_*.tif"
zones = "{BUNDLED / 'counties.geojson'}"
id_col = "county_code"
mapping = "{BUNDLED / 'mapping.csv.gz'}"
[[steps]]
kind = "twfe"
name = "twfe"
y = "indg"
treat = "policy"
""", encoding="utf-8")  # fmt: skip
    return study


def test_cached_by_content(tmp_path: Path) -> None:
    study = _small_study(tmp_path)
    cache = tmp_path / "cache"
    first = run_study(study, tmp_path / "a", cache_dir=cache)
    assert [r.status for r in first.records] == ["ok", "ok"]
    second = run_study(study, tmp_path / "b", cache_dir=cache)
    assert [r.status for r in second.records] == ["cached", "cached"]
    raster = tmp_path / "ntl_2010.tif"
    raster.write_bytes(raster.read_bytes())  # same content, new modification time
    assert run_study(study, tmp_path / "c", cache_dir=cache).records[0].status == "cached"
    import rasterio

    with rasterio.open(raster, "r+") as dst:
        band = dst.read(1)
        band[band > 0] *= 2
        dst.write(band, 1)
    third = run_study(study, tmp_path / "d", cache_dir=cache)
    assert third.records[0].status == "ok"
    values = json.loads((tmp_path / "d" / "results.json").read_text())
    assert values["steps"]["lights"]["result"]["kind"] == "lights"
    indg = first.results["steps"]["twfe"]["result"]["terms"][0]["estimate"]
    assert np.isfinite(indg)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no raster file matches"):
        lights("missing_*.tif", "counties.geojson", "county_code", base_dir=str(BUNDLED))
    with pytest.raises(SpecError, match="unknown correction"):
        lights("ntl_2003.tif", "counties.geojson", "county_code", mapping="mapping.csv.gz",
               correction="blur", base_dir=str(BUNDLED))  # type: ignore[arg-type]  # fmt: skip
    study = _small_study(tmp_path)
    study.write_text(study.read_text().replace('"ntl_*.tif"', '"nope/*.tif"'))
    assert main(["run", str(study), "--out", str(tmp_path / "r")]) == 2


@pytest.mark.slow
def test_demo_from_rasters(tmp_path: Path) -> None:
    code = main(["demo", "--from-rasters", "--out", str(tmp_path / "r"), "--formats", "md"])
    assert code == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["steps"]["dagum"]["kind"] == "lights"
    assert {"baseline", "placebo", "event_study", "psm_did"} <= set(results["steps"])


def test_overlay_cache_serves_the_same_numbers(tmp_path: Path) -> None:
    # the first call builds the overlay + cell index and stores them with each raster's
    # statistics in $DIDSTUDY_CACHE_DIR; the second reads them; without the cache: recomputed
    args = ("ntl_20*.tif", "counties.geojson", "county_code")
    kwargs = {"mapping": "mapping.csv.gz", "base_dir": str(BUNDLED)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cold = lights(*args, **kwargs)  # type: ignore[arg-type]
        stored = sorted(p.name.split("-")[0] for p in (tmp_path / "user-cache").iterdir())
        warm = lights(*args, **kwargs)  # type: ignore[arg-type]
        off = lights(*args, overlay_cache=False, **kwargs)  # type: ignore[arg-type]
    assert stored == ["overlay"] + ["result"] * 20
    for other in (warm, off):
        pd.testing.assert_frame_equal(other.groups, cold.groups, check_exact=True)
        pd.testing.assert_frame_equal(other.county, cold.county, check_exact=True)
        assert other.to_dict() == cold.to_dict()  # what results.json holds: no cache trace
    assert "cached" not in cold.metadata
