"""Dagum (1997) Gini decomposition by subgroups: ``G = Gw + Gnb + Gt``.

Reference: Dagum, C. (1997), "A new approach to the decomposition of the Gini income inequality
ratio", *Empirical Economics* 22(4): 515–531. Formulas and conventions follow the project's methods
spec §1 (population n² denominators, groups ordered by ascending mean, ``j`` the richer group of a
pair). Edge cases are decided in ``docs/decisions/0003-dagum-edge-cases.md``.

Two algorithms are used, and the tests check one against the other:

* :func:`dagum` builds the full k×k matrix of pairwise absolute-difference sums with
  :func:`pair_abs_diff_sums` (one global sort, blocks of the sorted order, one matrix product for
  all cross-block pairs and brute force only inside blocks) and derives every term from Dagum's
  definitions; the overall G comes independently from the sorted-sum formula.
* :func:`dagum_panel` needs only G, the G_jj and the components, which follow in O(n log n) from
  sorted sums: ``Gw = Σ_j S_jj / (2 W² Ȳ)`` and ``Gnb`` = the Gini of the group means weighted by
  group size (identity 4 of §1.3), ``Gt = G − Gw − Gnb``; all periods in one vectorised pass.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.gini import (
    FloatArray,
    IntArray,
    NegativePolicy,
    RowLabels,
    as_values,
    as_weights,
    segment_abs_diff_sums,
)

__all__ = [
    "COMPONENT_COLUMNS",
    "GROUP_COLUMNS",
    "DagumPanelResult",
    "DagumResult",
    "dagum",
    "dagum_panel",
    "pair_abs_diff_sums",
]

COMPONENT_COLUMNS: tuple[str, ...] = (
    "time",
    "G",
    "Gw",
    "Gnb",
    "Gt",
    "Gb",
    "share_w",
    "share_nb",
    "share_t",
    "n_units",
    "n_groups",
)
GROUP_COLUMNS: tuple[str, ...] = ("time", "group", "n", "mean", "gini")

# elements per temporary array in the pairwise kernel (8 bytes each -> 32 MiB per temporary)
_CHUNK_ELEMENTS = 1 << 22
# elements per in-block pair buffer (8 MiB values + 8 MiB codes: stays in cache, measured best)
_INBLOCK_CHUNK_ELEMENTS = 1 << 20
# most threads for the in-block pairs (disjoint block ranges, one k×k accumulator each)
_MAX_THREADS = 4
# largest number of groups for which the k×k pair tables are built (k² doubles ≈ 0.8 GiB)
_MAX_PAIR_GROUPS = 10_000


def _json_float(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return None if math.isnan(v) or math.isinf(v) else v


def _json_scalar(x: object) -> object:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return _json_float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, pd.Timestamp):
        return x.isoformat()
    if x is None or isinstance(x, (int, str, bool)):
        return x
    if pd.isna(x):  # type: ignore[call-overload]
        return None
    return str(x)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    cols = list(frame.columns)
    return [
        {c: _json_scalar(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _shares(g: float, part: float) -> float:
    return 100.0 * part / g if g != 0 and not math.isnan(g) else float("nan")


# --------------------------------------------------------------------------- kernels


def default_block(n: int, k: int) -> int:
    """Block length of the sorted order used by :func:`pair_abs_diff_sums`.

    Cross-block pairs cost one (k × B)(B × k) matrix product (B = n / L blocks) plus O(B k)
    running sums, in-block pairs ``n L / 2`` scattered additions; ``L ≈ k / 11`` balances the two
    on the benchmark machine (1M units, 1,000 groups: single-thread CPU of the two phases
    measured for L = 48 … 128 in ``benchmarks/bench_measure.py``; both phases use both cores).
    """
    return int(min(max(k // 11, 8), 128, max(n, 1)))


#: Group means equal to this many significant digits are ties, broken by label (decision 0003):
#: the same mean computed in another order must not reorder the groups.
MEAN_TIE_DIGITS = 12
#: A between-group mean absolute difference at most this share of the two means is rounding.
DELTA_ROUNDING = 1e-13


def mean_order_key(means: FloatArray) -> FloatArray:
    """The group means rounded to :data:`MEAN_TIE_DIGITS` significant digits (sort key)."""
    finite = np.isfinite(means) & (means != 0)
    magnitude = np.zeros_like(means)
    magnitude[finite] = np.floor(np.log10(np.abs(means[finite])))
    scale = 10.0 ** (MEAN_TIE_DIGITS - 1 - magnitude)
    out: FloatArray = np.where(finite, np.round(means * scale) / scale, means)
    return out


def sort_within_groups(y: FloatArray, codes: IntArray, order: IntArray | None = None) -> IntArray:
    """Permutation sorting by (group, value): stable radix sort of the codes in value order."""
    first = np.argsort(y) if order is None else order
    small = codes.max(initial=0) < np.iinfo(np.uint16).max
    keys = codes[first].astype(np.uint16 if small else np.int64)
    return first[np.argsort(keys, kind="stable")]


def pair_abs_diff_sums(
    y: FloatArray,
    codes: IntArray,
    w: FloatArray | None,
    k: int,
    *,
    block: int | None = None,
    order: IntArray | None = None,
) -> FloatArray:
    """All between- and within-group sums of absolute differences in one pass.

    Parameters
    ----------
    y
        Values (any order, no NaN).
    codes
        Group code of each value in ``0..k-1``.
    w
        Unit weights or None.
    k
        Number of groups.
    block
        Block length of the sorted order (default :func:`default_block`).
    order
        A permutation sorting ``y`` ascending, if already known.

    Returns
    -------
    numpy.ndarray
        ``S`` (k × k, symmetric) with ``S[j, h] = Σ_{a∈j} Σ_{b∈h} w_a w_b |y_a − y_b|``.

    Notes
    -----
    Sort once and cut the sorted order into blocks of length L. For a pair in different blocks
    the later one is the larger, so ``|y_a − y_b|`` is linear and the sums over all cross-block
    pairs of groups (j, h) are ``M + Mᵀ`` with ``M = Yᵀ (C_before − C_after)``, where ``Y[β, j]``
    is the weighted value sum of group j in block β and ``C_before[β, h]`` (``C_after``) the
    weight of group h in the blocks before (after) β. Pairs inside a block are summed directly
    (``L(L−1)/2`` per block). Time O(n log n + k² n / L + n L), memory O(k² + chunk); this is the
    one-hot cumulative-sum algorithm of methods spec §1.4 with the n × k intermediate replaced
    by blocks. Values are centred on the weighted mean (sums of differences are unchanged).
    """
    n = int(y.shape[0])
    out = np.zeros((k, k))
    if n == 0 or k == 0:
        return out
    ww = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    yc = y - float(np.dot(ww, y) / ww.sum())
    if order is None:
        order = np.argsort(yc)
    length = default_block(n, k) if block is None else min(max(int(block), 1), n)
    n_blocks = -(-n // length)
    pad = n_blocks * length - n
    ys = np.concatenate((yc[order], np.zeros(pad)))
    gs = np.concatenate((codes[order].astype(np.intp, copy=False), np.zeros(pad, dtype=np.intp)))
    wsrt = np.concatenate((ww[order], np.zeros(pad)))

    total_w = np.bincount(gs, weights=wsrt, minlength=k)
    carry2 = -total_w  # 2 · (weight in earlier chunks) − total weight, per group
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // max(k, 1))
    local_block = np.arange(min(rows_per_chunk, n_blocks) * length) // length
    for start in range(0, n_blocks, rows_per_chunk):
        stop = min(n_blocks, start + rows_per_chunk)
        nb = stop - start
        sl = slice(start * length, stop * length)
        idx = local_block[: nb * length] * k + gs[sl]
        cnt = np.asarray(np.bincount(idx, weights=wsrt[sl], minlength=nb * k), dtype=np.float64)
        cnt = cnt.reshape(nb, k)
        ysum = np.bincount(
            idx, weights=ys[sl] if w is None else wsrt[sl] * ys[sl], minlength=nb * k
        ).reshape(nb, k)
        # balance = C_before − C_after = 2 · (inclusive cumulative weight) − own − total, i.e.
        # b[0] = cnt[0] + carry2 and b[r] = b[r − 1] + cnt[r − 1] + cnt[r]
        balance: FloatArray = np.empty_like(cnt)
        np.add(cnt[0], carry2, out=balance[0])
        np.add(cnt[:-1], cnt[1:], out=balance[1:])
        for row in range(1, nb):  # row-wise running sum: np.cumsum(axis=0) is cache-hostile
            balance[row] += balance[row - 1]
        out += ysum.T @ balance
        carry2 = balance[-1] + cnt[-1]
    out += out.T.copy()

    if length > 1:
        # pairs inside a block; padded slots carry the dummy group k and are dropped at the end
        kk = k + 1
        gpad = gs.copy()
        if pad:
            gpad[n:] = k
        ys2 = ys.reshape(n_blocks, length)
        gs2 = gpad.reshape(n_blocks, length)
        ws2 = None if w is None else wsrt.reshape(n_blocks, length)
        per_block = length * (length - 1) // 2
        parts = _inblock_workers(n_blocks * per_block, n_blocks)
        bounds = [n_blocks * i // parts for i in range(parts + 1)]
        spans = list(itertools.pairwise(bounds))
        if parts == 1:
            accs = [_inblock_sums(ys2, gs2, ws2, kk, *spans[0])]
        else:
            with ThreadPoolExecutor(max_workers=parts) as pool:
                accs = list(pool.map(lambda span: _inblock_sums(ys2, gs2, ws2, kk, *span), spans))
        acc = accs[0]
        for extra in accs[1:]:
            acc += extra
        inside: FloatArray = acc.reshape(kk, kk)[:k, :k]
        out += inside + inside.T
    return out


def _inblock_workers(n_pairs: int, n_blocks: int) -> int:
    """Threads for the in-block pairs: one per core (at most ``_MAX_THREADS``) for large inputs.

    NumPy releases the GIL inside ufuncs and ``np.bincount``, so the scattered additions of
    disjoint ranges of blocks run in parallel; small inputs stay single-threaded.
    """
    if n_pairs < 2 * min(_CHUNK_ELEMENTS, _INBLOCK_CHUNK_ELEMENTS):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_THREADS, n_blocks))


def _inblock_sums(
    ys2: FloatArray,
    gs2: IntArray,
    ws2: FloatArray | None,
    kk: int,
    first: int,
    stop_block: int,
) -> FloatArray:
    """Flattened kk × kk sums ``Σ w_a w_b (y_a − y_b)`` over pairs (b before a) inside blocks.

    Rows ``first..stop_block-1`` of the (blocks × L) arrays; one offset d at a time (contiguous
    slices, no gathers), the codes ``g_a · kk + g_b`` kept as intp so that ``np.bincount`` does
    not copy them, buffers of about ``_INBLOCK_CHUNK_ELEMENTS`` elements (cache-sized).
    """
    length = int(ys2.shape[1])
    per_block = length * (length - 1) // 2
    chunk = max(1, min(_CHUNK_ELEMENTS, _INBLOCK_CHUNK_ELEMENTS) // per_block)
    size = min(chunk, stop_block - first) * per_block
    vbuf = np.empty(size)
    cbuf = np.empty(size, dtype=np.intp)
    acc = np.zeros(kk * kk)
    for start in range(first, stop_block, chunk):
        stop = min(stop_block, start + chunk)
        nb = stop - start
        yb, gb = ys2[start:stop], gs2[start:stop]
        gk = gb * kk
        wb = None if ws2 is None else ws2[start:stop]
        pos = 0
        for d in range(1, length):
            m = nb * (length - d)
            vv = vbuf[pos : pos + m].reshape(nb, length - d)
            np.subtract(yb[:, d:], yb[:, :-d], out=vv)
            if wb is not None:
                vv *= wb[:, d:]
                vv *= wb[:, :-d]
            np.add(gk[:, d:], gb[:, :-d], out=cbuf[pos : pos + m].reshape(nb, length - d))
            pos += m
        acc += np.bincount(cbuf[:pos], weights=vbuf[:pos], minlength=kk * kk)
    return acc


# --------------------------------------------------------------------------- input handling


@dataclass(frozen=True)
class _Prepared:
    y: FloatArray
    codes: IntArray
    w: FloatArray | None
    labels: pd.Index
    dropped: npt.NDArray[np.int64]


def _factorize(labels: object, name: str, index: RowLabels | None) -> tuple[IntArray, pd.Index]:
    series = labels if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels))
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(series, sort=False)
    missing = codes < 0
    if missing.any():
        rows = np.flatnonzero(missing)[:20]
        raise DataError(
            f"{int(missing.sum())} rows have a missing {name} label",
            column=name,
            rows=[index[int(r)] for r in rows] if index is not None else [int(r) for r in rows],
            fix=f"fill in or drop the rows with a missing {name}",
        )
    return codes.astype(np.intp, copy=False), pd.Index(uniques)


def _prepare(
    values: object, groups: object, weights: object, negative: NegativePolicy
) -> _Prepared:
    index = values.index if isinstance(values, pd.Series) else None
    y = as_values(values, name="values", negative=negative, index=index)
    codes, labels = _factorize(groups, "group", index)
    if codes.shape[0] != y.shape[0]:
        raise DataError(
            f"values ({y.shape[0]}) and groups ({codes.shape[0]}) have different lengths",
            column="groups",
            fix="pass one group label per value",
        )
    w = as_weights(weights, y.shape[0])
    keep = ~np.isnan(y)
    if w is not None:
        keep &= ~np.isnan(w)
    dropped = np.bincount(codes[~keep], minlength=len(labels)).astype(np.int64)
    if not keep.all():
        y, codes = y[keep], codes[keep]
        w = None if w is None else w[keep]
    return _Prepared(y, codes, w, labels, dropped)


# --------------------------------------------------------------------------- single sample


@dataclass(frozen=True)
class DagumResult:
    """Dagum (1997) decomposition of one sample (immutable).

    Attributes
    ----------
    G, Gw, Gnb, Gt, Gb
        Overall Gini; within, net between, transvariation and gross between contributions
        (``Gb = Gnb + Gt``; ``G = Gw + Gnb + Gt``).
    groups
        One row per group, in ascending order of the group mean (ties by label): ``group, n,
        n_dropped_missing, weight, mean, p, s, gini, within_contrib``. ``gini`` is G_jj (NaN when
        ``n < min_units`` or the mean is 0); ``within_contrib = G_jj p_j s_j`` always uses the
        formula value so that the contributions add up.
    pairs
        One row per pair with ``group_j`` the richer group: ``group_j, group_h, G_jh, d_jh,
        p_jh, D_jh, pair_weight (= p_j s_h + p_h s_j), Gnb_contrib, Gt_contrib``; None when
        computed with ``pairs=False``.
    n_units, n_groups, n_dropped_missing, min_units, weighted
        Sample description.
    """

    G: float
    Gw: float
    Gnb: float
    Gt: float
    Gb: float
    groups: pd.DataFrame
    pairs: pd.DataFrame | None
    n_units: int
    n_groups: int
    n_dropped_missing: int
    min_units: int
    weighted: bool

    @property
    def share_w(self) -> float:
        """``100 · Gw / G`` (percent)."""
        return _shares(self.G, self.Gw)

    @property
    def share_nb(self) -> float:
        """``100 · Gnb / G`` (percent)."""
        return _shares(self.G, self.Gnb)

    @property
    def share_t(self) -> float:
        """``100 · Gt / G`` (percent)."""
        return _shares(self.G, self.Gt)

    @property
    def share_b(self) -> float:
        """``100 · Gb / G`` (percent)."""
        return _shares(self.G, self.Gb)

    @property
    def shares(self) -> dict[str, float]:
        """Contribution rates in percent of G."""
        return {"Gw": self.share_w, "Gnb": self.share_nb, "Gt": self.share_t, "Gb": self.share_b}

    @property
    def order(self) -> list[object]:
        """Group labels in ascending order of their means."""
        return list(self.groups["group"])

    def _by_group(self, column: str, name: str | None = None) -> pd.Series:
        """One column of ``groups`` as a Series indexed by group label (ascending means)."""
        return pd.Series(self.groups[column].to_numpy(), index=self.order, name=name or column)

    @property
    def G_jj(self) -> pd.Series:
        """Within-group Gini (INDG) by group."""
        return self._by_group("gini", "G_jj")

    @property
    def means(self) -> pd.Series:
        return self._by_group("mean")

    @property
    def p(self) -> pd.Series:
        return self._by_group("p")

    @property
    def s(self) -> pd.Series:
        return self._by_group("s")

    @property
    def n_j(self) -> pd.Series:
        return self._by_group("n")

    @property
    def within_contrib(self) -> pd.Series:
        return self._by_group("within_contrib")

    def _matrix(self, column: str, antisymmetric: str | None = None) -> pd.DataFrame:
        if self.pairs is None:
            raise DidstudyError(
                "pair tables were not computed",
                fix="call dagum(..., pairs=True) to get G_jh, d_jh, p_jh and D_jh",
            )
        order = self.order
        pos = {g: i for i, g in enumerate(order)}
        k = len(order)
        mat = np.full((k, k), np.nan)
        j = np.array([pos[g] for g in self.pairs["group_j"]], dtype=np.intp)
        h = np.array([pos[g] for g in self.pairs["group_h"]], dtype=np.intp)
        vals = self.pairs[column].to_numpy(dtype=np.float64)
        mat[j, h] = vals
        if antisymmetric is None:
            mat[h, j] = vals
        else:
            mat[h, j] = self.pairs[antisymmetric].to_numpy(dtype=np.float64)
        return pd.DataFrame(mat, index=order, columns=order)

    @property
    def G_jh(self) -> pd.DataFrame:
        """Gini matrix: G_jj on the diagonal, G_jh off it (symmetric)."""
        mat = self._matrix("G_jh")
        values = mat.to_numpy(copy=True)
        np.fill_diagonal(values, self.groups["gini"].to_numpy(dtype=np.float64))
        return pd.DataFrame(values, index=mat.index, columns=mat.columns)

    @property
    def D_jh(self) -> pd.DataFrame:
        """Relative economic affluence for row j richer than column h; 0 on the diagonal."""
        mat = self._matrix("D_jh")
        values = mat.to_numpy(copy=True)
        np.fill_diagonal(values, 0.0)
        return pd.DataFrame(values, index=mat.index, columns=mat.columns)

    @property
    def d_jh(self) -> pd.DataFrame:
        """Gross economic affluence ``E max(y_j − y_h, 0)`` (row j, column h; p_jh = d_hj)."""
        return self._matrix("d_jh", antisymmetric="p_jh")

    @property
    def p_jh(self) -> pd.DataFrame:
        """First-order moment of transvariation ``E max(y_h − y_j, 0)`` (row j, column h)."""
        return self._matrix("p_jh", antisymmetric="d_jh")

    def tidy(self) -> pd.DataFrame:
        """Components and their shares as rows of the results protocol (no standard errors)."""
        terms = ["G", "Gw", "Gnb", "Gt", "Gb", "share_w", "share_nb", "share_t", "share_b"]
        est = [self.G, self.Gw, self.Gnb, self.Gt, self.Gb]
        est += [self.share_w, self.share_nb, self.share_t, self.share_b]
        nan = [float("nan")] * len(terms)
        return pd.DataFrame(
            {
                "term": terms,
                "estimate": est,
                "std_error": nan,
                "statistic": nan,
                "p_value": nan,
                "conf_low": nan,
                "conf_high": nan,
            }
        )

    def stats(self) -> dict[str, Any]:
        return {
            "nobs": self.n_units,
            "n_groups": self.n_groups,
            "n_dropped_missing": self.n_dropped_missing,
            "min_units": self.min_units,
            "weighted": self.weighted,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "dagum",
            "components": {
                k: _json_float(v)
                for k, v in (
                    ("G", self.G),
                    ("Gw", self.Gw),
                    ("Gnb", self.Gnb),
                    ("Gt", self.Gt),
                    ("Gb", self.Gb),
                )
            },
            "shares": {k: _json_float(v) for k, v in self.shares.items()},
            "stats": self.stats(),
            "groups": _records(self.groups),
            "pairs": None if self.pairs is None else _records(self.pairs),
        }


def _check_min_units(min_units: int) -> int:
    if not isinstance(min_units, (int, np.integer)) or isinstance(min_units, bool):
        raise DidstudyError(
            f"min_units must be an integer, got {min_units!r}", fix="pass e.g. min_units=2"
        )
    if min_units < 1:
        raise DidstudyError(f"min_units must be at least 1, got {min_units}", fix="use 1 or more")
    return int(min_units)


def dagum(
    values: object,
    groups: object,
    weights: object = None,
    min_units: int = 1,
    *,
    negative: NegativePolicy = "raise",
    pairs: bool = True,
    block: int | None = None,
) -> DagumResult:
    """Dagum (1997) Gini decomposition ``G = Gw + Gnb + Gt`` of one sample.

    Parameters
    ----------
    values
        Non-negative unit values (e.g. county mean night-time light); NaN units are dropped and
        counted per group.
    groups
        Group label of each unit (e.g. city); a missing label raises.
    weights
        Optional strictly positive unit weights: ``n → Σw``, ``n_j → Σ_{i∈j} w_i`` and weighted
        means (methods spec §1.5).
    min_units
        Groups with fewer units report ``gini`` (G_jj) as NaN. The decomposition always uses all
        units (G_jj = 0 by the formula for a single unit).
    negative
        ``"raise"`` (default) or ``"clip"`` negative values to 0 (spec §1.5).
    pairs
        Build the per-pair tables (k × k work); ``False`` gives the components in O(n log n).
    block
        Block length of the pairwise kernel (tuning only).

    Returns
    -------
    DagumResult

    Notes
    -----
    With ``Δ_jh`` the mean absolute difference between groups j and h, ``Ȳ_j ≥ Ȳ_h``
    (Dagum 1997, eqs. 4–13; methods spec §1.2–1.3)::

        G_jj = Δ_jj / (2 Ȳ_j)           G_jh = Δ_jh / (Ȳ_j + Ȳ_h)
        d_jh = (Δ_jh + Ȳ_j − Ȳ_h) / 2   p_jh = (Δ_jh − Ȳ_j + Ȳ_h) / 2
        D_jh = (d_jh − p_jh) / (d_jh + p_jh)
        Gw  = Σ_j G_jj p_j s_j
        Gnb = Σ_{j>h} G_jh (p_j s_h + p_h s_j) D_jh
        Gt  = Σ_{j>h} G_jh (p_j s_h + p_h s_j) (1 − D_jh)

    G itself is computed separately from the sorted-sum formula, so ``Gw + Gnb + Gt = G`` is a
    check, not a definition. Undefined terms: G = NaN (and all components) when the overall mean
    is 0; G_jh = NaN when both means are 0 (its contribution is 0); D_jh = 0 when Δ_jh = 0.
    Groups whose values are all missing are left out of ``groups`` (counted in
    ``n_dropped_missing``).

    Examples
    --------
    The worked example of the methods spec §1.7 (G = 241/756, Gw = 31/378, Gnb = 7/36,
    Gt = 8/189):

    >>> res = dagum([1, 2, 3, 6, 2, 4, 5, 7, 9, 5, 8, 11], list("AAAABBBBBCCC"))
    >>> round(res.G, 6), round(res.Gw, 6), round(res.Gnb, 6), round(res.Gt, 6)
    (0.318783, 0.082011, 0.194444, 0.042328)
    >>> res.order
    ['A', 'B', 'C']
    """
    min_units = _check_min_units(min_units)
    prep = _prepare(values, groups, weights, negative)
    y, codes, w = prep.y, prep.codes, prep.w
    if y.shape[0] == 0:
        raise DataError(
            "no unit with a non-missing value is left",
            column="values",
            fix="check the input; every value is missing",
        )
    codes, label_index, dropped = _present_groups(prep.labels, prep.dropped, codes)
    k = len(label_index)
    ww = np.ones_like(y) if w is None else w
    n_j = np.bincount(codes, minlength=k)
    W_j: FloatArray = np.bincount(codes, weights=ww, minlength=k).astype(np.float64)
    Y_j: FloatArray = np.bincount(codes, weights=ww * y, minlength=k).astype(np.float64)
    W = float(W_j.sum())
    Y = float(Y_j.sum())
    means = Y_j / W_j
    order = np.argsort(mean_order_key(means), kind="stable")
    # overall G from the sorted-sum formula (independent of the pairwise kernel)
    srt: IntArray = np.argsort(y)
    s_all, _, _ = segment_abs_diff_sums(
        y[srt], None if w is None else w[srt], np.zeros(y.shape[0], dtype=np.intp), 1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        G = float(s_all[0] / (2.0 * W * Y)) if Y > 0 else float("nan")
        p_j = W_j / W
        s_j = Y_j / Y if Y > 0 else np.full(k, np.nan)
    S = _pair_sums(y, codes, w, k, block, srt) if pairs else None
    # within-group sums from per-group sorted sums (centred per group: accurate for any scale)
    cell_order = sort_within_groups(y, codes, srt)
    within_sums, _, _ = segment_abs_diff_sums(
        y[cell_order], None if w is None else w[cell_order], codes[cell_order], k
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        gjj_formula = np.where(Y_j > 0, within_sums / (2.0 * W_j * Y_j), np.nan)
        within_contrib = np.where(Y_j > 0, gjj_formula * p_j * s_j, 0.0)
    gini_reported = np.where(n_j >= min_units, gjj_formula, np.nan)
    Gw = float(within_contrib.sum()) if Y > 0 else float("nan")
    group_frame = pd.DataFrame(
        {
            "group": pd.Series(label_index.take(order)),
            "n": n_j[order].astype(np.int64),
            "n_dropped_missing": dropped[order].astype(np.int64),
            "weight": W_j[order],
            "mean": means[order],
            "p": p_j[order],
            "s": s_j[order],
            "gini": gini_reported[order],
            "within_contrib": within_contrib[order],
        }
    )
    pair_frame: pd.DataFrame | None = None
    if S is not None and Y > 0:
        pair_frame = _pair_frame(S, order, W_j, means, p_j, s_j, label_index)
        Gnb = float(pair_frame["Gnb_contrib"].to_numpy().sum())
        Gt = float(pair_frame["Gt_contrib"].to_numpy().sum())
    elif Y > 0:
        m_sorted = means[order]
        s_b, _, _ = segment_abs_diff_sums(m_sorted, W_j[order], np.zeros(k, dtype=np.intp), 1)
        Gnb = float(s_b[0] / (2.0 * W * Y))
        Gt = G - Gw - Gnb
    else:
        Gnb = Gt = float("nan")
    Gb = Gnb + Gt if not math.isnan(Gnb) else float("nan")
    return DagumResult(
        G=G,
        Gw=Gw,
        Gnb=Gnb,
        Gt=Gt,
        Gb=Gb,
        groups=group_frame,
        pairs=pair_frame,
        n_units=int(y.shape[0]),
        n_groups=k,
        n_dropped_missing=int(prep.dropped.sum()),
        min_units=min_units,
        weighted=w is not None,
    )


def _present_groups(
    labels: pd.Index, dropped_all: IntArray, codes: IntArray
) -> tuple[IntArray, pd.Index, IntArray]:
    """Codes renumbered over the groups that have a value, their labels and dropped counts."""
    k_all = len(labels)
    counts_all = np.bincount(codes, minlength=k_all)
    present = np.flatnonzero(counts_all > 0)
    remap = np.full(k_all, -1, dtype=np.intp)
    remap[present] = np.arange(present.shape[0])
    return remap[codes], labels.take(present), dropped_all[present]


def _pair_sums(
    y: FloatArray, codes: IntArray, w: FloatArray | None, k: int, block: int | None, srt: IntArray
) -> FloatArray:
    """The ``k x k`` between-group sums of absolute differences (refused above a size)."""
    if k > _MAX_PAIR_GROUPS:
        raise DidstudyError(
            f"{k} groups would need a {k}×{k} pair table",
            column="groups",
            fix="pass pairs=False to get the components and within-group Ginis only",
        )
    return pair_abs_diff_sums(y, codes, w, k, block=block, order=srt)


def _pair_frame(
    S: FloatArray,
    order: IntArray,
    W_j: FloatArray,
    means: FloatArray,
    p_j: FloatArray,
    s_j: FloatArray,
    label_index: pd.Index,
) -> pd.DataFrame:
    """One row per pair of groups (richer first): G_jh, d_jh, p_jh, D_jh and contributions."""
    k = order.shape[0]
    rich, poor = np.tril_indices(k, -1)
    j_idx, h_idx = order[rich], order[poor]
    delta = S[j_idx, h_idx] / (W_j[j_idx] * W_j[h_idx])
    gap = means[j_idx] - means[h_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        g_jh = np.where(
            means[j_idx] + means[h_idx] > 0, delta / (means[j_idx] + means[h_idx]), np.nan
        )
        # Δ_jh below rounding (two constant groups with equal values) is 0, so D_jh = 0
        # (decision 0003); otherwise |gap| <= Δ_jh holds exactly and only rounding can exceed it
        resolved = delta > DELTA_ROUNDING * (means[j_idx] + means[h_idx])
        D = np.where(resolved, np.clip(gap / delta, -1.0, 1.0), 0.0)
    weight_pair = p_j[j_idx] * s_j[h_idx] + p_j[h_idx] * s_j[j_idx]
    gross = np.where(weight_pair > 0, g_jh * weight_pair, 0.0)
    return pd.DataFrame(
        {
            "group_j": pd.Series(label_index.take(j_idx)),
            "group_h": pd.Series(label_index.take(h_idx)),
            "G_jh": g_jh,
            "d_jh": (delta + gap) / 2.0,
            "p_jh": (delta - gap) / 2.0,
            "D_jh": D,
            "pair_weight": weight_pair,
            "Gnb_contrib": gross * D,
            "Gt_contrib": gross * (1.0 - D),
        }
    )


def _panel_columns(
    data: object,
    value: str,
    group: str,
    time: str,
    weights: str | None,
    negative: NegativePolicy,
) -> tuple[FloatArray, IntArray, pd.Index, IntArray, pd.Index, FloatArray | None]:
    """Values, period and group codes with labels, and weights of a long table."""
    frame = getattr(data, "frame", data)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"data must be a pandas DataFrame or a Panel, got {type(data).__name__}",
            fix="pass a long table with one row per unit and period",
        )
    index = frame.index
    y_all = as_values(_column(frame, value, "value"), name=value, negative=negative, index=index)
    t_codes, t_labels = _factorize(_column(frame, time, "time"), time, index)
    g_codes, g_labels = _factorize(_column(frame, group, "group"), group, index)
    w_all = (
        None
        if weights is None
        else as_weights(_column(frame, weights, "weights"), y_all.shape[0], name=weights)
    )
    return y_all, t_codes, t_labels, g_codes, g_labels, w_all


def _panel_components(
    t_labels: pd.Index,
    y_t: FloatArray,
    s_t: FloatArray,
    denom_t: FloatArray,
    sum_within: npt.NDArray[Any],
    s_b: FloatArray,
    n_units: npt.NDArray[Any],
    n_groups: npt.NDArray[Any],
) -> pd.DataFrame:
    """G, Gw, Gnb, Gt, Gb and the shares per period (all periods, empty ones included)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        positive = y_t > 0
        G = np.where(positive, s_t / denom_t, np.nan)
        Gw = np.where(positive, sum_within / denom_t, np.nan)
        Gnb = np.where(positive, s_b / denom_t, np.nan)
        Gt = G - Gw - Gnb
        Gb = G - Gw
        share = np.where(positive & (G != 0), 100.0 / G, np.nan)

    t_values = pd.Series(t_labels)
    components = pd.DataFrame(
        {
            "time": t_values,
            "G": G,
            "Gw": Gw,
            "Gnb": Gnb,
            "Gt": Gt,
            "Gb": Gb,
            "share_w": Gw * share,
            "share_nb": Gnb * share,
            "share_t": Gt * share,
            "n_units": n_units.astype(np.int64),
            "n_groups": n_groups.astype(np.int64),
        }
    )
    return components


