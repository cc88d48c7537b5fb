"""The 2×2 DiD estimators behind every ATT(g,t) cell, for panel data.

Each function takes the units of one cell (treated cohort ``g`` plus its comparison units), the
outcome change ``ΔY = Y_t − Y_base`` as an ``n × m`` matrix (``m`` cells that share the same
units, covariates and weights, so one propensity score and one design serve them all), the
treatment indicator ``D``, the covariate matrix ``X`` (first column the intercept) and the unit
weights ``w`` (mean one). It returns the ATTs (``m``) and their influence functions (``n × m``)
normalised so that ``att − ATT ≈ mean(ψ)`` over the cell's units.

Formulas: Sant'Anna and Zhao (2020), "Doubly robust difference-in-differences estimators",
Journal of Econometrics 219(1): eq. (3.1) (traditional DR), eq. (3.4) with the inverse
probability tilting propensity score of Graham, Pinto and Egel (2012) (improved DR, "imp"),
the Hájek IPW of Abadie (2005) and the outcome regression of Heckman, Ichimura and Todd (1997);
influence functions as in their Appendix (and the ``DRDID`` R package).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CellFailure", "TwoByTwo", "panel_twobytwo"]

FloatArray = NDArray[np.float64]

# Newton steps below this are at double precision for a well-conditioned Hessian.
NEWTON_TOLERANCE = 1e-10
NEWTON_MAX_ITER = 100
# Comparison units with a propensity score at or above this are trimmed (weight 0), as DRDID's
# trim.level = 0.995: their odds ps/(1−ps) > 199 would dominate the comparison mean.
TRIM_LEVEL = 0.995
# A fitted probability within this of 0 or 1 for a treated unit means (quasi-)separation.
SEPARATION_EPSILON = 1e-8
# A fitted linear index X'γ beyond ±30 (odds beyond e^30 ≈ 1e13: probabilities at 0 or 1 in
# double precision) means (quasi-)separation; the index, unlike γ, does not depend on the units
# in which the covariates are measured.
SEPARATION_INDEX = 30.0


class CellFailure(Exception):
    """A cell cannot be estimated; the message says why (caught and turned into a warning)."""


@dataclass(frozen=True)
class TwoByTwo:
    """ATTs of ``m`` cells that share their units, and their influence functions (``n × m``)."""

    att: FloatArray
    influence: FloatArray


def _solve(a: FloatArray, b: FloatArray) -> FloatArray:
    try:
        out: FloatArray = np.asarray(np.linalg.solve(a, b), dtype=np.float64)
    except np.linalg.LinAlgError as exc:
        raise CellFailure("the covariates are collinear in this cell") from exc
    if not np.all(np.isfinite(out)):
        raise CellFailure("the covariates are collinear in this cell")
    return out


def _logit(d: FloatArray, x: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weighted logit MLE by Newton–Raphson; returns (fitted ps, (X'WX/n)⁻¹ Hessian inverse)."""
    n, k = x.shape
    gamma = np.zeros(k)
    for _ in range(NEWTON_MAX_ITER):
        eta = np.clip(x @ gamma, -700.0, 700.0)
        p = 1.0 / (1.0 + np.exp(-eta))
        score = x.T @ (w * (d - p))
        info = (x * (w * p * (1.0 - p))[:, None]).T @ x
        step = _solve(info, score)
        gamma = gamma + step
        if np.max(np.abs(step)) < NEWTON_TOLERANCE * (1.0 + np.max(np.abs(gamma))):
            break
    else:
        raise CellFailure("the propensity score (logit) did not converge: no overlap")
    p = 1.0 / (1.0 + np.exp(-np.clip(x @ gamma, -700.0, 700.0)))
    index = np.abs(x @ gamma)
    if np.any(p[d > 0] > 1.0 - SEPARATION_EPSILON) or np.max(index) > SEPARATION_INDEX:
        raise CellFailure("the propensity score separates treated and comparison units")
    info = (x * (w * p * (1.0 - p))[:, None]).T @ x / n
    return p, _solve(info, np.eye(k))


