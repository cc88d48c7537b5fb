"""Demeaning kernel: every algorithm equals the dummy-variable projection (numpy lstsq)."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.errors import ConvergenceError
from didstudy.kernels.demean import demean, demean_method, is_balanced_two_way

#: Exact algorithms agree with lstsq up to rounding; MAP is run to 1e-12 relative change.
DEMEAN_ATOL = 1e-9


def _lsdv_resid(X: np.ndarray, codes: list[np.ndarray], w: np.ndarray | None) -> np.ndarray:
    D = np.column_stack([np.eye(int(c.max()) + 1)[c] for c in codes])
    sw = np.ones(len(X)) if w is None else np.sqrt(w)
    beta = np.linalg.lstsq(D * sw[:, None], X * sw[:, None], rcond=None)[0]
    return X - D @ beta


@pytest.mark.parametrize("n_fe", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("method", ["auto", "direct", "iterative"])
def test_demean_matches_dummy_projection(n_fe: int, weighted: bool, method: str) -> None:
    rng = np.random.default_rng(n_fe * 10 + weighted)
    n = 500
    sizes = [37, 11, 6][:n_fe]
    codes = [rng.integers(0, g, n) for g in sizes]
    X = rng.normal(size=(n, 4)) * [1.0, 10.0, 1e-3, 1e4]
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    got = demean(X, codes, w, method=method)  # type: ignore[arg-type]
    ref = _lsdv_resid(X, codes, w)
    scale = np.abs(X).max(axis=0)
    np.testing.assert_allclose(got / scale, ref / scale, atol=DEMEAN_ATOL)
    # accounting identity: residuals sum to zero within every level of every factor
    for c in codes:
        sums = np.bincount(c, weights=got[:, 1] * (1.0 if w is None else w))
        assert np.abs(sums).max() < 1e-8 * scale[1] * n


def test_balanced_closed_form_and_one_dimensional() -> None:
    rng = np.random.default_rng(5)
    G, T = 23, 7
    perm = rng.permutation(G * T)
    unit = np.repeat(np.arange(G), T)[perm]
    time = np.tile(np.arange(T), G)[perm]
    assert is_balanced_two_way([unit, time])
    assert demean_method([unit, time]) == "closed-form"
    x = rng.normal(size=G * T)
    got = demean(x, [unit, time])
    assert got.shape == x.shape
    np.testing.assert_allclose(got, _lsdv_resid(x[:, None], [unit, time], None)[:, 0], atol=1e-12)
    # closed form: x - xbar_i - xbar_t + xbar
    xi = np.bincount(unit, x) / T
    xt = np.bincount(time, x) / G
    np.testing.assert_allclose(got, x - xi[unit] - xt[time] + x.mean(), atol=1e-12)
    assert not is_balanced_two_way([unit[:-1], time[:-1]])


def test_many_columns_and_convergence_error() -> None:
    rng = np.random.default_rng(9)
    n = 400
    codes = [rng.integers(0, 50, n), rng.integers(0, 40, n)]
    X = rng.normal(size=(n, 300))
    np.testing.assert_allclose(
        demean(X, codes, method="iterative"), demean(X, codes, method="direct"), atol=1e-9
    )
    with pytest.raises(ConvergenceError):
        demean(X[:, :1], codes, method="iterative", maxiter=1, tol=1e-300)


@pytest.mark.parametrize("n_fe", [1, 2, 3])
def test_demean_in_place(n_fe: int) -> None:
    """``out=X`` overwrites X with the same result as a fresh array (closed form included)."""
    rng = np.random.default_rng(n_fe)
    G, T = 15, 6
    unit = np.repeat(np.arange(G), T)
    time = np.tile(np.arange(T), G)
    codes = [unit, time, (unit % 3) * T + time][:n_fe]
    X = np.asfortranarray(rng.normal(size=(G * T, 3)))
    expected = demean(X, codes)
    got = demean(X, codes, out=X)
    assert got is X
    np.testing.assert_allclose(X, expected, atol=1e-13)