# --------------------------------------------------------------------------- panel


@dataclass(frozen=True)
class DagumPanelResult:
    """Dagum decomposition for every period of a long table (immutable).

    Attributes
    ----------
    groups
        One row per (time, group): ``time, group, n, mean, gini`` (gini = G_jj = INDG; NaN when
        ``n < min_units``, the mean is 0 or every unit is missing) plus ``n_dropped_missing,
        weight, p, s, within_contrib``. Sorted by time, then group label.
    components
        One row per period: ``time, G, Gw, Gnb, Gt, Gb, share_w, share_nb, share_t, n_units,
        n_groups`` (shares in percent of G).
    value, group, time, weights, min_units
        The arguments, for provenance.
    """

    groups: pd.DataFrame
    components: pd.DataFrame
    value: str
    group: str
    time: str
    weights: str | None
    min_units: int

    def tidy(self) -> pd.DataFrame:
        """Components per period as protocol rows with terms like ``"G[2010]"``."""
        rows = []
        for rec in self.components.itertuples(index=False):
            for name in ("G", "Gw", "Gnb", "Gt", "Gb", "share_w", "share_nb", "share_t"):
                rows.append((f"{name}[{rec.time}]", float(getattr(rec, name))))
        nan = [float("nan")] * len(rows)
        return pd.DataFrame(
            {
                "term": [r[0] for r in rows],
                "estimate": [r[1] for r in rows],
                "std_error": nan,
                "statistic": nan,
                "p_value": nan,
                "conf_low": nan,
                "conf_high": nan,
            }
        )

    def stats(self) -> dict[str, Any]:
        return {
            "nobs": int(self.groups["n"].sum()),
            "n_periods": int(self.components.shape[0]),
            "n_groups": int(self.groups["group"].nunique()),
            "n_dropped_missing": int(self.groups["n_dropped_missing"].sum()),
            "min_units": self.min_units,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "dagum_panel",
            "value": self.value,
            "group": self.group,
            "time": self.time,
            "weights": self.weights,
            "stats": self.stats(),
            "components": _records(self.components),
            "groups": _records(self.groups),
        }


