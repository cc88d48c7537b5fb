"""Exact polygon–cell coverage fractions in double precision (Green's theorem on the grid).

For a polygon P and grid cell (r, c), with grid coordinates u (column) and v (row) and the
boundary of P split at every grid line, Green's theorem gives

    area(P ∩ cell) = ∮_{∂P ∩ row r} F_c(u) dv,   F_c(u) = clamp(u, c, c+1) − (c+1),

since horizontal pieces of the row band's boundary have dv = 0 (and ∂F/∂u is the cell's
indicator). A boundary piece inside column k contributes ``(ū − c − 1) dv`` to its own cell
(k = c; exact, F is linear there) and ``−dv`` to every cell right of it (k < c). So each piece
adds one "area" term and one "carry" term, and a cumulative sum along the row completes the
coverage (for a ring counter-clockwise in (u, v); the sign follows the affine's determinant).
This is the accumulation-buffer idea of exact area rasterisers, and the same quantity
exactextract computes (Baston 2022), but in float64: exactextract 0.3 returns coverage
fractions rounded to float32 (relative error ~6e-8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["TINY_COVERAGE", "polygon_coverage"]

TINY_COVERAGE = 1e-12
"""Coverage below this (rounding noise of cells the boundary only grazes) is treated as 0."""


def _ragged_crossings(
    a0: NDArray[np.float64], a1: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """For each edge a0→a1, the parameters t at which it crosses an integer grid line."""
    f0, f1 = np.floor(a0), np.floor(a1)
    n = np.abs(f1 - f0).astype(np.int64)
    total = int(n.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    edge = np.repeat(np.arange(a0.size), n)
    start = np.cumsum(n) - n
    step = np.arange(total) - start[edge]
    up = a1[edge] > a0[edge]
    k = np.where(up, f0[edge] + 1 + step, f0[edge] - step)
    t = (k - a0[edge]) / (a1[edge] - a0[edge])
    return edge, t


def polygon_coverage(
    geom: Any, inverse: tuple[float, float, float, float, float, float], height: int, width: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Cells covered by a polygon and their covered fractions (exact up to float64 rounding).

    Parameters
    ----------
    geom
        A valid shapely Polygon or MultiPolygon in the grid's CRS.
    inverse
        Inverse affine ``(a, b, c, d, e, f)``: ``col = a x + b y + c``, ``row = d x + e y + f``.
    height, width
        Grid shape; cells outside it are ignored (partly outside polygons keep their inside part).

    Returns
    -------
    cells, coverage
        Global cell ids ``row * width + col`` (ascending) and fractions in (0, 1].
    """
    import shapely

    empty = (np.empty(0, np.int64), np.empty(0, np.float64))
    oriented = shapely.orient_polygons(geom, exterior_cw=False)
    rings = shapely.get_rings(shapely.get_parts(oriented))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    if xy.shape[0] < 2:
        return empty
    a, b, c, d, e, f = inverse
    u = a * xy[:, 0] + b * xy[:, 1] + c
    v = d * xy[:, 0] + e * xy[:, 1] + f
    same = ring[1:] == ring[:-1]
    u0, u1 = u[:-1][same], u[1:][same]
    v0, v1 = v[:-1][same], v[1:][same]
    n_edges = u0.size
    eu, tu = _ragged_crossings(u0, u1)
    ev, tv = _ragged_crossings(v0, v1)
    ids = np.arange(n_edges)
    edge = np.concatenate([ids, ids, eu, ev])
    t = np.concatenate([np.zeros(n_edges), np.ones(n_edges), tu, tv])
    order = np.lexsort((t, edge))
    edge, t = edge[order], t[order]
    pu = u0[edge] + t * (u1[edge] - u0[edge])
    pv = v0[edge] + t * (v1[edge] - v0[edge])
    seg = edge[1:] == edge[:-1]
    ua, ub = pu[:-1][seg], pu[1:][seg]
    va, vb = pv[:-1][seg], pv[1:][seg]
    dv = vb - va
    um = (ua + ub) / 2.0
    col = np.floor(um).astype(np.int64)
    row = np.floor((va + vb) / 2.0).astype(np.int64)
    keep = (dv != 0) & (row >= 0) & (row < height)
    if not keep.any():
        return empty
    dv, um, col, row = dv[keep], um[keep], col[keep], row[keep]
    r0, r1 = int(row.min()), int(row.max()) + 1
    c0 = min(max(int(col.min()), 0), width - 1)
    c1 = min(int(col.max()) + 2, width)
    if c1 <= c0:
        return empty
    inside_grid = col < width
    dv, um, col, row = dv[inside_grid], um[inside_grid], col[inside_grid], row[inside_grid]
    h, w = r1 - r0, c1 - c0
    inside = col >= 0
    area = np.bincount(
        (row[inside] - r0) * w + (col[inside] - c0),
        weights=(um[inside] - col[inside] - 1.0) * dv[inside],
        minlength=h * w,
    )
    carry_col = np.maximum(col + 1, c0)
    ok = carry_col < c1
    carry = np.bincount((row[ok] - r0) * w + (carry_col[ok] - c0), weights=-dv[ok], minlength=h * w)
    cov = area.reshape(h, w) + np.cumsum(carry.reshape(h, w), axis=1)
    det = a * e - b * d
    if det < 0:
        cov = -cov
    flat = cov.ravel()
    local = np.flatnonzero(flat > TINY_COVERAGE)
    rr, cc = np.divmod(local, w)
    cells = (rr + r0).astype(np.int64) * width + (cc + c0)
    return cells, np.minimum(flat[local], 1.0)
