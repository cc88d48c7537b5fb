"""Nearest-neighbour matching and logit kernels: oracle, alternative algorithm, properties."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.errors import ConvergenceError, EstimationError
from didstudy.estimation.logit import fit_logit
from didstudy.estimation.matching import (
    caliper_width,
    common_support,
    match_weights,
    nearest_neighbor,
)

# Newton iterations stop at 1e-11 relative steps; statsmodels stops at its own tolerance,
# so the two maximisers agree to about 1e-10 on a well-conditioned problem.
LOGIT_TOL = 1e-8


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logit_equals_statsmodels(seed: int, weighted: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3)), rng.uniform(size=n)])
    beta = np.array([-0.5, 0.8, -0.3, 0.2, 1.0])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
    if weighted:
        w = rng.integers(1, 4, size=n).astype(float)
        fit = fit_logit(X, y, w)
        ref = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14)
        ref_params, ref_cov = ref.params, ref.cov_params()
    else:
        fit = fit_logit(X, y)
        ref = sm.Logit(y, X).fit(disp=0, tol=1e-14, maxiter=100)
        ref_params, ref_cov = ref.params, ref.cov_params()
        assert fit.loglik == pytest.approx(ref.llf, abs=LOGIT_TOL)
    np.testing.assert_allclose(fit.coef, ref_params, rtol=0, atol=LOGIT_TOL)
    np.testing.assert_allclose(fit.vcov, ref_cov, rtol=1e-7, atol=0)
    # the score is zero at the maximum (first-order condition, an identity)
    score = X.T @ ((w if weighted else 1.0) * (y - fit.fitted))
    assert np.max(np.abs(score)) < 1e-8


def test_logit_rejects_separation_and_collinearity() -> None:
    x = np.linspace(-1, 1, 50)
    X = np.column_stack([np.ones(50), x])
    with pytest.raises(ConvergenceError):
        fit_logit(X, (x > 0).astype(float))
    with pytest.raises(EstimationError, match="collinear"):
        fit_logit(np.column_stack([X, 2 * x]), (np.arange(50) % 2).astype(float))
    with pytest.raises(EstimationError, match="constant"):
        fit_logit(X, np.zeros(50))


def _matchit_port(d: np.ndarray, treat: np.ndarray, ratio: int, width: float | None) -> np.ndarray:
    """Independent port of MatchIt's nn_matchC_vec: walk left/right on the sorted distances."""
    order = np.argsort(d, kind="stable")
    ds, ts = d[order], treat[order]
    n = d.size
    can = ~ts
    treated = np.flatnonzero(treat)
    mm = np.full((treated.size, ratio), -1)
    tr_order = treated[np.argsort(-d[treated], kind="stable")]
    pos_of = {int(order[i]): i for i in range(n)}
    for r in range(ratio):
        for t in tr_order:
            ii = pos_of[int(t)]
            found = []
            for step in (-1, 1):
                k = ii + step
                while 0 <= k < n:
                    if can[k]:
                        if width is not None and abs(ds[ii] - ds[k]) > width:
                            break
                        found.append(k)
                        break
                    k += step
            if not found:
                continue
            k = min(found, key=lambda j: (abs(ds[j] - ds[ii]), j))
            mm[np.searchsorted(treated, t), r] = order[k]
            can[k] = False
    return mm


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n1=st.integers(1, 15),
    n0=st.integers(1, 40),
    ratio=st.integers(1, 3),
    cal=st.sampled_from([None, 0.05, 0.3]),
)
def test_greedy_matching_equals_left_right_walk(
    seed: int, n1: int, n0: int, ratio: int, cal: float | None
) -> None:
    rng = np.random.default_rng(seed)
    d = rng.uniform(size=n1 + n0)
    treat = np.zeros(n1 + n0, dtype=bool)
    treat[rng.choice(n1 + n0, n1, replace=False)] = True
    m = nearest_neighbor(d, treat, ratio=ratio, caliper=cal)
    width = None if cal is None else caliper_width(d, cal)
    np.testing.assert_array_equal(m.matches, _matchit_port(d, treat, ratio, width))
    used = m.matches[m.matches >= 0]
    assert np.unique(used).size == used.size  # without replacement: each control once
    assert not treat[used].any()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ratio=st.integers(1, 4), cal=st.sampled_from([None, 0.2]))
def test_matching_with_replacement_takes_k_nearest(
    seed: int, ratio: int, cal: float | None
) -> None:
    rng = np.random.default_rng(seed)
    d = rng.uniform(size=30)
    treat = rng.uniform(size=30) < 0.3
    if treat.all() or not treat.any():
        return
    m = nearest_neighbor(d, treat, ratio=ratio, replace=True, caliper=cal)
    width = np.inf if cal is None else caliper_width(d, cal)
    controls = np.flatnonzero(~treat)
    for row, t in enumerate(m.treated):
        gaps = np.abs(d[controls] - d[t])
        brute = controls[np.argsort(gaps, kind="stable")]
        brute = brute[np.abs(d[brute] - d[t]) <= width][:ratio]
        got = m.matches[row][m.matches[row] >= 0]
        np.testing.assert_array_equal(
            np.sort(np.abs(d[got] - d[t])), np.sort(np.abs(d[brute] - d[t]))
        )


def test_common_support_and_weights() -> None:
    d = np.array([0.05, 0.2, 0.3, 0.5, 0.9, 0.1, 0.25, 0.6, 0.7])
    treat = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    np.testing.assert_array_equal(common_support(d, treat, "treated"), [1, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(common_support(d, treat, "control"), np.zeros(9, dtype=bool))
    m = nearest_neighbor(d, treat, ratio=2, replace=True, discard="treated")
    assert (m.matches[[0, 4]] == -1).all()
    fw = match_weights(m, d.size, kind="frequency")
    # every pair contributes one control appearance; matched treated count once
    assert fw[~treat].sum() == (m.matches >= 0).sum()
    assert fw[treat].sum() == m.matched_treated.sum()
    att = match_weights(m, d.size, kind="att")
    assert att[~treat].sum() == pytest.approx((att[~treat] > 0).sum())
