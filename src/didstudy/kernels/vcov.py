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
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from didstudy.errors import EstimationError
from didstudy.kernels.fixed_effects import is_nested

__all__ = [
    "SSC_PRESETS",
    "ClusterTerm",
    "FixefCount",
    "ScalarVariance",
    "SmallSampleCorrection",
    "VcovEstimate",
    "VcovKind",
    "VcovPieces",
    "VcovRequest",
    "cluster_meat",
    "cluster_terms",
    "fixef_count",
    "fixef_parameters",
    "hc1_factor",
    "normalize_vcov_kind",
    "parse_vcov",
    "residual_variance",
    "resolve_ssc",
    "sandwich_vcov",
    "score_pieces",
    "vcov_from_pieces",
    "wald_form",
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

    Examples
    --------
    >>> parse_vcov({"crv1": "state+year"}, None)
    VcovRequest(kind='crv1', clusters=('state', 'year'))
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


# --------------------------------------------------------------------------------------------
# the small-sample factors (the only place they are written down)


def residual_variance(rss: Any, n: int, k: int, ssc: SmallSampleCorrection) -> Any:
    """``sigma^2`` of the iid variance: ``RSS / (n - K)`` (``RSS / (n - 1)`` without ``adj``)."""
    return rss / (n - k) if ssc.adj else rss / max(n - 1, 1)


def hc1_factor(n: int, k: int, ssc: SmallSampleCorrection) -> float:
    """HC1 factor ``n / (n - K)`` (1 without ``adj``)."""
    return n / (n - k) if ssc.adj else 1.0


def _crv1_adj(n: int, k: int, ssc: SmallSampleCorrection) -> float:
    if ssc.adj and n - k <= 0:
        raise EstimationError(f"no residual degrees of freedom (n = {n}, K = {k})")
    return (n - 1) / (n - k) if ssc.adj else 1.0


def _require_df(n: int, k: int) -> None:
    if n - k <= 0:
        raise EstimationError(
            f"no residual degrees of freedom (n = {n}, K = {k})",
            fix="use fewer regressors or fixed effects, or more observations",
        )


@dataclass(frozen=True)
class ClusterTerm:
    """One term of the (multi-way) cluster meat, ``sign * G-factor * sum_g s_g s_g'``.

    Attributes
    ----------
    subset
        Positions of the cluster variables intersected in this term.
    codes
        Cluster codes of the intersection (``0..groups-1``).
    groups
        Number of clusters of the intersection.
    sign
        ``+1`` for odd, ``-1`` for even intersections (Cameron, Gelbach & Miller 2011, eq. 2.12).
    """

    subset: tuple[int, ...]
    codes: IntArray
    groups: int
    sign: float

    def factor(self, g_min: int, ssc: SmallSampleCorrection) -> float:
        """The term's ``G/(G-1)`` factor under ``ssc`` (``G_min`` for ``cluster_df="min"``)."""
        return _cluster_factor(self.groups, g_min, ssc)


def _cluster_factor(g: int, g_min: int, ssc: SmallSampleCorrection) -> float:
    if not ssc.cluster_adj:
        return 1.0
    if ssc.cluster_df == "min":
        return g_min / (g_min - 1)
    return g / (g - 1) if g > 1 else 1.0


def cluster_terms(codes: Sequence[IntArray]) -> list[ClusterTerm]:
    """Every term of the inclusion–exclusion sum of multi-way clustering, in a fixed order.

    Sizes 1, 2, ..., q; within a size, subsets in lexicographic order. The intersection of a
    subset is coded by :func:`numpy.unique` on the combined codes.
    """
    terms: list[ClusterTerm] = []
    q = len(codes)
    for size in range(1, q + 1):
        sign = 1.0 if size % 2 else -1.0
        for subset in combinations(range(q), size):
            cc = codes[subset[0]] if size == 1 else _intersect([codes[i] for i in subset])
            terms.append(ClusterTerm(subset, cc, int(cc.max()) + 1, sign))
    return terms


def _check_groups(n_groups: Sequence[int], names: Sequence[str]) -> int:
    g_min = min(n_groups)
    if g_min < 2:
        raise EstimationError(
            f"cannot cluster with {g_min} cluster",
            column=", ".join(names) or None,
            fix="cluster on a variable with at least two (preferably many) levels",
        )
    return g_min


#: Intersections whose combined code range is at most this multiple of the rows are relabelled
#: by a presence table (O(n)) rather than sorted; both number the cells in increasing order.
_DENSE_RANGE = 8


def _intersect(codes: Sequence[IntArray]) -> IntArray:
    combined = codes[0].astype(np.int64)
    for c in codes[1:]:
        combined = combined * (int(c.max()) + 1) + c
    size = int(combined.max()) + 1 if combined.size else 0
    if size <= _DENSE_RANGE * max(combined.size, 1):
        present = np.bincount(combined, minlength=size) > 0
        relabel = np.cumsum(present) - 1
        return np.asarray(relabel[combined], dtype=np.intp)
    _, inverse = np.unique(combined, return_inverse=True)
    return np.asarray(inverse, dtype=np.intp).reshape(-1)


#: Rows per block when forming score outer products (bounds the temporary to 64 MB at p = 8).
_ROW_CHUNK = 1_000_000


def cluster_meat(
    X: FloatArray,
    resid: FloatArray,
    codes: IntArray,
    n_groups: int | None = None,
    scores: FloatArray | None = None,
) -> FloatArray:
    """``sum_g s_g s_g'`` with ``s_g = sum_{i in g} x_i u_i`` the within-cluster score sums.

    ``scores`` (``X * resid[:, None]``, if already formed) saves the products.
    """
    g = int(codes.max()) + 1 if n_groups is None else n_groups
    sums = np.empty((g, X.shape[1]))
    for j in range(X.shape[1]):
        weights = X[:, j] * resid if scores is None else scores[:, j]
        sums[:, j] = np.bincount(codes, weights=weights, minlength=g)
    meat: FloatArray = sums.T @ sums
    return meat


def _hc_meat(X: FloatArray, resid: FloatArray) -> FloatArray:
    meat = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], _ROW_CHUNK):
        scores = X[start : start + _ROW_CHUNK] * resid[start : start + _ROW_CHUNK, None]
        meat += scores.T @ scores
    return meat


