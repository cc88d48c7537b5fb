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

from didstudy.errors import CollinearityWarning, DataError, EstimationError, SingletonWarning
from didstudy.estimation.demean import DemeanMethod, FixedEffectCodes, demean, demean_method
from didstudy.estimation.fixed_effects import (
    encode_factor,
    factor_columns,
    find_singletons,
    is_nested,
    mobility_groups,
    recode,
)
from didstudy.estimation.ols import COLLINEAR_TOL, ols, screen_collinear
from didstudy.inference.vcov import (
    SmallSampleCorrection,
    VcovKind,
    fixef_parameters,
    normalize_vcov_kind,
    resolve_ssc,
    sandwich_vcov,
)
from didstudy.results.regression import RegressionResult

__all__ = ["DemeanedDesign", "VcovRequest", "parse_vcov", "prepare_twfe"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Columns of placebo draws processed at once by ``fit_many`` (bounds memory at n x chunk).
FIT_MANY_CHUNK = 256


@dataclass(frozen=True)
class VcovRequest:
    """A parsed variance request: kind and cluster factors (``"a"`` or ``"a^b"`` each)."""

    kind: VcovKind
    clusters: tuple[str, ...] = ()


def _split_names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split("+") if p.strip())
    return tuple(str(v).strip() for v in value)


def parse_vcov(
    vcov: str | Mapping[str, Any] | None,
    cluster: str | Sequence[str] | None,
    default_cluster: Sequence[str] = (),
) -> VcovRequest:
    """Parse ``vcov=`` and ``cluster=`` into a :class:`VcovRequest`.

    ``vcov=None`` means CRV1 on ``cluster`` (or ``default_cluster``); ``"iid"``, ``"hc1"``
    ignore clusters; ``{"crv1": "a+b"}`` clusters two-way on ``a`` and ``b``.
    """
    clusters = _split_names(cluster) or tuple(default_cluster)
    if vcov is None:
        if not clusters:
            return VcovRequest("iid")
        return VcovRequest("crv1", clusters)
    if isinstance(vcov, Mapping):
        if len(vcov) != 1:
            raise EstimationError(f"vcov mapping must have one key, got {dict(vcov)}")
        key, value = next(iter(vcov.items()))
        kind = normalize_vcov_kind(str(key))
        if kind != "crv1":
            return VcovRequest(kind)
        names = _split_names(value) or clusters
        if not names:
            raise EstimationError("clustered vcov requested without cluster variables")
        return VcovRequest("crv1", names)
    kind = normalize_vcov_kind(str(vcov))
    if kind == "crv1":
        if not clusters:
            raise EstimationError(
                "vcov='crv1' needs cluster variables", fix="pass cluster='unit' (or similar)"
            )
        return VcovRequest("crv1", clusters)
    return VcovRequest(kind)


