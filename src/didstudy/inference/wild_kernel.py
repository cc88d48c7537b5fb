"""The "fast and wild" algebra of the wild cluster bootstrap (Roodman, MacKinnon, Nielsen & Webb
2019, Stata Journal 19(1), sections 3-5): one pass over the data, then O(G·k) per draw.

Pure functions on arrays. The regression is ``y = X b + u`` with the fixed effects nested in the
bootstrap clusters already partialled out (and any other fixed effects as columns of ``X``);
``X`` and ``y`` are scaled by the square root of the analytic weights. The hypothesis is
``R'b = r``. With ``q = (X'X)^{-1} R`` and ``z = X q``:

* bootstrap residuals (WCR) ``ũ(δ) = û + δ z / (R'q)``, ``δ = R'b̂ - r``: the restricted
  residuals are linear in the null value (eq. 16 of the paper), which makes test inversion cheap;
* a draw ``v`` (one weight per bootstrap cluster ``g``) gives the numerator
  ``R'b* - r = Σ_g v_g q'X_g'ũ_g`` and the score of variance cluster ``h``
  ``s_h = Σ_g v_g C[h, g] - p_h' Σ_g v_g S_g`` with ``C[h, g] = Σ_{i ∈ h∩g} z_i ũ_i``,
  ``S_g = X_g'ũ_g`` and ``p_h = (X'X)^{-1} X_h'X_h q`` (the residuals of the bootstrap fit are
  ``ũ∘v`` minus their projection on ``X``);
* the CRV1 variance is ``adj · Σ_terms f_j Σ_h s_h²`` (two-way clustering: Cameron, Gelbach &
  Miller 2011 terms with signs ``f_j``), quadratic in ``δ``: ``A + 2δB + δ²C`` per draw.

Only ``G``-, ``H``- and ``k``-sized arrays and ``reps``-sized outputs are kept; draws are
processed in chunks whose size bounds memory at ``max(G, H) x chunk`` doubles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from didstudy.kernels.resample import WeightKind, bootstrap_weights

__all__ = [
    "BootstrapDraws",
    "VarianceTerm",
    "WeightKind",
    "WildDesign",
    "bootstrap_weights",
    "draw_statistics",
    "enumerate_signs",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Doubles per chunk of draws in the largest per-chunk array (``max(G, H) x chunk``): 64 MiB.
CHUNK_DOUBLES = 8 * 1024**2


def enumerate_signs(n_clusters: int) -> FloatArray:
    """All ``2^G`` Rademacher sign vectors (``2^G x G``); the first row is all ones.

    Examples
    --------
    >>> enumerate_signs(2).tolist()
    [[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]]
    """
    rows = np.array(list(product((1.0, -1.0), repeat=n_clusters)), dtype=np.float64)
    return rows.reshape(2**n_clusters, n_clusters)


@dataclass(frozen=True)
class VarianceTerm:
    """One term of the (multi-way) CRV1 meat: codes of its clusters and its signed factor."""

    codes: IntArray
    factor: float


@dataclass(frozen=True)
class WildDesign:
    """The regression as the bootstrap needs it (weights already applied).

    Attributes
    ----------
    X, y
        ``n x k`` regressors and outcome, fixed effects nested in the bootstrap clusters
        partialled out, scaled by ``sqrt(w)``.
    boot_codes
        Bootstrap cluster of each row (``0..G-1``).
    terms
        CRV1 meat terms (one for one-way clustering, three for two-way).
    adj
        Common small-sample factor, ``(n - 1) / (n - K)`` (1 if none).
    """

    X: FloatArray
    y: FloatArray
    boot_codes: IntArray
    terms: tuple[VarianceTerm, ...]
    adj: float

    @property
    def n_boot_clusters(self) -> int:
        """Number of bootstrap clusters ``G``."""
        return int(self.boot_codes.max()) + 1


#: Largest ``H x G`` cross-cluster matrix kept dense (doubles).
DENSE_LIMIT = 4_000_000


@dataclass(frozen=True)
class _CrossClusters:
    """``C[h, g]`` of one variance term, stored for fast products with draws ``V`` (m x G).

    ``identity``: every bootstrap cluster is its own variance cluster (``C`` diagonal, stored
    as its diagonal); ``dense``: an ``G x H`` array; ``sparse``: a CSR ``H x G`` matrix.
    """

    mode: str
    values: Any

    def times(self, V: FloatArray) -> FloatArray:
        """``V C'`` (m x H)."""
        if self.mode == "identity":
            out: FloatArray = V * self.values
            return out
        if self.mode == "dense":
            dense: FloatArray = V @ self.values
            return dense
        sp: FloatArray = np.asarray((self.values @ V.T).T)
        return sp


