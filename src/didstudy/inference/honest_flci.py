"""Optimal fixed-length confidence interval (FLCI) under smoothness restrictions Δ^SD(M).

Rambachan & Roth (2023, section 4.1), after Armstrong & Kolesár (2018): among affine
estimators ``θ̂ = l_pre'β̂_pre + l'β̂_post`` the FLCI minimises the half-length
``χ = σ(w) · cv_α(M · b(w) / σ(w))``, where ``cv_α(t)`` is the ``1 − α`` quantile of ``|N(t, 1)|``,
``σ(w)`` the standard deviation of the estimator and ``M · b(w)`` its worst-case bias over
Δ^SD(M). With ``w = cumsum(l_pre)`` the bias is finite only if ``Σ w = Σ_s s · l_s`` (the
estimator removes a linear trend) and is then ``M (c_l + Σ_i |Σ_{j ≤ i} w_j|)`` with
``c_l = Σ_{s=1}^{T̄} |Σ_{r=1}^{s} r · l_{T̄−s+r}| − Σ_s s · l_s`` (the HonestDiD formulation).
The problem is convex; it is solved by SLSQP over ``(w, U)`` with ``|cumsum(w)| ≤ U``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

__all__ = ["FlciResult", "folded_normal_quantile", "optimal_flci"]

FloatArray = npt.NDArray[np.float64]

#: SLSQP tolerance on the half-length (relative units of the problem, far below reporting).
SLSQP_TOL = 1e-12


@dataclass(frozen=True)
class FlciResult:
    """The optimal FLCI: centre, half-length and the estimator's pre-period weights."""

    low: float
    high: float
    estimate: float
    half_length: float
    pre_weights: FloatArray
    std_error: float
    max_bias: float


def folded_normal_quantile(t: float, alpha: float) -> float:
    """``c`` with ``P(|N(t, 1)| ≤ c) = 1 − α`` (the FLCI critical value ``cv_α(t)``).

    Examples
    --------
    >>> round(folded_normal_quantile(0.0, 0.05), 6)
    1.959964
    """
    t = abs(t)

    def gap(c: float) -> float:
        return float(stats.norm.cdf(c - t) - stats.norm.cdf(-c - t) - (1.0 - alpha))

    hi = t + float(stats.norm.ppf(1.0 - alpha / 2.0)) + 1.0
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-14))


def _pieces(
    sigma: FloatArray, num_pre: int, l_vec: FloatArray
) -> tuple[FloatArray, FloatArray, float, FloatArray]:
    """(Σ_pre, Σ_pre,post l, l'Σ_post l, W→l map) for the variance of the estimator."""
    pre, post = slice(0, num_pre), slice(num_pre, sigma.shape[0])
    to_l = np.eye(num_pre) - np.eye(num_pre, k=-1)
    return sigma[pre, pre], sigma[pre, post] @ l_vec, float(l_vec @ sigma[post, post] @ l_vec), to_l


