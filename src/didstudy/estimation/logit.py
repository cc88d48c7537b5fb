"""Maximum-likelihood logit by Newton–Raphson (iteratively reweighted least squares).

The propensity score of PSM-DID (Rosenbaum and Rubin 1983) is the fitted probability of a logit of
the treatment-group indicator on covariates. This is the same estimator as R ``glm(family =
binomial)`` (what MatchIt's default ``distance = "glm"`` calls) and statsmodels ``Logit``; didstudy
has its own so that the runtime does not depend on either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from didstudy.errors import ConvergenceError, EstimationError

__all__ = ["LogitFit", "expit", "fit_logit"]

FloatArray = NDArray[np.float64]

# Newton steps below this (relative to the coefficient scale) are at the limit of double
# precision for a well-conditioned Hessian; one more step is then taken to polish.
STEP_TOLERANCE = 1e-11
# A fitted probability within this of 0 or 1 means (quasi-)complete separation: the MLE does
# not exist, the coefficients diverge and the propensity score is meaningless.
SEPARATION_EPSILON = 1e-10


@dataclass(frozen=True)
class LogitFit:
    """Result of :func:`fit_logit`.

    Attributes
    ----------
    coef
        Coefficients, in the column order of the design matrix.
    vcov
        Inverse observed information ``(X' W X)^{-1}`` (model-based covariance).
    linear_predictor
        ``X @ coef`` (the logit of the propensity score).
    fitted
        Fitted probabilities (the propensity score).
    loglik
        Maximised (weighted) log-likelihood.
    n_iter
        Newton iterations taken.
    """

    coef: FloatArray
    vcov: FloatArray
    linear_predictor: FloatArray
    fitted: FloatArray
    loglik: float
    n_iter: int

    @property
    def std_error(self) -> FloatArray:
        """Model-based standard errors."""
        return np.sqrt(np.diag(self.vcov))


def expit(eta: FloatArray) -> FloatArray:
    """Numerically stable logistic function ``1 / (1 + exp(-eta))``."""
    out = np.empty_like(eta, dtype=np.float64)
    pos = eta >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-eta[pos]))
    e = np.exp(eta[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _loglik(y: FloatArray, eta: FloatArray, w: FloatArray) -> float:
    # log p = -log(1+exp(-eta)), log(1-p) = -log(1+exp(eta))
    return float(np.sum(w * (y * -np.logaddexp(0.0, -eta) + (1.0 - y) * -np.logaddexp(0.0, eta))))


def fit_logit(
    X: FloatArray,
    y: FloatArray,
    weights: FloatArray | None = None,
    *,
    max_iter: int = 100,
) -> LogitFit:
    """Fit ``P(y = 1 | x) = expit(x' b)`` by Newton–Raphson with step halving.

    Parameters
    ----------
    X
        Design matrix ``(n, k)``; include a column of ones for an intercept.
    y
        Outcome in {0, 1}, length ``n``.
    weights
        Optional non-negative case weights (frequency weights in the likelihood).
    max_iter
        Maximum Newton iterations.

    Returns
    -------
    LogitFit

    Raises
    ------
    EstimationError
        ``X`` is rank deficient, ``y`` is not binary or constant.
    ConvergenceError
        No convergence, or (quasi-)complete separation (fitted probabilities of 0 or 1).

    Notes
    -----
    The score is ``X' w (y - p)`` and the Hessian ``-X' diag(w p (1 - p)) X``; each Newton step
    solves ``(X' W X) d = X' w (y - p)`` by Cholesky. Iterations stop when
    ``max|d| <= STEP_TOLERANCE * (1 + max|b|)``; the log-likelihood is concave, so the maximiser
    is unique when it exists.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, k = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if y.shape != (n,) or w.shape != (n,):
        raise EstimationError("logit: X, y and weights must have the same number of rows")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise EstimationError("logit: the outcome must be 0 or 1")
    if np.any(w < 0) or not np.all(np.isfinite(X)):
        raise EstimationError("logit: weights must be non-negative and X finite")
    pos = w > 0
    if np.all(y[pos] == 1.0) or np.all(y[pos] == 0.0):
        raise EstimationError(
            "logit: the treatment indicator is constant, the propensity score is undefined",
            fix="check that every matching cell has both treated and control units",
        )
    if np.linalg.matrix_rank(X[pos]) < k:
        raise EstimationError(
            "logit: the covariates are collinear (design matrix is rank deficient)",
            fix="drop a redundant or constant covariate",
        )

    b = np.zeros(k)
    eta = X @ b
    ll = _loglik(y, eta, w)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        p = expit(eta)
        score = X.T @ (w * (y - p))
        h = X.T @ (X * (w * p * (1.0 - p))[:, None])
        try:
            chol = np.linalg.cholesky(h)
            step = np.linalg.solve(chol.T, np.linalg.solve(chol, score))
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(h, score, rcond=None)[0]
        t = 1.0
        while True:
            b_new = b + t * step
            eta_new = X @ b_new
            ll_new = _loglik(y, eta_new, w)
            if ll_new >= ll - 1e-12 * (1.0 + abs(ll)) or t < 1e-8:
                break
            t /= 2.0
        b, eta, ll = b_new, eta_new, ll_new
        if np.max(np.abs(t * step)) <= STEP_TOLERANCE * (1.0 + np.max(np.abs(b))):
            converged = True
            break
    p = expit(eta)
    if not converged:
        raise ConvergenceError(
            f"logit did not converge in {max_iter} Newton iterations",
            fix="check for separation: a covariate that predicts treatment perfectly",
        )
    if np.any((p[pos] < SEPARATION_EPSILON) | (p[pos] > 1.0 - SEPARATION_EPSILON)):
        raise ConvergenceError(
            "logit: fitted probabilities numerically 0 or 1 (complete or quasi-complete "
            "separation); the propensity score is not identified",
            fix="use fewer covariates, or pool years (by_year=False)",
        )
    h = X.T @ (X * (w * p * (1.0 - p))[:, None])
    vcov = np.asarray(np.linalg.inv(h), dtype=np.float64)
    return LogitFit(coef=b, vcov=vcov, linear_predictor=eta, fitted=p, loglik=ll, n_iter=n_iter)