def _cross(codes: IntArray, g: IntArray, zu: FloatArray, n_h: int, n_boot: int) -> _CrossClusters:
    if n_h == n_boot and np.array_equal(codes, g):
        return _CrossClusters("identity", np.bincount(g, weights=zu, minlength=n_boot))
    if n_h * n_boot <= DENSE_LIMIT:
        dense = np.zeros((n_boot, n_h))
        np.add.at(dense, (g, codes), zu)
        return _CrossClusters("dense", dense)
    return _CrossClusters("sparse", sparse.csr_matrix((zu, (codes, g)), shape=(n_h, n_boot)))


@dataclass(frozen=True)
class _Pieces:
    """Per-cluster sufficient statistics of one residual vector (linear in it)."""

    a: FloatArray  # G: q'X_g'u_g
    S: FloatArray  # G x k: X_g'u_g
    C: tuple[_CrossClusters, ...]  # per variance term


@dataclass(frozen=True)
class BootstrapDraws:
    """Per-draw coefficients of the bootstrap t statistic as a function of the null.

    ``t*(δ) = (n0 + δ n1) / sqrt(A + 2δB + δ²C)``, ``δ = R'b̂ - r``; with WCU ``n1 = B = C = 0``.

    Attributes
    ----------
    estimate, se
        ``R'b̂`` and its CRV1 standard error on the data.
    n0, n1, A, B, C
        Length-``reps`` arrays (see above).
    restricted
        WCR (True) or WCU (False).
    """

    estimate: float
    se: float
    n0: FloatArray
    n1: FloatArray
    A: FloatArray
    B: FloatArray
    C: FloatArray
    restricted: bool

    def t_stats(self, null: float) -> FloatArray:
        """Bootstrap t statistics for the null ``R'b = null`` (WCU: centred at ``R'b̂``)."""
        delta = self.estimate - null if self.restricted else 0.0
        var = self.A + 2.0 * delta * self.B + delta * delta * self.C
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = (self.n0 + delta * self.n1) / np.sqrt(var)
        return out

    def t_observed(self, null: float) -> float:
        """The t statistic of the data for the null ``R'b = null``."""
        return (self.estimate - null) / self.se


def _pieces(
    design: WildDesign,
    q: FloatArray,
    z: FloatArray,
    u: FloatArray,
    term_codes: Sequence[IntArray],
    n_boot: int,
) -> _Pieces:
    g = design.boot_codes
    S = _group_sum(design.X * u[:, np.newaxis], g, n_boot)
    a = S @ q
    zu = z * u
    mats = tuple(_cross(c, g, zu, int(c.max()) + 1, n_boot) for c in term_codes)
    return _Pieces(a, S, mats)