# --------------------------------------------------------------------------------------------
# pieces: what a result keeps to change its variance without the data


@dataclass(frozen=True)
class VcovPieces:
    """Everything :func:`vcov_from_pieces` needs, and nothing of the data.

    The meats are ``p x p``: a result that keeps them is a few kilobytes whatever ``n`` is.

    Attributes
    ----------
    bread
        ``(X'WX)^{-1}`` of the kept regressors.
    rss
        Weighted residual sum of squares (iid).
    hc_meat
        ``sum_i s_i s_i'`` with ``s_i = w_i x_i u_i`` (HC1; and any intersection of clusters
        in which every observation is its own cluster).
    n_obs, k_regressors
        Observations and kept regressors.
    default_clusters
        Cluster variables of ``vcov="crv1"`` without names (those of the fit).
    fe_levels
        Levels of each absorbed factor.
    fe_mobility
        ``q x q`` connected components of every pair of absorbed factors (``fixef_exact``
        conventions), or an empty array when not kept.
    cluster_names
        Cluster variables whose meats are kept (one-way and their intersections).
    nested
        ``len(cluster_names) x q``: is factor ``j`` nested in cluster variable ``i``.
    meat_keys
        ``"a"`` or ``"a+b"`` (intersection, names in ``cluster_names`` order) per kept meat.
    meats, meat_groups
        ``len(meat_keys) x p x p`` cluster meats and their numbers of clusters.
    """

    bread: FloatArray
    rss: float
    hc_meat: FloatArray
    n_obs: int
    k_regressors: int
    default_clusters: tuple[str, ...]
    fe_levels: tuple[int, ...]
    fe_mobility: npt.NDArray[np.int64]
    cluster_names: tuple[str, ...]
    nested: npt.NDArray[np.bool_]
    meat_keys: tuple[str, ...]
    meats: FloatArray
    meat_groups: tuple[int, ...]

    def meat(self, names: Sequence[str]) -> tuple[FloatArray, int]:
        """The kept meat of the intersection of ``names`` and its number of clusters."""
        known = [n for n in names if n in self.cluster_names]
        order = sorted(known, key=self.cluster_names.index) + [n for n in names if n not in known]
        key = "+".join(order)
        if key not in self.meat_keys:
            raise EstimationError(
                f"this result cannot be clustered on {' and '.join(order)}: it keeps the scores "
                f"of {', '.join(self.cluster_names) or 'no cluster variable'} only",
                fix=f"refit with cluster={'+'.join(order)!r}",
            )
        i = self.meat_keys.index(key)
        return self.meats[i], self.meat_groups[i]

    def nested_flags(self, clusters: Sequence[str]) -> list[bool]:
        """Per absorbed factor: nested in one of ``clusters`` (all False without clusters)."""
        flags = [False] * len(self.fe_levels)
        for name in clusters:
            if name not in self.cluster_names:
                self.meat([name])  # raises the refit message
            row = self.nested[self.cluster_names.index(name)]
            flags = [a or bool(b) for a, b in zip(flags, row, strict=True)]
        return flags


