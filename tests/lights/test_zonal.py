"""Zonal statistics: analytic answers, rasterstats (cell centre), bad input, caching."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("exactextract")
gpd = pytest.importorskip("geopandas")
from shapely.geometry import Polygon, box  # noqa: E402

from didstudy.errors import DataError, ValidationError  # noqa: E402
from didstudy.lights.raster import LightsWarning  # noqa: E402
from didstudy.lights.zonal import Overlay, build_overlay, zonal_stats  # noqa: E402
from tests.lights._helpers import exact_mean, voronoi_zones, write_raster  # noqa: E402

EXACT_INTEGRAL = 1e-9  # coverage fractions come from exactextract's double-precision clipping
CENTRE_EXACT = 0.0  # integer-valued float64 rasters: sums of integers are exact


def _floor_mean(t0: float, t1: float) -> float:
    """Mean of floor(t) over [t0, t1] in closed form (F(t) = k(k-1)/2 + k(t-k), k = floor t)."""

    def big_f(t: float) -> float:
        k = math.floor(t)
        return k * (k - 1) / 2 + k * (t - k)

    return (big_f(t1) - big_f(t0)) / (t1 - t0)


def test_coverage_mean_equals_exact_integral(tmp_path: Path) -> None:
    h, w = 40, 50
    rr, cc = np.mgrid[0:h, 0:w]
    a, b = 2.0, -0.5
    gradient = a * cc + b * rr + 100.0
    blocks = np.where(cc < 25, 3.0, 11.0)
    p_grad = write_raster(tmp_path / "grad.tif", gradient)
    p_block = write_raster(tmp_path / "block.tif", blocks)
    rects = [(3.3, 7.7, 17.45, 21.05), (0.2, 0.6, 49.9, 39.1), (10.5, 10.5, 11.25, 11.75)]
    tri = Polygon([(4.3, 2.2), (37.9, 5.1), (20.6, 33.7)])
    inside_block = box(2.3, 5.6, 20.9, 30.2)
    zones = gpd.GeoDataFrame(
        {"id": ["r0", "r1", "r2", "tri", "blk"]},
        geometry=[box(*r) for r in rects] + [tri, inside_block],
        crs="EPSG:32650",
    )
    out = zonal_stats({"grad": p_grad, "block": p_block}, zones, "id", stats=("mean", "count"))
    got = out.set_index(["raster", "id"])["mean"]
    for i, (x0, y0, x1, y1) in enumerate(rects):
        closed = 100.0 + a * _floor_mean(x0, x1) + b * _floor_mean(h - y1, h - y0)
        assert abs(got["grad", f"r{i}"] - closed) < EXACT_INTEGRAL
        area = (x1 - x0) * (y1 - y0)
        count = out.set_index(["raster", "id"]).loc[("grad", f"r{i}"), "count"]
        assert abs(count - area) < EXACT_INTEGRAL  # Σ coverage = polygon area in cells
    assert abs(got["grad", "tri"] - exact_mean(gradient, tri)) < EXACT_INTEGRAL
    assert abs(got["block", "blk"] - 3.0) < EXACT_INTEGRAL
    assert abs(got["block", "tri"] - exact_mean(blocks, tri)) < EXACT_INTEGRAL
    # the triangle straddles the block edge: the mean is strictly between the two levels
    assert 3.0 < got["block", "tri"] < 11.0


def test_reprojection_of_zones_and_projected_grid(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    arr = rng.uniform(0, 60, size=(60, 80))
    # 1 km cells in UTM 50N around (500 km, 3,400 km); zones supplied in lon/lat
    path = write_raster(tmp_path / "utm.tif", arr, origin=(500_000.0, 3_400_000.0), size=1000.0)
    zones_utm = voronoi_zones(6, 80, 60, seed=2)
    zones_utm["geometry"] = zones_utm.geometry.scale(1000.0, 1000.0, origin=(0, 0)).translate(
        500_000.0, 3_400_000.0
    )
    zones_ll = zones_utm.to_crs("EPSG:4326")
    direct = zonal_stats([path], zones_utm, "zone", stats=("mean",))
    via_ll = zonal_stats([path], zones_ll, "zone", stats=("mean",))
    # a round trip UTM→lon/lat→UTM moves vertices by ~1e-9 m, far below 1e-6 of a cell
    np.testing.assert_allclose(via_ll["mean"], direct["mean"], rtol=1e-9)
    for geom, got in zip(zones_utm.geometry, direct["mean"], strict=True):
        assert abs(got - exact_mean(arr, geom, 1000.0, (500_000.0, 3_400_000.0))) < EXACT_INTEGRAL


@pytest.mark.parametrize("overlap", [False, True])
def test_center_mode_equals_rasterstats(tmp_path: Path, overlap: bool) -> None:
    rasterstats = pytest.importorskip("rasterstats")
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 64, size=(70, 90)).astype(np.float64)
    arr[rng.random(arr.shape) < 0.05] = -999.0
    path = write_raster(tmp_path / "dn.tif", arr, nodata=-999.0, origin=(0.0, 0.0), size=1.0)
    zones = voronoi_zones(25, 90, 70, seed=9)
    if overlap:
        extra = gpd.GeoDataFrame(
            {"zone": ["OV1"]}, geometry=[box(10.3, 10.7, 40.2, 33.9)], crs=zones.crs
        )
        zones = gpd.GeoDataFrame(
            {"zone": [*zones.zone, "OV1"]},
            geometry=[*zones.geometry, *extra.geometry],
            crs=zones.crs,
        )
    ours = zonal_stats(
        [path], zones, "zone", stats=("mean", "sum", "count", "max", "min"), method="center"
    )
    ref = rasterstats.zonal_stats(
        zones, str(path), stats=["mean", "sum", "count", "max", "min"], all_touched=False
    )
    for col in ("mean", "sum", "count", "max", "min"):
        expect = np.array([r[col] for r in ref], dtype=float)
        np.testing.assert_array_equal(ours[col].to_numpy(), expect, err_msg=col)
    # cell centre vs coverage: close but not equal on partial cells
    cov = zonal_stats([path], zones, "zone", stats=("mean",), nodata=(-999.0,))
    rel = np.abs(cov["mean"] - ours["mean"]) / ours["mean"]
    assert 0 < rel.max() < 0.2


def test_nodata_outside_and_invalid_zones(tmp_path: Path) -> None:
    arr = np.arange(100, dtype=np.float64).reshape(10, 10)
    arr[0:3, 0:3] = np.nan  # rows 0-2 = y in [7, 10]
    arr[5, 5] = np.nan
    path = write_raster(tmp_path / "nd.tif", arr, nodata=np.nan)
    bowtie = Polygon([(6, 0), (9, 3), (9, 0), (6, 3)])  # self-intersecting
    zones = gpd.GeoDataFrame(
        {"id": [1, 2, 3, 4, 5]},
        geometry=[
            box(0, 7, 3, 10),
            box(4, 3, 7, 6),
            box(20, 20, 25, 25),
            bowtie,
            box(8, 8, 12, 12),
        ],
        crs="EPSG:32650",
    )
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = zonal_stats([path], zones, "id", stats=("mean", "count", "nodata"))
    messages = " | ".join(str(w.message) for w in rec if issubclass(w.category, LightsWarning))
    assert "invalid zone geometries repaired" in messages and "ids 4" in messages
    assert "touch no cell" in messages and "ids 3" in messages
    assert "no valid cell" in messages
    got = out.set_index("id")
    assert list(got.index) == [1, 2, 3, 4, 5]  # nothing dropped
    assert np.isnan(got.loc[1, "mean"]) and got.loc[1, "count"] == 0 and got.loc[1, "nodata"] == 9
    block = arr[4:7, 4:7]  # x 4-7, y 3-6 = rows 4-6
    assert got.loc[2, "mean"] == np.nanmean(block) and got.loc[2, "count"] == 8
    assert np.isnan(got.loc[3, "mean"]) and got.loc[3, "count"] == 0
    assert got.loc[4, "count"] == pytest.approx(4.5, abs=EXACT_INTEGRAL)  # two triangles
    assert got.loc[5, "count"] == pytest.approx(4.0, abs=EXACT_INTEGRAL)  # partly off-raster
    assert set(out.attrs["lights"]["empty_zones"]["nd"]) == {"1", "3"}


def test_missing_crs_and_bad_arguments(tmp_path: Path) -> None:
    arr = np.ones((5, 5))
    path = write_raster(tmp_path / "a.tif", arr)
    nocrs_raster = write_raster(tmp_path / "b.tif", arr, crs=None)
    zones = gpd.GeoDataFrame({"id": [1]}, geometry=[box(1, 1, 3, 3)], crs="EPSG:32650")
    with pytest.raises(DataError, match="zone layer has no coordinate reference system"):
        zonal_stats([path], zones.set_crs(None, allow_override=True), "id")
    with pytest.raises(DataError, match="raster has no coordinate reference system"):
        zonal_stats([nocrs_raster], zones, "id")
    with pytest.raises(DataError, match="zone id column not found"):
        zonal_stats([path], zones, "county")
    with pytest.raises(ValidationError, match="unknown statistics"):
        zonal_stats([path], zones, "id", stats=("median",))
    with pytest.raises(ValidationError, match="unknown zonal method"):
        zonal_stats([path], zones, "id", method="touch")  # type: ignore[arg-type]
    dup = gpd.GeoDataFrame({"id": [1, 1]}, geometry=[box(0, 0, 1, 1)] * 2, crs="EPSG:32650")
    with pytest.raises(DataError, match="duplicated"):
        zonal_stats([path], dup, "id")
    with pytest.raises(DataError, match="no raster matched"):
        zonal_stats(str(tmp_path / "none*.tif"), zones, "id")


def test_overlay_reuse_cache_and_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    paths = {
        f"y{y}": write_raster(tmp_path / f"y{y}.tif", rng.uniform(0, 9, (30, 30))) for y in range(3)
    }
    zones = voronoi_zones(8, 30, 30, seed=4)
    zfile = tmp_path / "zones.gpkg"
    zones.to_file(zfile)
    cache = tmp_path / "cache"
    first = zonal_stats(paths, zfile, "zone", cache_dir=cache)
    assert first.attrs["lights"]["cached"] == []
    second = zonal_stats(str(tmp_path / "y*.tif"), zfile, "zone", cache_dir=cache)
    assert sorted(second.attrs["lights"]["cached"]) == ["y0", "y1", "y2"]
    np.testing.assert_array_equal(first["mean"], second["mean"])
    shp = tmp_path / "zones.shp"
    zones.to_file(shp)
    from_shp = zonal_stats(paths, shp, "zone")
    np.testing.assert_array_equal(from_shp["mean"], first["mean"])
    ov = build_overlay(zones, "zone", paths["y0"])
    files = list(cache.glob("overlay-*.npz"))
    assert len(files) == 1
    loaded = Overlay.load(files[0])
    assert loaded.key == ov.key
    np.testing.assert_array_equal(loaded.weights, ov.weights)
    np.testing.assert_allclose(ov.covered_fraction(), 1.0, atol=1e-12)
    # a changed raster is recomputed, not served stale
    write_raster(paths["y1"], np.zeros((30, 30)))
    third = zonal_stats(paths, zfile, "zone", cache_dir=cache)
    assert sorted(third.attrs["lights"]["cached"]) == ["y0", "y2"]
    assert (third.loc[third.raster == "y1", "mean"] == 0).all()


FLOAT32_COVERAGE = 2e-7  # exactextract 0.3 rounds coverage fractions to float32


def test_exact_engine_agrees_with_exactextract_and_conserves_area(tmp_path: Path) -> None:
    """Alternative algorithm (exactextract) and accounting identity (Σ coverage = area)."""
    import shapely

    rng = np.random.default_rng(21)
    arr = rng.uniform(0, 50, size=(64, 48))
    path = write_raster(tmp_path / "g.tif", arr, origin=(100.0, 200.0), size=0.5)
    polys = []
    for _ in range(12):
        cx, cy = rng.uniform([100, 200], [124, 232])
        ang = np.sort(rng.uniform(0, 2 * np.pi, 9))
        rad = rng.uniform(1.0, 6.0, 9)
        star = Polygon(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))
        polys.append(star.difference(shapely.Point(cx, cy).buffer(0.4)))  # with a hole
    zones = gpd.GeoDataFrame({"id": range(12)}, geometry=polys, crs="EPSG:32650")
    ours = build_overlay(zones, "id", path)
    theirs = build_overlay(zones, "id", path, engine="exactextract")
    cell_area = 0.25
    inside = shapely.intersection(zones.geometry.to_numpy(), box(100, 200, 124, 232))
    for z in range(12):
        w = ours.weights[ours.indptr[z] : ours.indptr[z + 1]]
        assert abs(w.sum() * cell_area - shapely.area(inside[z])) < 1e-9
    a = ours.matrix().toarray()
    b = theirs.matrix().toarray()
    assert np.abs(a - b).max() < FLOAT32_COVERAGE
    res = zonal_stats([path], zones, "id", stats=("mean",))
    ref = zonal_stats([path], zones, "id", stats=("mean",), engine="exactextract")
    np.testing.assert_allclose(res["mean"], ref["mean"], rtol=FLOAT32_COVERAGE)
    for z, geom in enumerate(polys):
        exact = exact_mean(arr, geom, 0.5, (100.0, 200.0))
        assert abs(res["mean"][z] - exact) < EXACT_INTEGRAL


def test_pixel_transform_inside_loop_and_missing_dependency(tmp_path: Path) -> None:
    from functools import partial

    from didstudy.errors import MissingDependencyError
    from didstudy.lights.calibrate import coefficients_for, intercalibrate
    from didstudy.lights.raster import require

    rng = np.random.default_rng(3)
    dn = rng.integers(0, 64, (30, 30)).astype(np.float64)
    dn[0, :5] = 255.0  # DMSP fill value
    raw = write_raster(tmp_path / "F152005.tif", dn)
    coef = coefficients_for("F15", 2005)
    fixed = intercalibrate(np.where(dn == 255, np.nan, dn), coef)
    from didstudy.lights.raster import read_grid
    from didstudy.lights.raster import write_raster as write_like

    pre = write_like(tmp_path / "pre.tif", fixed, read_grid(raw))  # float32 on disk
    zones = voronoi_zones(5, 30, 30, seed=6)
    cache = tmp_path / "cache"
    inloop = zonal_stats(
        [raw],
        zones,
        "zone",
        nodata=(255.0,),
        cache_dir=cache,
        transform=partial(intercalibrate, coefficients=coef),
        transform_params=coef.to_dict(),
    )
    ref = zonal_stats([pre], zones, "zone")
    np.testing.assert_allclose(inloop["mean"], ref["mean"], rtol=1e-7)  # float32 file
    assert inloop.attrs["lights"]["transform"]["source"] == "elvidge2014"
    # different correction parameters are a different cache entry
    other = zonal_stats([raw], zones, "zone", nodata=(255.0,), cache_dir=cache)
    assert other.attrs["lights"]["cached"] == []
    assert not np.allclose(other["mean"], inloop["mean"])
    with pytest.raises(MissingDependencyError, match=r"didstudy\[raster\]"):
        require("no_such_raster_package", "Reading rasters")


def test_coverage_kernel_on_a_rotated_grid() -> None:
    """Rotated/sheared affine: fractions equal shapely cell-by-cell intersections."""
    import shapely
    from affine import Affine

    from didstudy.lights.coverage import polygon_coverage

    fwd = Affine(0.9, 0.3, 10.0, 0.2, -1.1, 50.0)  # col, row -> x, y (rotation + shear)
    inv = ~fwd
    h, w = 30, 25
    poly = Polygon([(14, 44), (28, 38), (31, 25), (18, 20), (12, 30)]).difference(
        shapely.Point(20, 32).buffer(2.5)
    )
    cells, cov = polygon_coverage(poly, (inv.a, inv.b, inv.c, inv.d, inv.e, inv.f), h, w)
    rr, cc = np.divmod(np.arange(h * w), w)
    quads = shapely.polygons(
        np.stack(
            [
                np.column_stack(fwd @ (cc + dc, rr + dr))
                for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))
            ],
            axis=1,
        )
    )
    cell_area = abs(fwd.determinant)
    expected = shapely.area(shapely.intersection(quads, poly)) / cell_area
    dense = np.zeros(h * w)
    dense[cells] = cov
    np.testing.assert_allclose(dense, expected, atol=1e-9)
    footprint = Polygon([fwd @ (c, r) for c, r in ((0, 0), (w, 0), (w, h), (0, h))])
    assert 0 < footprint.intersection(poly).area < poly.area  # partly off the grid
    assert abs(cov.sum() * cell_area - footprint.intersection(poly).area) < 1e-9
