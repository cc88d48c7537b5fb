"""Fixed-effect factors: encoding (including interactions ``a^b``), singletons, nesting, redundancy.

Pure functions on arrays; the TWFE entry point orchestrates them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.kernels.demean import FixedEffectCodes

__all__ = [
    "encode_factor",
    "factor_columns",
    "find_singletons",
    "is_nested",
    "mobility_groups",
    "recode",
]

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def factor_columns(spec: str) -> list[str]:
    """Column names in a factor specification: ``"province^year"`` -> ``["province", "year"]``."""
    return [part.strip() for part in spec.split("^")]


def _codes_of(values: pd.Series) -> IntArray:
    codes, _ = pd.factorize(values, sort=False, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp)


def encode_factor(frame: pd.DataFrame, spec: str) -> IntArray:
    """Integer codes ``0..G-1`` of a factor; ``"a^b"`` is the interaction of ``a`` and ``b``.

    Missing values must have been removed beforehand.
    """
    columns = factor_columns(spec)
    codes = _codes_of(frame[columns[0]])
    for col in columns[1:]:
        other = _codes_of(frame[col])
        n_other = int(other.max()) + 1 if other.size else 1
        codes = np.asarray(pd.factorize(codes.astype(np.int64) * n_other + other)[0], np.intp)
    return codes


def recode(codes: IntArray) -> FixedEffectCodes:
    """Dense re-coding after rows were dropped (levels with no rows left are removed)."""
    if codes.size == 0:
        return FixedEffectCodes(codes.astype(np.intp), 0)
    present = np.bincount(codes) > 0
    remap = np.cumsum(present) - 1
    return FixedEffectCodes(remap[codes].astype(np.intp), int(present.sum()))


def find_singletons(fe_codes: Sequence[IntArray]) -> BoolArray:
    """Observations to drop as singletons, found iteratively as reghdfe and fixest do.

    A singleton is an observation alone in a level of some factor; its fixed effect fits it
    perfectly, so it carries no information but inflates the degrees of freedom (Correia 2015).
    Dropping singletons can create new ones, so the search repeats until none remain.

    Returns
    -------
    numpy.ndarray
        Boolean mask, True for rows to drop.
    """
    n = fe_codes[0].size if fe_codes else 0
    drop = np.zeros(n, dtype=bool)
    if len(fe_codes) == 0 or n == 0:
        return drop
    while True:
        found = False
        for codes in fe_codes:
            keep = ~drop
            counts = np.bincount(codes[keep], minlength=int(codes.max()) + 1)
            single = keep & (counts[codes] == 1)
            if single.any():
                drop |= single
                found = True
        if not found:
            return drop


def is_nested(fe: IntArray, cluster: IntArray) -> bool:
    """True when every level of ``fe`` lies within a single cluster (fixest's ``nested``)."""
    if fe.size == 0:
        return True
    first = np.full(int(fe.max()) + 1, -1, dtype=np.intp)
    first[fe[::-1]] = cluster[::-1]
    return bool(np.array_equal(first[fe], cluster))


def mobility_groups(a: FixedEffectCodes, b: FixedEffectCodes) -> int:
    """Connected components of the bipartite graph of two factors (Abowd et al. 2002).

    Each component makes one level of the second factor redundant given the first.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    n_nodes = a.n_levels + b.n_levels
    graph = sparse.coo_matrix(
        (np.ones(a.codes.size), (a.codes, b.codes + a.n_levels)), shape=(n_nodes, n_nodes)
    )
    n_comp, _ = connected_components(graph, directed=False)
    return int(n_comp)