def fixef_count(
    levels: Sequence[int],
    nested: Sequence[bool],
    mobility: npt.NDArray[np.int64],
    ssc: SmallSampleCorrection,
) -> int:
    """Fixed-effect parameters in ``K`` given the nesting flags and pairwise mobility groups.

    ``mobility[i, j]`` are the connected components of factors ``i`` and ``j`` (only read with
    ``ssc.fixef_exact``); each counted factor loses the most redundant levels it shares with a
    counted factor before it (reghdfe's ``dof(pairwise)``).
    """
    redundant = None
    if ssc.fixef_exact and len(levels) > 1:
        if mobility.size == 0:
            raise EstimationError(
                "this result does not keep the connected components of its fixed effects "
                "needed for an exact fixed-effect count",
                fix=f"refit with ssc={ssc.name!r}",
            )
        redundant = []
        counted: list[int] = []
        for f, nest in enumerate(nested):
            if ssc.fixef_k == "nested" and nest:
                redundant.append(0)
                continue
            redundant.append(max((int(mobility[g, f]) for g in counted), default=0))
            counted.append(f)
    return fixef_parameters(levels, nested, ssc, redundant)


def score_pieces(
    X: FloatArray,
    resid: FloatArray,
    bread: FloatArray,
    *,
    cluster_codes: Mapping[str, IntArray],
    fitted: int = 0,
    fe_codes: Sequence[IntArray] = (),
    fe_levels: Sequence[int] = (),
    fe_mobility: npt.NDArray[np.int64] | None = None,
    default_clusters: Sequence[str] = (),
    keep_hc: bool = True,
) -> VcovPieces:
    """Compress the scores of a fit into :class:`VcovPieces`.

    Parameters
    ----------
    X, resid
        Regressors and residuals as fitted (times ``sqrt(w)``), so that ``X * resid`` are the
        scores.
    bread
        ``(X'WX)^{-1}``.
    cluster_codes
        Candidate cluster variables and their codes: a meat is kept for every non-empty subset
        (their intersections), ``2^m - 1`` meats of ``p x p``.
    fitted
        The first ``fitted`` candidates are the fit's own clusters; an intersection of other
        candidates in which every observation is alone reuses the HC meat.
    fe_codes, fe_levels, fe_mobility
        Codes and level counts of the absorbed factors (for nesting) and their pairwise
        connected components (``None``: not kept).
    default_clusters
        The fit's cluster variables.
    keep_hc
        Keep the HC meat (``sum_i s_i s_i'``): ``p^2 n`` work.
    """
    names = tuple(cluster_codes)
    codes = [cluster_codes[nm] for nm in names]
    n, p = X.shape
    extra = len(codes) > fitted
    scores = X * resid[:, np.newaxis] if (keep_hc or extra) and n <= _ROW_CHUNK else None
    if not keep_hc:
        hc = np.zeros((0, 0))
    elif scores is None:
        hc = _hc_meat(X, resid)
    else:  # the one block of _hc_meat
        hc = np.zeros((p, p))
        hc += scores.T @ scores
    keys: list[str] = []
    meats: list[FloatArray] = []
    groups: list[int] = []
    for term in cluster_terms(codes[:fitted]):  # the fit's own: exactly as sandwich_vcov
        keys.append("+".join(names[i] for i in term.subset))
        groups.append(term.groups)
        meats.append(cluster_meat(X, resid, term.codes, term.groups))
    for size in range(1, len(codes) + 1):
        for subset in combinations(range(len(codes)), size):
            if max(subset) < fitted:
                continue
            meat, g = _extra_meat(X, resid, [codes[i] for i in subset], hc, scores)
            keys.append("+".join(names[i] for i in subset))
            groups.append(g)
            meats.append(meat)
    nested = np.array([[_nested(fe, c) for fe in fe_codes] for c in codes], dtype=bool).reshape(
        len(codes), len(fe_codes)
    )
    return VcovPieces(
        bread=bread,
        rss=float(np.einsum("i,i->", resid, resid)),
        hc_meat=hc,
        n_obs=n,
        k_regressors=p,
        default_clusters=tuple(default_clusters),
        fe_levels=tuple(int(g) for g in fe_levels),
        fe_mobility=np.zeros((0, 0), np.int64) if fe_mobility is None else fe_mobility,
        cluster_names=names,
        nested=nested,
        meat_keys=tuple(keys),
        meats=np.asarray(meats).reshape(len(meats), p, p),
        meat_groups=tuple(groups),
    )


