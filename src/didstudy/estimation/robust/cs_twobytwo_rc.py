"""The 2×2 DiD estimators of one ATT(g,t) cell for repeated cross-sections.

Rows are observations in the cell's base period (``post = 0``) or period ``t`` (``post = 1``),
of cohort ``g`` (``D = 1``) or of comparison units (``D = 0``). The influence function ``ψ`` is
per row, normalised so that ``att − ATT ≈ mean(ψ)``. Formulas: Sant'Anna and Zhao (2020),
Section 3 for repeated cross-sections (DRDID ``reg_did_rc``, ``std_ipw_did_rc``, ``drdid_rc``,
``drdid_imp_rc``); without covariates every estimator is the difference of the four weighted
means.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from didstudy.estimation.robust.cs_twobytwo import (
    TRIM_LEVEL,
    CellFailure,
    _ipt_odds,
    _logit,
    _solve,
)

__all__ = ["rc_twobytwo"]

FloatArray = NDArray[np.float64]


def _mean_part(w: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    """Weighted mean ``η = mean(w y) / mean(w)`` and its influence ``w (y − η) / mean(w)``."""
    mean_w = float(w.mean())
    eta = float(w @ y) / (len(w) * mean_w)
    return eta, w * (y - eta) / mean_w


def _four_means(
    y: FloatArray, post: FloatArray, d: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    est, psi = 0.0, np.zeros(len(y))
    for sign, group in ((1.0, d * post), (-1.0, d * (1 - post)), (-1.0, (1 - d) * post),
                        (1.0, (1 - d) * (1 - post))):  # fmt: skip
        eta, inf = _mean_part(w * group, y)
        est += sign * eta
        psi += sign * inf
    return est, psi


def _ols_rep(y: FloatArray, x: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Fit of a weighted OLS of ``y`` on ``x`` (rows with ``w > 0``) and its asymptotic linear
    representation ``w e x' (X'WX/n)⁻¹`` (``n × k``)."""
    n = len(y)
    inv = _solve((x * w[:, None]).T @ x / n, np.eye(x.shape[1]))
    beta = inv @ (x.T @ (w * y) / n)
    fit = x @ beta
    return fit, ((w * (y - fit))[:, None] * x) @ inv


