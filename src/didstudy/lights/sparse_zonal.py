"""Zonal means at the read limit: the dark cells of night-time light cost nothing.

Night-time-light composites are mostly dark (94 % of a DMSP grid of China is 0). With the
overlay ``W`` (zones x cells), ``mean_z = Σ_i W[z,i] x_i / Σ_i W[z,i]`` over valid cells needs
only the lit cells in the numerator (``x_i = 0`` adds nothing) and only the nodata cells in the
denominator (memoised row sums minus their weights). Per raster this module therefore

1. reads the raster in its own dtype (uint8 stays 1 byte a cell) into a reused buffer, and only
   the bands of rows that zones cover, each band only over its covered columns;
2. finds the non-zero cells through one bool mask (``flatnonzero(flat != 0)``); a uint8 buffer
   is scanned as 64-bit words of 8 cells instead, and a lit word whose 8 cells lie in one zone and
   hold no nodata byte is added to its zone as a whole (the exact sum of its bytes by two masks
   and one multiplication, :func:`byte_sums`); the other lit words are expanded to cells;
3. adds the lit cells to their zone with :func:`numpy.bincount` through a per-cell zone index
   (cells inside exactly one zone with weight exactly 1), and the few remaining cells (polygon
   edges under ``method="coverage"``, cells shared by zones) through their own entries.

The cell index is built from the overlay's CSR arrays and cached with the overlay
(:func:`cached_overlay`). Integer sums are exact in float64, so the
word path gives the same bits as the per-cell path (docs/decisions/0074-zonal-read-limit.md).

The result equals the sparse mat-vec of :func:`didstudy.lights.zonal.apply_overlay` up to the
order of floating-point additions (relative 1e-15; exactly equal for integer rasters below 2^53).
It is used when the statistics are ``mean``, ``sum``, ``count`` or ``nodata``, no pixel transform
is asked, no nodata code is 0 and the raster has no mask band; otherwise the dense path runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from didstudy.lights.overlay import CoverageEngine, Overlay, ZonalMethod, build_overlay_cached
from didstudy.lights.raster import READ_THREADS, require

__all__ = [
    "SPARSE_STATS",
    "CellIndex",
    "cached_overlay",
    "cell_index",
    "index_arrays",
    "lit_cells",
    "sparse_eligible",
    "sparse_task",
]

SPARSE_STATS = frozenset({"mean", "sum", "count", "nodata"})
#: Height of the row bands read separately (the usual GeoTIFF tile height).
BAND_ROWS = 256
#: Read the whole window at once when the covered bands span at least this share of it.
WHOLE_WINDOW_SHARE = 0.9


@dataclass(frozen=True)
class CellIndex:
    """Where each window cell's value goes.

    Attributes
    ----------
    zone
        int32 per window cell: the zone of a cell inside exactly one zone with weight exactly 1,
        else -1 (outside every zone, or handled by the entries below).
    other_cells
        Window cells with a fractional weight or several zones (sorted).
    entry_cell, entry_zone, entry_weight
        Their CSC entries: position in ``other_cells``, zone and weight.
    bands
        ``(row0, row1, col0, col1)`` windows, relative to the overlay window, that together hold
        every covered cell.
    """

    zone: NDArray[np.int32]
    other_cells: NDArray[np.int64]
    entry_cell: NDArray[np.int64]
    entry_zone: NDArray[np.int64]
    entry_weight: NDArray[np.float64]
    bands: tuple[tuple[int, int, int, int], ...]


def _bands(covered: NDArray[np.bool_]) -> tuple[tuple[int, int, int, int], ...]:
    height, width = covered.shape
    bands = []
    for top in range(0, height, BAND_ROWS):
        block = covered[top : top + BAND_ROWS]
        cols = np.flatnonzero(block.any(axis=0))
        if cols.size:
            bands.append((top, min(top + BAND_ROWS, height), int(cols[0]), int(cols[-1]) + 1))
    area = sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in bands)
    if area >= WHOLE_WINDOW_SHARE * height * width:
        return ((0, height, 0, width),)
    return tuple(bands)


def _build(overlay: Overlay) -> CellIndex:
    """The cell index from the overlay's CSR arrays, without a CSC copy.

    The other cells' entries stay in CSR order (zone by zone, cells ascending within a zone): the
    per-zone sums over them add in the same order as over CSC entries (cell by cell), so the
    statistics are the same bits either way.
    """
    h, w = overlay.window_shape
    cells = overlay.indices
    counts = np.bincount(cells, minlength=h * w) if cells.size else np.zeros(h * w, np.int64)
    entry_zone = np.repeat(np.arange(overlay.n_zones, dtype=np.int32), np.diff(overlay.indptr))
    simple = (overlay.weights == 1.0) & (counts[cells] == 1)
    # all entries of a cell agree on `simple` (it needs a cell's only entry), so plain scatters
    # over every entry are right, and cheaper than compacting the 32 M entries first
    zone = np.full(h * w, -1, dtype=np.int32)
    zone[cells] = np.where(simple, entry_zone, np.int32(-1))
    rest = ~simple
    marked = np.zeros(h * w, dtype=bool)
    marked[cells] = rest
    other = np.flatnonzero(marked)  # sorted and unique, O(cells) (np.unique hashes: slower)
    return CellIndex(
        zone,
        other,
        np.searchsorted(other, cells[rest]).astype(np.int64),
        entry_zone[rest].astype(np.int64),
        overlay.weights[rest].astype(np.float64),
        _bands((counts > 0).reshape(overlay.window_shape)),
    )


_BUILD_LOCK = threading.Lock()
_INDEX_FIELDS = ("zone", "other_cells", "entry_cell", "entry_zone", "entry_weight")


def index_arrays(index: CellIndex) -> dict[str, NDArray[Any]]:
    """The arrays of a :class:`CellIndex`, saved beside its overlay (``Overlay.save``)."""
    out: dict[str, NDArray[Any]] = {name: getattr(index, name) for name in _INDEX_FIELDS}
    out["bands"] = np.array(index.bands, dtype=np.int64).reshape(-1, 4)
    return out


def _from_arrays(overlay: Overlay, arrays: dict[str, NDArray[Any]]) -> CellIndex | None:
    """A :class:`CellIndex` from saved arrays, or None when they do not fit the overlay."""
    if set(arrays) != {*_INDEX_FIELDS, "bands"}:
        return None
    h, w = overlay.window_shape
    zone = arrays["zone"]
    if zone.dtype != np.int32 or zone.shape != (h * w,):
        return None
    bands = tuple(tuple(int(v) for v in row) for row in arrays["bands"])
    return CellIndex(
        zone,
        arrays["other_cells"].astype(np.int64, copy=False),
        arrays["entry_cell"].astype(np.int64, copy=False),
        arrays["entry_zone"].astype(np.int64, copy=False),
        arrays["entry_weight"].astype(np.float64, copy=False),
        bands,  # type: ignore[arg-type]
    )


def cell_index(overlay: Overlay) -> CellIndex:
    """The :class:`CellIndex` of an overlay: loaded with it from the overlay cache, else built
    (once; memoised on the overlay)."""
    with _BUILD_LOCK:
        hit = overlay._memo.get("cell_index")
        if hit is None:
            saved = overlay._memo.pop("cell_index_arrays", None)
            hit = _from_arrays(overlay, saved) if saved is not None else None
            if hit is None:
                hit = _build(overlay)
            overlay._memo["cell_index"] = hit
    index: CellIndex = hit
    return index


def cached_overlay(
    zones: Any,
    id_col: str,
    raster: str,
    method: ZonalMethod,
    cache: Any,
    engine: CoverageEngine = "exact",
) -> Overlay:
    """:func:`didstudy.lights.overlay.build_overlay_cached` with the cell index saved beside the
    overlay and read back with it, so both are paid once per grid and zone set.

    Examples
    --------
    >>> from didstudy.lights.cache import ResultCache
    >>> ov = cached_overlay("counties.gpkg", "code", "ntl_2005.tif", "coverage",
    ...                     ResultCache("cache"))  # doctest: +SKIP
    >>> cell_index(ov).zone.dtype  # doctest: +SKIP
    dtype('int32')
    """

    def index_of(overlay: Overlay) -> dict[str, NDArray[Any]]:
        return index_arrays(cell_index(overlay))

    return build_overlay_cached(zones, id_col, raster, method, cache, engine, index_of)


def sparse_eligible(stats: Sequence[str], extra_nodata: Sequence[float], transform: Any) -> bool:
    """The sparse kernel applies: its statistics only, no transform, no nodata code 0."""
    return transform is None and set(stats) <= SPARSE_STATS and all(v != 0 for v in extra_nodata)


_SCRATCH = threading.local()


def _buffer(overlay: Overlay, dtype: Any, slot: int = 0) -> NDArray[Any]:
    """A zero-filled window buffer of ``dtype`` reused by this thread (cells never read stay 0,
    and they are outside every zone)."""
    key = (overlay.key, overlay.window, np.dtype(dtype).str, slot)
    buffers: dict[Any, NDArray[Any]] = getattr(_SCRATCH, "buffers", None) or {}
    if key not in buffers:
        buffers = {k: v for k, v in buffers.items() if k[:2] == key[:2]}
        buffers[key] = np.zeros(overlay.window_shape, dtype=dtype)
        _SCRATCH.buffers = buffers
    return buffers[key]


def release_buffers() -> None:
    """Drop this thread's window buffers."""
    _SCRATCH.buffers = None