def _is_panel(data: object) -> bool:
    return all(hasattr(data, a) for a in ("frame", "unit", "time")) and not isinstance(
        data, pd.DataFrame
    )


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
        if tuple(names) == self.vcov_request.clusters and self.cluster_codes:
            return self.cluster_codes
        if self._frame is None:
            raise EstimationError("cannot cluster on new variables: the input data are not kept")
        codes = []
        for name in names:
            for col in factor_columns(name):
                if col not in self._frame.columns:
                    raise DataError("cluster column not found", column=col)
                if self._frame[col].isna().to_numpy(dtype=bool)[self.sample].any():
                    raise DataError(
                        "cluster column has missing values in the estimation sample",
                        column=col,
                        fix="fill them or re-estimate with this cluster variable",
                    )
            codes.append(recode(encode_factor(self._frame, name)[self.sample]).codes)
        return tuple(codes)

    def _k_fe(self, ssc: SmallSampleCorrection, cluster_codes: Sequence[IntArray]) -> int:
        levels = [f.n_levels for f in self.fe]
        nested = [any(is_nested(f.codes, c) for c in cluster_codes) for f in self.fe]
        redundant = None
        if ssc.fixef_exact:
            redundant = []
            counted: list[FixedEffectCodes] = []
            for f, nest in zip(self.fe, nested, strict=True):
                if ssc.fixef_k == "nested" and nest:
                    redundant.append(0)
                    continue
                redundant.append(max((mobility_groups(g, f) for g in counted), default=0))
                counted.append(f)
        return fixef_parameters(levels, nested, ssc, redundant)

    def _k_fe_full(self) -> int:
        levels = [f.n_levels for f in self.fe]
        return fixef_parameters(
            levels, [False] * len(levels), SmallSampleCorrection(fixef_k="full")
        )

    def _result(
        self, fitted: _Fitted, request: VcovRequest, ssc: SmallSampleCorrection
    ) -> RegressionResult:
        n = self.nobs
        k = len(fitted.names)
        codes = self._cluster_codes_for(request.clusters) if request.kind == "crv1" else ()
        k_fe = self._k_fe(ssc, codes)
        est = sandwich_vcov(
            fitted.X,
            fitted.resid,
            fitted.bread,
            request.kind,
            n_obs=n,
            k_total=k + k_fe,
            ssc=ssc,
            cluster_codes=codes,
            cluster_names=request.clusters,
        )
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
            "n_clusters": min(est.n_clusters) if est.n_clusters else None,
            "n_clusters_by": list(est.n_clusters),
            "df_resid": n - k_full,
            "k": k,
            "k_fe": k_fe,
            "ssc_factor": est.factor,
            "fixed_effects": list(self.fe_names),
            "fe_levels": [f.n_levels for f in self.fe],
            "n_singletons": self.n_singletons,
            "n_dropped_missing": self.n_dropped_missing,
            "y_mean": self.y_mean,
            "weighted": self.weights is not None,
            "demean_method": self.method,
            "psd_fixed": est.psd_fixed,
        }
        revcov = functools.partial(self._revcov, fitted, ssc)
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
            _revcov=revcov,
        )

    def _revcov(
        self, fitted: _Fitted, old_ssc: SmallSampleCorrection, vcov: Any, ssc: Any
    ) -> RegressionResult:
        request = parse_vcov(vcov, None, self.vcov_request.clusters)
        new_ssc = old_ssc if ssc is None else resolve_ssc(ssc)
        return self._result(fitted, request, new_ssc)

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
        # scalar small-sample factors, mirroring sandwich_vcov
        est = sandwich_vcov(
            np.ones((n, 1)),
            np.zeros(n),
            np.eye(1),
            request.kind,
            n_obs=n,
            k_total=k_total,
            ssc=use_ssc,
            cluster_codes=codes,
            cluster_names=request.clusters,
        )
        del est  # validates inputs (degrees of freedom, cluster counts) once
        terms = self._cluster_terms(codes, use_ssc) if request.kind == "crv1" else []
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
            var = self._scalar_var(scores, u, ddw, request.kind, terms, n, k_total, use_ssc)
            b[bad] = np.nan
            var[bad] = np.nan
            coef[start:stop] = b
            se[start:stop] = np.sqrt(var)
        return coef, se

    @staticmethod
    def _cluster_terms(
        codes: Sequence[IntArray], ssc: SmallSampleCorrection
    ) -> list[tuple[float, Any]]:
        """(sign x G-factor, cluster indicator matrix) per multi-way term (CGM 2011)."""
        from itertools import combinations

        from scipy import sparse

        g_min = min(int(c.max()) + 1 for c in codes)
        terms: list[tuple[float, Any]] = []
        q = len(codes)
        for size in range(1, q + 1):
            sign = 1.0 if size % 2 else -1.0
            for subset in combinations(range(q), size):
                if size == 1:
                    cc = codes[subset[0]]
                else:
                    combined = codes[subset[0]].astype(np.int64)
                    for i in subset[1:]:
                        combined = combined * (int(codes[i].max()) + 1) + codes[i]
                    cc = np.unique(combined, return_inverse=True)[1].reshape(-1)
                g = int(cc.max()) + 1
                if not ssc.cluster_adj:
                    gfac = 1.0
                elif ssc.cluster_df == "min":
                    gfac = g_min / (g_min - 1)
                else:
                    gfac = g / (g - 1) if g > 1 else 1.0
                indicator = sparse.csr_matrix(
                    (np.ones(cc.size), (cc, np.arange(cc.size))), shape=(g, cc.size)
                )
                terms.append((sign * gfac, indicator))
        return terms

    def _scalar_var(
        self,
        scores: FloatArray,
        u: FloatArray,
        ddw: FloatArray,
        kind: VcovKind,
        terms: Sequence[tuple[float, Any]],
        n: int,
        k: int,
        ssc: SmallSampleCorrection,
    ) -> FloatArray:
        if kind == "iid":
            uw = u if self.weights is None else u * self.weights[:, np.newaxis]
            rss = np.einsum("ij,ij->j", uw, u)
            sigma2 = rss / (n - k) if ssc.adj else rss / max(n - 1, 1)
            out_iid: FloatArray = sigma2 / ddw
            return out_iid
        if kind == "hc1":
            factor = n / (n - k) if ssc.adj else 1.0
            out_hc: FloatArray = factor * np.einsum("ij,ij->j", scores, scores) / ddw**2
            return out_hc
        adj = (n - 1) / (n - k) if ssc.adj else 1.0
        total = np.zeros(scores.shape[1])
        for factor_g, indicator in terms:
            sums = indicator @ scores
            total += factor_g * np.einsum("ij,ij->j", sums, sums)
        out: FloatArray = adj * total / ddw**2
        if len(terms) > 1 and ssc.psd_fix:
            out = np.maximum(out, 0.0)
        return out