def _extra_meat(
    X: FloatArray,
    resid: FloatArray,
    codes: Sequence[IntArray],
    hc: FloatArray,
    scores: FloatArray | None,
) -> tuple[FloatArray, int]:
    """Meat and cluster count of an intersection; the HC meat when every cell is one row."""
    n = X.shape[0]
    if len(codes) == 1:
        g = int(codes[0].max()) + 1
        return cluster_meat(X, resid, codes[0], g, scores), g
    cell = _intersect(codes)
    g = int(cell.max()) + 1
    if g == n and hc.size:
        return hc, g
    return cluster_meat(X, resid, cell, g, scores), g


def _nested(fe: IntArray, cluster: IntArray) -> bool:
    """:func:`is_nested`, skipping the pass over the rows when the answer is known."""
    if fe is cluster:
        return True
    if fe.size and int(fe.max()) < int(cluster.max()):  # fewer levels than clusters
        return False
    return is_nested(fe, cluster)


def vcov_from_pieces(
    pieces: VcovPieces,
    request: VcovRequest,
    ssc: SmallSampleCorrection,
    k_fe: int | None = None,
) -> VcovEstimate:
    """Variance of the coefficients from kept pieces (see the module docstring for formulas).

    ``k_fe`` overrides the fixed-effect count derived from the pieces (``sandwich_vcov`` passes
    its ``K`` directly).
    """
    clusters = request.clusters if request.kind == "crv1" else ()
    if k_fe is None:
        nested = pieces.nested_flags(clusters)
        k_fe = fixef_count(pieces.fe_levels, nested, pieces.fe_mobility, ssc)
    n, k = pieces.n_obs, pieces.k_regressors + k_fe
    bread = pieces.bread
    if request.kind == "iid":
        _require_df(n, k)
        sigma2 = residual_variance(pieces.rss, n, k, ssc)
        return VcovEstimate(sigma2 * bread, "iid", (), (), n - k, k, 1.0, ssc)
    if request.kind == "hc1":
        _require_df(n, k)
        if pieces.hc_meat.size == 0:
            raise EstimationError(
                "this result does not keep the heteroskedasticity-robust meat (a large fit keeps "
                "only the variance pieces it was fitted with)",
                fix="refit with vcov='hc1'",
            )
        factor = hc1_factor(n, k, ssc)
        matrix = factor * (bread @ pieces.hc_meat @ bread)
        return VcovEstimate(_sym(matrix), "hc1", (), (), n - k, k, factor, ssc)
    if not clusters:
        raise EstimationError("clustered variance requested without a cluster variable")
    q = len(clusters)
    n_groups = tuple(pieces.meat([c])[1] for c in clusters)
    g_min = _check_groups(n_groups, clusters)
    adj = _crv1_adj(n, k, ssc)
    total = np.zeros_like(bread)
    first_factor = None
    for size in range(1, q + 1):
        sign = 1.0 if size % 2 else -1.0
        for subset in combinations(range(q), size):
            meat, g = pieces.meat([clusters[i] for i in subset])
            gfac = _cluster_factor(g, g_min, ssc)
            if first_factor is None:
                first_factor = gfac * adj
            total += sign * gfac * meat
    return _crv1_estimate(
        adj * (bread @ total @ bread), clusters, n_groups, n, k, ssc, float(first_factor or adj)
    )


