"""Wild cluster bootstrap algebra for estimators that are linear in the outcome (decision 0054).

The imputation estimator (Borusyak, Jaravel & Spiess 2024) and the two-stage estimator
(Gardner 2021) are not one least-squares fit, but both report ``theta(y) = z'y`` with ``z`` the
estimator's implicit weights, and both compute their cluster-robust standard error from cluster
scores ``s(y) = L y`` that are linear in ``y`` too (the BJS conservative scores with fixed
averaging weights; Gardner's GMM scores). A draw of the wild bootstrap

    y* = y~ + v_g ∘ u~,        u~(δ) = u^ + κ(δ) z,   κ(δ) = (δ - z'u^) / z'z,   δ = θ^ - r,

(``u^`` the estimator's residuals, ``y~ = y - u~``: the fit with the null imposed, since
``θ(y~) = r``) therefore has ``θ* - r = Σ_g v_g a_g(δ)`` and scores ``s* = P_0 + δ P_1`` with
``P = p + M v``: ``M`` is the ``H x G`` matrix of the scores of the columns ``u^ ∘ 1_g`` (and
``z ∘ 1_g``). After one pass that applies the estimator's linear map to these ``2G`` columns
(one structured sparse pass when the estimator provides ``maps``, else in chunks), a draw
costs ``O(G·r)`` when ``M`` splits into its own-cluster diagonal and a rank-``r`` part (period
effects, controls, averaging groups; found and checked numerically), else ``O(G·H)``, and the
statistic is ``t*(δ) = (n_0 + δ n_1) / sqrt(A + 2δB + δ²C)``, the same form as the "fast and
wild" regression kernel (Roodman, MacKinnon, Nielsen & Webb 2019, eq. 16), so the test inversion
is shared. With ``u^`` the
least-squares residuals of a regression, ``z'u^ = 0`` and this is exactly that kernel's WCR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from didstudy.inference.wild_kernel import CHUNK_DOUBLES, BootstrapDraws
from didstudy.kernels.resample import WeightKind, bootstrap_weights

__all__ = ["LinearEstimator", "linear_draws"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
#: Maps an ``n x m`` block of outcomes to the ``H x m`` cluster scores of the estimate.
ScoreMap = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, eq=False)
class LinearEstimator:
    """A scalar estimate ``z'y`` whose squared standard error is ``‖L y‖²``.

    Attributes
    ----------
    y
        Outcome on the estimator's rows.
    z
        Implicit weights: ``theta(y) = z'y``.
    resid
        The estimator's residuals ``u^`` (the bootstrap DGP's errors).
    scores
        ``Y (n x m) -> L Y (H x m)``: the cluster scores of the standard error, linear in ``Y``.
    maps
        Optional ``(u, boot, G) -> L [u ∘ 1_g]_g`` (``H x G``) computed without the dense
        ``n x G`` block (the estimator's structure); None applies :attr:`scores` to blocks.
    """

    y: FloatArray
    z: FloatArray
    resid: FloatArray
    scores: ScoreMap
    maps: Callable[[FloatArray, IntArray, int], FloatArray] | None = None


def _cluster_maps(est: LinearEstimator, u: FloatArray, boot: IntArray, n_boot: int) -> FloatArray:
    """``L (u ∘ 1_g)`` for every bootstrap cluster ``g`` (``H x G``), in chunks of columns."""
    if est.maps is not None:
        return est.maps(u, boot, n_boot)
    n = u.size
    step = max(1, CHUNK_DOUBLES // (4 * max(n, 1)))
    blocks = []
    for start in range(0, n_boot, step):
        stop = min(start + step, n_boot)
        rows = np.flatnonzero((boot >= start) & (boot < stop))
        block = np.zeros((n, stop - start))
        block[rows, boot[rows] - start] = u[rows]
        blocks.append(est.scores(block))
    return np.hstack(blocks)


#: Fewest clusters for which a score map is factored as own-cluster diagonal + low rank.
SPLIT_MIN_CLUSTERS = 60
#: Singular values below this fraction of the largest count as zero (rounding of the maps).
RANK_RTOL = 1e-10
#: The factored map must reproduce the dense one to this relative Frobenius error.
FACTOR_RTOL = 1e-11


@dataclass(frozen=True)
class _Map:
    """An ``H x G`` score map applied to draws ``V`` (``m x G``) as ``V M'``: densely, or as
    ``V ∘ d + (V B) Q'`` when ``M = diag(d) + Q B'`` (the own cluster's part plus the low-rank
    part through the period effects, controls and averaging groups)."""

    M: FloatArray | None
    d: FloatArray | None = None
    Q: FloatArray | None = None
    B: FloatArray | None = None

    def times(self, V: FloatArray) -> FloatArray:
        if self.M is not None:
            out: FloatArray = V @ self.M.T
            return out
        assert self.d is not None and self.Q is not None and self.B is not None
        low: FloatArray = V * self.d[np.newaxis, :] + (V @ self.B) @ self.Q.T
        return low


def _split(M: FloatArray) -> _Map:
    """``M = diag(d) + Q B'`` from three disjoint thirds of the clusters, when exact.

    Off-diagonal blocks carry no own-cluster part: ``M[S1, S2] = Q1 B2'`` gives ``Q1`` and
    ``B2`` (SVD), then ``Q3 = M[S3, S2] B2``, ``B1' = Q3⁺ M[S3, S1]``, ``B3' = Q1⁺ M[S1, S3]``,
    ``Q2 = M[S2, S1] (B1')⁺``; ``d`` is what the diagonal has beyond ``Q B'``. Kept only if it
    reproduces ``M`` to :data:`FACTOR_RTOL`; otherwise the map stays dense.
    """
    H, G = M.shape
    if H != G or G < SPLIT_MIN_CLUSTERS:
        return _Map(M)
    S = [np.arange(k, G, 3) for k in range(3)]
    U, sv, Wt = np.linalg.svd(M[np.ix_(S[0], S[1])], full_matrices=False)
    rank = int(np.sum(sv > RANK_RTOL * sv[0])) if sv.size and sv[0] > 0 else 0
    if rank >= min(s.size for s in S) // 2:
        return _Map(M)
    Q, B = np.zeros((G, rank)), np.zeros((G, rank))
    Q[S[0]] = U[:, :rank] * sv[:rank]
    B[S[1]] = Wt[:rank].T
    Q[S[2]] = M[np.ix_(S[2], S[1])] @ B[S[1]]
    B[S[0]] = (np.linalg.pinv(Q[S[2]]) @ M[np.ix_(S[2], S[0])]).T
    B[S[2]] = (np.linalg.pinv(Q[S[0]]) @ M[np.ix_(S[0], S[2])]).T
    Q[S[1]] = M[np.ix_(S[1], S[0])] @ np.linalg.pinv(B[S[0]].T)
    d = np.diag(M) - np.einsum("gr,gr->g", Q, B)
    error = float(np.linalg.norm(M - Q @ B.T - np.diag(d)))
    if not error <= FACTOR_RTOL * max(float(np.linalg.norm(M)), 1e-300):
        return _Map(M)
    return _Map(None, d, np.ascontiguousarray(Q), np.ascontiguousarray(B))


@dataclass(frozen=True)
class _Affine:
    """Numerator ``(a0 + δ a1)'v`` and scores ``(p0 + M0 v) + δ (p1 + M1 v)``."""

    a0: FloatArray
    a1: FloatArray
    p0: FloatArray
    p1: FloatArray
    M0: _Map
    M1: _Map | None


def _affine(est: LinearEstimator, boot: IntArray, n_boot: int, restricted: bool) -> _Affine:
    z, u = est.z, est.resid
    fitted = est.y - u
    a_u = np.bincount(boot, weights=z * u, minlength=n_boot).astype(np.float64)
    p_fit = est.scores(fitted[:, np.newaxis])[:, 0]
    M_u = _cluster_maps(est, u, boot, n_boot)
    if not restricted:
        zero_h, zero_g = np.zeros_like(p_fit), np.zeros(n_boot)
        return _Affine(a_u, zero_g, p_fit, zero_h, _split(M_u), None)
    zz = float(z @ z)
    k0, k1 = -float(z @ u) / zz, 1.0 / zz
    a_z = np.bincount(boot, weights=z * z, minlength=n_boot).astype(np.float64)
    p_z = est.scores(z[:, np.newaxis])[:, 0]
    M_z = _cluster_maps(est, z, boot, n_boot)
    return _Affine(
        a0=a_u + k0 * a_z,
        a1=k1 * a_z,
        p0=p_fit - k0 * p_z,
        p1=-k1 * p_z,
        M0=_split(M_u + k0 * M_z),
        M1=_split(k1 * M_z),
    )


def linear_draws(
    est: LinearEstimator,
    boot: IntArray,
    draws: FloatArray | None,
    *,
    restricted: bool,
    rng: np.random.Generator | None = None,
    reps: int = 0,
    kind: WeightKind = "rademacher",
) -> BootstrapDraws:
    """Bootstrap t statistics of ``z'y`` for every draw, as functions of the null.

    Parameters
    ----------
    est
        The estimator's linear maps (:class:`LinearEstimator`).
    boot
        Bootstrap cluster codes ``0..G-1`` of the rows.
    draws
        ``reps x G`` weights (e.g. all sign vectors), or None to draw ``reps`` of ``kind``.
    restricted
        WCR (null imposed through ``u~(δ)``) or WCU (``y* = y - u^ + v ∘ u^``, centred at
        ``theta(y - u^)``).
    rng, reps, kind
        Generator, number and kind of random draws when ``draws`` is None.

    Returns
    -------
    BootstrapDraws
        Per-draw coefficients of ``t*(δ)`` with the observed estimate and standard error.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(6); z = np.full(6, 1 / 6); boot = np.repeat(np.arange(3), 2)
    >>> C = np.eye(3)[boot].T
    >>> est = LinearEstimator(y, z, y - y.mean(), lambda Y: C @ (z[:, None] * (Y - Y.mean(0))))
    >>> linear_draws(est, boot, None, restricted=True, rng=rng, reps=4).n0.shape
    (4,)
    """
    n_boot = int(boot.max()) + 1
    aff = _affine(est, boot, n_boot, restricted)
    s_obs = est.scores(est.y[:, np.newaxis])[:, 0]
    total = draws.shape[0] if draws is not None else reps
    step = max(1, CHUNK_DOUBLES // max(n_boot, s_obs.size))
    out = {name: np.zeros(total) for name in ("n0", "n1", "A", "B", "C")}
    for start in range(0, total, step):
        stop = min(start + step, total)
        if draws is not None:
            V = np.ascontiguousarray(draws[start:stop])
        else:
            assert rng is not None
            V = bootstrap_weights(rng, n_boot, stop - start, kind)
        _chunk(aff, V, out, slice(start, stop))
    return BootstrapDraws(
        estimate=float(est.z @ est.y),
        se=float(np.sqrt(s_obs @ s_obs)),
        n0=out["n0"],
        n1=out["n1"],
        A=out["A"],
        B=out["B"],
        C=out["C"],
        restricted=restricted,
    )


def _chunk(aff: _Affine, V: FloatArray, out: dict[str, Any], where: slice) -> None:
    out["n0"][where] = V @ aff.a0
    out["n1"][where] = V @ aff.a1
    s0 = aff.p0[np.newaxis, :] + aff.M0.times(V)
    out["A"][where] = np.einsum("mh,mh->m", s0, s0)
    if aff.M1 is None:  # WCU: no δ part
        return
    s1 = aff.p1[np.newaxis, :] + aff.M1.times(V)
    out["B"][where] = np.einsum("mh,mh->m", s0, s1)
    out["C"][where] = np.einsum("mh,mh->m", s1, s1)