def optimal_flci(
    betahat: FloatArray,
    sigma: FloatArray,
    num_pre: int,
    l_vec: FloatArray,
    m: float,
    alpha: float = 0.05,
) -> FlciResult:
    """Optimal FLCI for ``θ = l'τ_post`` under Δ^SD(M).

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients (pre-periods, reference excluded, then post-periods) and
        their covariance.
    num_pre
        Number of pre-period coefficients.
    l_vec
        Weights of the post-period coefficients.
    m
        Smoothness bound ``M ≥ 0``.
    alpha
        1 − coverage.

    Returns
    -------
    FlciResult
        Interval, centre, half-length and pre-period weights.
    """
    s_pre, s_cross, s_post, to_l = _pieces(sigma, num_pre, l_vec)
    periods = np.arange(1, l_vec.size + 1)
    target = float(periods @ l_vec)
    const = (
        sum(
            abs(float(np.arange(1, s + 1) @ l_vec[l_vec.size - s :]))
            for s in range(1, l_vec.size + 1)
        )
        - target
    )
    k = num_pre

    def variance(w: FloatArray) -> float:
        lp = to_l @ w
        return float(lp @ s_pre @ lp + 2.0 * lp @ s_cross + s_post)

    def half_length(x: FloatArray) -> float:
        sd = float(np.sqrt(max(variance(x[:k]), 1e-300)))
        bias = m * (const + float(np.sum(x[k:])))
        return sd * folded_normal_quantile(bias / sd, alpha)

    def gradient(x: FloatArray) -> FloatArray:
        """``dχ/dσ = cv − t·cv'``, ``dχ/db = M·cv'`` with
        ``cv' = (φ(c−t) − φ(c+t)) / (φ(c−t) + φ(c+t))`` (implicit differentiation)."""
        lp = to_l @ x[:k]
        sd = float(np.sqrt(max(variance(x[:k]), 1e-300)))
        t = m * (const + float(np.sum(x[k:]))) / sd
        c = folded_normal_quantile(t, alpha)
        lo, hi = stats.norm.pdf(c - t), stats.norm.pdf(c + t)
        slope = float((lo - hi) / (lo + hi))
        d_sd = to_l.T @ (s_pre @ lp + s_cross) / sd
        grad: FloatArray = np.r_[(c - t * slope) * d_sd, np.full(k, m * slope)]
        return grad

    tri = np.tril(np.ones((k, k)))
    cons = _constraints(k, target)
    w_min = _min_variance_w(s_pre, s_cross, to_l, target)
    starts = [w_min] if m == 0 else [np.r_[np.zeros(k - 1), target], w_min]
    best = np.r_[w_min, np.abs(tri @ w_min)]
    for w0 in starts:
        if m == 0:
            break  # no bias term: the minimum-variance weights are optimal
        x0 = np.r_[w0, np.abs(tri @ w0)]
        sol = optimize.minimize(
            half_length, x0, jac=gradient, method="SLSQP", constraints=cons,
            options={"ftol": SLSQP_TOL, "maxiter": 500},
        )  # fmt: skip
        x = sol.x if np.isfinite(sol.fun) else x0
        if half_length(x) < half_length(best):
            best = x
    w = best[:k]
    lp = to_l @ w
    estimate = float(lp @ betahat[:num_pre] + l_vec @ betahat[num_pre:])
    chi = half_length(best)
    sd = float(np.sqrt(max(variance(w), 0.0)))
    bias = m * (const + float(np.sum(np.abs(tri @ w))))
    return FlciResult(estimate - chi, estimate + chi, estimate, chi, lp, sd, bias)


def _constraints(k: int, target: float) -> list[dict[str, Any]]:
    """``Σ w = target`` and ``|cumsum(w)| ≤ U`` over ``x = (w, U)``, with their Jacobians."""
    tri = np.tril(np.ones((k, k)))
    eye = np.eye(k)
    eq_jac = np.r_[np.ones(k), np.zeros(k)][np.newaxis, :]
    upper_jac, lower_jac = np.hstack([-tri, eye]), np.hstack([tri, eye])
    return [
        {"type": "eq", "fun": lambda x: np.array([np.sum(x[:k]) - target]),
         "jac": lambda x: eq_jac},
        {"type": "ineq", "fun": lambda x: x[k:] - tri @ x[:k], "jac": lambda x: upper_jac},
        {"type": "ineq", "fun": lambda x: x[k:] + tri @ x[:k], "jac": lambda x: lower_jac},
    ]  # fmt: skip


def _min_variance_w(
    s_pre: FloatArray, s_cross: FloatArray, to_l: FloatArray, target: float
) -> FloatArray:
    """Minimum-variance ``w`` with ``Σ w = target`` (the M = 0 solution; KKT system)."""
    k = s_pre.shape[0]
    Q = to_l.T @ s_pre @ to_l
    kkt = np.block([[2.0 * Q, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
    rhs = np.r_[-2.0 * to_l.T @ s_cross, target]
    sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    return np.asarray(sol[:k], dtype=np.float64)
