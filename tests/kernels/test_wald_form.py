"""``wald_form``: the Cholesky fast path and the eigen path agree with the thresholded
pseudo-inverse ``b' V⁺ b`` and its rank, on full-rank, ill-conditioned and singular covariances."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.kernels.vcov import WALD_RANK_TOL, _full_rank_wald, wald_form

#: relative agreement of two ways of computing one quadratic form (round-off of O(q) products
#: on covariances with condition numbers up to 1e8)
REL_TOL = 1e-7


def _reference(b: np.ndarray, v: np.ndarray) -> tuple[float, int]:
    eigval, eigvec = np.linalg.eigh(0.5 * (v + v.T))
    keep = eigval > WALD_RANK_TOL * max(float(eigval.max()), 0.0)
    proj = eigvec[:, keep].T @ b
    return float(np.sum(proj**2 / eigval[keep])), int(keep.sum())


@settings(max_examples=200, deadline=None)
@given(
    q=st.integers(1, 40),
    deficit=st.integers(0, 5),
    log_cond=st.floats(0.0, 8.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_wald_form_equals_the_thresholded_pseudo_inverse(
    q: int, deficit: int, log_cond: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    rank = max(q - deficit, 1)
    basis, _ = np.linalg.qr(rng.normal(size=(q, q)))
    scales = np.zeros(q)
    scales[:rank] = np.logspace(0.0, -log_cond, rank)
    v = (basis * scales) @ basis.T
    b = rng.normal(size=q)
    stat, df = wald_form(b, v)
    want, want_df = _reference(b, v)
    assert df == want_df == rank
    assert stat >= 0.0
    assert abs(stat - want) <= REL_TOL * max(want, 1.0)


def test_fast_path_only_when_full_rank_is_proven() -> None:
    v = np.diag([1.0, 1e-12])  # below the rank rule: the eigen path decides
    assert _full_rank_wald(np.ones(2), v) is None
    assert wald_form(np.ones(2), v) == (1.0, 1)
    assert _full_rank_wald(np.ones(2), np.diag([1.0, 4.0])) == (1.25, 2)
    assert _full_rank_wald(np.ones(2), np.array([[1.0, np.nan], [np.nan, 1.0]])) is None
