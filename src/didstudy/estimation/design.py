"""The demeaned TWFE design: the reuse seam between estimation and inference.

:func:`prepare_twfe` resolves the columns, drops rows with missing values and singletons, encodes
the fixed effects and clusters, and absorbs the fixed effects from the outcome and the controls
once. The resulting :class:`DemeanedDesign` then

* ``fit(treat)`` — the TWFE regression for a treatment column (identical to :func:`twfe`);
* ``demean(M)`` — demeans any extra ``n x R`` columns (e.g. 500 placebo treatments at once);
* ``fit_many(D_tilde)`` — coefficient and standard error of a single demeaned treatment column
  per draw, for ``R`` draws at once, with the controls partialled out (Frisch–Waugh–Lovell):
  ``b_r = (d_r' W y) / (d_r' W d_r)`` with ``d_r``, ``y`` residualised on the demeaned controls;
  the residuals of that short regression equal those of the full one, so iid, HC1 and CRV1
  standard errors follow from ``d_r`` and the residuals alone.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.data.panel import Panel
from didstudy.errors import (
    CollinearityWarning,
    DataError,
    EstimationError,
    PanelRequiredError,
    SingletonWarning,
)
from didstudy.kernels.demean import DemeanMethod, FixedEffectCodes, demean, demean_method
from didstudy.kernels.fixed_effects import (
    encode_factor,
    factor_columns,
    find_singletons,
    is_nested,
    mobility_groups,
    recode,
)
from didstudy.kernels.ols import COLLINEAR_TOL, ols, screen_collinear
from didstudy.kernels.vcov import (
    ScalarVariance,
    SmallSampleCorrection,
    VcovPieces,
    VcovRequest,
    _split_names,
    fixef_count,
    fixef_parameters,
    parse_vcov,
    resolve_ssc,
    score_pieces,
    vcov_from_pieces,
)
from didstudy.results.regression import RegressionResult, vcov_stats

__all__ = ["DemeanedDesign", "VcovRequest", "parse_vcov", "prepare_twfe"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Columns of placebo draws processed at once by ``fit_many`` (bounds memory at n x chunk).
FIT_MANY_CHUNK = 256
#: Fits on at most this many observations also keep the HC meat and the meats of every
#: fixed-effect factor (one- and multi-way), so that ``with_vcov`` can switch to them; larger
#: fits keep only the variance pieces they were fitted with (each extra meat is a pass over the
#: scores: +15-40% of a fit's time at 60,000 rows, against +3% at 5,480).
#: docs/decisions/0011-slim-results.md.
RECLUSTER_MAX_ROWS = 10_000
#: At most this many cluster variables are kept (2^m - 1 meats of p x p).
RECLUSTER_MAX_VARIABLES = 4


def _numeric(frame: pd.DataFrame, col: str) -> FloatArray:
    series = frame[col]
    try:
        if pd.api.types.is_bool_dtype(series.dtype):
            values = series.astype("float64").to_numpy()
        else:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"column is not numeric (dtype {series.dtype})",
            column=col,
            fix="convert it to numbers, e.g. with pandas.to_numeric",
        ) from exc
    return np.ascontiguousarray(values, dtype=np.float64)


@dataclass(frozen=True)
class _Fitted:
    """What a fit keeps to recompute its variance (private)."""

    names: tuple[str, ...]
    X: FloatArray  # demeaned kept regressors times sqrt(w)
    resid: FloatArray  # residuals times sqrt(w)
    bread: FloatArray
    coef: FloatArray
    dropped: Mapping[str, str]
    rss: float


@dataclass(frozen=True)
class DemeanedDesign:
    """Outcome and controls with the fixed effects absorbed, ready for many treatment columns.

    Attributes
    ----------
    y_name, control_names, fe_names
        Outcome, controls (as given), absorbed factors (``"a"`` or ``"a^b"``).
    y
        Demeaned outcome (length ``n``: the estimation sample).
    controls
        Demeaned controls, ``n x c`` (columns in ``control_names`` order).
    fe
        Codes of each absorbed factor on the estimation sample.
    weights
        Analytic weights on the sample, or None.
    vcov_request
        Default variance (kind and cluster factors).
    cluster_codes
        Codes of the default cluster factors on the sample.
    sample
        Boolean mask over the rows of the input frame: rows used.
    index
        The input frame's index labels of the rows used.
    n_dropped_missing, n_singletons
        Rows dropped for missing values / as singletons.
    ssc
        Default small-sample convention.
    """

    y_name: str
    control_names: tuple[str, ...]
    fe_names: tuple[str, ...]
    y: FloatArray
    controls: FloatArray
    fe: tuple[FixedEffectCodes, ...]
    weights: FloatArray | None
    vcov_request: VcovRequest
    cluster_codes: tuple[IntArray, ...]
    sample: BoolArray
    index: pd.Index
    n_dropped_missing: int
    n_singletons: int
    ssc: SmallSampleCorrection
    y_mean: float
    tss: float
    control_raw_ss: FloatArray
    treat_cache: Mapping[str, tuple[FloatArray, float]] = field(default_factory=dict)
    method: str = "direct"
    _frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    _matrix: FloatArray | None = field(default=None, repr=False, compare=False)

    # ----------------------------------------------------------------------------------------
    @property
    def nobs(self) -> int:
        """Observations in the estimation sample."""
        return int(self.y.shape[0])

    def _sqrt_w(self) -> FloatArray | None:
        return None if self.weights is None else np.sqrt(self.weights)

    def _align(self, values: npt.ArrayLike, what: str) -> FloatArray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape[0] == self.nobs:
            return arr
        if arr.shape[0] == self.sample.shape[0]:
            return arr[self.sample]
        raise EstimationError(
            f"{what} has {arr.shape[0]} rows; expected {self.nobs} (estimation sample) or "
            f"{self.sample.shape[0]} (input rows)"
        )

    def demean(self, matrix: npt.ArrayLike) -> FloatArray:
        """Absorb the fixed effects from extra columns (``n`` or ``n x R``).

        Rows may be the estimation sample (``n``) or all input rows (subset by ``sample``).
        """
        arr = self._align(matrix, "matrix")
        if not np.all(np.isfinite(arr)):
            raise DataError("columns to demean contain missing or infinite values")
        return demean(arr, list(self.fe), self.weights)

    # ----------------------------------------------------------------------------------------
    def _cluster_codes_for(self, names: Sequence[str]) -> tuple[IntArray, ...]:
        return tuple(self._cluster_code(name) for name in names)

    def _cluster_code(self, name: str) -> IntArray:
        """Codes of one cluster factor on the sample: the fit's, a fixed effect's, or new."""
        if name in self.vcov_request.clusters and self.cluster_codes:
            return self.cluster_codes[self.vcov_request.clusters.index(name)]
        if name in self.fe_names:
            return self.fe[self.fe_names.index(name)].codes
        if self._frame is None:
            raise EstimationError("cannot cluster on new variables: the input data are not kept")
        for col in factor_columns(name):
            if col not in self._frame.columns:
                raise DataError("cluster column not found", column=col)
            if self._frame[col].isna().to_numpy(dtype=bool)[self.sample].any():
                raise DataError(
                    "cluster column has missing values in the estimation sample",
                    column=col,
                    fix="fill them or re-estimate with this cluster variable",
                )
        return recode(encode_factor(self._frame, name)[self.sample]).codes

    @functools.cached_property
    def _mobility(self) -> npt.NDArray[np.int64]:
        """Connected components of every pair of absorbed factors (``q x q``)."""
        q = len(self.fe)
        out = np.ones((q, q), dtype=np.int64)
        if self.method != "closed-form":  # a balanced two-way panel is one component
            for i in range(q):
                for j in range(q):
                    if i != j:
                        out[i, j] = mobility_groups(self.fe[i], self.fe[j])
        return out

    def _k_fe(self, ssc: SmallSampleCorrection, cluster_codes: Sequence[IntArray]) -> int:
        nested = [any(is_nested(f.codes, c) for c in cluster_codes) for f in self.fe]
        mobility = self._mobility if ssc.fixef_exact else np.zeros((0, 0), np.int64)
        return fixef_count([f.n_levels for f in self.fe], nested, mobility, ssc)

    def _k_fe_full(self) -> int:
        levels = [f.n_levels for f in self.fe]
        return fixef_parameters(
            levels, [False] * len(levels), SmallSampleCorrection(fixef_k="full")
        )

    def _pieces(
        self, fitted: _Fitted, request: VcovRequest, ssc: SmallSampleCorrection
    ) -> VcovPieces:
        """Compress the fit's scores: the request's clusters, then (small fits) the factors."""
        names = list(dict.fromkeys(request.clusters if request.kind == "crv1" else ()))
        own = len(names)
        keep_all = self.nobs <= RECLUSTER_MAX_ROWS
        if keep_all:
            for name in (*self.vcov_request.clusters, *self.fe_names):
                if name not in names and len(names) < RECLUSTER_MAX_VARIABLES:
                    names.append(name)
        codes = dict(zip(names, self._cluster_codes_for(names), strict=True))
        mobility = self._mobility if (keep_all or ssc.fixef_exact) and len(self.fe) > 1 else None
        return score_pieces(
            fitted.X,
            fitted.resid,
            fitted.bread,
            cluster_codes=codes,
            fitted=own,
            fe_codes=[f.codes for f in self.fe],
            fe_levels=[f.n_levels for f in self.fe],
            fe_mobility=mobility,
            default_clusters=self.vcov_request.clusters,
            keep_hc=keep_all or request.kind == "hc1",
        )

    def _result(
        self, fitted: _Fitted, request: VcovRequest, ssc: SmallSampleCorrection
    ) -> RegressionResult:
        n = self.nobs
        pieces = self._pieces(fitted, request, ssc)
        est = vcov_from_pieces(pieces, request, ssc)
        k = len(fitted.names)
        k_full = k + self._k_fe_full()
        within_tss = float(self._wdot(self.y, self.y))
        r2 = 1.0 - fitted.rss / self.tss if self.tss > 0 else float("nan")
        r2_within = 1.0 - fitted.rss / within_tss if within_tss > 0 else float("nan")
        adj_r2 = 1.0 - (1.0 - r2) * (n - 1) / (n - k_full) if n > k_full else float("nan")
        stats: dict[str, Any] = {
            "r2": r2,
            "r2_within": r2_within,
            "mean_y": self.y_mean,
            "adj_r2": adj_r2,
            **vcov_stats(est, k, n - k_full),
            "fixed_effects": list(self.fe_names),
            "fe_levels": [f.n_levels for f in self.fe],
            "n_singletons": self.n_singletons,
            "n_dropped_missing": self.n_dropped_missing,
            "y_mean": self.y_mean,
            "weighted": self.weights is not None,
            "demean_method": self.method,
            "psd_fixed": est.psd_fixed,
        }
        return RegressionResult(
            terms=fitted.names,
            params=fitted.coef,
            cov=est.matrix,
            nobs=n,
            df_t=est.df_t,
            vcov_type=est.kind,
            clusters=est.clusters,
            ssc=ssc.name,
            fit_stats=stats,
            dropped=dict(fitted.dropped),
            estimator="twfe",
            depvar=self.y_name,
            vcov_pieces=pieces,
            ssc_convention=ssc,
        )

    def _wdot(self, a: FloatArray, b: FloatArray) -> float:
        # einsum, not BLAS ddot: threaded ddot costs milliseconds per call on a loaded machine
        if self.weights is None:
            return float(np.einsum("i,i->", a, b))
        return float(np.einsum("i,i,i->", a, self.weights, b))

    # ----------------------------------------------------------------------------------------
    def _treatment_columns(
        self, treat: str | Sequence[str] | npt.ArrayLike
    ) -> tuple[list[str], FloatArray, FloatArray]:
        if isinstance(treat, str):
            names: list[str] = [treat]
        elif (
            isinstance(treat, Sequence)
            and len(treat) > 0
            and all(isinstance(t, str) for t in treat)
        ):
            names = [str(t) for t in treat]
        else:
            arr = self._align(treat, "treatment")
            if arr.ndim == 1:
                arr = arr[:, np.newaxis]
            cols = [f"treat{j + 1}" if arr.shape[1] > 1 else "treat" for j in range(arr.shape[1])]
            if not np.all(np.isfinite(arr)):
                raise DataError("treatment values contain missing or infinite values")
            raw_ss = np.array([self._centred_ss(arr[:, j]) for j in range(arr.shape[1])])
            return cols, self.demean(arr), raw_ss
        mats = []
        raw_ss_list = []
        for name in names:
            if name in self.treat_cache:
                col, ss = self.treat_cache[name]
            else:
                if self._frame is None or name not in self._frame.columns:
                    raise DataError("treatment column not found", column=name)
                raw = _numeric(self._frame, name)[self.sample]
                if not np.all(np.isfinite(raw)):
                    raise DataError(
                        "treatment column has missing values in the estimation sample",
                        column=name,
                        fix="pass it to prepare_twfe(treat=...) so those rows are dropped",
                    )
                col, ss = demean(raw, list(self.fe), self.weights), self._centred_ss(raw)
            mats.append(col)
            raw_ss_list.append(ss)
        return names, np.column_stack(mats), np.asarray(raw_ss_list)

    def _block(self, names: Sequence[str]) -> FloatArray | None:
        """The cached [treatment, controls] columns as one view, when they are contiguous."""
        mat = self._matrix
        cached = list(self.treat_cache)
        if mat is None or list(names) != cached:
            return None
        stop = 1 + len(cached) + self.controls.shape[1]
        block = mat[:, 1:stop]
        ctrl = mat[:, 1 + len(cached) : stop]
        if self.controls.size and (
            ctrl.shape != self.controls.shape or not np.shares_memory(ctrl, self.controls)
        ):
            return None
        if self.controls.size and ctrl.ctypes.data != self.controls.ctypes.data:
            return None
        return block

    def _centred_ss(self, x: FloatArray) -> float:
        mean = float(np.average(x, weights=self.weights))
        return self._wdot(x - mean, x - mean)

    def fit(
        self,
        treat: str | Sequence[str] | npt.ArrayLike,
        *,
        vcov: str | Mapping[str, Any] | None = None,
        ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
    ) -> RegressionResult:
        """TWFE regression of the outcome on the treatment column(s) and the controls.

        Parameters
        ----------
        treat
            Column name(s) of the input data, or an array (``n`` or ``n x m``, sample rows or
            all input rows; not yet demeaned).
        vcov, ssc
            Override the design's default variance / small-sample convention.
        """
        requested: list[str] | None = None
        if isinstance(treat, str):
            requested = [treat]
        elif isinstance(treat, list | tuple) and all(isinstance(t, str) for t in treat):
            requested = [str(t) for t in treat]
        X = self._block(requested) if requested else None
        if X is not None and requested is not None:
            names = requested
            raw_ss = np.array([self.treat_cache[t][1] for t in names])
        else:
            names, dmat, raw_ss = self._treatment_columns(treat)
            X = np.column_stack([dmat, self.controls]) if self.controls.size else dmat
        all_names = names + list(self.control_names)
        raw = np.concatenate([raw_ss, self.control_raw_ss])
        fit = ols(X, self.y, self.weights, raw_ss=raw)
        dropped: dict[str, str] = {}
        for j in fit.dropped_fe:
            dropped[all_names[j]] = "collinear with the fixed effects"
        for j in fit.dropped_collinear:
            dropped[all_names[j]] = "collinear with other regressors"
        if dropped:
            warnings.warn(
                "dropped collinear regressors: "
                + "; ".join(f"{k} ({v})" for k, v in dropped.items()),
                CollinearityWarning,
                stacklevel=2,
            )
        if not fit.kept:
            raise EstimationError(
                "every regressor is collinear with the fixed effects; nothing to estimate",
                column=", ".join(names),
            )
        kept_names = tuple(all_names[j] for j in fit.kept)
        sw = self._sqrt_w()
        Xk = X if len(fit.kept) == X.shape[1] else X[:, list(fit.kept)]
        Xw = Xk if sw is None else Xk * sw[:, np.newaxis]
        uw = fit.resid if sw is None else fit.resid * sw
        fitted = _Fitted(
            kept_names, Xw, uw, fit.bread, fit.coef, dropped, float(np.einsum("i,i->", uw, uw))
        )
        request = (
            self.vcov_request
            if vcov is None
            else parse_vcov(vcov, None, self.vcov_request.clusters)
        )
        return self._result(fitted, request, self.ssc if ssc is None else resolve_ssc(ssc))

    # ----------------------------------------------------------------------------------------
    def fit_many(
        self,
        D_tilde: npt.ArrayLike,
        *,
        vcov: str | Mapping[str, Any] | None = None,
        ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
        chunk: int = FIT_MANY_CHUNK,
    ) -> tuple[FloatArray, FloatArray]:
        """Coefficient and standard error of one treatment column per draw, for many draws.

        Parameters
        ----------
        D_tilde
            ``n x R`` treatment columns **already demeaned** (e.g. ``design.demean(D)``), one
            column per draw (placebo assignment), rows = estimation sample.
        vcov, ssc
            Override the design's default variance / small-sample convention.
        chunk
            Draws processed at once (memory ``~ 4 n chunk`` doubles).

        Returns
        -------
        (coef, se)
            Arrays of length ``R``; each equals ``fit(D[:, r]).term("treat")`` to ~1e-12.
            A column collinear with the fixed effects or the controls gives NaN.

        Notes
        -----
        Frisch–Waugh–Lovell: with ``Z`` the demeaned controls (collinear ones removed) and
        ``Q = (Z'WZ)^{-1} Z'W``, ``d = D - Z Q D`` and ``e = y - Z Q y``; then
        ``b = d'We / d'Wd``, residuals ``u = e - b d``, and the variance is
        ``c * sum_g (sum_{i in g} w_i d_i u_i)^2 / (d'Wd)^2`` (CRV1; HC1 with singleton
        groups; iid ``c = sum w u^2 / (n - K)`` over ``d'Wd``), ``K = 1 + kept controls +``
        fixed-effect parameters. With a multi-way ``psd_fix`` convention (``ssc="stata"``) a
        negative variance is set to zero; ``fit`` instead fixes the full matrix, so the two can
        differ in that (rare) case.

        Examples
        --------
        >>> design = prepare_twfe(df, "y", ["x1"], fe=["unit", "year"], cluster="unit")
        ... # doctest: +SKIP
        >>> draws = rng.permutation(...)  # n x R placebo treatment columns  # doctest: +SKIP
        >>> coef, se = design.fit_many(design.demean(draws))  # doctest: +SKIP
        """
        D = np.asarray(D_tilde, dtype=np.float64)
        if D.ndim == 1:
            D = D[:, np.newaxis]
        if D.shape[0] != self.nobs:
            raise EstimationError(
                f"D_tilde has {D.shape[0]} rows; expected {self.nobs} (estimation sample)"
            )
        request = (
            self.vcov_request
            if vcov is None
            else parse_vcov(vcov, None, self.vcov_request.clusters)
        )
        use_ssc = self.ssc if ssc is None else resolve_ssc(ssc)
        w = self.weights
        Z = self.controls
        if Z.size:
            gram = Z.T @ (Z if w is None else Z * w[:, np.newaxis])
            kept, _, _ = screen_collinear(gram, self.control_raw_ss)
            Z = Z[:, kept]
        n_controls = Z.shape[1] if Z.size else 0
        if n_controls:
            Zw = Z if w is None else Z * w[:, np.newaxis]
            zz_inv = np.linalg.inv(Z.T @ Zw)
            e = self.y - Z @ (zz_inv @ (Zw.T @ self.y))
        else:
            Zw = Z
            zz_inv = np.zeros((0, 0))
            e = self.y
        codes = self._cluster_codes_for(request.clusters) if request.kind == "crv1" else ()
        k_total = 1 + n_controls + self._k_fe(use_ssc, codes)
        n = self.nobs
        r_total = D.shape[1]
        coef = np.full(r_total, np.nan)
        se = np.full(r_total, np.nan)
        variance = ScalarVariance.build(request.kind, n, k_total, use_ssc, codes, request.clusters)
        for start in range(0, r_total, chunk):
            stop = min(start + chunk, r_total)
            d = D[:, start:stop]
            if n_controls:
                d = d - Z @ (zz_inv @ (Zw.T @ d))
            dw = d if w is None else d * w[:, np.newaxis]
            ddw = np.einsum("ij,ij->j", dw, d)
            raw_ss = np.einsum("ij,ij->j", dw, D[:, start:stop])
            with np.errstate(divide="ignore", invalid="ignore"):
                b = (dw.T @ e) / ddw
            bad = ~(ddw > COLLINEAR_TOL * np.maximum(raw_ss, 1e-300))
            u = e[:, np.newaxis] - d * b[np.newaxis, :]
            scores = dw * u
            if request.kind == "iid":
                uw = u if w is None else u * w[:, np.newaxis]
                var = variance.variance(scores, np.einsum("ij,ij->j", uw, u), ddw)
            else:
                var = variance.variance(scores, None, ddw)
            b[bad] = np.nan
            var[bad] = np.nan
            coef[start:stop] = b
            se[start:stop] = np.sqrt(var)
        return coef, se


# --------------------------------------------------------------------------------------------
def prepare_twfe(
    data: Panel | pd.DataFrame,
    y: str,
    controls: Sequence[str] = (),
    fe: Sequence[str] | str | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    *,
    treat: str | Sequence[str] | None = None,
    vcov: str | Mapping[str, Any] | None = None,
    ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
    drop_singletons: bool = True,
) -> DemeanedDesign:
    """Build a :class:`DemeanedDesign`: resolve columns, drop missing rows, absorb fixed effects.

    Parameters
    ----------
    data
        A :class:`~didstudy.data.panel.Panel` or, at the frame level used inside estimators, an
        already validated DataFrame (no role checks). With a Panel, ``fe`` defaults to
        ``[unit, time]``, ``cluster`` to ``panel.cluster`` or the unit, ``weights`` to
        ``panel.weight``. With a DataFrame ``fe`` is required and ``cluster`` defaults to the
        first fixed effect (as fixest).
    y, controls
        Outcome and control columns.
    fe
        Absorbed factors: column names or interactions ``"a^b"``.
    cluster
        Cluster column(s): a name, ``"a+b"`` or a list (two-way clustering).
    weights
        Column of analytic weights (positive).
    treat
        Treatment column(s) to include in the missing-value screen and demean up front.
    vcov, ssc
        Default variance and small-sample convention of fits from this design.
    drop_singletons
        Drop singleton observations iteratively (default True, as reghdfe).
    """
    frame, fe_list, default_cluster, weights = _roles(data, fe, weights)
    request = parse_vcov(vcov, cluster, default_cluster)
    use_ssc = resolve_ssc(ssc)
    treat_names = list(_split_names(treat)) if isinstance(treat, str) else list(treat or ())
    controls = list(controls)
    cols = [y, *treat_names, *controls]
    factor_cols: list[str] = []
    for spec in [*fe_list, *request.clusters]:
        factor_cols += factor_columns(spec)
    _require(frame, list(dict.fromkeys(cols + factor_cols + ([weights] if weights else []))))
    full, ok, w_all = _numeric_block(frame, cols, factor_cols, weights)
    n_input = len(frame)
    n_missing = int(n_input - ok.sum())
    raw_codes = [encode_factor(frame, spec) for spec in fe_list]
    if n_missing:
        raw_codes = [c[ok] for c in raw_codes]
    ok, raw_codes, n_single = _drop_singletons(ok, raw_codes, fe_list, drop_singletons)
    all_ok = n_missing == 0 and n_single == 0
    if not ok.any():
        raise EstimationError("no observations left after dropping missing values and singletons")
    recoded = []
    while raw_codes:  # release each raw code array as soon as it is recoded
        recoded.append(recode(raw_codes.pop(0)))
    fe_codes = tuple(recoded)
    cluster_codes: tuple[IntArray, ...] = ()
    if request.kind == "crv1":
        cluster_codes = tuple(
            _codes_on_sample(frame, name, ok, all_ok, fe_list, fe_codes)
            for name in request.clusters
        )
    w = None if w_all is None else np.ascontiguousarray(w_all if all_ok else w_all[ok])
    mat = _compact(full, ok, all_ok)
    raw_ss = _centred_sums_of_squares(mat, w)
    y_mean = float(np.mean(mat[:, 0]))
    method = demean_method(list(fe_codes), w)
    demean(mat, list(fe_codes), w, out=mat, method=_forced(method))
    nt = len(treat_names)
    treat_cache = {
        name: (mat[:, 1 + j], float(raw_ss[1 + j])) for j, name in enumerate(treat_names)
    }
    return DemeanedDesign(
        y_name=y,
        control_names=tuple(controls),
        fe_names=tuple(fe_list),
        y=mat[:, 0],
        controls=mat[:, 1 + nt :],
        fe=fe_codes,
        weights=w,
        vcov_request=request,
        cluster_codes=cluster_codes,
        sample=ok,
        index=frame.index if all_ok else frame.index[ok],
        n_dropped_missing=n_missing,
        n_singletons=n_single,
        ssc=use_ssc,
        y_mean=y_mean,
        tss=float(raw_ss[0]),
        control_raw_ss=raw_ss[1 + nt :],
        treat_cache=treat_cache,
        method=method,
        _frame=frame,
        _matrix=mat,
    )


def _roles(
    data: Any, fe: Sequence[str] | str | None, weights: str | None
) -> tuple[pd.DataFrame, list[str], list[str], str | None]:
    """Frame, absorbed factors, default cluster and weights of a Panel or a DataFrame."""
    if isinstance(data, Panel):
        fe_list = list(_split_fe(fe)) if fe is not None else [data.unit, data.time]
        default_cluster = [data.cluster or data.unit]
        if weights is None:
            weights = data.weight
        return data.frame, fe_list, default_cluster, weights
    if isinstance(data, pd.DataFrame):
        # the frame level: an already validated sample (stacked PSM samples, event-time
        # designs); public entries validate through didstudy.as_panel first (decision 0020)
        if fe is None:
            raise EstimationError(
                "fixed effects are required when data is a DataFrame",
                fix="pass fe=['unit', 'time'], or build a didstudy.Panel",
            )
        fe_list = list(_split_fe(fe))
        return data, fe_list, fe_list[:1], weights
    raise PanelRequiredError(
        f"data must be a didstudy Panel or a pandas DataFrame, not {type(data).__name__}",
        fix="build one with didstudy.as_panel(df, unit='city', time='year', treat='policy').",
    )


def _require(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    missing_cols = [c for c in needed if c not in frame.columns]
    if missing_cols:
        raise DataError(
            f"column{'s' if len(missing_cols) > 1 else ''} not found: "
            + ", ".join(repr(c) for c in missing_cols),
            column=missing_cols[0],
            fix=f"available columns: {', '.join(map(str, list(frame.columns)[:20]))}",
        )


def _numeric_block(
    frame: pd.DataFrame, cols: Sequence[str], factor_cols: Sequence[str], weights: str | None
) -> tuple[FloatArray, BoolArray, FloatArray | None]:
    """One float64 Fortran matrix of the numeric columns (demeaned in place later), the rows
    without missing values, and the weights (rows with weight 0 are dropped)."""
    n_input = len(frame)
    full = np.empty((n_input, len(cols)), order="F")
    ok = np.ones(n_input, dtype=bool)
    for j, c in enumerate(cols):
        full[:, j] = _numeric(frame, c)
        ok &= np.isfinite(full[:, j])
    for c in dict.fromkeys(factor_cols):
        ok &= ~frame[c].isna().to_numpy(dtype=bool)
    w_all = None
    if weights:
        w_all = _numeric(frame, weights)
        ok &= np.isfinite(w_all)
        bad = ok & (w_all < 0)
        if bad.any():
            raise DataError(
                "weights must be non-negative",
                column=weights,
                rows=list(frame.index[bad][:10]),
            )
        ok &= w_all > 0
    return full, ok, w_all


def _drop_singletons(
    ok: BoolArray, raw_codes: list[IntArray], fe_list: Sequence[str], drop: bool
) -> tuple[BoolArray, list[IntArray], int]:
    """Drop singleton observations iteratively (warns); returns the new mask and codes."""
    if not (drop and raw_codes):
        return ok, raw_codes, 0
    single = find_singletons(raw_codes)
    n_single = int(single.sum())
    if not n_single:
        return ok, raw_codes, 0
    warnings.warn(
        f"dropped {n_single} singleton observation{'s' if n_single > 1 else ''} "
        f"(alone in a level of {', '.join(fe_list)})",
        SingletonWarning,
        stacklevel=4,
    )
    pos = np.flatnonzero(ok)
    ok = ok.copy()
    ok[pos[single]] = False
    return ok, [c[~single] for c in raw_codes], n_single


def _compact(full: FloatArray, ok: BoolArray, all_ok: bool) -> FloatArray:
    """The sample rows of ``full``, moved to its top in place (no second n x k matrix)."""
    if all_ok:
        return full
    n = int(ok.sum())
    for j in range(full.shape[1]):
        full[:n, j] = full[ok, j]
    return full[:n, :]


def _centred_sums_of_squares(mat: FloatArray, w: FloatArray | None) -> FloatArray:
    raw_ss = np.empty(mat.shape[1])
    for j in range(mat.shape[1]):
        x = mat[:, j]
        xc = x - float(x.mean() if w is None else np.average(x, weights=w))
        raw_ss[j] = float(
            np.einsum("i,i->", xc, xc) if w is None else np.einsum("i,i,i->", xc, w, xc)
        )
    return raw_ss


def _forced(method: str) -> DemeanMethod:
    return "iterative" if method == "iterative" else "auto"


def _codes_on_sample(
    frame: pd.DataFrame,
    name: str,
    ok: BoolArray,
    all_ok: bool,
    fe_list: Sequence[str],
    fe_codes: Sequence[FixedEffectCodes],
) -> IntArray:
    """Cluster codes on the sample; reuses the fixed-effect coding when the names match."""
    if name in fe_list:
        return fe_codes[list(fe_list).index(name)].codes
    codes = encode_factor(frame, name)
    return recode(codes if all_ok else codes[ok]).codes


def _split_fe(fe: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(fe, str):
        return tuple(p.strip() for p in fe.replace(",", "+").split("+") if p.strip())
    return tuple(str(f).strip() for f in fe)