def _ipt_odds(d: FloatArray, x: FloatArray, w: FloatArray) -> FloatArray:
    """Odds ``exp(X'γ)`` of the inverse-probability-tilting propensity score.

    Minimises the convex loss of Graham, Pinto and Egel (2012) used by ``drdid_imp_panel``,
    ``−mean(w·[D·X'γ − (1−D)·exp(X'γ)])``, so the weighted comparison units reproduce the
    treated units' covariate means exactly (the first column of ``X`` is the intercept).
    """
    k = x.shape[1]
    gamma = np.zeros(k)
    treated_sum = x.T @ (w * d)
    control_w = w * (1.0 - d)
    share = float(np.sum(w * d)) / max(float(np.sum(control_w)), 1e-300)
    gamma[0] = np.log(share) if share > 0 else 0.0
    for _ in range(NEWTON_MAX_ITER):
        odds = np.exp(np.clip(x @ gamma, -700.0, 700.0))
        grad = x.T @ (control_w * odds) - treated_sum
        hess = (x * (control_w * odds)[:, None]).T @ x
        step = _solve(hess, grad)
        # damped Newton: the loss is convex but exp() overshoots far from the optimum
        scale = 1.0
        big = np.max(np.abs(step))
        if big > 5.0:
            scale = 5.0 / big
        gamma = gamma - scale * step
        if big < NEWTON_TOLERANCE * (1.0 + np.max(np.abs(gamma))):
            break
    else:
        raise CellFailure("the propensity score (tilting) did not converge: no overlap")
    if k > 1 and np.max(np.abs(x @ gamma)) > SEPARATION_INDEX:
        raise CellFailure("the propensity score separates treated and comparison units")
    fitted: FloatArray = np.exp(np.clip(x @ gamma, -700.0, 700.0))
    return fitted