def _crv1_estimate(
    matrix: FloatArray,
    clusters: Sequence[str],
    n_groups: tuple[int, ...],
    n: int,
    k: int,
    ssc: SmallSampleCorrection,
    factor: float,
) -> VcovEstimate:
    matrix = _sym(matrix)
    fixed = False
    if len(clusters) > 1 and ssc.psd_fix:
        eigval, eigvec = np.linalg.eigh(matrix)
        if eigval.min() < 0:
            fixed = True
            matrix = _sym((eigvec * np.clip(eigval, 0.0, None)) @ eigvec.T)
    df_t = min(n_groups) - 1
    if ssc.df_t_cap:
        df_t = min(df_t, n - k)
    return VcovEstimate(matrix, "crv1", tuple(clusters), n_groups, df_t, k, factor, ssc, fixed)


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

    Returns
    -------
    VcovEstimate
        The matrix with its conventions.

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]]); u = np.array([0.5, -0.5, 0.25, -0.25])
    >>> est = sandwich_vcov(X, u, np.linalg.inv(X.T @ X), "hc1", n_obs=4, k_total=1,
    ...                     ssc=SSC_PRESETS["fixest"])
    >>> est.kind, round(float(est.matrix[0, 0]), 6)
    ('hc1', 0.004167)
    """
    if kind == "crv1" and not cluster_codes:
        raise EstimationError("clustered variance requested without a cluster variable")
    names = tuple(cluster_names) or tuple(f"cluster{i + 1}" for i in range(len(cluster_codes)))
    if kind == "crv1":
        n_groups = [int(c.max()) + 1 for c in cluster_codes]
        _check_groups(n_groups, cluster_names)
    k_fe = k_total - X.shape[1]
    if kind == "iid":
        rss = float(np.einsum("i,i->", resid, resid))
        pieces = VcovPieces(
            bread,
            rss,
            np.zeros((0, 0)),
            n_obs,
            X.shape[1],
            (),
            (),
            np.zeros((0, 0), np.int64),
            (),
            np.zeros((0, 0), bool),
            (),
            np.zeros((0, 0, 0)),
            (),
        )
        return vcov_from_pieces(pieces, VcovRequest("iid"), ssc, k_fe)
    if kind == "hc1":
        _require_df(n_obs, k_total)
        pieces = score_pieces(X, resid, bread, cluster_codes={})
    else:
        pieces = score_pieces(
            X,
            resid,
            bread,
            cluster_codes=dict(zip(names, cluster_codes, strict=True)),
            fitted=len(names),
            keep_hc=False,
        )
    pieces = replace(pieces, n_obs=n_obs)
    return vcov_from_pieces(pieces, VcovRequest(kind, names if kind == "crv1" else ()), ssc, k_fe)


@dataclass(frozen=True)
class ScalarVariance:
    """Variance of one coefficient per column, for many columns at once (placebo draws).

    The conventions of :func:`vcov_from_pieces` for a single regressor whose scores are
    ``s_i = w_i d_i u_i`` and whose ``d'Wd`` is ``ddw``: iid ``sigma^2 / d'Wd``, HC1
    ``c sum_i s_i^2 / (d'Wd)^2``, CRV1 ``adj sum_terms sign G-factor sum_g (sum_{i in g} s_i)^2
    / (d'Wd)^2``. With a multi-way ``psd_fix`` convention a negative variance is set to zero.
    """

    kind: VcovKind
    n: int
    k: int
    ssc: SmallSampleCorrection
    terms: tuple[tuple[float, Any], ...]

    @classmethod
    def build(
        cls,
        kind: VcovKind,
        n: int,
        k: int,
        ssc: SmallSampleCorrection,
        cluster_codes: Sequence[IntArray] = (),
        cluster_names: Sequence[str] = (),
    ) -> ScalarVariance:
        """Check the degrees of freedom and clusters once; build the cluster indicators."""
        if kind != "crv1":
            _require_df(n, k)
            return cls(kind, n, k, ssc, ())
        if not cluster_codes:
            raise EstimationError("clustered variance requested without a cluster variable")
        g_min = _check_groups([int(c.max()) + 1 for c in cluster_codes], cluster_names)
        _crv1_adj(n, k, ssc)
        from scipy import sparse

        terms = []
        for term in cluster_terms(cluster_codes):
            cc = term.codes
            indicator = sparse.csr_matrix(
                (np.ones(cc.size), (cc, np.arange(cc.size))), shape=(term.groups, cc.size)
            )
            terms.append((term.sign * term.factor(g_min, ssc), indicator))
        return cls(kind, n, k, ssc, tuple(terms))

    def variance(self, scores: FloatArray, rss: FloatArray | None, ddw: FloatArray) -> FloatArray:
        """Per column: ``scores`` (``n x R``), weighted ``rss`` (iid only) and ``d'Wd``."""
        n, k, ssc = self.n, self.k, self.ssc
        if self.kind == "iid":
            out_iid: FloatArray = residual_variance(rss, n, k, ssc) / ddw
            return out_iid
        if self.kind == "hc1":
            out_hc: FloatArray = (
                hc1_factor(n, k, ssc) * np.einsum("ij,ij->j", scores, scores) / ddw**2
            )
            return out_hc
        adj = _crv1_adj(n, k, ssc)
        total = np.zeros(scores.shape[1])
        for factor_g, indicator in self.terms:
            sums = indicator @ scores
            total += factor_g * np.einsum("ij,ij->j", sums, sums)
        out: FloatArray = adj * total / ddw**2
        if len(self.terms) > 1 and ssc.psd_fix:
            out = np.maximum(out, 0.0)
        return out


def _sym(m: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (m + m.T)
    return out


#: Eigenvalues of a covariance at most this share of the largest count as zero (the covariance
#: of q coefficients from G <= q clusters has rank <= G - 1; round-off is ~1e-16 relative).
WALD_RANK_TOL = 1e-10


def _full_rank_wald(b: FloatArray, v: FloatArray) -> tuple[float, int] | None:
    """``b' V⁻¹ b`` by Cholesky when ``V`` provably has full rank by :func:`wald_form`'s rule,
    else None. ``λ_min = 1/‖L⁻¹‖₂² ≥ 1/‖L⁻¹‖_F²`` and ``λ_max ≤ tr V``: when the first bound
    exceeds ``WALD_RANK_TOL · tr V`` every eigenvalue passes the rank rule, and the form equals
    the eigen-decomposition's (a twentieth of its cost at 100 coefficients)."""
    if v.size == 0 or not np.isfinite(v).all():
        return None
    from scipy.linalg import lapack

    chol, info = lapack.dpotrf(v, lower=1, clean=1)
    if info != 0:
        return None
    inverse, info = lapack.dtrtri(chol, lower=1)
    if info != 0 or 1.0 / float(np.sum(inverse**2)) <= WALD_RANK_TOL * float(np.trace(v)):
        return None
    z = inverse @ b
    return float(z @ z), int(v.shape[0])


def wald_form(b: FloatArray, v: FloatArray) -> tuple[float, int]:
    """``W = b' V⁺ b`` over the eigen-directions of ``V`` with positive variance, and their
    number ``r`` (the rank of ``V``): the statistic of a joint Wald test of ``b = 0`` that tests
    only the non-redundant constraints and is never negative. ``(nan, 0)`` when no direction
    has a positive variance.

    Examples
    --------
    >>> wald_form(np.array([1.0, 2.0]), np.diag([1.0, 4.0]))
    (2.0, 2)
    """
    v = 0.5 * (v + v.T)
    full = _full_rank_wald(b, v)
    if full is not None:
        return full
    eigval, eigvec = np.linalg.eigh(v)
    top = float(eigval.max()) if eigval.size else 0.0
    positive = eigval > WALD_RANK_TOL * max(top, 0.0)
    rank = int(positive.sum())
    if rank == 0:
        return float("nan"), 0
    proj = eigvec[:, positive].T @ b
    return float(np.sum(proj**2 / eigval[positive])), rank