# --------------------------------------------------------------------------------------------
def prepare_twfe(
    data: Any,
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
        A Panel (duck-typed: ``.frame``, ``.unit``, ``.time``, ``.cluster``, ``.weight``) or a
        DataFrame. With a Panel, ``fe`` defaults to ``[unit, time]``, ``cluster`` to
        ``panel.cluster`` or the unit, ``weights`` to ``panel.weight``. With a DataFrame ``fe``
        is required and ``cluster`` defaults to the first fixed effect (as fixest).
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
    if _is_panel(data):
        frame = data.frame
        fe_list = list(_split_fe(fe)) if fe is not None else [data.unit, data.time]
        default_cluster = [getattr(data, "cluster", None) or data.unit]
        if weights is None:
            weights = getattr(data, "weight", None)
    elif isinstance(data, pd.DataFrame):
        frame = data
        if fe is None:
            raise EstimationError(
                "fixed effects are required when data is a DataFrame",
                fix="pass fe=['unit', 'time'], or build a didstudy.Panel",
            )
        fe_list = list(_split_fe(fe))
        default_cluster = fe_list[:1]
    else:
        raise DataError(
            f"data must be a didstudy Panel or a pandas DataFrame, not {type(data).__name__}"
        )
    request = parse_vcov(vcov, cluster, default_cluster)
    use_ssc = resolve_ssc(ssc)
    treat_names = list(_split_names(treat)) if isinstance(treat, str) else list(treat or ())
    controls = list(controls)

    numeric_cols = [y, *treat_names, *controls]
    factor_cols: list[str] = []
    for spec in [*fe_list, *request.clusters]:
        factor_cols += factor_columns(spec)
    needed = list(dict.fromkeys(numeric_cols + factor_cols + ([weights] if weights else [])))
    missing_cols = [c for c in needed if c not in frame.columns]
    if missing_cols:
        raise DataError(
            f"column{'s' if len(missing_cols) > 1 else ''} not found: "
            + ", ".join(repr(c) for c in missing_cols),
            column=missing_cols[0],
            fix=f"available columns: {', '.join(map(str, list(frame.columns)[:20]))}",
        )
    n_input = len(frame)
    cols = [y, *treat_names, *controls]
    # one float64 Fortran matrix holds every numeric column; it is demeaned in place later
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
    n_missing = int(n_input - ok.sum())
    all_ok = n_missing == 0
    raw_codes = [encode_factor(frame, spec) for spec in fe_list]
    if not all_ok:
        raw_codes = [c[ok] for c in raw_codes]
    n_single = 0
    if drop_singletons and raw_codes:
        single = find_singletons(raw_codes)
        n_single = int(single.sum())
        if n_single:
            warnings.warn(
                f"dropped {n_single} singleton observation{'s' if n_single > 1 else ''} "
                f"(alone in a level of {', '.join(fe_list)})",
                SingletonWarning,
                stacklevel=3,
            )
            pos = np.flatnonzero(ok)
            ok = ok.copy()
            ok[pos[single]] = False
            all_ok = False
            raw_codes = [c[~single] for c in raw_codes]
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
    n = int(ok.sum())
    if all_ok:
        mat = full
    else:
        for j in range(len(cols)):
            full[:n, j] = full[ok, j]
        mat = full[:n, :]
    del full
    raw_ss = np.empty(len(cols))
    for j in range(len(cols)):
        x = mat[:, j]
        xc = x - float(np.average(x, weights=w))
        raw_ss[j] = float(
            np.einsum("i,i->", xc, xc) if w is None else np.einsum("i,i,i->", xc, w, xc)
        )
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
