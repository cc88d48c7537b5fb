"""Damaged and huge rasters: exit-2 errors naming the file, never a traceback or a 20 GiB
allocation (issue 10, "never a traceback")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.errors import DataError
from didstudy.lights.raster import read_grid, read_window

from ._helpers import write_raster

pytest.importorskip("rasterio")
SIDE = 512
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _tif(path: Path) -> Path:
    rng = np.random.default_rng(0)
    data = rng.random((SIDE, SIDE)).astype("float32")
    import rasterio
    from rasterio.transform import from_origin

    profile = dict(driver="GTiff", height=SIDE, width=SIDE, count=1, dtype="float32",
                   transform=from_origin(0, SIDE, 1, 1), crs="EPSG:32650", tiled=True,
                   blockxsize=128, blockysize=128, compress="deflate")  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_a_truncated_raster_is_a_data_error(tmp_path: Path) -> None:
    good = _tif(tmp_path / "good.tif")
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError) as info:
        read_grid(cut)
        read_window(cut, (0, SIDE), (0, SIDE))
    assert str(cut) in str(info.value) and "Fix:" in str(info.value)


def test_a_huge_sparse_raster_is_refused_before_allocating(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "huge.tif"
    side = 200_000
    with rasterio.open(path, "w", driver="GTiff", height=side, width=side, count=1,
                       dtype="float32", transform=from_origin(0, side, 1, 1), crs="EPSG:32650",
                       tiled=True, sparse_ok=True, BIGTIFF="YES"):  # fmt: skip
        pass
    assert path.stat().st_size < 50 * 1024**2
    with pytest.raises(DataError, match=r"200,000 x 200,000 cells .*GiB"):
        read_window(path, (0, side), (0, side))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(0, 10**7), flip=st.integers(1, 255), cut=st.booleans())
def test_fuzz_damaged_tiles_are_data_errors(
    tmp_path_factory: pytest.TempPathFactory, position: int, flip: int, cut: bool
) -> None:
    folder = tmp_path_factory.mktemp("tif")
    payload = bytearray(_tif(folder / "good.tif").read_bytes())
    if cut:
        payload = payload[: max(8, position % len(payload))]
    else:
        payload[position % len(payload)] ^= flip
    damaged = folder / "damaged.tif"
    damaged.write_bytes(bytes(payload))
    try:
        grid = read_grid(damaged)
        window = read_window(damaged, (0, grid.height), (0, grid.width))
    except DataError as exc:
        assert str(damaged) in str(exc)
    else:
        assert window.shape == (grid.height, grid.width)


def test_helper_raster_still_reads(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "r.tif", np.ones((4, 5)))
    assert read_window(path, (0, 4), (0, 5)).shape == (4, 5)