def read_native(
    overlay: Overlay, path: str, extra_nodata: Sequence[float], slot: int = 0
) -> tuple[NDArray[Any], tuple[float, ...]] | None:
    """Read the covered bands of the overlay's window in the raster's own dtype.

    Returns the window buffer and the nodata codes, or None when the raster has a mask band or
    a nodata code 0 (the dense path handles those).
    """
    rasterio = require("rasterio", "Reading rasters")
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    r0, _, c0, _ = overlay.window
    with rasterio.open(path, NUM_THREADS=READ_THREADS) as src:
        flags = src.mask_flag_enums[0]
        if MaskFlags.per_dataset in flags or MaskFlags.alpha in flags:
            return None
        codes = tuple(float(v) for v in extra_nodata)
        if src.nodata is not None and not np.isnan(src.nodata):
            codes = (float(src.nodata), *codes)
        if any(v == 0 for v in codes):
            return None
        out = _buffer(overlay, src.dtypes[0], slot)
        for b0, b1, k0, k1 in cell_index(overlay).bands:
            window = Window(c0 + k0, r0 + b0, k1 - k0, b1 - b0)
            src.read(1, window=window, out=out[b0:b1, k0:k1])
    return out, codes


def _invalid(values: NDArray[Any], codes: tuple[float, ...]) -> NDArray[np.bool_]:
    bad = np.zeros(values.shape, dtype=bool)
    if values.dtype.kind == "f":
        bad |= ~np.isfinite(values)
    for code in codes:
        if values.dtype.kind == "f":
            bad |= values == code
        elif float(code).is_integer() and np.can_cast(np.min_scalar_type(int(code)), values.dtype):
            bad |= values == values.dtype.type(int(code))
        # else: no integer cell can hold the code (2.5, or 300 in uint8)
    return bad


