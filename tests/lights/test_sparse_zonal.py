"""The sparse zonal kernel (dark cells skipped, covered bands read) equals the dense mat-vec.

SIMULATED rasters: mostly dark, integer (uint8) and float32, with nodata cells, a nodata code,
zones with fractional edges (coverage), overlapping zones, and zones covering an L-shaped region
so that only some row bands are read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio")
geopandas = pytest.importorskip("geopandas")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from shapely.geometry import Polygon, box  # noqa: E402

from didstudy.lights.cache import ResultCache  # noqa: E402
from didstudy.lights.overlay import (  # noqa: E402
    OVERLAY_FORMAT,
    build_overlay,
)
from didstudy.lights.raster import read_window  # noqa: E402
from didstudy.lights.sparse_zonal import (  # noqa: E402
    BAND_ROWS,
    byte_sums,
    cached_overlay,
    cell_index,
    has_byte,
    index_arrays,
    sparse_task,
    word_zones,
)
from didstudy.lights.zonal import apply_overlay, zonal_stats  # noqa: E402
from tests.lights._helpers import write_raster  # noqa: E402

# the sparse kernel adds in cell order, the CSR mat-vec in row order: float64 rounding only
ADDITION_ORDER = 1e-12
STATS = ("mean", "sum", "count", "nodata")


def _zones(width: float, height: float) -> object:
    polys = [
        box(0.3, 0.3, width * 0.4, height * 0.45),
        box(width * 0.35, 0.7, width * 0.9, height * 0.3),  # overlaps the first
        Polygon([(1.5, height * 0.5), (width * 0.3, height * 0.95), (2.2, height * 0.97)]),
        box(width * 0.6, height * 0.55, width * 0.61, height * 0.56),  # inside one cell
    ]
    return geopandas.GeoDataFrame(
        {"zone": [f"Z{i}" for i in range(len(polys))]}, geometry=polys, crs="EPSG:32650"
    )


def _raster(rng: np.random.Generator, shape: tuple[int, int], dtype: str) -> np.ndarray:
    lit = rng.random(shape) < 0.08
    values = np.where(lit, rng.integers(1, 63, shape), 0).astype(dtype)
    if dtype == "float32":
        values = values * np.float32(1.37)
        values[rng.random(shape) < 0.01] = np.nan
    else:
        values[rng.random(shape) < 0.01] = 255
    return values


@pytest.mark.parametrize("method", ["coverage", "center"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_sparse_equals_dense(method: str, dtype: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    shape = (3 * BAND_ROWS + 17, 300)
    array = _raster(rng, shape, dtype)
    path = write_raster(tmp_path / "r.tif", array, nodata=255 if dtype == "uint8" else None)
    zones = _zones(shape[1], shape[0])
    overlay = build_overlay(zones, "zone", path, method=method)  # type: ignore[arg-type]
    sparse = sparse_task(overlay, str(path), STATS, ())
    assert sparse is not None
    r0, r1, c0, c1 = overlay.window
    dense = apply_overlay(overlay, read_window(path, (r0, r1), (c0, c1)), STATS)
    for name in STATS:
        np.testing.assert_allclose(sparse[name], dense[name], rtol=ADDITION_ORDER, atol=0)
    assert np.isfinite(sparse["mean"]).all()
    index = cell_index(overlay)
    assert index.other_cells.size > 0  # the overlap (and, for coverage, fractional edges)
    if method == "center":
        assert (index.entry_weight == 1.0).all()
    else:
        assert (index.entry_weight < 1.0).any()


def test_only_covered_bands_are_read(tmp_path: Path) -> None:
    shape = (4 * BAND_ROWS, 400)
    array = np.ones(shape, dtype="uint8")
    path = write_raster(tmp_path / "r.tif", array)
    zones = geopandas.GeoDataFrame(
        {"zone": ["a", "b"]},
        geometry=[box(0, 0, 400, 30), box(0, 0, 30, 4 * BAND_ROWS)],  # an L
        crs="EPSG:32650",
    )
    overlay = build_overlay(zones, "zone", path, method="center")
    bands = cell_index(overlay).bands
    assert len(bands) > 1
    area = sum((b1 - b0) * (k1 - k0) for b0, b1, k0, k1 in bands)
    h, w = overlay.window_shape
    assert area < 0.5 * h * w
    result = sparse_task(overlay, str(path), ("mean", "count"), ())
    assert result is not None
    np.testing.assert_array_equal(result["mean"], [1.0, 1.0])
    np.testing.assert_array_equal(result["count"], [400 * 30, 30 * 4 * BAND_ROWS])


def test_zonal_stats_routes_and_falls_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    shape = (120, 150)
    paths = [write_raster(tmp_path / f"r{i}.tif", _raster(rng, shape, "uint8"), nodata=255)
             for i in range(3)]  # fmt: skip
    zones = _zones(shape[1], shape[0])
    fast = zonal_stats([str(p) for p in paths], zones, "zone", stats=("mean", "count"))
    dense = zonal_stats([str(p) for p in paths], zones, "zone", stats=("mean", "count", "max"))
    np.testing.assert_allclose(fast["mean"], dense["mean"], rtol=ADDITION_ORDER)
    np.testing.assert_array_equal(fast["count"], dense["count"])
    zero_code = zonal_stats([str(p) for p in paths], zones, "zone", stats=("mean",), nodata=(0,))
    assert zero_code["mean"].notna().any()  # nodata 0: dense path, dark cells excluded
    assert (zero_code["mean"].dropna() > fast["mean"][zero_code["mean"].notna()]).all()


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40), st.integers(1, 255))
@settings(max_examples=200, deadline=None)
def test_word_arithmetic_equals_the_bytes(raw: list[int], value: int) -> None:
    words = np.array(raw, dtype=np.uint64)
    cells = words.view(np.uint8).reshape(-1, 8)
    np.testing.assert_array_equal(byte_sums(words), cells.sum(axis=1, dtype=np.uint64))
    np.testing.assert_array_equal(has_byte(words, value), (cells == value).any(axis=1))


@pytest.mark.parametrize("codes", [(255,), (7, 255), (300.0, 255), (2.5, 255)])
def test_uint8_word_path_equals_dense_bit_for_bit(codes: tuple[float, ...], tmp_path: Path) -> None:
    # byte codes take the word path (8 cells summed at once); 300 and 2.5 are no byte: per cell.
    # Integer sums are exact in float64, so every path gives the same bits
    rng = np.random.default_rng(11)
    shape = (2 * BAND_ROWS + 5, 203)  # a width that is no multiple of 8: words span rows
    array = _raster(rng, shape, "uint8")
    array[rng.random(shape) < 0.01] = 7
    array[415:418, :] = 255  # a no-coverage band across zone Z1: whole nodata words
    array[418, 40:120] = 7  # a band of the other code
    path = write_raster(tmp_path / "r.tif", array, nodata=255)
    zones = _zones(shape[1], shape[0])
    overlay = build_overlay(zones, "zone", path, method="center")
    zone_of_word = word_zones(overlay)
    assert (zone_of_word >= 0).any() and (zone_of_word == -2).any()
    r0, r1, c0, c1 = overlay.window
    window = np.ascontiguousarray(array[r0:r1, c0:c1]).reshape(-1)
    words = window[: window.size // 8 * 8].view(np.uint64)
    assert ((words == np.uint64(2**64 - 1)) & (zone_of_word >= 0)).sum() > 20  # blank words
    sparse = sparse_task(overlay, str(path), STATS, codes)
    assert sparse is not None
    r0, r1, c0, c1 = overlay.window
    dense = apply_overlay(overlay, read_window(path, (r0, r1), (c0, c1), codes), STATS)
    for name in STATS:
        np.testing.assert_array_equal(sparse[name], dense[name])


def test_cell_index_is_cached_with_the_overlay(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    shape = (140, 120)
    path = write_raster(tmp_path / "r.tif", _raster(rng, shape, "uint8"), nodata=255)
    zones = _zones(shape[1], shape[0])
    store = ResultCache(tmp_path / "cache")
    built = cached_overlay(zones, "zone", str(path), "coverage", store)
    files = list((tmp_path / "cache").glob("overlay-*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as saved:
        assert int(saved["format"]) == OVERLAY_FORMAT
        assert {f"cell_index_{k}" for k in index_arrays(cell_index(built))} <= set(saved.files)
    loaded = cached_overlay(zones, "zone", str(path), "coverage", store)
    assert "cell_index_arrays" in loaded._memo  # the index came from the file, not rebuilt
    fresh, cached = index_arrays(cell_index(built)), index_arrays(cell_index(loaded))
    for name, array in fresh.items():
        np.testing.assert_array_equal(cached[name], array)
    want = sparse_task(built, str(path), STATS, ())
    got = sparse_task(loaded, str(path), STATS, ())
    assert want is not None and got is not None
    for name in STATS:
        np.testing.assert_array_equal(got[name], want[name])
    # a damaged file or one of an older layout is rebuilt and overwritten, never an error
    files[0].write_bytes(b"not an npz")
    again = cached_overlay(zones, "zone", str(path), "coverage", store)
    np.testing.assert_array_equal(again.weights, built.weights)
    with np.load(files[0], allow_pickle=False) as saved:
        assert int(saved["format"]) == OVERLAY_FORMAT


def test_cache_prunes_its_own_oldest_entries_only(tmp_path, monkeypatch) -> None:
    """Beyond $DIDSTUDY_CACHE_MAX_GB the oldest overlay-/result- entries go; other files and the
    entry just written stay."""
    import os

    from didstudy.lights.cache import ResultCache

    monkeypatch.setenv("DIDSTUDY_CACHE_MAX_GB", str(2500 / 1e9))  # 2,500 bytes
    cache = ResultCache(tmp_path)
    other = tmp_path / "notes.npz"
    other.write_bytes(b"x" * 5000)
    for i in range(4):
        cache.put(f"k{i}", {"a": np.zeros(100)})  # ~1 kB each
        os.utime(tmp_path / f"result-k{i}.npz", (1_000_000 + i, 1_000_000 + i))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "notes.npz" in names and "result-k3.npz" in names
    assert "result-k0.npz" not in names
    total = sum(p.stat().st_size for p in tmp_path.glob("result-*.npz"))
    assert total <= 2500
