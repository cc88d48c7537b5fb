"""The resampling engine: seeded draws and the chunked executor."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.errors import ValidationError
from didstudy.kernels.resample import (
    RNG_BLOCK,
    DrawGenerator,
    SerialExecutor,
    ThreadExecutor,
    run_chunks,
)

#: SIMULATED moments of 400,000 weights: the standard error of a mean of unit-variance draws is
#: 1/sqrt(4e5) = 0.0016; five of them.
MOMENT_TOL = 0.008


def _block_sums(shared: np.ndarray, span: tuple[int, int]) -> float:
    return float(shared[span[0] : span[1]].sum())


def test_chunks_come_back_in_order_whatever_the_executor() -> None:
    values = np.arange(1_000.0)
    serial = run_chunks(_block_sums, values, 1_000, 64)
    threaded = run_chunks(_block_sums, values, 1_000, 64, executor=ThreadExecutor(2))
    assert serial == threaded and len(serial) == 16
    assert sum(serial) == values.sum()
    seen: list[tuple[int, int]] = []
    run_chunks(_block_sums, values, 100, 30, executor=SerialExecutor(),
               progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert seen == [(30, 100), (60, 100), (90, 100), (100, 100)]


def test_permutations_are_the_generator_stream() -> None:
    label = np.array([True] * 3 + [False] * 7)
    rng = np.random.default_rng(5)
    legacy = np.stack([rng.permutation(label) for _ in range(20)], axis=1)
    drawn = DrawGenerator(5).permutations(label, 20)
    assert np.array_equal(drawn, legacy)
    assert (drawn.sum(axis=0) == 3).all()


def test_subsets_do_not_depend_on_the_number_of_draws() -> None:
    a = DrawGenerator(3).subsets(RNG_BLOCK, 50, 7)
    b = DrawGenerator(3).subsets(10, 50, 7)
    assert np.array_equal(a[:10], b)
    assert all(len(set(row)) == 7 for row in a.tolist())


@pytest.mark.parametrize("kind", ["rademacher", "mammen", "webb", "normal"])
def test_bootstrap_weights_have_mean_zero_and_variance_one(kind: str) -> None:
    w = DrawGenerator(11).weights(kind, 2_000, 200)  # type: ignore[arg-type]
    assert w.shape == (2_000, 200)
    assert abs(w.mean()) < MOMENT_TOL and abs(w.var() - 1.0) < 5 * MOMENT_TOL
    support = {"rademacher": 2, "mammen": 2, "webb": 6}.get(kind)
    if support is not None:
        assert np.unique(w).size == support
    with pytest.raises(ValidationError):
        DrawGenerator(1).weights("uniform", 2, 2)  # type: ignore[arg-type]


def test_the_seed_used_reproduces_the_draws() -> None:
    fresh = DrawGenerator(None)
    again = DrawGenerator(fresh.seed_used)
    assert np.array_equal(fresh.subsets(8, 30, 4), again.subsets(8, 30, 4))
    assert DrawGenerator(7).seed_used == 7
    assert DrawGenerator(None).seed_used != DrawGenerator(None).seed_used
