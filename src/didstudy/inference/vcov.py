"""Variance estimators for least squares: iid, HC1 and cluster-robust CRV1 (one- and multi-way).

All estimators are sandwiches ``V = c * B M B`` with bread ``B = (X'WX)^{-1}`` of the (demeaned,
weighted) regressors and a meat ``M`` (White 1980; Liang & Zeger 1986; Cameron, Gelbach & Miller
2011 for multi-way clustering, ``M = M_1 + M_2 - M_12``). The small-sample factor ``c`` follows
the conventions in ``docs/decisions/0001-small-sample-corrections.md``:

* ``iid``: ``sigma^2 = RSS / (n - K)``;
* ``hc1``: ``c = n / (n - K)``;
* ``crv1``: ``c = G/(G-1) * (n-1)/(n-K)``, with ``G = min_j G_j`` for multi-way clustering.

``K`` counts the regressors plus the fixed-effect parameters; by default (fixest's
``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE, cluster.df="min", t.df="min")``) fixed
effects nested in a cluster variable are not counted. Clustered t-statistics use ``G_min - 1``
degrees of freedom; iid and HC1 use ``n - K``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from didstudy.errors import EstimationError

__all__ = [
    "SSC_PRESETS",
    "FixefCount",
    "SmallSampleCorrection",
    "VcovEstimate",
    "VcovKind",
    "cluster_meat",
    "fixef_parameters",
    "normalize_vcov_kind",
    "resolve_ssc",
    "sandwich_vcov",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
VcovKind = Literal["iid", "hc1", "crv1"]
FixefCount = Literal["none", "nested", "full"]

_KIND_ALIASES: dict[str, VcovKind] = {
    "iid": "iid",
    "standard": "iid",
    "ols": "iid",
    "unadjusted": "iid",
    "hc1": "hc1",
    "hetero": "hc1",
    "robust": "hc1",
    "white": "hc1",
    "crv1": "crv1",
    "cluster": "crv1",
    "cl": "crv1",
    "twoway": "crv1",
}


def normalize_vcov_kind(kind: str) -> VcovKind:
    """Map a user spelling (``"hetero"``, ``"cluster"``, ``"CRV1"``, ...) to a canonical kind."""
    key = kind.strip().lower()
    if key not in _KIND_ALIASES:
        raise EstimationError(
            f"unknown variance type {kind!r}",
            fix="use one of 'iid', 'hc1' (alias 'hetero', 'robust'), 'crv1' (alias 'cluster')",
        )
    return _KIND_ALIASES[key]


@dataclass(frozen=True)
class SmallSampleCorrection:
    """Small-sample conventions (see docs/decisions/0001-small-sample-corrections.md).

    Attributes
    ----------
    name
        Label reported in ``stats()["ssc"]``.
    adj
        Apply ``(n-1)/(n-K)`` (``n/(n-K)`` for HC1; ``sigma^2 = RSS/(n-K)`` for iid).
    fixef_k
        How fixed-effect parameters enter ``K``: ``"nested"`` (fixest default: not those nested
        in a cluster variable), ``"full"`` or ``"none"``.
    fixef_exact
        Count redundant fixed-effect levels exactly by connected components of every pair of
        factors (reghdfe's ``dof(pairwise)``) instead of assuming one per extra factor (fixest).
    cluster_adj
        Apply ``G/(G-1)``.
    cluster_df
        ``"min"``: every multi-way term uses ``G_min/(G_min-1)``; ``"conventional"``: each term
        its own ``G_j/(G_j-1)``.
    psd_fix
        Replace negative eigenvalues of a multi-way clustered matrix by zero (Cameron, Gelbach &
        Miller 2011, section 2.3); reghdfe does, fixest does not.
    df_t_cap
        Clustered t degrees of freedom ``min(G_min - 1, n - K)`` (reghdfe) instead of
        ``G_min - 1`` (fixest).
    """

    name: str = "fixest"
    adj: bool = True
    fixef_k: FixefCount = "nested"
    fixef_exact: bool = False
    cluster_adj: bool = True
    cluster_df: Literal["min", "conventional"] = "min"
    psd_fix: bool = False
    df_t_cap: bool = False


#: Named conventions accepted as ``ssc=``.
SSC_PRESETS: dict[str, SmallSampleCorrection] = {
    "fixest": SmallSampleCorrection(),
    "stata": SmallSampleCorrection(name="stata", fixef_exact=True, psd_fix=True, df_t_cap=True),
    "none": SmallSampleCorrection(name="none", adj=False, fixef_k="none", cluster_adj=False),
}
SSC_PRESETS["reghdfe"] = replace(SSC_PRESETS["stata"], name="reghdfe")


def resolve_ssc(
    ssc: str | Mapping[str, Any] | SmallSampleCorrection | None,
) -> SmallSampleCorrection:
    """Turn ``None`` / a preset name / a mapping of fields into a :class:`SmallSampleCorrection`."""
    if ssc is None:
        return SSC_PRESETS["fixest"]
    if isinstance(ssc, SmallSampleCorrection):
        return ssc
    if isinstance(ssc, str):
        key = ssc.strip().lower()
        if key not in SSC_PRESETS:
            raise EstimationError(
                f"unknown small-sample convention {ssc!r}",
                fix=f"use one of {sorted(SSC_PRESETS)} or a mapping of SmallSampleCorrection"
                " fields",
            )
        return SSC_PRESETS[key]
    fields = dict(ssc)
    base = SSC_PRESETS["fixest"]
    if "name" not in fields:
        fields["name"] = "custom"
    try:
        return replace(base, **fields)
    except TypeError as exc:
        raise EstimationError(f"invalid small-sample option: {exc}") from exc


def fixef_parameters(
    levels: Sequence[int],
    nested: Sequence[bool],
    ssc: SmallSampleCorrection,
    redundant: Sequence[int] | None = None,
) -> int:
    """Number of fixed-effect parameters counted in ``K``.

    Parameters
    ----------
    levels
        Number of levels of each absorbed factor.
    nested
        Whether each factor is nested in (some) cluster variable; all False when not clustering.
    ssc
        The convention.
    redundant
        With ``ssc.fixef_exact``: redundant levels of each factor given the non-nested factors
        before it (0 for the first non-nested factor; connected components otherwise).

    Notes
    -----
    fixest (``fixef.K.exact = FALSE``): ``full = sum(G_q) - (Q - 1)``; ``nested`` subtracts the
    levels of nested factors and adds one back per nested factor (pyfixest ``get_ssc``).
    reghdfe: nested factors count 0; the others ``G_q - M_q``; if every factor is nested, one
    parameter (its ``nested_adj``) remains for the intercept.
    """
    q = len(levels)
    if q == 0 or ssc.fixef_k == "none":
        return 0
    use_nested = ssc.fixef_k == "nested"
    if ssc.fixef_exact:
        red = list(redundant) if redundant is not None else [0] + [1] * (q - 1)
        total = 0
        any_counted = False
        for g, nest, m in zip(levels, nested, red, strict=True):
            if use_nested and nest:
                continue
            total += g - m
            any_counted = True
        return total if any_counted else 1
    full = sum(levels) - (q - 1)
    if not use_nested:
        return full
    nested_levels = sum(g for g, nest in zip(levels, nested, strict=True) if nest)
    n_nested = sum(1 for nest in nested if nest)
    return full - nested_levels + n_nested


@dataclass(frozen=True)
class VcovEstimate:
    """A variance matrix with the conventions that produced it.

    Attributes
    ----------
    matrix
        ``p x p`` covariance of the coefficients.
    kind
        ``"iid"``, ``"hc1"`` or ``"crv1"``.
    clusters
        Cluster variable names (empty unless ``crv1``).
    n_clusters
        Number of clusters per cluster variable.
    df_t
        Degrees of freedom of the t distribution used for p-values and intervals.
    k_total
        ``K`` used in the small-sample factor (regressors + counted fixed effects).
    factor
        The scalar small-sample factor applied (for multi-way ``"conventional"``: of the first
        term).
    ssc
        The convention.
    psd_fixed
        True when negative eigenvalues were set to zero.
    """

    matrix: FloatArray
    kind: VcovKind
    clusters: tuple[str, ...]
    n_clusters: tuple[int, ...]
    df_t: int
    k_total: int
    factor: float
    ssc: SmallSampleCorrection
    psd_fixed: bool = False


#: Rows per block when forming score outer products (bounds the temporary to 64 MB at p = 8).
_ROW_CHUNK = 1_000_000


def cluster_meat(
    X: FloatArray, resid: FloatArray, codes: IntArray, n_groups: int | None = None
) -> FloatArray:
    """``sum_g s_g s_g'`` with ``s_g = sum_{i in g} x_i u_i`` the within-cluster score sums."""
    g = int(codes.max()) + 1 if n_groups is None else n_groups
    sums = np.empty((g, X.shape[1]))
    for j in range(X.shape[1]):
        sums[:, j] = np.bincount(codes, weights=X[:, j] * resid, minlength=g)
    meat: FloatArray = sums.T @ sums
    return meat


def _intersect(codes: Sequence[IntArray]) -> IntArray:
    combined = codes[0].astype(np.int64)
    for c in codes[1:]:
        combined = combined * (int(c.max()) + 1) + c
    _, inverse = np.unique(combined, return_inverse=True)
    return np.asarray(inverse, dtype=np.intp).reshape(-1)


def sandwich_vcov(
    X: FloatArray,
    resid: FloatArray,
    bread: FloatArray,
    kind: VcovKind,
    *,
    n_obs: int,
    k_total: int,
    ssc: SmallSampleCorrection,
    cluster_codes: Sequence[IntArray] = (),
    cluster_names: Sequence[str] = (),
) -> VcovEstimate:
    """Variance of least-squares coefficients.

    Parameters
    ----------
    X
        ``n x p`` regressors as used in the fit (demeaned, multiplied by ``sqrt(w)``).
    resid
        ``n`` residuals (multiplied by ``sqrt(w)``), so that ``X * resid`` are the scores.
    bread
        ``(X'X)^{-1}``.
    kind
        ``"iid"``, ``"hc1"`` or ``"crv1"``.
    n_obs, k_total
        ``n`` and ``K`` of the small-sample factor (``K`` already includes the fixed effects
        counted under ``ssc``).
    ssc
        Small-sample convention.
    cluster_codes, cluster_names
        One integer code array per cluster variable (``crv1`` only).
    """
    n, k = n_obs, k_total
    if kind != "crv1":
        if n - k <= 0:
            raise EstimationError(
                f"no residual degrees of freedom (n = {n}, K = {k})",
                fix="use fewer regressors or fixed effects, or more observations",
            )
        if kind == "iid":
            rss = float(
                np.einsum("i,i->", resid, resid)
            )  # einsum: threaded BLAS ddot stalls under CPU contention
            sigma2 = rss / (n - k) if ssc.adj else rss / max(n - 1, 1)
            return VcovEstimate(sigma2 * bread, "iid", (), (), n - k, k, 1.0, ssc)
        factor = n / (n - k) if ssc.adj else 1.0
        meat = np.zeros((X.shape[1], X.shape[1]))
        for start in range(0, X.shape[0], _ROW_CHUNK):
            scores = X[start : start + _ROW_CHUNK] * resid[start : start + _ROW_CHUNK, None]
            meat += scores.T @ scores
        matrix = factor * (bread @ meat @ bread)
        return VcovEstimate(_sym(matrix), "hc1", (), (), n - k, k, factor, ssc)

    if not cluster_codes:
        raise EstimationError("clustered variance requested without a cluster variable")
    n_groups = tuple(int(c.max()) + 1 for c in cluster_codes)
    g_min = min(n_groups)
    if g_min < 2:
        raise EstimationError(
            f"cannot cluster with {g_min} cluster",
            column=", ".join(cluster_names) or None,
            fix="cluster on a variable with at least two (preferably many) levels",
        )
    adj = (n - 1) / (n - k) if ssc.adj else 1.0
    if ssc.adj and n - k <= 0:
        raise EstimationError(f"no residual degrees of freedom (n = {n}, K = {k})")
    q = len(cluster_codes)
    total = np.zeros((X.shape[1], X.shape[1]))
    first_factor = None
    for size in range(1, q + 1):
        sign = 1.0 if size % 2 else -1.0
        for subset in _subsets(q, size):
            codes = (
                cluster_codes[subset[0]]
                if size == 1
                else _intersect([cluster_codes[i] for i in subset])
            )
            g = int(codes.max()) + 1
            if not ssc.cluster_adj:
                gfac = 1.0
            elif ssc.cluster_df == "min":
                gfac = g_min / (g_min - 1)
            else:
                gfac = g / (g - 1) if g > 1 else 1.0
            if first_factor is None:
                first_factor = gfac * adj
            total += sign * gfac * cluster_meat(X, resid, codes, g)
    matrix = _sym(adj * (bread @ total @ bread))
    fixed = False
    if q > 1 and ssc.psd_fix:
        eigval, eigvec = np.linalg.eigh(matrix)
        if eigval.min() < 0:
            fixed = True
            matrix = _sym((eigvec * np.clip(eigval, 0.0, None)) @ eigvec.T)
    df_t = g_min - 1
    if ssc.df_t_cap:
        df_t = min(df_t, n - k)
    return VcovEstimate(
        matrix,
        "crv1",
        tuple(cluster_names),
        n_groups,
        df_t,
        k,
        float(first_factor or adj),
        ssc,
        fixed,
    )


def _subsets(q: int, size: int) -> list[tuple[int, ...]]:
    from itertools import combinations

    return list(combinations(range(q), size))


def _sym(m: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (m + m.T)
    return out
