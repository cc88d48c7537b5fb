"""Power of the pre-trend test against linear violations of parallel trends (Roth 2022).

Roth (2022), "Pretest with Caution: Event-Study Estimates after Testing for Parallel Trends",
AER: Insights 4(3). The pre-test "passes" when no pre-period coefficient is individually
significant: ``|β̂_t / σ_t| ≤ z_{1−α/2}`` for every pre-period ``t``. Against a hypothesised
violation ``δ`` (default linear, ``δ_t = slope · (t − reference)``), with ``β̂ ~ N(δ, Σ)`` under
no effect:

* power ``= 1 − P(pass | δ)``; the slope detected with 50% / 80% power solves power = target;
* Bayes factor ``P(pass | δ) / P(pass | 0)``; likelihood ratio of the observed pre-period
  coefficients under ``δ`` versus 0;
* the mean of the coefficients conditional on passing: pre-periods the mean of a truncated
  normal (Tallis 1961), post-periods ``δ_post + Σ_post,pre Σ_pre⁻¹ (E[β̂_pre | pass] − δ_pre)``;
  the bias of ``l'β̂_post`` after passing is ``l'`` times the latter.

Box probabilities use Genz's (1992) separation-of-variables integral with scrambled Sobol
points from a fixed seed, so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats
from scipy.stats import qmc

from didstudy.errors import EstimationError, ValidationError
from didstudy.results.pretrends import PretrendPower

__all__ = ["PretrendPower", "box_probability", "pretrend_power", "slope_for_power"]

FloatArray = npt.NDArray[np.float64]

#: Sobol points of the box probabilities (2^16: error ~1e-7 for 2-6 pre-periods).
QMC_POINTS = 2**16
QMC_SEED = 20220601
#: Root-finding tolerance of the slope for a target power.
SLOPE_XTOL = 1e-12


def box_probability(
    mean: FloatArray, cov: FloatArray, lower: FloatArray, upper: FloatArray
) -> float:
    """``P(lower ≤ X ≤ upper)`` for ``X ~ N(mean, cov)`` (Genz 1992, Sobol points, fixed seed).

    Examples
    --------
    >>> round(box_probability(np.zeros(1), np.eye(1), -np.ones(1), np.ones(1)), 6)
    0.682689
    """
    d = mean.size
    a, b = lower - mean, upper - mean
    if d == 1:
        sd = float(np.sqrt(cov[0, 0]))
        return float(stats.norm.cdf(b[0] / sd) - stats.norm.cdf(a[0] / sd))
    L = np.linalg.cholesky(cov)
    w = qmc.Sobol(d - 1, scramble=True, seed=QMC_SEED).random(QMC_POINTS)
    lo = np.full(QMC_POINTS, special.ndtr(a[0] / L[0, 0]))
    hi = np.full(QMC_POINTS, special.ndtr(b[0] / L[0, 0]))
    f = hi - lo
    y = np.zeros((QMC_POINTS, d))
    for i in range(1, d):
        u = np.clip(lo + w[:, i - 1] * (hi - lo), 1e-300, 1 - 1e-16)
        y[:, i - 1] = special.ndtri(u)
        shift = y[:, :i] @ L[i, :i]
        lo = special.ndtr((a[i] - shift) / L[i, i])
        hi = special.ndtr((b[i] - shift) / L[i, i])
        f = f * (hi - lo)
    return float(np.mean(f))


def _truncated_mean(
    mean: FloatArray, cov: FloatArray, lower: FloatArray, upper: FloatArray
) -> tuple[FloatArray, float]:
    """Mean of ``N(mean, cov)`` truncated to a box, and the box probability (Tallis 1961)."""
    d = mean.size
    prob = box_probability(mean, cov, lower, upper)
    if prob <= 0:
        raise EstimationError("the pre-test passes with probability zero under this trend")
    edge = np.zeros(d)
    for k in range(d):
        sd_k = float(np.sqrt(cov[k, k]))
        others = [j for j in range(d) if j != k]
        for bound, sign in ((lower[k], 1.0), (upper[k], -1.0)):
            dens = float(stats.norm.pdf(bound, mean[k], sd_k))
            if others:
                c = cov[others, k] / cov[k, k]
                m_cond = mean[others] + c * (bound - mean[k])
                s_cond = cov[np.ix_(others, others)] - np.outer(c, cov[k, others])
                dens *= box_probability(m_cond, s_cond, lower[others], upper[others])
            edge[k] += sign * dens
    return mean + cov @ edge / prob, prob


def _pass_probability(delta_pre: FloatArray, sigma_pre: FloatArray, z: float) -> float:
    bound = z * np.sqrt(np.diag(sigma_pre))
    return box_probability(delta_pre, sigma_pre, -bound, bound)


def slope_for_power(
    sigma_pre: FloatArray, pre_times: FloatArray, target: float, alpha: float = 0.05
) -> float:
    """Slope of the linear violation ``slope · pre_times`` the pre-test detects with ``target``
    probability (Roth 2022; ``pre_times`` relative to the reference period, negative)."""
    if not 0.0 < target < 1.0:
        raise ValidationError(f"target power must lie in (0, 1), got {target}")
    z = float(stats.norm.ppf(1 - alpha / 2))
    size = 1.0 - _pass_probability(np.zeros(pre_times.size), sigma_pre, z)
    if target <= size:
        return 0.0

    def gap(slope: float) -> float:
        return 1.0 - _pass_probability(slope * pre_times, sigma_pre, z) - target

    hi = float(np.sqrt(np.max(np.diag(sigma_pre))))
    while gap(hi) < 0:
        hi *= 2.0
    return float(optimize.brentq(gap, 0.0, hi, xtol=SLOPE_XTOL))


def pretrend_power(
    result: Any,
    slope: float | None = None,
    delta: Sequence[float] | None = None,
    l_vec: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> PretrendPower:
    """Power of an event study's pre-test and the bias that survives passing it (Roth 2022).

    Parameters
    ----------
    result
        An event study (``rel_time``, ``coef``, ``vcov``, ``base``), or a mapping with
        ``betahat``, ``sigma``, ``rel_time`` and ``reference``.
    slope
        Slope of the hypothesised linear violation; default: the slope detected with 50% power.
    delta
        A custom violation (one value per coefficient, pre then post) instead of a slope.
    l_vec
        Weights of the post-period coefficients for the bias (default: their average).
    alpha
        Size of each pre-period t-test.

    Returns
    -------
    PretrendPower
        Power, Bayes factor, likelihood ratio, means after pre-testing, 50%/80% slopes.

    Examples
    --------
    >>> pretrend_power(es).slope_power80  # doctest: +SKIP
    """
    betahat, sigma, rel, ref = _inputs(result)
    pre = np.flatnonzero(rel < ref)
    post = np.flatnonzero(rel > ref)
    if pre.size == 0 or post.size == 0:
        raise EstimationError("pre-trend power needs pre- and post-period coefficients")
    times = (rel - ref).astype(float)
    s_pre = sigma[np.ix_(pre, pre)]
    s50 = slope_for_power(s_pre, times[pre], 0.5, alpha)
    s80 = slope_for_power(s_pre, times[pre], 0.8, alpha)
    if delta is not None:
        dvec = np.asarray(delta, dtype=np.float64)
        if dvec.shape != betahat.shape:
            raise ValidationError(f"delta needs {betahat.size} values (pre then post)")
        used_slope = None
    else:
        used_slope = s50 if slope is None else float(slope)
        dvec = used_slope * times
    z = float(stats.norm.ppf(1 - alpha / 2))
    bound = z * np.sqrt(np.diag(s_pre))
    mean_pre, p_pass = _truncated_mean(dvec[pre], s_pre, -bound, bound)
    p_null = _pass_probability(np.zeros(pre.size), s_pre, z)
    post_mean = dvec[post] + sigma[np.ix_(post, pre)] @ np.linalg.solve(s_pre, mean_pre - dvec[pre])
    weights = np.full(post.size, 1.0 / post.size) if l_vec is None else np.asarray(l_vec, float)
    b = betahat[pre]
    inv = np.linalg.inv(s_pre)
    log_lr = -0.5 * (b - dvec[pre]) @ inv @ (b - dvec[pre]) + 0.5 * b @ inv @ b
    mean_all = np.empty(betahat.size)
    mean_all[pre], mean_all[post] = mean_pre, post_mean
    return PretrendPower(
        rel_time=tuple(int(k) for k in rel),
        reference=int(ref),
        delta=tuple(float(v) for v in dvec),
        slope=used_slope,
        power=1.0 - p_pass,
        bayes_factor=p_pass / p_null,
        likelihood_ratio=float(np.exp(log_lr)),
        mean_after_pretest=tuple(float(v) for v in mean_all),
        bias_after_pretest=float(weights @ post_mean),
        slope_power50=s50,
        slope_power80=s80,
        alpha=alpha,
    )


def _inputs(result: Any) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    if isinstance(result, dict):
        return (
            np.asarray(result["betahat"], float),
            np.asarray(result["sigma"], float),
            np.asarray(result["rel_time"], dtype=np.float64),
            int(result["reference"]),
        )
    from didstudy.inference.honest import as_event_study

    result = as_event_study(result)
    for attr in ("rel_time", "coef", "vcov", "base"):
        if not hasattr(result, attr):
            raise ValidationError(f"pre-trend power needs an event study (missing {attr!r})")
    n = len(result.rel_time)
    rel = np.asarray(result.rel_time, dtype=float)
    return (
        np.asarray(result.coef, float)[:n],
        np.asarray(result.vcov, float)[:n, :n],
        rel,
        int(result.base),
    )