def _regression(
    y: FloatArray, post: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Outcome regression DiD for repeated cross-sections (DRDID ``reg_did_rc``)."""
    fit_pre, rep_pre = _ols_rep(y, x, w * (1 - d) * (1 - post))
    fit_post, rep_post = _ols_rep(y, x, w * (1 - d) * post)
    eta_pre, inf_pre = _mean_part(w * d * (1 - post), y)
    eta_post, inf_post = _mean_part(w * d * post, y)
    w_cont = w * d
    eta_cont, inf_cont = _mean_part(w_cont, fit_post - fit_pre)
    m1 = (w_cont @ x) / len(y)
    inf_cont = inf_cont + (rep_post @ m1 - rep_pre @ m1) / float(w_cont.mean())
    return (eta_post - eta_pre) - eta_cont, (inf_post - inf_pre) - inf_cont


def _ipw(
    y: FloatArray, post: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Normalised IPW DiD for repeated cross-sections (DRDID ``std_ipw_did_rc``)."""
    n = len(y)
    ps, hess_inv = _logit(d, x, w)
    ps = np.minimum(ps, 1.0 - 1e-6)
    keep = (d > 0) | (ps < TRIM_LEVEL)
    odds = ps / (1.0 - ps) * keep
    eta_tpre, inf_tpre = _mean_part(w * d * (1 - post), y)
    eta_tpost, inf_tpost = _mean_part(w * d * post, y)
    w_cpre, w_cpost = w * odds * (1 - d) * (1 - post), w * odds * (1 - d) * post
    eta_cpre, inf_cpre = _mean_part(w_cpre, y)
    eta_cpost, inf_cpost = _mean_part(w_cpost, y)
    m2_pre = (x.T @ (w_cpre * (y - eta_cpre))) / n / float(w_cpre.mean())
    m2_post = (x.T @ (w_cpost * (y - eta_cpost))) / n / float(w_cpost.mean())
    lin_rep_ps = ((w * (d - ps))[:, None] * x) @ hess_inv
    inf_cont = (inf_cpost - inf_cpre) + lin_rep_ps @ (m2_post - m2_pre)
    att = (eta_tpost - eta_tpre) - (eta_cpost - eta_cpre)
    return att, (inf_tpost - inf_tpre) - inf_cont


def _ratio(
    w: FloatArray, v: FloatArray, x: FloatArray, effects: list[tuple[FloatArray, float]]
) -> tuple[float, FloatArray]:
    """``η = mean(w v) / mean(w)`` and its influence function; ``effects`` lists the linear
    representations ``R`` (``n × k``) of estimated coefficients ``β`` with ``∂v/∂β = s X``."""
    eta, inf = _mean_part(w, v)
    mean_w = float(w.mean())
    for rep, sign in effects:
        inf = inf + rep @ (sign * (x.T @ w) / len(w) / mean_w)
    return eta, inf


def _dr_traditional(
    y: FloatArray, post: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Locally efficient doubly robust DiD for repeated cross-sections (Sant'Anna and Zhao
    2020, eq. 3.9; DRDID ``drdid_rc``): logit propensity score and outcome regressions of the
    comparison and treated units in each period; the influence function carries every
    first-step estimation effect (delta method)."""
    n = len(y)
    ps, hess_inv = _logit(d, x, w)
    ps = np.minimum(ps, 1.0 - 1e-6)
    keep = ((d > 0) | (ps < TRIM_LEVEL)).astype(float)
    fit_cpre, rep_cpre = _ols_rep(y, x, w * (1 - d) * (1 - post))
    fit_cpost, rep_cpost = _ols_rep(y, x, w * (1 - d) * post)
    fit_tpre, rep_tpre = _ols_rep(y, x, w * d * (1 - post))
    fit_tpost, rep_tpost = _ols_rep(y, x, w * d * post)
    fit_c = post * fit_cpost + (1 - post) * fit_cpre
    odds = ps / (1.0 - ps)
    rep_ps = ((w * (d - ps))[:, None] * x) @ hess_inv
    parts = [
        (1.0, w * keep * d * post, y - fit_c, [(rep_cpost, -1.0)]),
        (-1.0, w * keep * d * (1 - post), y - fit_c, [(rep_cpre, -1.0)]),
        (-1.0, w * keep * odds * (1 - d) * post, y - fit_c, [(rep_cpost, -1.0)]),
        (1.0, w * keep * odds * (1 - d) * (1 - post), y - fit_c, [(rep_cpre, -1.0)]),
        (1.0, w * keep * d, fit_tpost - fit_cpost, [(rep_tpost, 1.0), (rep_cpost, -1.0)]),
        (-1.0, w * keep * d * post, fit_tpost - fit_cpost, [(rep_tpost, 1.0), (rep_cpost, -1.0)]),
        (-1.0, w * keep * d, fit_tpre - fit_cpre, [(rep_tpre, 1.0), (rep_cpre, -1.0)]),
        (1.0, w * keep * d * (1 - post), fit_tpre - fit_cpre, [(rep_tpre, 1.0), (rep_cpre, -1.0)]),
    ]
    att, psi = 0.0, np.zeros(n)
    for k, (sign, weight, value, effects) in enumerate(parts):
        eta, inf = _ratio(weight, value, x, effects)
        if k in (2, 3):  # comparison units: weights move with the propensity score
            inf = inf + rep_ps @ ((x.T @ (weight * (value - eta))) / n / float(weight.mean()))
        att += sign * eta
        psi += sign * inf
    return att, psi


def _wls_fit(y: FloatArray, x: FloatArray, w: FloatArray) -> FloatArray:
    """Fitted values ``X β`` of the weighted least squares of ``y`` on ``X`` (rows ``w > 0``)."""
    beta = _solve((x * w[:, None]).T @ x, x.T @ (w * y))
    fit: FloatArray = x @ beta
    return fit


def _dr_improved(
    y: FloatArray, post: FloatArray, d: FloatArray, x: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Improved, locally efficient doubly robust DiD for repeated cross-sections (Sant'Anna and
    Zhao 2020, eq. 3.4 with the efficiency terms of eq. 3.10 and the nuisance estimators of
    their Section 3.2; DRDID ``drdid_imp_rc``, moderndid ``drdid_imp_local_rc``).

    Propensity score: inverse probability tilting on all rows of both periods (the calibration
    loss of Graham, Pinto and Egel 2012), odds ``exp(X'γ)``; comparison regressions: least
    squares weighted by those odds within each period; treated regressions: least squares
    within each period. The influence function is DRDID's: the four Hájek ratios and the four
    efficiency terms, without first-step estimation effects (they vanish in the population under
    the estimator's assumptions: the calibration balances covariates and the covariate
    distribution is stationary across the two periods; decision 0042).
    """
    odds = np.minimum(_ipt_odds(d, x, w), (1.0 - 1e-6) / 1e-6)  # DRDID: ps ≤ 1 − 1e-6
    keep = ((d > 0) | (odds / (1.0 + odds) < TRIM_LEVEL)).astype(float)
    control = w * odds * keep * (1 - d)
    fit_cpre = _wls_fit(y, x, control * (1 - post))
    fit_cpost = _wls_fit(y, x, control * post)
    fit_tpre = _wls_fit(y, x, w * d * (1 - post))
    fit_tpost = _wls_fit(y, x, w * d * post)
    resid = y - (post * fit_cpost + (1 - post) * fit_cpre)
    parts = [
        (1.0, w * d * post, resid),
        (-1.0, w * d * (1 - post), resid),
        (-1.0, control * post, resid),
        (1.0, control * (1 - post), resid),
        (1.0, w * d, fit_tpost - fit_cpost),
        (-1.0, w * d * post, fit_tpost - fit_cpost),
        (-1.0, w * d, fit_tpre - fit_cpre),
        (1.0, w * d * (1 - post), fit_tpre - fit_cpre),
    ]
    att, psi = 0.0, np.zeros(len(y))
    for sign, weight, value in parts:
        eta, inf = _mean_part(weight, value)
        att += sign * eta
        psi += sign * inf
    return att, psi


def rc_twobytwo(
    y: FloatArray,
    post: FloatArray,
    d: FloatArray,
    x: FloatArray | None,
    w: FloatArray,
    method: str,
) -> tuple[float, FloatArray]:
    """ATT and per-row influence function of one repeated-cross-section 2×2 cell.

    Parameters
    ----------
    y, post, d, w
        Outcome, period indicator (1 = ``t``), treatment indicator and weights of the rows.
    x
        Covariates with the intercept first, or None.
    method
        ``"reg"``, ``"ipw"``, ``"dr"`` (improved, locally efficient) or ``"dr_traditional"``
        (with covariates); without covariates every method is the difference of the four
        weighted means.

    Returns
    -------
    tuple
        ``(att, ψ)``.

    Raises
    ------
    CellFailure
        A group has no observation in a period, collinear covariates, no overlap.

    Examples
    --------
    >>> y = np.array([1.0, 3.0, 0.0, 1.0]); post = np.array([0.0, 1.0, 0.0, 1.0])
    >>> d = np.array([1.0, 1.0, 0.0, 0.0])
    >>> rc_twobytwo(y, post, d, None, np.ones(4), "dr")[0]
    1.0
    """
    groups = (d * post, d * (1 - post), (1 - d) * post, (1 - d) * (1 - post))
    if min(float((w * g).sum()) for g in groups) <= 0:
        raise CellFailure("a group has no observation in one of the two periods")
    if x is None or x.shape[1] == 1:
        return _four_means(y, post, d, w)
    k = x.shape[1]
    if min(int(np.count_nonzero(g)) for g in groups) <= k:
        raise CellFailure(f"too few observations for {k - 1} covariate(s) in a group-period")
    if method == "reg":
        return _regression(y, post, d, x, w)
    if method == "dr_traditional":
        return _dr_traditional(y, post, d, x, w)
    if method == "dr":
        return _dr_improved(y, post, d, x, w)
    return _ipw(y, post, d, x, w)
