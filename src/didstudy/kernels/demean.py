"""Partial out (absorb) fixed effects: the within transformation.

For a matrix ``X`` (n x k) and Q categorical factors, :func:`demean` returns the residuals of the
(weighted) least-squares projection of every column of ``X`` on the Q sets of dummies, i.e.
``M_D X`` with ``M_D = I - D (D'WD)^- D'W``. By the Frisch–Waugh–Lovell theorem, OLS of the
demeaned outcome on the demeaned regressors gives the fixed-effects (within) estimator.

Four algorithms, chosen by :func:`demean` (``method="auto"``):

* one factor: exact group demeaning, ``x - xbar_g``;
* a balanced two-way panel without weights (every unit x period cell exactly once): the closed
  form ``x - xbar_i - xbar_t + xbar`` (Wooldridge 2010, eq. 10.50 generalised to two factors);
* two or more factors whose levels, apart from the largest factor, number at most
  :data:`DIRECT_MAX_LEVELS`: *direct* (exact) elimination — the largest factor is concentrated out
  and the normal equations of the remaining dummies, a small positive semi-definite system, are
  solved by a pseudo-inverse (Abowd, Kramarz & Margolis 1999 use the same concentration). This
  covers unit + year (+ region^year) panels of any size and balance in one pass over the data;
* otherwise the method of alternating projections (Guimarães & Portugal 2010; Gaure 2013) with
  Irons–Tuck acceleration (Irons & Tuck 1969; as in fixest, Bergé 2018), iterated until the
  largest change is below ``tol`` relative to the column's scale. Raises
  :class:`~didstudy.errors.ConvergenceError` if ``maxiter`` sweeps do not suffice.

Group sums are ``numpy.bincount`` calls on integer codes; everything is float64.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from didstudy.errors import ConvergenceError, EstimationError

__all__ = [
    "DEFAULT_MAXITER",
    "DEFAULT_TOL",
    "DIRECT_MAX_LEVELS",
    "DemeanMethod",
    "DirectDemeaner",
    "FixedEffectCodes",
    "demean",
    "demean_method",
    "is_balanced_two_way",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
DemeanMethod = Literal["auto", "direct", "iterative"]

#: Convergence tolerance of alternating projections: largest absolute change in a sweep relative
#: to the column's largest absolute value. 1e-12 keeps coefficients accurate to ~1e-10.
DEFAULT_TOL = 1e-12
#: Maximum number of accelerated sweeps of alternating projections.
DEFAULT_MAXITER = 10_000
#: Direct elimination is used when the factors other than the largest have at most this many
#: levels in total (the dense system is DIRECT_MAX_LEVELS^2 doubles: 32 MB at 2,000).
DIRECT_MAX_LEVELS = 2_000
#: Relative eigenvalue cut-off for the pseudo-inverse of the concentrated normal equations; the
#: zero eigenvalues are the redundant fixed effects (one per connected component and factor).
_PINV_RTOL = 1e-11


@dataclass(frozen=True)
class FixedEffectCodes:
    """Integer codes ``0..G-1`` of one absorbed factor, with its level count.

    Attributes
    ----------
    codes
        One code per observation (intp array, dense: every level present).
    n_levels
        Number of levels ``G``.
    """

    codes: IntArray
    n_levels: int

    @classmethod
    def from_array(cls, codes: npt.ArrayLike) -> FixedEffectCodes:
        """Wrap a code array, checking it is a dense non-negative integer coding."""
        arr = np.ascontiguousarray(codes, dtype=np.intp)
        if arr.ndim != 1:
            raise EstimationError("fixed-effect codes must be one-dimensional")
        if arr.size and arr.min() < 0:
            raise EstimationError("fixed-effect codes must be non-negative integers")
        return cls(arr, int(arr.max()) + 1 if arr.size else 0)


def _as_codes(fe_codes: Sequence[npt.ArrayLike | FixedEffectCodes]) -> list[FixedEffectCodes]:
    return [
        c if isinstance(c, FixedEffectCodes) else FixedEffectCodes.from_array(c) for c in fe_codes
    ]


def is_balanced_two_way(fe_codes: Sequence[npt.ArrayLike | FixedEffectCodes]) -> bool:
    """True when two factors cross exactly once (every unit x period cell exactly one row)."""
    codes = _as_codes(fe_codes)
    if len(codes) != 2:
        return False
    a, b = codes
    n = a.codes.size
    if n != a.n_levels * b.n_levels:
        return False
    cell = a.codes * b.n_levels + b.codes
    return bool(np.bincount(cell, minlength=n).max() == 1) if n else True


def demean_method(
    fe_codes: Sequence[npt.ArrayLike | FixedEffectCodes],
    weights: npt.ArrayLike | None = None,
) -> str:
    """Name of the algorithm ``demean(method="auto")`` uses for these factors."""
    codes = _as_codes(fe_codes)
    if len(codes) == 0:
        return "none"
    if len(codes) == 1:
        return "one-way"
    if weights is None and is_balanced_two_way(codes):
        return "closed-form"
    sizes = sorted(c.n_levels for c in codes)
    if sum(sizes[:-1]) <= DIRECT_MAX_LEVELS:
        return "direct"
    return "iterative"


def demean(
    X: npt.ArrayLike,
    fe_codes: Sequence[npt.ArrayLike | FixedEffectCodes],
    weights: npt.ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
    method: DemeanMethod = "auto",
    out: FloatArray | None = None,
) -> FloatArray:
    """Absorb fixed effects: residuals of every column of ``X`` on the factor dummies.

    Parameters
    ----------
    X
        ``(n,)`` or ``(n, k)`` float array; any number of columns (e.g. 500 placebo draws).
    fe_codes
        One integer code array (``0..G-1``) per absorbed factor, each of length ``n``.
    weights
        Optional positive analytic weights (length ``n``); the projection is weighted.
    tol, maxiter
        Tolerance and sweep limit of alternating projections (used only when needed).
    method
        ``"auto"`` (closed form / direct / iterative as described in the module docstring),
        ``"direct"`` or ``"iterative"`` to force an algorithm (for validation).
    out
        Optional float64 array of the shape of ``X`` to write into; may be ``X`` itself (every
        column is read completely before its result is written), which avoids a copy.

    Returns
    -------
    numpy.ndarray
        Demeaned array with the shape of ``X`` (a new array; ``X`` is not modified).

    Raises
    ------
    ConvergenceError
        Alternating projections did not converge within ``maxiter`` sweeps.
    """
    arr = np.asarray(X, dtype=np.float64)
    one_dim = arr.ndim == 1
    mat = arr.reshape(-1, 1) if one_dim else arr
    if mat.ndim != 2:
        raise EstimationError("demean() needs a 1-D or 2-D array")
    n = mat.shape[0]
    codes = _as_codes(fe_codes)
    for c in codes:
        if c.codes.size != n:
            raise EstimationError(
                f"fixed-effect codes have {c.codes.size} rows but the data have {n}"
            )
    w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    if w is not None and w.shape != (n,):
        raise EstimationError(f"weights have shape {w.shape}, expected ({n},)")

    chosen = demean_method(codes, w) if method == "auto" else method
    if out is None:
        target = np.empty(mat.shape, order="F")
    else:
        if out.shape != arr.shape or out.dtype != np.float64:
            raise EstimationError(f"out has shape {out.shape}, expected {arr.shape} float64")
        target = out.reshape(-1, 1) if one_dim else out
    if len(codes) == 0:
        target[...] = _demean_constant(mat, w)
    elif len(codes) == 1:
        _demean_one(mat, codes[0], w, target)
    elif chosen == "closed-form":
        _demean_balanced(mat, codes[0], codes[1], target)
    elif chosen == "direct":
        DirectDemeaner.build(codes, w).apply(mat, target)
    else:
        _demean_iterative(mat, codes, w, target, tol=tol, maxiter=maxiter)
    return target.reshape(-1) if one_dim else target


def _group_sums(codes: FixedEffectCodes, x: FloatArray, w: FloatArray | None) -> FloatArray:
    out: FloatArray = np.bincount(
        codes.codes, weights=x if w is None else x * w, minlength=codes.n_levels
    ).astype(np.float64, copy=False)
    return out


def _group_totals(codes: FixedEffectCodes, w: FloatArray | None) -> FloatArray:
    if w is None:
        return np.bincount(codes.codes, minlength=codes.n_levels).astype(np.float64)
    out: FloatArray = np.bincount(codes.codes, weights=w, minlength=codes.n_levels).astype(
        np.float64, copy=False
    )
    return out


def _demean_constant(mat: FloatArray, w: FloatArray | None) -> FloatArray:
    means = np.average(mat, axis=0, weights=w) if mat.shape[0] else np.zeros(mat.shape[1])
    return mat - means


def _demean_one(
    mat: FloatArray, fe: FixedEffectCodes, w: FloatArray | None, out: FloatArray
) -> None:
    totals = _group_totals(fe, w)
    for j in range(mat.shape[1]):
        col = mat[:, j]
        means = (_group_sums(fe, col, w) / totals)[fe.codes]
        np.subtract(col, means, out=out[:, j])


def _demean_balanced(
    mat: FloatArray, a: FixedEffectCodes, b: FixedEffectCodes, out: FloatArray
) -> None:
    """Closed form for a balanced panel, column by column on a (Ga, Gb) grid.

    Rows sorted by (a, b) are used in place; otherwise each column is scattered into the grid.
    """
    cell = a.codes * b.n_levels + b.codes
    ordered = bool(np.all(cell[1:] > cell[:-1])) if cell.size > 1 else True
    grid = None if ordered else np.empty(cell.size)
    for j in range(mat.shape[1]):
        col = mat[:, j]
        if grid is None:
            x = np.ascontiguousarray(col).reshape(a.n_levels, b.n_levels)
        else:
            grid[cell] = col
            x = grid.reshape(a.n_levels, b.n_levels)
        mean_a = x.mean(axis=1)
        mean_b = x.mean(axis=0)
        mean_b -= mean_a.mean()
        res = x - mean_a[:, np.newaxis]
        res -= mean_b[np.newaxis, :]
        if grid is None:
            out[:, j] = res.reshape(-1)
        else:
            out[:, j] = res.reshape(-1)[cell]


@dataclass(frozen=True)
class DirectDemeaner:
    """Exact within transformation for two or more factors, factorised once.

    With ``D1`` the largest factor and ``R`` the stacked dummies of the others, the coefficients
    ``g`` of ``R`` solve the concentrated normal equations
    ``(R'WR - R'WD1 (D1'WD1)^-1 D1'WR) g = R'W x - R'WD1 (D1'WD1)^-1 D1'W x`` (Abowd, Kramarz &
    Margolis 1999); the residual is then ``x - R g`` demeaned within the levels of ``D1``. The
    system (at most :data:`DIRECT_MAX_LEVELS` square) is factorised by :meth:`build` once and
    applied to columns one at a time (:meth:`apply`, bincount passes, in place) or to an
    ``n x R`` block at once (:meth:`apply_block`, sparse products: many placebo columns).

    Examples
    --------
    >>> unit, year = np.repeat(np.arange(3), 2), np.tile(np.arange(2), 3)
    >>> x = np.arange(6.0)[:, None]
    >>> solver = DirectDemeaner.build([FixedEffectCodes.from_array(unit),
    ...                                FixedEffectCodes.from_array(year)], None)
    >>> bool(np.allclose(solver.apply_block(x), 0.0))
    True
    """

    big: FixedEffectCodes
    rest: tuple[FixedEffectCodes, ...]
    offsets: IntArray
    inv_big: FloatArray
    pinv: FloatArray
    weights: FloatArray | None

    @classmethod
    def build(cls, codes: Sequence[FixedEffectCodes], w: FloatArray | None) -> DirectDemeaner:
        """Factorise the concentrated system of ``codes`` (two or more factors)."""
        order = sorted(range(len(codes)), key=lambda q: -codes[q].n_levels)
        big = codes[order[0]]
        rest = [codes[q] for q in order[1:]]
        offsets = np.cumsum([0] + [c.n_levels for c in rest])
        w_big = _group_totals(big, w)
        inv_big = np.divide(1.0, w_big, out=np.zeros_like(w_big), where=w_big > 0)
        system = _concentrated_system(big, rest, offsets, w, inv_big)
        eigval, eigvec = np.linalg.eigh(system)
        keep = eigval > _PINV_RTOL * max(float(eigval[-1]), 1e-300)
        pinv = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
        return cls(big, tuple(rest), offsets, inv_big, pinv, w)

    def apply(self, mat: FloatArray, out: FloatArray) -> None:
        """Demean every column of ``mat`` into ``out`` (may be ``mat``), one column at a time."""
        big, rest, offsets, w = self.big, self.rest, self.offsets, self.weights
        for j in range(mat.shape[1]):
            x = mat[:, j]
            xw = x if w is None else x * w
            rhs_rest = np.concatenate(
                [np.bincount(c.codes, weights=xw, minlength=c.n_levels) for c in rest]
            )
            big_mean: FloatArray = (_group_sums(big, x, w) * self.inv_big)[big.codes]
            if w is not None:
                big_mean = big_mean * w
            rhs = rhs_rest - np.concatenate(
                [np.bincount(c.codes, weights=big_mean, minlength=c.n_levels) for c in rest]
            )
            del big_mean
            coef = self.pinv @ rhs
            r = x.copy()
            for i, c in enumerate(rest):
                r -= coef[offsets[i] : offsets[i + 1]][c.codes]
            rw = r if w is None else r * w
            r -= (np.bincount(big.codes, weights=rw, minlength=big.n_levels) * self.inv_big)[
                big.codes
            ]
            out[:, j] = r

    def apply_block(self, x: FloatArray) -> FloatArray:
        """Demeaned copy of an ``n x R`` block, as a few sparse x dense products."""
        big_w, big_t, rest_w, rest_t = self._sparse
        rhs = rest_w @ x - rest_w @ (big_t @ ((big_w @ x) * self.inv_big[:, np.newaxis]))
        r = x - rest_t @ (self.pinv @ rhs)
        out: FloatArray = r - big_t @ ((big_w @ r) * self.inv_big[:, np.newaxis])
        return out

    @functools.cached_property
    def _sparse(self) -> tuple[Any, Any, Any, Any]:
        from scipy import sparse

        n = self.big.codes.size
        rows = np.arange(n)
        w = np.ones(n) if self.weights is None else self.weights
        big_t = sparse.csr_matrix(
            (np.ones(n), (rows, self.big.codes)), shape=(n, self.big.n_levels)
        )
        cols = np.concatenate([c.codes + self.offsets[i] for i, c in enumerate(self.rest)])
        rest_t = sparse.csr_matrix(
            (np.ones(cols.size), (np.tile(rows, len(self.rest)), cols)),
            shape=(n, int(self.offsets[-1])),
        )
        big_w = sparse.csr_matrix((w, (self.big.codes, rows)), shape=(self.big.n_levels, n))
        rest_w = sparse.csr_matrix(rest_t.T.multiply(w[np.newaxis, :]))
        return big_w, big_t, rest_w, rest_t


def _concentrated_system(
    big: FixedEffectCodes,
    rest: Sequence[FixedEffectCodes],
    offsets: IntArray,
    w: FloatArray | None,
    inv_big: FloatArray,
) -> FloatArray:
    """``R'WR - R'WD1 (D1'WD1)^-1 D1'WR`` (symmetrised), from pairwise cross-tabulations."""
    p = int(offsets[-1])
    system = np.zeros((p, p))
    for i, ci in enumerate(rest):
        for j, cj in enumerate(rest):
            if j < i:
                continue
            block = np.bincount(
                ci.codes * cj.n_levels + cj.codes, weights=w, minlength=ci.n_levels * cj.n_levels
            ).reshape(ci.n_levels, cj.n_levels)
            system[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = block
            if j != i:
                system[offsets[j] : offsets[j + 1], offsets[i] : offsets[i + 1]] = block.T
    # minus R'WD1 (D1'WD1)^-1 D1'WR, one sparse cross-tabulation per small factor at a time
    root_inv = np.sqrt(inv_big)
    for i, ci in enumerate(rest):
        cross_i = _scaled_crosstab(ci, big, w, root_inv)
        for j in range(i, len(rest)):
            cross_j = cross_i if j == i else _scaled_crosstab(rest[j], big, w, root_inv)
            block = (cross_i @ cross_j.T).toarray()
            system[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] -= block
            if j != i:
                system[offsets[j] : offsets[j + 1], offsets[i] : offsets[i + 1]] -= block.T
    out: FloatArray = 0.5 * (system + system.T)
    return out


def _scaled_crosstab(
    small: FixedEffectCodes, big: FixedEffectCodes, w: FloatArray | None, root_inv: FloatArray
) -> Any:
    """Sparse ``(G_small x G_big)`` weighted cross-tabulation, columns scaled by ``root_inv``."""
    from scipy import sparse

    data = root_inv[big.codes]
    if w is not None:
        data *= w
    index = np.int32 if max(small.n_levels, big.n_levels, small.codes.size) < 2**31 else np.int64
    return sparse.csr_matrix(
        (data, (small.codes.astype(index), big.codes.astype(index))),
        shape=(small.n_levels, big.n_levels),
    )


def _sweep(
    x: FloatArray,
    codes: list[FixedEffectCodes],
    inv_totals: list[FloatArray],
    w: FloatArray | None,
) -> FloatArray:
    """One pass of alternating projections (subtract each factor's group means in turn)."""
    r = x.copy()
    for c, inv in zip(codes, inv_totals, strict=True):
        r -= (_group_sums(c, r, w) * inv)[c.codes]
    return r


def _demean_iterative(
    mat: FloatArray,
    codes: list[FixedEffectCodes],
    w: FloatArray | None,
    out: FloatArray,
    *,
    tol: float,
    maxiter: int,
) -> None:
    """Alternating projections with Irons–Tuck acceleration, column by column."""
    inv_totals = []
    for c in codes:
        tot = _group_totals(c, w)
        inv_totals.append(np.divide(1.0, tot, out=np.zeros_like(tot), where=tot > 0))
    for j in range(mat.shape[1]):
        x = mat[:, j]
        scale = max(float(np.max(np.abs(x))) if x.size else 0.0, 1e-300)
        cur = _sweep(x, codes, inv_totals, w)
        converged = False
        for _ in range(maxiter):
            gx = _sweep(cur, codes, inv_totals, w)
            ggx = _sweep(gx, codes, inv_totals, w)
            delta_gx = ggx - gx
            delta2 = delta_gx - (gx - cur)
            denom = float(np.einsum("i,i->", delta2, delta2))
            if denom > 0.0:
                step = float(np.einsum("i,i->", delta_gx, delta2)) / denom
                new = ggx - step * delta_gx
            else:
                new = ggx
            change = float(np.max(np.abs(new - cur)))
            cur = new
            if change <= tol * scale:
                converged = True
                break
        if not converged:
            raise ConvergenceError(
                f"alternating projections did not converge in {maxiter} sweeps (column {j})",
                fix="raise maxiter, loosen tol, or check that the fixed effects are connected",
            )
        # a final plain sweep removes any extrapolation error of the last accelerated step
        out[:, j] = _sweep(cur, codes, inv_totals, w)
