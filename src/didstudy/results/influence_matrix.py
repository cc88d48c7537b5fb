"""Influence functions of many estimates as a matrix, dense or in row blocks.

Group-time cells use few units each: cell ATT(g,t) has non-zero influence only for cohort ``g``
and its comparison cohorts. With units numbered by cohort, each cohort is a block of rows
whose influence is non-zero in a known set of columns (cells), so the ``units × cells`` matrix
is stored as one dense block per cohort, which keeps memory and every product proportional to
the non-zero part. Every consumer (standard errors, aggregations, Wald tests, multiplier
bootstrap) goes through the four operations below.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

__all__ = ["BlockInfluence", "DenseInfluence", "FactorBlock", "FactorInfluence", "InfluenceMatrix"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class DenseInfluence:
    """A dense ``rows × columns`` influence matrix (rows: clusters or units)."""

    values: FloatArray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    def matmul(self, weights: FloatArray) -> FloatArray:
        """``S @ W`` for a ``columns × K`` matrix ``W``."""
        out: FloatArray = self.values @ weights
        return out

    def sum_of_squares(self) -> FloatArray:
        """Column sums of squares ``diag(S'S)``."""
        out: FloatArray = np.einsum("ck,ck->k", self.values, self.values)
        return out

    def gram(self, columns: IntArray) -> FloatArray:
        """``S_J' S_J`` for the columns ``J``."""
        sub = self.values[:, columns]
        out: FloatArray = sub.T @ sub
        return out

    def left(self, draws: FloatArray) -> FloatArray:
        """``V @ S`` for a ``reps × rows`` matrix ``V`` (multiplier bootstrap)."""
        out: FloatArray = draws @ self.values
        return out

    def dense(self) -> FloatArray:
        return self.values


@dataclass(frozen=True, eq=False)
class BlockInfluence:
    """Rows in contiguous blocks, each non-zero only in its own columns.

    Attributes
    ----------
    n_rows, n_cols
        Shape of the full matrix.
    starts
        First row of each block (blocks are consecutive and cover all rows).
    columns
        Column indices of each block.
    blocks
        The block values, ``rows in block × len(columns)``.
    """

    n_rows: int
    n_cols: int
    starts: tuple[int, ...]
    columns: tuple[IntArray, ...]
    blocks: tuple[FloatArray, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    def _rows(self, b: int) -> slice:
        return slice(self.starts[b], self.starts[b] + self.blocks[b].shape[0])

    def matmul(self, weights: FloatArray) -> FloatArray:
        out = np.zeros((self.n_rows, weights.shape[1]))
        for b, (cols, block) in enumerate(zip(self.columns, self.blocks, strict=True)):
            if len(cols):
                out[self._rows(b)] = block @ weights[cols]
        return out

    def sum_of_squares(self) -> FloatArray:
        out = np.zeros(self.n_cols)
        for cols, block in zip(self.columns, self.blocks, strict=True):
            out[cols] += np.einsum("ck,ck->k", block, block)
        return out

    def gram(self, columns: IntArray) -> FloatArray:
        where = np.full(self.n_cols, -1)
        where[columns] = np.arange(len(columns))
        out = np.zeros((len(columns), len(columns)))
        for cols, block in zip(self.columns, self.blocks, strict=True):
            pos = where[cols]
            keep = pos >= 0
            if keep.any():
                sub = block[:, keep]
                out[np.ix_(pos[keep], pos[keep])] += sub.T @ sub
        return out

    def left(self, draws: FloatArray) -> FloatArray:
        out = np.zeros((draws.shape[0], self.n_cols))
        for b, (cols, block) in enumerate(zip(self.columns, self.blocks, strict=True)):
            if len(cols):
                out[:, cols] += draws[:, self._rows(b)] @ block
        return out

    def dense(self) -> FloatArray:
        out = np.zeros((self.n_rows, self.n_cols))
        for b, (cols, block) in enumerate(zip(self.columns, self.blocks, strict=True)):
            if len(cols):
                out[self._rows(b), cols] = block
        return out


@dataclass(frozen=True, eq=False)
class FactorBlock:
    """Rows ``start … start + n`` of an influence matrix in factored form.

    Block values ``diag(w) (U D − 1 η') diag(c)``: ``U`` (``n × T``) the units' outcomes by
    period, ``D`` (``T × m``) the period contrasts of the block's columns (+1 at ``t``, −1 at
    the base period), ``η`` and ``c`` per-column centres and scales, ``w`` the unit weights
    (None: all one). A 2×2 DiD cell's influence function without covariates has this form.
    """

    start: int
    columns: IntArray
    outcomes: FloatArray
    contrasts: FloatArray
    centre: FloatArray
    scale: FloatArray
    weight: FloatArray | None

    @property
    def rows(self) -> slice:
        return slice(self.start, self.start + self.outcomes.shape[0])

    def _w(self) -> FloatArray:
        n = self.outcomes.shape[0]
        return np.ones(n) if self.weight is None else self.weight

    @cached_property
    def moments(self) -> tuple[FloatArray, FloatArray, float]:
        """``U' diag(w²) U``, ``U' w²`` and ``Σ w²``."""
        w2 = self._w() ** 2
        u = self.outcomes
        return (u * w2[:, None]).T @ u, u.T @ w2, float(w2.sum())

    def values(self) -> FloatArray:
        out: FloatArray = (self.outcomes @ self.contrasts - self.centre) * self.scale
        return out * self._w()[:, None]


@dataclass(frozen=True, eq=False)
class FactorInfluence:
    """An influence matrix as :class:`FactorBlock` rows (zero elsewhere); products cost
    ``rows × periods`` instead of ``rows × columns``."""

    n_rows: int
    n_cols: int
    blocks: tuple[FactorBlock, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    def matmul(self, weights: FloatArray) -> FloatArray:
        out = np.zeros((self.n_rows, weights.shape[1]))
        for b in self.blocks:
            if len(b.columns):
                scaled = weights[b.columns] * b.scale[:, None]
                part = b.outcomes @ (b.contrasts @ scaled)
                part -= b.centre @ scaled
                out[b.rows] = part if b.weight is None else part * b.weight[:, None]
        return out

    def _block_gram(self, b: FactorBlock, pick: NDArray[np.bool_]) -> FloatArray:
        gram_u, s, s0 = b.moments
        d, eta, c = b.contrasts[:, pick], b.centre[pick], b.scale[pick]
        cross = d.T @ s
        inner = d.T @ gram_u @ d - np.outer(cross, eta) - np.outer(eta, cross)
        out: FloatArray = (inner + s0 * np.outer(eta, eta)) * np.outer(c, c)
        return out

    def sum_of_squares(self) -> FloatArray:
        out = np.zeros(self.n_cols)
        for b in self.blocks:
            if len(b.columns):
                gram_u, s, s0 = b.moments
                d, eta = b.contrasts, b.centre
                quad = np.einsum("tk,tk->k", d, gram_u @ d) - 2.0 * eta * (s @ d) + s0 * eta**2
                out[b.columns] += quad * b.scale**2
        return out

    def gram(self, columns: IntArray) -> FloatArray:
        where = np.full(self.n_cols, -1)
        where[columns] = np.arange(len(columns))
        out = np.zeros((len(columns), len(columns)))
        for b in self.blocks:
            pos = where[b.columns]
            pick = pos >= 0
            if pick.any():
                out[np.ix_(pos[pick], pos[pick])] += self._block_gram(b, pick)
        return out

    def left(self, draws: FloatArray) -> FloatArray:
        out = np.zeros((draws.shape[0], self.n_cols))
        for b in self.blocks:
            if len(b.columns):
                v = draws[:, b.rows] * b._w()[None, :]
                part = (v @ b.outcomes) @ b.contrasts - v.sum(axis=1)[:, None] * b.centre
                out[:, b.columns] += part * b.scale
        return out

    def dense(self) -> FloatArray:
        out = np.zeros((self.n_rows, self.n_cols))
        for b in self.blocks:
            if len(b.columns):
                out[b.rows, b.columns] = b.values()
        return out


InfluenceMatrix = DenseInfluence | BlockInfluence | FactorInfluence