def _group_sum(values: FloatArray, codes: IntArray, n_groups: int) -> FloatArray:
    """Column sums of ``values`` (n x k) within groups: ``n_groups x k``."""
    out = np.empty((n_groups, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_groups)
    return out


def _projections(design: WildDesign, bread: FloatArray, z: FloatArray) -> list[FloatArray]:
    """``P_j'``: columns ``p_h = (X'X)^{-1} X_h'X_h q`` for each variance term (k x H_j)."""
    out = []
    xz = design.X * z[:, np.newaxis]
    for term in design.terms:
        acc = _group_sum(xz, term.codes, int(term.codes.max()) + 1)
        out.append(np.ascontiguousarray((acc @ bread).T))
    return out


def _scores(piece: _Pieces, Pt: FloatArray, j: int, V: FloatArray, VS: FloatArray) -> FloatArray:
    """Scores ``m x H`` of one variance term for draws ``V`` (``m x G``); ``VS = V S``."""
    out: FloatArray = piece.C[j].times(V) - VS @ Pt
    return out


def draw_statistics(
    design: WildDesign,
    R: FloatArray,
    draws: FloatArray | None,
    *,
    restricted: bool,
    rng: np.random.Generator | None = None,
    reps: int = 0,
    kind: WeightKind = "rademacher",
    chunk: int | None = None,
) -> BootstrapDraws:
    """The bootstrap t statistics of ``R'b`` for every draw, as functions of the null.

    Parameters
    ----------
    design
        The regression (:class:`WildDesign`).
    R
        Hypothesis vector (length ``k``).
    draws
        ``reps x G`` weights (e.g. :func:`enumerate_signs`), or None to generate ``reps`` draws
        of ``kind`` from ``rng`` chunk by chunk.
    restricted
        Impose the null on the bootstrap DGP (WCR) or not (WCU).
    chunk
        Draws per chunk (default: :data:`CHUNK_DOUBLES` / max(G, H)).

    Returns
    -------
    BootstrapDraws
        Coefficients of ``t*(δ)`` per draw; the observed estimate and standard error.
    """
    X, y = design.X, design.y
    bread = np.linalg.inv(X.T @ X)
    bread = 0.5 * (bread + bread.T)
    beta = bread @ (X.T @ y)
    resid = y - X @ beta
    q = bread @ R
    z = X @ q
    rq = float(R @ q)
    n_boot = design.n_boot_clusters
    term_codes = [t.codes for t in design.terms]
    P = _projections(design, bread, z)
    base = _pieces(design, q, z, resid, term_codes, n_boot)
    shift = _pieces(design, q, z, z / rq, term_codes, n_boot) if restricted else None
    se = float(np.sqrt(design.adj * sum(_observed_meat(design, z * resid))))
    total = draws.shape[0] if draws is not None else reps
    widest = max([n_boot, *(int(c.max()) + 1 for c in term_codes)])
    step = chunk or max(1, CHUNK_DOUBLES // widest)
    out = {name: np.zeros(total) for name in ("n0", "n1", "A", "B", "C")}
    for start in range(0, total, step):
        stop = min(start + step, total)
        if draws is not None:
            V = np.ascontiguousarray(draws[start:stop])
        else:
            assert rng is not None
            V = bootstrap_weights(rng, n_boot, stop - start, kind)
        _chunk(design, base, shift, P, V, out, slice(start, stop))
    return BootstrapDraws(
        estimate=float(R @ beta),
        se=se,
        n0=out["n0"],
        n1=out["n1"],
        A=out["A"],
        B=out["B"],
        C=out["C"],
        restricted=restricted,
    )


def _observed_meat(design: WildDesign, zu: FloatArray) -> list[float]:
    parts = []
    for term in design.terms:
        sums = np.bincount(term.codes, weights=zu)
        parts.append(term.factor * float(sums @ sums))
    return parts


def _chunk(
    design: WildDesign,
    base: _Pieces,
    shift: _Pieces | None,
    P: Sequence[FloatArray],
    V: FloatArray,
    out: dict[str, FloatArray],
    where: slice,
) -> None:
    out["n0"][where] = V @ base.a
    vs0 = V @ base.S
    vs1 = V @ shift.S if shift is not None else None
    if shift is not None:
        out["n1"][where] = V @ shift.a
    for j, term in enumerate(design.terms):
        factor = design.adj * term.factor
        s0 = _scores(base, P[j], j, V, vs0)
        out["A"][where] += factor * np.einsum("mh,mh->m", s0, s0)
        if shift is not None and vs1 is not None:
            s1 = _scores(shift, P[j], j, V, vs1)
            out["B"][where] += factor * np.einsum("mh,mh->m", s0, s1)
            out["C"][where] += factor * np.einsum("mh,mh->m", s1, s1)
