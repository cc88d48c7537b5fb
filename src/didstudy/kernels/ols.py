"""Least squares on (demeaned) data with collinearity detection.

Regressors are screened in the order given (treatment first, then controls), as fixest does:

1. a column whose demeaned sum of squares is at most :data:`COLLINEAR_TOL` times its centred
   sum of squares before demeaning is collinear with the fixed effects (e.g. a time-invariant
   control with unit fixed effects);
2. a column whose squared residual norm, after projection on the columns kept before it, is at
   most :data:`COLLINEAR_TOL` times its own squared norm is collinear with them (a pivoted,
   order-preserving Cholesky factorisation of the scaled ``X'WX``).

The coefficients solve the normal equations ``(X'WX) b = X'Wy`` by Cholesky on the column-scaled
cross-product (equilibration keeps the condition number of the scaled matrix small).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from didstudy.errors import EstimationError

__all__ = ["COLLINEAR_TOL", "OlsFit", "ols", "screen_collinear"]

FloatArray = npt.NDArray[np.float64]

#: Relative residual sum of squares below which a regressor counts as collinear (fixest uses
#: 1e-10 on its Cholesky pivots; demeaning error is ~1e-15 relative, far below).
COLLINEAR_TOL = 1e-10


@dataclass(frozen=True)
class OlsFit:
    """Result of :func:`ols`.

    Attributes
    ----------
    coef
        Coefficients of the kept columns.
    kept
        Indices of the kept columns of ``X``.
    dropped_fe, dropped_collinear
        Indices dropped as collinear with the fixed effects / with earlier columns.
    bread
        ``(X'WX)^{-1}`` of the kept columns.
    resid
        Residuals ``y - X b`` (unweighted).
    """

    coef: FloatArray
    kept: tuple[int, ...]
    dropped_fe: tuple[int, ...]
    dropped_collinear: tuple[int, ...]
    bread: FloatArray
    resid: FloatArray


def screen_collinear(
    gram: FloatArray,
    raw_ss: FloatArray | None = None,
    tol: float = COLLINEAR_TOL,
) -> tuple[list[int], list[int], list[int]]:
    """Order-preserving collinearity screen on ``X'WX``: (kept, dropped_fe, dropped_collinear).

    A column is dropped when its squared correlation residual on the kept columns, from the
    Cholesky factor of their correlation matrix built one column at a time (forward
    substitution), is at most ``tol``.
    """
    p = gram.shape[0]
    diag = np.diag(gram).copy()
    kept: list[int] = []
    dropped_fe: list[int] = []
    dropped_col: list[int] = []
    chol = np.zeros((p, p))
    for j in range(p):
        ref = raw_ss[j] if raw_ss is not None else diag[j]
        if diag[j] <= tol * ref or diag[j] <= 0.0:
            dropped_fe.append(j)
            continue
        col = gram[kept, j] / np.sqrt(diag[j] * diag[kept]) if kept else np.zeros(0)
        m = len(kept)
        if m:
            lvec = _forward_substitution(chol[:m, :m], col)
            resid = 1.0 - float(lvec @ lvec)
        else:
            lvec = np.zeros(0)
            resid = 1.0
        if resid <= tol:
            dropped_col.append(j)
            continue
        chol[m, :m] = lvec
        chol[m, m] = np.sqrt(resid)
        kept.append(j)
    return kept, dropped_fe, dropped_col


def _forward_substitution(lower: FloatArray, b: FloatArray) -> FloatArray:
    """``L^{-1} b`` for a small lower-triangular ``L`` (a few columns: no LAPACK call)."""
    out = np.empty(b.shape[0])
    for i in range(b.shape[0]):
        out[i] = (b[i] - lower[i, :i] @ out[:i]) / lower[i, i]
    return out


def ols(
    X: FloatArray,
    y: FloatArray,
    weights: FloatArray | None = None,
    *,
    raw_ss: FloatArray | None = None,
    tol: float = COLLINEAR_TOL,
) -> OlsFit:
    """Weighted least squares of ``y`` on ``X`` (no intercept added), dropping collinear columns.

    Parameters
    ----------
    X, y
        ``n x p`` regressors and ``n`` outcome (already demeaned when fixed effects are absorbed).
    weights
        Optional analytic weights; the fit minimises ``sum w_i (y_i - x_i b)^2``.
    raw_ss
        Centred (weighted) sums of squares of the columns before demeaning, to detect columns
        absorbed by the fixed effects.
    tol
        Collinearity tolerance.
    """
    from scipy.linalg import lapack

    if weights is None:
        gram = X.T @ X
        xty = X.T @ y
    else:
        xw = X * weights[:, np.newaxis]
        gram = xw.T @ X
        xty = xw.T @ y
    kept, dropped_fe, dropped_col = screen_collinear(gram, raw_ss, tol)
    idx = np.asarray(kept, dtype=np.intp)
    if idx.size == 0:
        return OlsFit(
            np.zeros(0), (), tuple(dropped_fe), tuple(dropped_col), np.zeros((0, 0)), y.copy()
        )
    sub = gram[np.ix_(idx, idx)]
    scale = 1.0 / np.sqrt(np.diag(sub))
    scaled = sub * scale[:, np.newaxis] * scale[np.newaxis, :]
    # LAPACK potrf / potrs directly: what cho_factor / cho_solve call, without their checks
    if not np.all(np.isfinite(scaled)):
        raise EstimationError("the regressors contain missing or infinite values")
    chol, info = lapack.dpotrf(scaled, lower=1, clean=0)
    if info != 0:
        raise EstimationError("the regressors are collinear; cannot solve least squares")
    coef = scale * lapack.dpotrs(chol, scale * xty[idx], lower=1)[0]
    inv_scaled = lapack.dpotrs(chol, np.eye(idx.size), lower=1)[0]
    bread = inv_scaled * scale[:, np.newaxis] * scale[np.newaxis, :]
    Xk = X if idx.size == X.shape[1] else X[:, idx]
    resid = y - Xk @ coef
    return OlsFit(
        coef,
        tuple(kept),
        tuple(dropped_fe),
        tuple(dropped_col),
        0.5 * (bread + bread.T),
        resid,
    )