def lit_cells(flat: NDArray[Any]) -> NDArray[np.int64]:
    """Indices of the non-zero cells of a 1-d buffer (NaN counts as non-zero, -0.0 does not).

    ``flatnonzero`` of the bool mask ``flat != 0``: numpy's ``nonzero`` is fast on bool arrays
    (2x faster than scanning 64-bit words and expanding the lit ones on the float32 China grid,
    5x faster than ``flatnonzero(flat)`` on float32 itself).
    """
    out: NDArray[np.int64] = np.flatnonzero(flat != 0)
    return out


#: Byte lanes of a 64-bit word: even bytes, and 16-bit lanes summed by one multiplication.
_EVEN_BYTES = np.uint64(0x00FF00FF00FF00FF)
_LANES = np.uint64(0x0001000100010001)
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)


def lit_words(words: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Indices of the non-zero entries of ``words`` (through a bool mask: ``flatnonzero`` of the
    mask is several times faster than of the 64-bit words themselves)."""
    out: NDArray[np.int64] = np.flatnonzero(words != 0)
    return out


def byte_sums(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Sum of the eight unsigned bytes of each word (exact: at most 8 x 255 = 2,040)."""
    pairs = (words & _EVEN_BYTES) + ((words >> np.uint64(8)) & _EVEN_BYTES)
    out: NDArray[np.uint64] = (pairs * _LANES) >> np.uint64(48)
    return out


def has_byte(words: NDArray[np.uint64], value: int) -> NDArray[np.bool_]:
    """Whether any byte of each word equals ``value`` (the classic zero-byte test on w ^ v)."""
    x = words ^ (_ONES * np.uint64(value))
    out: NDArray[np.bool_] = ((x - _ONES) & ~x & _HIGHS) != 0
    return out


def word_zones(overlay: Overlay) -> NDArray[np.int32]:
    """Zone of each 8-cell word of a uint8 window: the zone when all 8 cells are simple cells of
    that zone, -1 when none is in any zone (nor an edge cell), -2 otherwise (memoised)."""
    index = cell_index(overlay)
    with _BUILD_LOCK:
        hit = overlay._memo.get("word_zones")
        if hit is None:
            zone = index.zone
            if index.other_cells.size:
                zone = zone.copy()
                zone[index.other_cells] = -2  # edge or shared cells: per cell
            whole = (zone.size // 8) * 8
            cells = zone[:whole].reshape(-1, 8)
            first = cells[:, 0]
            same = (cells == first[:, None]).all(axis=1)
            hit = np.where(same, first, np.int32(-2)).astype(np.int32)
            overlay._memo["word_zones"] = hit
    out: NDArray[np.int32] = hit
    return out


def _byte_codes(codes: tuple[float, ...]) -> tuple[int, ...] | None:
    """The nodata codes as byte values, or None when one is not an integer in 1..255."""
    if not all(float(c).is_integer() and 1 <= c <= 255 for c in codes):
        return None
    return tuple(int(c) for c in codes)


def _uint8_words(
    overlay: Overlay, flat: NDArray[np.uint8], codes: tuple[int, ...], n: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Zone totals of the lit 8-cell words inside one zone without nodata (byte sums, exact),
    the nodata cells of words inside one zone made only of one nodata code (8 each: a
    no-coverage band is whole words), and the cells of the other lit words (per-cell path)."""
    whole = (flat.size // 8) * 8
    words = flat[:whole].view(np.uint64)
    lit = lit_words(words)
    zone = word_zones(overlay)[lit]
    values = words[lit]
    inside = zone >= 0
    simple = inside.copy()
    blank = np.zeros(len(values), dtype=bool)
    for code in codes:
        simple &= ~has_byte(values, code)
        blank |= values == _ONES * np.uint64(code)
    blank &= inside
    sums = byte_sums(values[simple]).astype(np.float64)
    total = np.asarray(np.bincount(zone[simple], weights=sums, minlength=n), dtype=np.float64)
    n_blank = np.bincount(zone[blank], minlength=n).astype(np.int64) * 8
    rest = lit[~simple & ~blank & (zone != -1)]
    cells = (rest[:, None] * 8 + np.arange(8)).ravel()
    if whole < flat.size:
        cells = np.concatenate([cells, np.arange(whole, flat.size)])
    found: NDArray[np.int64] = cells[flat[cells] != 0].astype(np.int64, copy=False)
    return total, found, n_blank


def _other_cells(
    index: CellIndex,
    flat: NDArray[Any],
    codes: tuple[float, ...],
    sums: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Add the edge and shared cells through their entries, the non-zero cells only (a dark
    cell adds 0.0, which leaves every sum's bits as they are; nodata codes are never 0 here)."""
    total, missing, n_missing = sums
    other = flat[index.other_cells]
    keep = (other != 0)[index.entry_cell]
    if not keep.any():
        return total, missing, n_missing
    cell, zone, weight = index.entry_cell[keep], index.entry_zone[keep], index.entry_weight[keep]
    values = other[cell]
    bad = _invalid(values, codes)
    clean = np.where(bad, 0.0, values.astype(np.float64))
    n = total.size
    total = total + np.bincount(zone, weights=clean * weight, minlength=n)
    missing = missing + np.bincount(zone[bad], weights=weight[bad], minlength=n)
    n_missing = n_missing + np.bincount(zone[bad], minlength=n)
    return total, missing, n_missing


def sparse_stats(
    overlay: Overlay, window: NDArray[Any], codes: tuple[float, ...], stats: Sequence[str]
) -> dict[str, NDArray[np.float64]]:
    """Statistics of one window read by :func:`read_native` (see the module docstring)."""
    index = cell_index(overlay)
    n = overlay.n_zones
    flat = window.reshape(-1)
    byte_codes = _byte_codes(codes) if flat.dtype == np.uint8 else None
    if byte_codes is not None and flat.flags.c_contiguous:
        word_total, lit, word_missing = _uint8_words(overlay, flat, byte_codes, n)
    else:
        word_total, lit, word_missing = np.zeros(n), lit_cells(flat), np.zeros(n, np.int64)
    values = flat[lit]
    bad = _invalid(values, codes)
    if bad.any():
        invalid_zone = index.zone[lit[bad]]
        lit, values = lit[~bad], values[~bad]
    else:
        invalid_zone = np.empty(0, dtype=np.int32)
    # zone -1 (outside every simple zone) goes to a spare bin n, dropped afterwards
    zone = index.zone[lit]
    zone[zone < 0] = n
    per_cell = np.bincount(zone, weights=values.astype(np.float64), minlength=n + 1)[:n]
    total = np.asarray(per_cell, dtype=np.float64) + word_total
    n_missing = np.bincount(invalid_zone[invalid_zone >= 0], minlength=n).astype(np.int64)
    n_missing += word_missing
    missing = n_missing.astype(np.float64)
    if index.other_cells.size:
        total, missing, n_missing = _other_cells(index, flat, codes, (total, missing, n_missing))
    all_missing = n_missing == np.diff(overlay.indptr)
    count = np.where(all_missing, 0.0, overlay.row_weights() - missing)
    out: dict[str, NDArray[np.float64]] = {}
    if "mean" in stats:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean"] = np.where(count > 0, total / count, np.nan)
    if "sum" in stats:
        out["sum"] = np.where(count > 0, total, np.nan)
    if "count" in stats:
        out["count"] = count
    if "nodata" in stats:
        out["nodata"] = np.where(all_missing, overlay.row_weights(), missing)
    return out


def sparse_task(
    overlay: Overlay, path: str, stats: Sequence[str], extra_nodata: Sequence[float]
) -> dict[str, NDArray[np.float64]] | None:
    """Read and compute one raster on the sparse path; None when the dense path must run."""
    read = read_native(overlay, path, extra_nodata)
    if read is None:
        return None
    return sparse_stats(overlay, read[0], read[1], stats)


def prefetched_sparse(
    overlay: Overlay, items: Sequence[tuple[str, Sequence[str], Sequence[float]]]
) -> Iterator[tuple[int, dict[str, NDArray[np.float64]] | None]]:
    """:func:`sparse_task` over ``items``, reading raster i+1 while computing raster i."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="didstudy-read") as pool:
        pending = pool.submit(read_native, overlay, items[0][0], items[0][2], 0)
        for i, (_, stats, _) in enumerate(items):
            read = pending.result()
            if i + 1 < len(items):
                nxt = items[i + 1]
                pending = pool.submit(read_native, overlay, nxt[0], nxt[2], (i + 1) % 2)
            yield i, None if read is None else sparse_stats(overlay, read[0], read[1], stats)
