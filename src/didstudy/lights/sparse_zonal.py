"""Zonal means at the read limit: the dark cells of night-time light cost nothing.

Night-time-light composites are mostly dark (94 % of a DMSP grid of China is 0). With the
overlay ``W`` (zones x cells), ``mean_z = Σ_i W[z,i] x_i / Σ_i W[z,i]`` over valid cells needs
only the lit cells in the numerator (``x_i = 0`` adds nothing) and only the nodata cells in the
denominator (memoised row sums minus their weights). Per raster this module therefore

1. reads the raster in its own dtype (uint8 stays 1 byte a cell) into a reused buffer, and only
   the bands of rows that zones cover, each band only over its covered columns;
2. finds the non-zero cells (lit, NaN or a non-zero nodata code) with one pass;
3. adds the lit cells to their zone with :func:`numpy.bincount` through a per-cell zone index
   (cells inside exactly one zone with weight exactly 1), and the few remaining cells (polygon
   edges under ``method="coverage"``, cells shared by zones) through their CSC entries.

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

from didstudy.lights.overlay import Overlay
from didstudy.lights.raster import READ_THREADS, require

__all__ = [
    "SPARSE_STATS",
    "CellIndex",
    "cell_index",
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
    csc = overlay.columns()
    starts, counts = csc.indptr[:-1], np.diff(csc.indptr)
    first = np.minimum(starts, max(csc.indices.size - 1, 0))
    simple = (counts == 1) & (csc.data[first] == 1.0) if csc.indices.size else counts == 1
    zone = np.full(counts.size, -1, dtype=np.int32)
    zone[simple] = csc.indices[starts[simple]]
    other = np.flatnonzero((counts > 0) & ~simple)
    lengths = counts[other]
    entry_cell = np.repeat(np.arange(other.size), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.repeat(starts[other], lengths) + offsets
    covered = (counts > 0).reshape(overlay.window_shape)
    return CellIndex(
        zone,
        other.astype(np.int64),
        entry_cell.astype(np.int64),
        csc.indices[positions].astype(np.int64),
        csc.data[positions].astype(np.float64),
        _bands(covered),
    )


_BUILD_LOCK = threading.Lock()


def cell_index(overlay: Overlay) -> CellIndex:
    """The :class:`CellIndex` of an overlay (built once, memoised on the overlay)."""
    with _BUILD_LOCK:
        hit = overlay._memo.get("cell_index")
        if hit is None:
            hit = _build(overlay)
            overlay._memo["cell_index"] = hit
    index: CellIndex = hit
    return index


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
        bad |= values == values.dtype.type(code) if values.dtype.kind != "f" else values == code
    return bad


#: Words (8 bytes each) OR-reduced together in the first pass of :func:`lit_cells`.
WORD_BLOCK = 32


def _lit_words(words: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Non-zero words: blocks of :data:`WORD_BLOCK` words are OR-reduced first, so the dark
    majority costs a streaming pass and only lit blocks are searched word by word."""
    full = (words.size // WORD_BLOCK) * WORD_BLOCK
    blocks = words[:full].reshape(-1, WORD_BLOCK)
    lit_blocks = np.flatnonzero(np.bitwise_or.reduce(blocks, axis=1))
    inside = np.flatnonzero(blocks[lit_blocks])
    found = lit_blocks[inside // WORD_BLOCK] * WORD_BLOCK + inside % WORD_BLOCK
    if full < words.size:
        found = np.concatenate([found, full + np.flatnonzero(words[full:])])
    out: NDArray[np.int64] = found.astype(np.int64)
    return out


def lit_cells(flat: NDArray[Any]) -> NDArray[np.int64]:
    """Indices of the non-zero cells of a contiguous 1-d buffer (NaN counts as non-zero).

    The buffer is scanned as 64-bit words (8 uint8 or 2 float32 cells per word), blocks of words
    first (:func:`_lit_words`), so the dark majority costs one streaming pass; only the non-zero
    words are expanded to cells.
    """
    per = 8 // flat.itemsize if flat.itemsize in (1, 2, 4, 8) else 0
    whole = (flat.size // per) * per if per else 0
    if whole == 0 or not flat.flags.c_contiguous:
        return np.flatnonzero(flat)
    words = _lit_words(flat[:whole].view(np.uint64))
    cells = (words[:, None] * per + np.arange(per)).ravel()
    if whole < flat.size:
        cells = np.concatenate([cells, np.arange(whole, flat.size)])
    found: NDArray[np.int64] = cells[flat[cells] != 0]
    return found


def sparse_stats(
    overlay: Overlay, window: NDArray[Any], codes: tuple[float, ...], stats: Sequence[str]
) -> dict[str, NDArray[np.float64]]:
    """Statistics of one window read by :func:`read_native` (see the module docstring)."""
    index = cell_index(overlay)
    n = overlay.n_zones
    flat = window.reshape(-1)
    lit = lit_cells(flat)
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
    total = np.bincount(zone, weights=values.astype(np.float64), minlength=n + 1)[:n]
    n_missing = np.bincount(invalid_zone[invalid_zone >= 0], minlength=n).astype(np.int64)
    missing = n_missing.astype(np.float64)
    if index.other_cells.size:
        other = flat[index.other_cells]
        other_bad = _invalid(other, codes)
        clean = np.where(other_bad, 0.0, other.astype(np.float64))
        entry_values = clean[index.entry_cell] * index.entry_weight
        total += np.bincount(index.entry_zone, weights=entry_values, minlength=n)
        flagged = other_bad[index.entry_cell]
        missing += np.bincount(index.entry_zone[flagged], weights=index.entry_weight[flagged],
                               minlength=n)  # fmt: skip
        n_missing += np.bincount(index.entry_zone[flagged], minlength=n)
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