def _wls_control(
    dy: FloatArray, x: FloatArray, w0: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted least squares of ``ΔY`` on ``X`` with weights ``w0``; (β, fit, (X'W0X/n)⁻¹)."""
    n = x.shape[0]
    xtwx = (x * w0[:, None]).T @ x / n
    inv = _solve(xtwx, np.eye(x.shape[1]))
    beta = inv @ ((x * w0[:, None]).T @ dy / n)
    return beta, x @ beta, inv


def _means(weight: FloatArray, values: FloatArray) -> tuple[FloatArray, float]:
    mean_w = float(np.mean(weight))
    return (weight @ values) / (len(weight) * mean_w), mean_w


def _difference_in_means(dy: FloatArray, d: FloatArray, w: FloatArray) -> TwoByTwo:
    """No covariates: every estimator is the difference of weighted mean changes."""
    w1, w0 = w * d, w * (1.0 - d)
    eta1, m1 = _means(w1, dy)
    eta0, m0 = _means(w0, dy)
    inf = w1[:, None] * (dy - eta1) / m1 - w0[:, None] * (dy - eta0) / m0
    return TwoByTwo(eta1 - eta0, inf)


def _regression(dy: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray) -> TwoByTwo:
    """Outcome regression DiD (Heckman, Ichimura and Todd 1997; DRDID ``reg_did_panel``)."""
    n = len(d)
    w1, w0 = w * d, w * (1.0 - d)
    _, fit, inv = _wls_control(dy, x, w0)
    eta1, m1 = _means(w1, dy)
    eta0, _ = _means(w1, fit)
    inf_treat = w1[:, None] * (dy - eta1) / m1
    lin_rep = (w0[:, None] * x) @ inv  # n × k, times residual per column
    m_cont = (w1 @ x) / n
    inf_cont = (w1[:, None] * (fit - eta0) + (lin_rep @ m_cont)[:, None] * (dy - fit)) / m1
    return TwoByTwo(eta1 - eta0, inf_treat - inf_cont)


def _ipw(dy: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray) -> TwoByTwo:
    """Normalised (Hájek) IPW DiD (Abadie 2005; DRDID ``std_ipw_did_panel``)."""
    n = len(d)
    ps, hess_inv = _logit(d, x, w)
    ps = np.minimum(ps, 1.0 - 1e-6)
    keep = (d > 0) | (ps < TRIM_LEVEL)
    w1 = w * d
    w0 = w * ps * (1.0 - d) / (1.0 - ps) * keep
    eta1, m1 = _means(w1, dy)
    eta0, m0 = _means(w0, dy)
    inf_treat = w1[:, None] * (dy - eta1) / m1
    lin_rep_ps = (w * (d - ps))[:, None] * x @ hess_inv  # n × k
    m2 = (x.T @ (w0[:, None] * (dy - eta0))) / n  # k × m
    inf_cont = (w0[:, None] * (dy - eta0) + lin_rep_ps @ m2) / m0
    return TwoByTwo(eta1 - eta0, inf_treat - inf_cont)


def _dr_traditional(dy: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray) -> TwoByTwo:
    """Traditional doubly robust DiD: Sant'Anna and Zhao (2020) eq. (3.1), logit + OLS."""
    n = len(d)
    ps, hess_inv = _logit(d, x, w)
    ps = np.minimum(ps, 1.0 - 1e-6)
    keep = (d > 0) | (ps < TRIM_LEVEL)
    w1 = w * d
    w0 = w * ps * (1.0 - d) / (1.0 - ps) * keep
    _, fit, xtx_inv = _wls_control(dy, x, w * (1.0 - d))
    resid = dy - fit
    eta1, m1 = _means(w1, resid)
    eta0, m0 = _means(w0, resid)
    lin_rep_ols = (w * (1.0 - d))[:, None] * x @ xtx_inv  # times resid per column
    m1_vec = (w1 @ x) / n
    m3_vec = (w0 @ x) / n
    inf_treat = (w1[:, None] * (resid - eta1) - (lin_rep_ols @ m1_vec)[:, None] * resid) / m1
    lin_rep_ps = (w * (d - ps))[:, None] * x @ hess_inv
    m2 = (x.T @ (w0[:, None] * (resid - eta0))) / n
    inf_cont = (
        w0[:, None] * (resid - eta0) + lin_rep_ps @ m2 - (lin_rep_ols @ m3_vec)[:, None] * resid
    ) / m0
    return TwoByTwo(eta1 - eta0, inf_treat - inf_cont)


def _dr_improved(dy: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray) -> TwoByTwo:
    """Improved doubly robust DiD: Sant'Anna and Zhao (2020) eq. (3.4) (DRDID ``drdid_imp_panel``).

    The tilting propensity score and the odds-weighted regression make the first-step
    estimation effects vanish, so the influence function has no correction terms.
    """
    odds = _ipt_odds(d, x, w)
    ps = odds / (1.0 + odds)
    keep = (d > 0) | (ps < TRIM_LEVEL)
    w1 = w * d
    w0 = w * (1.0 - d) * np.minimum(odds, 1e6) * keep
    _, fit, _ = _wls_control(dy, x, w0)
    resid = dy - fit
    eta1, m1 = _means(w1, resid)
    eta0, m0 = _means(w0, resid)
    inf = w1[:, None] * (resid - eta1) / m1 - w0[:, None] * (resid - eta0) / m0
    return TwoByTwo(eta1 - eta0, inf)


def panel_twobytwo(
    dy: FloatArray, d: FloatArray, x: FloatArray | None, w: FloatArray, method: str
) -> TwoByTwo:
    """ATT and influence functions of ``m`` panel 2×2 cells that share units and covariates.

    Parameters
    ----------
    dy
        ``n × m`` outcome changes ``Y_t − Y_base`` of the cell's units.
    d
        ``n`` treatment indicator (1 = the cohort ``g``, 0 = comparison unit).
    x
        ``n × k`` covariates with the intercept first, or None for none.
    w
        ``n`` unit weights.
    method
        ``"reg"``, ``"ipw"``, ``"dr"`` (improved) or ``"dr_traditional"``.

    Returns
    -------
    TwoByTwo
        ``att`` (``m``) and ``influence`` (``n × m``, mean-zero; ``att − ATT ≈ mean(ψ)``).

    Raises
    ------
    CellFailure
        No treated or comparison unit, collinear covariates, or no overlap.

    Examples
    --------
    >>> import numpy as np
    >>> dy = np.array([[1.0], [3.0], [0.0], [1.0]]); d = np.array([1.0, 1.0, 0.0, 0.0])
    >>> float(panel_twobytwo(dy, d, None, np.ones(4), "dr").att[0])
    1.5
    """
    n_treated = float(np.sum(w * d))
    n_control = float(np.sum(w * (1.0 - d)))
    if n_treated <= 0 or n_control <= 0:
        raise CellFailure("the cell has no comparison units" if n_treated > 0 else "no treated")
    if x is None or x.shape[1] == 1:
        return _difference_in_means(dy, d, w)
    k = x.shape[1]
    if np.count_nonzero(d) <= k or np.count_nonzero(1.0 - d) <= k:
        raise CellFailure(
            f"too few units for {k - 1} covariate(s) ({np.count_nonzero(d)} treated, "
            f"{np.count_nonzero(1.0 - d)} comparison)"
        )
    if method == "reg":
        return _regression(dy, d, x, w)
    if method == "ipw":
        return _ipw(dy, d, x, w)
    if method == "dr_traditional":
        return _dr_traditional(dy, d, x, w)
    return _dr_improved(dy, d, x, w)
