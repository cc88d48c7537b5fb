"""Block and factored influence matrices agree with their dense form in every product."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.results.influence_matrix import (
    BlockInfluence,
    DenseInfluence,
    FactorBlock,
    FactorInfluence,
)

# the same sums in a different order
EXACT = 1e-10


def _factor(rng: np.random.Generator, weighted: bool) -> FactorInfluence:
    blocks, start, n_cols, n_periods = [], 0, 9, 5
    for size in (4, 7, 3):
        cols = np.sort(rng.choice(n_cols, size=rng.integers(1, n_cols), replace=False))
        contrasts = rng.normal(size=(n_periods, len(cols)))
        blocks.append(FactorBlock(
            start, cols.astype(np.int64), rng.normal(size=(size, n_periods)), contrasts,
            rng.normal(size=len(cols)), rng.normal(size=len(cols)),
            rng.uniform(0.5, 2.0, size) if weighted else None,
        ))  # fmt: skip
        start += size
    return FactorInfluence(start, n_cols, tuple(blocks))


def _block(rng: np.random.Generator) -> BlockInfluence:
    cols = (np.array([0, 2, 5]), np.array([1, 2, 3, 4, 5, 6]))
    values = (rng.normal(size=(3, 3)), rng.normal(size=(5, 6)))
    return BlockInfluence(8, 7, (0, 3), cols, values)


@pytest.mark.parametrize("kind", ["factor", "factor_weighted", "block"])
def test_products_match_dense(kind: str) -> None:
    rng = np.random.default_rng(3)
    inf = _block(rng) if kind == "block" else _factor(rng, kind == "factor_weighted")
    dense = inf.dense()
    ref = DenseInfluence(dense)
    w = rng.normal(size=(inf.shape[1], 4))
    np.testing.assert_allclose(inf.matmul(w), ref.matmul(w), atol=EXACT)
    np.testing.assert_allclose(inf.sum_of_squares(), (dense**2).sum(axis=0), atol=EXACT)
    cols = np.array([0, 2, 3, 5], dtype=np.int64)
    np.testing.assert_allclose(inf.gram(cols), dense[:, cols].T @ dense[:, cols], atol=EXACT)
    draws = rng.normal(size=(6, inf.shape[0]))
    np.testing.assert_allclose(inf.left(draws), draws @ dense, atol=EXACT)
