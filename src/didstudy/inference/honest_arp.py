"""Conditional and hybrid moment-inequality tests of Andrews, Roth & Pakes (2023) for HonestDiD.

Pure functions on arrays. The event-study coefficients ``β̂ = (β̂_pre, β̂_post)`` with covariance
``Σ`` satisfy ``E[β̂] = τ + δ`` with ``τ_pre = 0``; a restriction is a polyhedron
``Δ = {δ : A δ ≤ d}`` (Rambachan & Roth 2023, eq. 7). For a target ``θ = l'τ_post`` the
nuisance ``τ_post`` is re-parametrised by an invertible ``Γ`` with first row ``l'``, which turns
the null ``θ = θ0`` into the moment inequalities ``E[Y - a θ0 - X τ̃] ≤ 0`` with
``Y = A β̂ - d``, ``(a, X) = A_post Γ^{-1}`` (Rambachan & Roth, section 5.3).

The test statistic ``η̂ = min_{τ̃} max_i (Y_i - a_i θ0 - X_i τ̃) / σ_i`` is a linear programme
whose dual ``max {λ'y : λ ≥ 0, σ'λ = 1, X'λ = 0}`` is a maximum over the **vertices** of a
polytope that does not depend on the data: they are enumerated once, after which the statistic,
the optimal vertex ``γ``, and the conditioning interval ``[v_lo, v_up]`` (the range of ``γ'y``
over which ``γ`` stays optimal, ARP section 5.2 / appendix D) are matrix products over a whole
grid of ``θ0`` at once. The conditional test compares ``η̂/σ_γ`` with a truncated-normal
critical value; the hybrid first rejects when ``η̂`` exceeds the least-favourable critical
value at level ``κ`` (ARP section 6.2) and then tests conditionally at ``(α − κ)/(1 − κ)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np
import numpy.typing as npt
from scipy import special

from didstudy.errors import EstimationError

__all__ = [
    "Polyhedron",
    "arp_accept",
    "dual_vertices",
    "least_favorable_cv",
    "relative_magnitudes_polyhedra",
    "smoothness_rm_polyhedra",
    "target_basis",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Largest number of candidate bases enumerated (C(rows, nuisance + 1)).
MAX_BASES = 300_000
#: A basis whose determinant is below this share of the product of its row norms is singular.
SINGULAR_TOL = 1e-10
#: Dual weights above ``-VERTEX_TOL`` count as non-negative.
VERTEX_TOL = 1e-10
#: ``|1 - v'c|`` below this counts as zero in the conditioning interval.
DEN_TOL = 1e-10


@dataclass(frozen=True)
class Polyhedron:
    """One restriction set ``{δ : A δ ≤ d}`` over ``(pre, post)`` coefficients."""

    A: FloatArray
    d: FloatArray


def _differences(total: int, order: int) -> FloatArray:
    """Rows of first (order 1) or second (order 2) differences over ``total + 1`` positions."""
    rows = total - order + 1
    out = np.zeros((rows, total + 1))
    stencil = [-1.0, 1.0] if order == 1 else [1.0, -2.0, 1.0]
    for r in range(rows):
        out[r, r : r + len(stencil)] = stencil
    return out


def _bounded_by(
    diffs: FloatArray, n_pre_rows: int, ref_row: int, mbar: float, positive: bool, num_pre: int
) -> Polyhedron:
    """``|diff_t| ≤ (1 or M̄) · sign · diff_s``: pre rows bounded by 1, post rows by ``M̄``."""
    v = diffs[ref_row] * (1.0 if positive else -1.0)
    scale = np.r_[np.ones(n_pre_rows), np.full(diffs.shape[0] - n_pre_rows, mbar)]
    upper = scale[:, np.newaxis] * v[np.newaxis, :]
    A = np.vstack([diffs - upper, -diffs - upper])
    A = A[np.sum(A**2, axis=1) > 1e-10]
    A = np.delete(A, num_pre, axis=1)  # the reference period is normalised to zero
    return Polyhedron(A, np.zeros(A.shape[0]))


def relative_magnitudes_polyhedra(num_pre: int, num_post: int, mbar: float) -> list[Polyhedron]:
    """Δ^RM(M̄) as the union of ``2 · num_pre`` polyhedra (Rambachan & Roth 2023, eq. 8).

    Post-period first differences of δ are at most ``M̄`` times the largest pre-period first
    difference; each polyhedron fixes which pre-period difference ``s`` is the largest and its
    sign.
    """
    diffs = _differences(num_pre + num_post, 1)
    return [
        _bounded_by(diffs, num_pre, num_pre + s - 1, mbar, positive, num_pre)
        for s in range(-(num_pre - 1), 1)
        for positive in (True, False)
    ]


def smoothness_rm_polyhedra(num_pre: int, num_post: int, mbar: float) -> list[Polyhedron]:
    """Δ^SDRM(M̄): post second differences at most ``M̄`` x the largest pre second difference.

    The combined restriction of Rambachan & Roth (2023, section 2.4.3); needs two pre-periods.
    """
    if num_pre < 2:
        raise EstimationError("the combined restriction needs at least two pre-periods")
    diffs = _differences(num_pre + num_post, 2)
    return [
        _bounded_by(diffs, num_pre - 1, num_pre + s - 2, mbar, positive, num_pre)
        for s in range(-(num_pre - 2), 1)
        for positive in (True, False)
    ]


def target_basis(l_vec: FloatArray) -> FloatArray:
    """An invertible ``Γ`` whose first row is ``l'`` (the other rows are unit vectors).

    The unit vector of the last non-zero entry of ``l`` is left out; any such ``Γ`` gives the
    same test because the statistic minimises over the nuisance.
    """
    nz = np.flatnonzero(np.abs(l_vec) > 0)
    if nz.size == 0:
        raise EstimationError("l_vec must have a non-zero entry")
    drop = int(nz[-1])
    eye = np.eye(l_vec.size)
    rows = [l_vec] + [eye[j] for j in range(l_vec.size) if j != drop]
    return np.vstack(rows)


def dual_vertices(W: FloatArray) -> FloatArray:
    """Vertices of ``{λ ≥ 0 : W'λ = e_1}`` (rows), ``W = [σ, X]`` with ``σ > 0``.

    They are the extreme rays of the cone ``{λ ≥ 0 : X'λ = 0}`` scaled to ``σ'λ = 1``; the rays
    depend on the nuisance columns ``X`` only, which are the same for every polyhedron of a
    restriction and every ``M̄`` (the bounds enter the pre-period columns), so they are
    enumerated once and cached.

    Parameters
    ----------
    W
        ``m x (p + 1)``: the moments' standard deviations, then the nuisance columns.

    Returns
    -------
    numpy.ndarray
        ``n_vertices x m`` (possibly zero rows when the statistic is unbounded below).
    """
    X = np.ascontiguousarray(W[:, 1:])
    rays = _extreme_rays(X.tobytes(), X.shape)
    scale = rays @ W[:, 0]
    out: FloatArray = rays / scale[:, np.newaxis]
    return out


@functools.lru_cache(maxsize=32)
def _extreme_rays(buffer: bytes, shape: tuple[int, int]) -> FloatArray:
    """Extreme rays of ``{λ ≥ 0 : X'λ = 0}``: null vectors of ``p + 1``-row subsets of ``X``."""
    X = np.frombuffer(buffer, dtype=np.float64).reshape(shape)
    m, p = shape
    if p == 0:
        return np.eye(m)
    q = p + 1
    if comb(m, q) > MAX_BASES:
        raise EstimationError(
            f"{comb(m, q)} candidate vertices: too many post-periods for the exact ARP test",
            fix="use fewer post-periods (a narrower window) or method='smoothness'",
        )
    subsets = np.array(list(combinations(range(m), q)), dtype=np.intp).reshape(-1, q)
    if subsets.size == 0:
        return np.zeros((0, m))
    blocks = np.transpose(X[subsets], (0, 2, 1))  # n x p x q
    _, sv, vt = np.linalg.svd(blocks, full_matrices=True)
    top = np.maximum(sv[:, 0], 1e-300)
    full_rank = sv[:, -1] > SINGULAR_TOL * top
    null = vt[:, -1, :]  # n x q
    null = null * np.where(null.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
    ok = full_rank & np.all(null >= -VERTEX_TOL * np.abs(null).max(axis=1, keepdims=True), axis=1)
    rays = np.zeros((int(ok.sum()), m))
    rows = np.arange(rays.shape[0])[:, np.newaxis]
    rays[rows, subsets[ok]] = np.maximum(null[ok], 0.0)
    rays /= np.maximum(rays.sum(axis=1, keepdims=True), 1e-300)
    out: FloatArray = np.unique(np.round(rays, 12), axis=0)
    return out


def least_favorable_cv(
    V: FloatArray, sigma_y: FloatArray, kappa: float, sims: int, seed: int
) -> float:
    """``1 − κ`` quantile of ``η̂`` at the least favourable null ``E[Y] = 0`` (ARP §6.2).

    ``η̂(ξ) = max_v v'ξ`` over ``ξ ~ N(0, Σ_Y)`` drawn from ``default_rng(seed)``.
    """
    if V.shape[0] == 0:
        return float("inf")
    rng = np.random.default_rng(seed)
    xi = rng.multivariate_normal(np.zeros(sigma_y.shape[0]), sigma_y, size=sims, method="eigh")
    eta = np.max(xi @ V.T, axis=1)
    return float(np.quantile(eta, 1.0 - kappa))


def arp_accept(
    V: FloatArray,
    Y: FloatArray,
    a: FloatArray,
    sigma_y: FloatArray,
    thetas: FloatArray,
    alpha: float,
    lf_cv: float | None = None,
    kappa: float = 0.0,
) -> BoolArray:
    """Which null values ``θ0`` the conditional (``lf_cv=None``) or hybrid test accepts.

    Parameters
    ----------
    V
        Dual vertices (:func:`dual_vertices`) of the moments.
    Y, a
        Moments ``Y - a θ0`` (length ``m``).
    sigma_y
        Covariance of ``Y`` (``m x m``).
    thetas
        Null values (any length).
    alpha
        Size.
    lf_cv, kappa
        Least-favourable critical value and first-stage size of the hybrid test.

    Returns
    -------
    numpy.ndarray
        Boolean, True where the test does not reject.
    """
    if V.shape[0] == 0:
        return np.ones(thetas.shape, dtype=bool)
    ys = Y[np.newaxis, :] - thetas[:, np.newaxis] * a[np.newaxis, :]  # G x m
    vals = ys @ V.T  # G x nv
    best = np.argmax(vals, axis=1)
    eta = vals[np.arange(thetas.size), best]
    gamma = V[best]  # G x m
    s_gamma = gamma @ sigma_y
    var_b = np.einsum("gm,gm->g", s_gamma, gamma)
    tiny = var_b <= np.finfo(float).eps
    safe = np.where(tiny, 1.0, var_b)
    c = s_gamma / safe[:, np.newaxis]
    S = ys - c * eta[:, np.newaxis]
    den = 1.0 - c @ V.T
    num = S @ V.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    vlo = np.max(np.where(den > DEN_TOL, ratio, -np.inf), axis=1)
    vup = np.min(np.where(den < -DEN_TOL, ratio, np.inf), axis=1)
    size = alpha
    first_stage = np.zeros(thetas.shape, dtype=bool)
    if lf_cv is not None:
        first_stage = eta > lf_cv
        vup = np.minimum(vup, lf_cv)
        size = (alpha - kappa) / (1.0 - kappa)
    sd = np.sqrt(safe)
    z, zlo, zup = eta / sd, vlo / sd, vup / sd
    inside = (zlo <= z) & (z <= zup) & (zlo < zup)
    cval = np.full(thetas.shape, np.inf)
    if inside.any():
        cval[inside] = np.maximum(0.0, _truncnorm_ppf(1.0 - size, zlo[inside], zup[inside]))
    reject = first_stage | (inside & (z > cval))
    reject = np.where(tiny, first_stage | (eta > 0), reject)
    accepted: BoolArray = ~reject
    return accepted


def _truncnorm_ppf(p: float, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Quantile of N(0, 1) truncated to ``[lo, hi]``: ``Φ⁻¹(Φ(lo) + p (Φ(hi) − Φ(lo)))``,
    computed in the lower tail (by symmetry when ``lo > 0``) where ``Φ`` keeps its precision."""
    flip = lo > 0
    a = np.where(flip, -hi, lo)
    b = np.where(flip, -lo, hi)
    q = np.where(flip, 1.0 - p, p)
    fa, fb = special.ndtr(a), special.ndtr(b)
    inner = fa + q * (fb - fa)
    out = np.where(fb > fa, special.ndtri(np.clip(inner, 1e-300, 1.0)), a)
    out = np.clip(out, a, b)
    result: FloatArray = np.where(flip, -out, out)
    return result
