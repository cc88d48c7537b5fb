"""The model of untreated outcomes fitted on untreated observations only.

Both the imputation estimator (Borusyak, Jaravel & Spiess 2024, step 1) and the two-stage
estimator (Gardner 2021, first stage) fit

    Y_it(0) = a_{f(i)} + lambda_t + X_it' delta + e_it        on  Omega_0 = {it : D_it = 0},

with ``f(i)`` the unit or a coarser factor (e.g. state). With ``Z = [A, M]`` the absorbed dummies
``A`` and the remaining columns ``M = [period dummies (first omitted), X]``, everything here is
Frisch–Waugh–Lovell algebra on ``M`` demeaned within the absorbed factor on ``Omega_0``
(``M~_0``), never a dense dummy matrix:

* :meth:`UntreatedModel.fit` gives ``(a, lambda, delta)`` and the residuals on ``Omega_0``;
* :meth:`UntreatedModel.adjoint` gives, for any ``n x K`` weights ``W`` on all rows,
  ``Z_0 (Z_0'Z_0)^- Z'W`` on the rows of ``Omega_0``. With ``W`` the weights ``w_1`` of an
  estimand on treated rows, ``-adjoint(w_1)`` are the implicit weights ``v_it`` of the
  imputation estimator on untreated rows (BJS 2024, eq. 6 / Theorem 1); with ``W`` the
  second-stage regressors it is the GMM correction term of Gardner's two-stage variance.

The ``(p x p)`` system ``M~_0'M~_0`` (``p = T - 1 + k``) is solved by a pseudo-inverse from its
eigen-decomposition; the absorbed coefficients follow from group means.

With observation weights ``omega`` the fit is weighted least squares: ``M~_0`` is demeaned with
weighted group means, every cross-product and count carries ``Omega_0 = diag(omega_0)``, and
the adjoint is ``Omega_0 Z_0 (Z_0'Omega_0 Z_0)^- Z'W`` (decision record 0063); with
``omega = 1`` every formula is the unweighted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from didstudy.errors import EstimationError
from didstudy.kernels.demean import demean

__all__ = ["UntreatedFit", "UntreatedModel", "dense", "indicator"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Relative eigenvalue cut-off of the pseudo-inverse (columns collinear on Omega_0 get no weight);
#: well above rounding (1e-16 relative) and far below any identified direction.
_PINV_RTOL = 1e-11


def dense(x: Any) -> FloatArray:
    """A dense float array of a NumPy or SciPy sparse result."""
    out: FloatArray = x.toarray() if hasattr(x, "toarray") else np.asarray(x, dtype=np.float64)
    return out


def indicator(codes: IntArray, n_levels: int) -> Any:
    """Sparse ``len(codes) x n_levels`` 0/1 matrix with one 1 per row (CSR)."""
    from scipy import sparse

    n = codes.size
    return sparse.csr_matrix(
        (np.ones(n), (np.arange(n), codes)), shape=(n, n_levels), dtype=np.float64
    )


@dataclass(frozen=True)
class UntreatedFit:
    """Coefficients of the untreated-outcome model and its residuals on ``Omega_0``.

    Attributes
    ----------
    absorbed
        ``a_f`` per level of the absorbed factor (NaN for levels without untreated rows).
    period
        ``lambda_t`` per period (first period normalised to 0).
    delta
        Coefficients of the controls.
    resid
        Residuals on the untreated rows (in the order of :attr:`UntreatedModel.rows0`).
    """

    absorbed: FloatArray
    period: FloatArray
    delta: FloatArray
    resid: FloatArray


@dataclass(frozen=True, eq=False)
class UntreatedModel:
    """``Y(0) = a_f + lambda_t + X'delta`` on the untreated rows, in FWL form.

    Parameters
    ----------
    absorb
        Codes ``0..F-1`` of the absorbed factor on every row (unit, or a coarser factor).
    time
        Period codes ``0..T-1`` on every row.
    X
        ``n x k`` controls on every row.
    untreated
        Rows of ``Omega_0``.
    omega0
        Observation weights of the untreated rows (``None``: unweighted).
    """

    absorb: IntArray
    time: IntArray
    X: FloatArray
    untreated: BoolArray
    n_absorb: int
    n_time: int
    rows0: IntArray
    count0: FloatArray
    time_count0: FloatArray
    M0_tilde: FloatArray
    pinv: FloatArray
    cross_at: FloatArray
    cross_ax: FloatArray
    omega0: FloatArray | None = None

    @classmethod
    def build(
        cls,
        absorb: IntArray,
        time: IntArray,
        X: FloatArray,
        untreated: BoolArray,
        weights: FloatArray | None = None,
    ) -> UntreatedModel:
        """Demean ``M_0`` within the absorbed factor once and factor ``M~_0'Omega_0 M~_0``.

        ``weights`` are observation weights on every row (``None``: unweighted).
        """
        rows0 = np.flatnonzero(untreated)
        if rows0.size == 0:
            raise EstimationError(
                "there are no untreated observations to fit the model of untreated outcomes.",
                fix="the panel needs never-treated units or pre-treatment periods.",
            )
        n_absorb = int(absorb.max()) + 1
        n_time = int(time.max()) + 1
        a0 = absorb[rows0]
        t0 = time[rows0]
        w0 = None if weights is None else np.ascontiguousarray(weights[rows0])
        ones = np.ones(rows0.size) if w0 is None else w0
        M0 = np.zeros((rows0.size, n_time - 1 + X.shape[1]), order="F")
        has_t = t0 > 0
        M0[np.flatnonzero(has_t), t0[has_t] - 1] = 1.0
        M0[:, n_time - 1 :] = X[rows0]
        M0_tilde = _wdemean(M0, a0, n_absorb, w0, out=M0)
        gram = M0_tilde.T @ (M0_tilde * ones[:, None])
        eigval, eigvec = np.linalg.eigh(0.5 * (gram + gram.T))
        top = float(eigval[-1]) if eigval.size else 0.0
        keep = eigval > _PINV_RTOL * max(top, 1e-300)
        pinv = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
        return cls(
            absorb=absorb,
            time=time,
            X=X,
            untreated=untreated,
            n_absorb=n_absorb,
            n_time=n_time,
            rows0=rows0,
            count0=np.bincount(a0, weights=ones, minlength=n_absorb).astype(np.float64),
            time_count0=np.bincount(t0, weights=ones, minlength=n_time).astype(np.float64),
            M0_tilde=M0_tilde,
            pinv=pinv,
            cross_at=dense(
                indicator(a0, n_absorb).T @ indicator(t0, n_time).multiply(ones[:, None])
            ),
            cross_ax=dense(indicator(a0, n_absorb).T @ (X[rows0] * ones[:, None])),
            omega0=w0,
        )

    @property
    def w0(self) -> FloatArray:
        """Weights of the untreated rows (ones when unweighted)."""
        return np.ones(self.rows0.size) if self.omega0 is None else self.omega0

    # -- identification ---------------------------------------------------------------------
    def unidentified(self) -> BoolArray:
        """Rows whose untreated outcome cannot be imputed: their absorbed level or their period
        has no untreated observation (BJS 2024, Proposition 1)."""
        bad: BoolArray = (self.count0[self.absorb] == 0) | (self.time_count0[self.time] == 0)
        return bad

    # -- fit ----------------------------------------------------------------------------------
    def _m_times(self, coef: FloatArray, rows: IntArray) -> FloatArray:
        """``M coef`` on ``rows`` (``coef`` is ``p`` or ``p x K``)."""
        c = coef if coef.ndim == 2 else coef[:, None]
        lam = np.vstack([np.zeros((1, c.shape[1])), c[: self.n_time - 1]])
        out: FloatArray = lam[self.time[rows]] + self.X[rows] @ c[self.n_time - 1 :]
        return out if coef.ndim == 2 else out[:, 0]

    def _m_transpose(self, U: Any, rows: IntArray | None) -> FloatArray:
        """``M' U`` over ``rows`` (all rows when None); ``U`` dense or sparse ``len x K``."""
        t = self.time if rows is None else self.time[rows]
        X = self.X if rows is None else self.X[rows]
        sums = dense(indicator(t, self.n_time).T @ U)
        out: FloatArray = np.vstack(
            [sums[1:], dense(X.T @ U) if X.shape[1] else np.zeros((0, sums.shape[1]))]
        )
        return out

    def fit(self, y: FloatArray) -> UntreatedFit:
        """Least squares of ``y`` on ``Z`` over ``Omega_0``.

        Parameters
        ----------
        y
            Outcome on every row (only the untreated rows are used).
        """
        y0 = y[self.rows0]
        a0 = self.absorb[self.rows0]
        w0 = self.w0
        y0_tilde = _wdemean(y0, a0, self.n_absorb, self.omega0)
        coef = self.pinv @ (self.M0_tilde.T @ (w0 * y0_tilde))
        resid = y0_tilde - self.M0_tilde @ coef
        level_sum = np.bincount(
            a0, weights=w0 * (y0 - self._m_times(coef, self.rows0)), minlength=self.n_absorb
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            absorbed = np.where(self.count0 > 0, level_sum / self.count0, np.nan)
        return UntreatedFit(
            absorbed=absorbed,
            period=np.concatenate([[0.0], coef[: self.n_time - 1]]),
            delta=coef[self.n_time - 1 :],
            resid=resid,
        )

    def predict(self, fit: UntreatedFit) -> FloatArray:
        """Fitted untreated outcome ``a_f + lambda_t + X'delta`` on every row."""
        out: FloatArray = fit.absorbed[self.absorb] + fit.period[self.time] + self.X @ fit.delta
        return out

    # -- adjoint ------------------------------------------------------------------------------
    def adjoint_coef(self, W: Any) -> tuple[FloatArray, FloatArray]:
        """``b = (Z_0'Z_0)^- Z'W`` split into the absorbed part ``a`` (``F x K``) and ``d``
        (``p x K``: period effects after the first, then controls).

        Parameters
        ----------
        W
            ``n x K`` weights on every row (dense, or a SciPy sparse matrix).

        Notes
        -----
        ``d = P (M'W - M_0'A_0 (c / n_0))`` with ``c = A'W`` the absorbed-level sums of ``W``,
        ``n_0`` the untreated counts and ``P`` the pseudo-inverse of ``M~_0'M~_0``;
        ``a = (c - A_0'M_0 d) / n_0``. Only ``F x T`` and ``F x k`` cross-products of the
        untreated rows enter, so the cost is ``O(nnz(W) + (F + T) K)``.
        """
        T = self.n_time
        c = dense(indicator(self.absorb, self.n_absorb).T @ W)
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(self.count0[:, None] > 0, c / self.count0[:, None], 0.0)
        rhs = self._m_transpose(W, None)
        rhs[: T - 1] -= self.cross_at[:, 1:].T @ per
        rhs[T - 1 :] -= self.cross_ax.T @ per
        d = self.pinv @ rhs
        md_sums = self.cross_at[:, 1:] @ d[: T - 1] + self.cross_ax @ d[T - 1 :]
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(self.count0[:, None] > 0, (c - md_sums) / self.count0[:, None], 0.0)
        return a, d

    def adjoint(self, W: Any) -> FloatArray:
        """``Omega_0 Z_0 (Z_0'Omega_0 Z_0)^- Z'W`` on the untreated rows (``len(rows0) x K``).

        With ``W`` the weights ``w_1`` of an estimand on treated rows, ``-adjoint(w_1)`` are the
        implicit weights of the imputation estimator on the untreated rows (BJS 2024, eq. 6).
        """
        a, d = self.adjoint_coef(W)
        out: FloatArray = self._m_times(d, self.rows0)
        out += a[self.absorb[self.rows0]]
        return out * self.w0[:, None]

    def adjoint_cluster_sums(
        self, W: Any, resid0: FloatArray, cluster0: IntArray, n_clusters: int
    ) -> FloatArray:
        """``C_0' diag(e_0) Omega_0 Z_0 (Z_0'Omega_0 Z_0)^- Z'W`` (``G x K``) without the
        ``n_0 x K`` matrix.

        Parameters
        ----------
        W
            ``n x K`` weights on every row.
        resid0
            Residuals (or any weights) on the untreated rows.
        cluster0, n_clusters
            Cluster codes of the untreated rows and their count.
        """
        a, d = self.adjoint_coef(W)
        resid0 = resid0 * self.w0
        a0 = self.absorb[self.rows0]
        t0 = self.time[self.rows0]
        cl = indicator(cluster0, n_clusters).T
        scaled = indicator(a0, self.n_absorb).multiply(resid0[:, None])
        out = dense((cl @ scaled) @ a)
        by_time = dense(cl @ indicator(t0, self.n_time).multiply(resid0[:, None]))
        out += by_time[:, 1:] @ d[: self.n_time - 1]
        if self.X.shape[1]:
            out += dense(cl @ (self.X[self.rows0] * resid0[:, None])) @ d[self.n_time - 1 :]
        result: FloatArray = out
        return result

    def coef_influence(self, resid: FloatArray) -> FloatArray:
        """Per-row contributions to the error of ``(lambda, delta)``: ``(M~_0 P) * omega * resid``.

        Summing a column within clusters and forming outer products gives the CRV0 meat
        sandwiched between ``P`` (the usual cluster-robust variance of the fit).
        """
        out: FloatArray = (self.M0_tilde @ self.pinv) * (self.w0 * resid)[:, None]
        return out


def _wdemean(
    M: FloatArray,
    codes: IntArray,
    n_levels: int,
    w: FloatArray | None,
    out: FloatArray | None = None,
) -> FloatArray:
    """``M`` minus its (weighted) means within ``codes`` (levels of zero weight keep mean 0)."""
    if w is None:
        return demean(M, [codes], out=out)
    mat = M if M.ndim == 2 else M[:, None]
    tot = np.bincount(codes, weights=w, minlength=n_levels)
    means = np.zeros((n_levels, mat.shape[1]))
    for j in range(mat.shape[1]):
        sums = np.bincount(codes, weights=w * mat[:, j], minlength=n_levels)
        means[:, j] = np.divide(sums, tot, out=np.zeros(n_levels), where=tot > 0)
    res = mat - means[codes]
    if out is not None and out.shape == res.shape:
        out[...] = res
        res = out
    return res if M.ndim == 2 else res[:, 0]
