"""Float32 window reads and the prefetching reader give the float64 path's statistics exactly.

Reference: the window read into a fresh float64 array (``read_window`` without ``out``) and
``apply_overlay`` on it. Every statistic must be bit-identical (``assert_array_equal``):
``read_window(out=<float32 buffer>)`` + the kernel (float32 → float64 is exact; the mat-vec
accumulates in float64), and ``zonal_stats`` with the prefetching serial executor, the plain
serial one and threads. Pixel types float32 cannot hold exactly (int32 beyond 2**24, float64)
fall back to float64 reads and are checked too; nodata values float32 cannot represent (0.1)
must match no float32 cell, as in float64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio")
pytest.importorskip("geopandas")

from didstudy.kernels.resample import SerialExecutor, ThreadExecutor
from didstudy.lights.raster import read_window
from didstudy.lights.zonal import (
    STATS,
    _stats_inplace,
    apply_overlay,
    build_overlay,
    zonal_stats,
)
from tests.lights._helpers import voronoi_zones, write_raster


def _quadratic(x: np.ndarray) -> np.ndarray:
    """A calibration-like pixel transform whose float32 evaluation would differ from float64."""
    return 0.1 + 1.3 * x - 0.0071 * x * x


@pytest.mark.parametrize(
    ("dtype", "method", "transform"),
    [
        ("float32", "coverage", None),
        ("float32", "center", _quadratic),
        ("int16", "coverage", None),
        ("int32", "center", None),
        ("float64", "coverage", _quadratic),
    ],
)
def test_float32_buffers_and_prefetch_match_float64_reads(
    tmp_path: Path, dtype: str, method: str, transform: object
) -> None:
    rng = np.random.default_rng(11)
    h, w = 37, 53
    zones = voronoi_zones(9, w, h, seed=3)
    paths = []
    for k in range(3):
        if dtype == "int32":  # beyond 2**24: float32 would round these
            arr = rng.integers(2**25, 2**26, size=(h, w)).astype(np.int32)
            nodata: float = -9
        elif dtype == "int16":
            arr = rng.integers(-300, 3000, size=(h, w)).astype(np.int16)
            nodata = -9
        else:
            arr = (rng.random((h, w)) * 60).astype(dtype)
            nodata = -1.0
            arr[0, :7] = np.float32(0.1)  # 0.1 in float64 matches no float32 cell
            arr[1, :5] = 0.5  # exactly representable: an extra nodata value that matches
        arr[2 + k, :] = nodata
        paths.append(write_raster(tmp_path / f"r{k}_{dtype}.tif", arr, nodata=nodata))
    extra = (0.1, 0.5) if dtype.startswith("float") else (7.0,)
    overlay = build_overlay(zones, "zone", paths[0], method=method)  # type: ignore[arg-type]
    r0, r1, c0, c1 = overlay.window
    expected = []
    buf32 = np.empty(overlay.window_shape, dtype=np.float32)
    for p in paths:
        values = read_window(p, (r0, r1), (c0, c1), extra)
        assert values.dtype == np.float64
        if transform is not None:
            values = np.asarray(transform(values), dtype=np.float64)  # type: ignore[operator]
        expected.append(apply_overlay(overlay, values, STATS))
        if transform is None:
            v32 = read_window(p, (r0, r1), (c0, c1), extra, out=buf32)
            assert (v32 is buf32) == (dtype in ("float32", "int16"))
            got = _stats_inplace(overlay, v32.ravel(), STATS)
            for s in STATS:
                np.testing.assert_array_equal(got[s], expected[-1][s], err_msg=f"float32 {s}")
    for run in (SerialExecutor(), SerialExecutor(prefetch=False), ThreadExecutor(2)):
        table = zonal_stats(
            [str(p) for p in paths],
            zones,
            "zone",
            stats=STATS,
            method=method,  # type: ignore[arg-type]
            nodata=extra,
            transform=transform,  # type: ignore[arg-type]
            executor=run,
        )
        for k, p in enumerate(paths):
            part = table[table["raster"] == p.stem].reset_index(drop=True)
            for s in STATS:
                np.testing.assert_array_equal(part[s].to_numpy(), expected[k][s], err_msg=s)