def _column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in df.columns:
        raise DataError(
            f"the {role} column is not in the data",
            column=name,
            fix=f"pass one of: {', '.join(map(str, list(df.columns)[:20]))}",
        )
    return df[name]


def dagum_panel(
    data: object,
    value: str,
    group: str,
    time: str,
    weights: str | None = None,
    min_units: int = 2,
    *,
    negative: NegativePolicy = "raise",
) -> DagumPanelResult:
    """Dagum decomposition and within-group Gini (INDG) for every period of a long table.

    Parameters
    ----------
    data
        Long DataFrame (one row per unit and period), or a ``Panel`` (its ``.frame`` is used).
    value, group, time
        Column names: the unit value (e.g. county light), the group (city) and the period.
    weights
        Optional column of strictly positive unit weights.
    min_units
        Cells (time, group) with fewer non-missing units report ``gini`` NaN (default 2; methods
        spec §1.5). Components always use every unit.
    negative
        ``"raise"`` (default) or ``"clip"`` negative values to 0.

    Returns
    -------
    DagumPanelResult

    Notes
    -----
    Vectorised over periods with sorted segment sums (see :func:`segment_abs_diff_sums`): per
    period ``G = S / (2 W Y)``; ``Gw = Σ_j S_jj / (2 W Y)`` (equal to ``Σ_j G_jj p_j s_j``);
    ``Gnb`` = Gini of the group means weighted by group weight (methods spec §1.3, identity 4);
    ``Gt = G − Gw − Gnb``. Equals :func:`dagum` applied period by period (tested).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"year": [1, 1, 1, 1, 2, 2, 2, 2],
    ...                    "city": ["a", "a", "b", "b"] * 2,
    ...                    "light": [1.0, 3.0, 2.0, 2.0, 1.0, 1.0, 5.0, 7.0]})
    >>> res = dagum_panel(df, "light", "city", "year")
    >>> res.groups[["time", "group", "n", "gini"]].round(4).values.tolist()
    [[1, 'a', 2, 0.25], [1, 'b', 2, 0.0], [2, 'a', 2, 0.0], [2, 'b', 2, 0.0833]]
    """
    min_units = _check_min_units(min_units)
    y_all, t_codes, t_labels, g_codes, g_labels, w_all = _panel_columns(
        data, value, group, time, weights, negative
    )
    n_groups_total = max(len(g_labels), 1)
    cell_key = t_codes.astype(np.int64) * n_groups_total + g_codes
    cell_codes_raw, cell_keys = pd.factorize(cell_key, sort=True)
    cell_codes = cell_codes_raw.astype(np.intp)
    n_cells = len(cell_keys)
    cell_t = (np.asarray(cell_keys) // n_groups_total).astype(np.intp)
    cell_g = (np.asarray(cell_keys) % n_groups_total).astype(np.intp)
    n_t = len(t_labels)

    keep = ~np.isnan(y_all)
    if w_all is not None:
        keep &= ~np.isnan(w_all)
    dropped = np.bincount(cell_codes[~keep], minlength=n_cells)
    y = y_all[keep]
    cells = cell_codes[keep]
    tt = t_codes[keep]
    w = None if w_all is None else w_all[keep]

    o_y: IntArray = np.argsort(y)
    o_cell = sort_within_groups(y, cells, o_y)
    s_cell, w_cell, y_cell = segment_abs_diff_sums(
        y[o_cell], None if w is None else w[o_cell], cells[o_cell], n_cells
    )
    n_cell = np.bincount(cells, minlength=n_cells)
    o_t = sort_within_groups(y, tt, o_y)
    s_t, w_t, y_t = segment_abs_diff_sums(y[o_t], None if w is None else w[o_t], tt[o_t], n_t)
    n_units = np.bincount(tt, minlength=n_t)

    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cell = y_cell / w_cell
        gini_cell = np.where(y_cell > 0, s_cell / (2.0 * w_cell * y_cell), np.nan)
        gini_cell = np.where(n_cell >= min_units, gini_cell, np.nan)
        denom_t = 2.0 * w_t * y_t
        p_cell = w_cell / w_t[cell_t]
        s_share = y_cell / y_t[cell_t]
        within_cell = np.where(y_cell > 0, s_cell / denom_t[cell_t], 0.0)

    occupied = n_cell > 0
    occ_idx = np.flatnonzero(occupied)
    o_b = occ_idx[np.lexsort((mean_cell[occ_idx], cell_t[occ_idx]))]
    s_b, _, _ = segment_abs_diff_sums(mean_cell[o_b], w_cell[o_b], cell_t[o_b], n_t)
    sum_within = np.bincount(cell_t, weights=np.where(occupied, s_cell, 0.0), minlength=n_t)
    n_groups = np.bincount(cell_t[occupied], minlength=n_t)

    components = _panel_components(t_labels, y_t, s_t, denom_t, sum_within, s_b, n_units, n_groups)
    components = components.loc[n_units > 0].reset_index(drop=True)
    groups_frame = pd.DataFrame(
        {
            "time": pd.Series(t_labels.take(cell_t)),
            "group": pd.Series(g_labels.take(cell_g)),
            "n": n_cell.astype(np.int64),
            "mean": np.where(occupied, mean_cell, np.nan),
            "gini": gini_cell,
            "n_dropped_missing": dropped.astype(np.int64),
            "weight": w_cell,
            "p": np.where(occupied, p_cell, 0.0),
            "s": np.where(occupied, s_share, 0.0),
            "within_contrib": within_cell,
        }
    )
    return DagumPanelResult(
        groups=groups_frame,
        components=components,
        value=value,
        group=group,
        time=time,
        weights=weights,
        min_units=min_units,
    )
