"""Inference from influence functions: analytic variances, multiplier bootstrap, sup-t bands.

An estimator :math:`\\hat θ` (``K`` parameters) with influence functions :math:`ψ_i` satisfies
:math:`\\hat θ − θ ≈ n^{-1} Σ_i ψ_i`. Summed within clusters, :math:`S_c = Σ_{i∈c} ψ_i`, the
variance is :math:`\\hat V = n^{-2} Σ_c S_c S_c'` (no small-sample factor, as R ``did``).

The multiplier bootstrap (Callaway and Sant'Anna 2021, Section 4.1; R ``did``'s ``mboot``)
draws i.i.d. weights :math:`v_c` with mean 0 and variance 1 per cluster and forms
:math:`\\hat θ^*_b − \\hat θ = n^{-1} Σ_c v_{bc} S_c`; standard errors are the interquartile
range of the draws divided by that of the standard normal, and the uniform (sup-t) critical
value is the ``1 − α`` quantile of :math:`\\max_k |θ^*_{bk} − \\hat θ_k| / se_k`.

Every random draw goes through :func:`multiplier_weights` (one seeded generator), so the shared
resampling engine can take it over in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as st

from didstudy.kernels.resample import bootstrap_weights
from didstudy.results.influence_matrix import InfluenceMatrix

__all__ = [
    "MultiplierKind",
    "SupT",
    "analytic_se",
    "multiplier_bootstrap",
    "multiplier_weights",
    "sup_t_gaussian",
]

FloatArray = NDArray[np.float64]
MultiplierKind = Literal["mammen", "rademacher", "gaussian"]

# draws are generated in blocks of at most this many numbers (reps × clusters) to bound memory
CHUNK_NUMBERS = 4_000_000
# interquartile range of the standard normal: the bootstrap SE is IQR / this (R did's bSigma)
NORMAL_IQR = float(st.norm.ppf(0.75) - st.norm.ppf(0.25))
# standard errors below this are zero (universal-base reference cells); they are left out of
# the sup-t maximum
ZERO_SE = 1e-12


def multiplier_weights(
    rng: np.random.Generator, n: int, reps: int, kind: MultiplierKind
) -> FloatArray:
    """``reps × n`` i.i.d. multiplier weights with mean 0 and variance 1.

    Parameters
    ----------
    rng
        The generator (``numpy.random.default_rng(seed)``).
    n, reps
        Number of clusters and of draws.
    kind
        ``"mammen"`` (two-point, skewness 1: Mammen 1993), ``"rademacher"`` (±1) or
        ``"gaussian"``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> w = multiplier_weights(np.random.default_rng(1), 3, 2, "rademacher")
    >>> sorted(set(w.ravel().tolist())) in ([-1.0, 1.0], [-1.0], [1.0])
    True
    """
    # the one draw generator of the library (kernels.resample); "gaussian" is its "normal"
    return bootstrap_weights(rng, n, reps, "normal" if kind == "gaussian" else kind)


def analytic_se(influence: InfluenceMatrix, n: int) -> FloatArray:
    """Standard errors ``sqrt(diag(S'S)) / n`` from cluster-summed influence functions ``S``."""
    out: FloatArray = np.sqrt(influence.sum_of_squares()) / n
    return out


@dataclass(frozen=True)
class SupT:
    """Standard errors and the uniform critical value from simulated draws."""

    std_error: FloatArray
    crit_value: float


def _crit(draws_t: FloatArray, alpha: float) -> float:
    if draws_t.shape[1] == 0:
        return float("nan")
    stat = np.max(np.abs(draws_t), axis=1)
    return float(np.quantile(stat, 1.0 - alpha, method="inverted_cdf"))


def multiplier_bootstrap(
    influence: InfluenceMatrix,
    n: int,
    reps: int,
    seed: int,
    kind: MultiplierKind,
    alpha: float,
    columns: NDArray[np.bool_] | None = None,
) -> SupT:
    """Multiplier-bootstrap SEs and sup-t critical value of ``K`` estimates.

    Parameters
    ----------
    influence
        ``clusters × K`` cluster sums of the influence functions.
    n
        Number of units (the ``n`` of ``θ* − θ = n⁻¹ Σ v_c S_c``).
    reps, seed, kind
        Draws, seed of ``numpy.random.default_rng`` and multiplier distribution.
    alpha
        One minus the coverage of the uniform band.
    columns
        The estimates the uniform band covers (default: all).

    Returns
    -------
    SupT
        IQR-based standard errors (R ``did``) and the sup-t critical value over the chosen
        estimates with a non-zero standard error.
    """
    rng = np.random.default_rng(seed)
    n_clusters, k = influence.shape
    chunk = max(1, CHUNK_NUMBERS // max(n_clusters, 1))
    parts = []
    for start in range(0, reps, chunk):
        v = multiplier_weights(rng, n_clusters, min(chunk, reps - start), kind)
        parts.append(influence.left(v) / n)
    draws = np.vstack(parts) if parts else np.zeros((0, k))
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    se = (q75 - q25) / NORMAL_IQR
    keep = se > ZERO_SE
    if columns is not None:
        keep &= columns
    return SupT(se, _crit(draws[:, keep] / se[keep], alpha))


def sup_t_gaussian(
    influence: InfluenceMatrix,
    n: int,
    reps: int,
    seed: int,
    alpha: float,
    columns: NDArray[np.bool_] | None = None,
) -> float:
    """Sup-t critical value of ``N(0, V̂)`` with ``V̂`` from influence functions (analytic mode).

    Simulates the correlation matrix of the chosen estimates (Montiel Olea and
    Plagborg-Møller 2019, "Simultaneous confidence bands", eq. 6) with normal draws.
    """
    se = analytic_se(influence, n)
    keep = se > ZERO_SE
    if columns is not None:
        keep &= columns
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return float("nan")
    if len(idx) == 1:
        return float(st.norm.ppf(1.0 - alpha / 2.0))
    scale = se[idx] * n
    corr = influence.gram(idx) / np.outer(scale, scale)
    vals, vecs = np.linalg.eigh(corr)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = np.random.default_rng(seed)
    z = multiplier_weights(rng, root.shape[1], reps, "gaussian") @ root.T
    return _crit(z, alpha)
