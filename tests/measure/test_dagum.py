"""Dagum (1997) decomposition: worked example, brute force, identities, PySAL oracle, panel form."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.inequality import dagum, dagum_panel, gini, pair_abs_diff_sums

# float64 sums of O(100) terms of size O(10): rounding stays below 1e-13
EXACT_TOL = 1e-12
# a ratio of two prefix-sum differences (D_jh): cancellation costs a few digits more
RATIO_TOL = 1e-10
# sampling error of a Gini over 200,000 draws is about 1e-3; 5e-3 is > 4 standard errors
DGP_TOL = 5e-3

EXAMPLE_VALUES = [1, 2, 3, 6, 2, 4, 5, 7, 9, 5, 8, 11]
EXAMPLE_GROUPS = list("AAAABBBBBCCC")


# --------------------------------------------------------------------------- brute force


def brute_force(y: np.ndarray, g: np.ndarray, w: np.ndarray | None = None) -> dict[str, object]:
    """Dagum's definitions evaluated literally with O(n²) pair matrices (methods spec §1.2)."""
    w = np.ones_like(y) if w is None else w
    labels = sorted(set(g.tolist()))
    W = w.sum()
    mean = np.dot(w, y) / W
    absd = np.abs(y[:, None] - y[None, :])
    pos = np.maximum(y[:, None] - y[None, :], 0.0)
    ww = w[:, None] * w[None, :]
    G = (ww * absd).sum() / (2 * W**2 * mean)
    info = {}
    for lab in labels:
        m = g == lab
        Wj = w[m].sum()
        mj = np.dot(w[m], y[m]) / Wj
        info[lab] = (m, Wj, mj)
    # means equal to 12 significant digits are ties, broken by label (decision 0003)
    order = sorted(labels, key=lambda lab: (float(f"{info[lab][2]:.12g}"), labels.index(lab)))
    Gjj, Gw = {}, 0.0
    for lab in labels:
        m, Wj, mj = info[lab]
        sjj = (ww[np.ix_(m, m)] * absd[np.ix_(m, m)]).sum()
        Gjj[lab] = sjj / (2 * Wj**2 * mj) if mj > 0 else np.nan
        if mj > 0:
            Gw += Gjj[lab] * (Wj / W) * (Wj * mj / (W * mean))
    pairs = {}
    Gnb = Gt = 0.0
    for a in range(len(order)):
        for b in range(a):
            j, h = order[a], order[b]
            mj_, Wj, mj = info[j]
            mh_, Wh, mh = info[h]
            block = ww[np.ix_(mj_, mh_)]
            d = (block * pos[np.ix_(mj_, mh_)]).sum() / (Wj * Wh)
            p = (block * pos[np.ix_(mh_, mj_)].T).sum() / (Wj * Wh)
            D = (d - p) / (d + p) if d + p > 0 else 0.0
            tot = (block * absd[np.ix_(mj_, mh_)]).sum()
            gjh = tot / (Wj * Wh * (mj + mh)) if mj + mh > 0 else np.nan
            pw = (Wj / W) * (Wh * mh / (W * mean)) + (Wh / W) * (Wj * mj / (W * mean))
            pairs[(j, h)] = (gjh, d, p, D)
            if pw > 0:
                Gnb += gjh * pw * D
                Gt += gjh * pw * (1 - D)
    return {"G": G, "Gw": Gw, "Gnb": Gnb, "Gt": Gt, "Gjj": Gjj, "pairs": pairs, "order": order}


def assert_matches_brute(res, ref, scale: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    for name in ("G", "Gw", "Gnb", "Gt"):
        assert getattr(res, name) == pytest.approx(ref[name], abs=EXACT_TOL, rel=EXACT_TOL), name
    assert res.order == ref["order"]
    for lab, v in zip(res.groups["group"], res.groups["gini"], strict=True):
        if np.isnan(ref["Gjj"][lab]):
            assert np.isnan(v)
        else:
            assert v == pytest.approx(ref["Gjj"][lab], abs=EXACT_TOL, rel=EXACT_TOL)
    assert res.pairs is not None
    for row in res.pairs.itertuples(index=False):
        gjh, d, p, D = ref["pairs"][(row.group_j, row.group_h)]
        # pair quantities come from differences of prefix sums over the sorted values: their
        # absolute rounding is ~1e-16 of the largest sum, so a pair of small groups beside a
        # large value (0.016 next to 999) keeps ~12 digits: d, p to EXACT_TOL of the value
        # scale, the ratios G_jh and D_jh to RATIO_TOL
        assert row.d_jh == pytest.approx(d, abs=EXACT_TOL * scale, rel=EXACT_TOL, nan_ok=True)
        assert row.p_jh == pytest.approx(p, abs=EXACT_TOL * scale, rel=EXACT_TOL, nan_ok=True)
        assert row.G_jh == pytest.approx(gjh, abs=RATIO_TOL, rel=RATIO_TOL, nan_ok=True)
        assert row.D_jh == pytest.approx(D, abs=RATIO_TOL, rel=RATIO_TOL, nan_ok=True)


# --------------------------------------------------------------------------- worked example


def test_worked_example_exact() -> None:
    """Methods spec §1.7: every component to 1e-12 of the exact rational values."""
    res = dagum(EXAMPLE_VALUES, EXAMPLE_GROUPS)
    exact = {
        "G": F(241, 756),
        "Gw": F(31, 378),
        "Gnb": F(7, 36),
        "Gt": F(8, 189),
        "Gb": F(179, 756),
    }
    for name, value in exact.items():
        assert abs(getattr(res, name) - float(value)) < EXACT_TOL, name
    assert abs(res.share_w - 100 * float(exact["Gw"] / exact["G"])) < 1e-10
    assert abs(res.share_w - 25.7261) < 1e-4
    assert abs(res.share_nb - 60.9959) < 1e-4
    assert abs(res.share_t - 13.2780) < 1e-4
    assert res.order == ["A", "B", "C"]
    groups = res.groups.set_index("group")
    gjj = {"A": F(1, 3), "B": F(34, 135), "C": F(1, 6)}
    p = {"A": F(1, 3), "B": F(5, 12), "C": F(1, 4)}
    s = {"A": F(4, 21), "B": F(3, 7), "C": F(8, 21)}
    contrib = {"A": F(4, 189), "B": F(17, 378), "C": F(1, 63)}
    for lab in "ABC":
        assert abs(groups.loc[lab, "gini"] - float(gjj[lab])) < EXACT_TOL
        assert abs(groups.loc[lab, "p"] - float(p[lab])) < EXACT_TOL
        assert abs(groups.loc[lab, "s"] - float(s[lab])) < EXACT_TOL
        assert abs(groups.loc[lab, "within_contrib"] - float(contrib[lab])) < EXACT_TOL
    pairs = {
        ("B", "A"): (F(8, 21), F(14, 5), F(2, 5), F(3, 4), F(2, 9), F(4, 63), F(4, 189)),
        ("C", "A"): (F(31, 66), F(61, 12), F(1, 12), F(30, 31), F(11, 63), F(5, 63), F(1, 378)),
        ("C", "B"): (
            F(53, 201),
            F(46, 15),
            F(7, 15),
            F(39, 53),
            F(67, 252),
            F(13, 252),
            F(1, 54),
        ),
    }
    cols = ["G_jh", "d_jh", "p_jh", "D_jh", "pair_weight", "Gnb_contrib", "Gt_contrib"]
    assert res.pairs is not None
    table = res.pairs.set_index(["group_j", "group_h"])
    for key, values in pairs.items():
        for col, value in zip(cols, values, strict=True):
            assert abs(table.loc[key, col] - float(value)) < EXACT_TOL, (key, col)
    # matrices: symmetric Gini matrix with G_jj on the diagonal, d_jh/p_jh transposes
    gm = res.G_jh
    assert abs(gm.loc["A", "C"] - float(F(31, 66))) < EXACT_TOL
    assert abs(gm.loc["B", "B"] - float(F(34, 135))) < EXACT_TOL
    assert abs(res.d_jh.loc["B", "A"] - 2.8) < EXACT_TOL
    assert abs(res.d_jh.loc["A", "B"] - 0.4) < EXACT_TOL
    assert abs(res.p_jh.loc["B", "A"] - 0.4) < EXACT_TOL
    assert res.D_jh.loc["A", "A"] == 0.0
    # every algorithmic path gives the same numbers
    for kwargs in ({"pairs": False}, {"block": 1}, {"block": 5}, {"block": 100}):
        other = dagum(EXAMPLE_VALUES, EXAMPLE_GROUPS, **kwargs)
        for name in ("G", "Gw", "Gnb", "Gt", "Gb"):
            assert abs(getattr(other, name) - float(exact[name])) < EXACT_TOL, (kwargs, name)
    # results protocol
    tidy = res.tidy()
    assert list(tidy.columns) == [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert tidy.set_index("term").loc["Gnb", "estimate"] == res.Gnb
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["components"]["G"] == res.G
    assert res.stats()["nobs"] == 12


# --------------------------------------------------------------------------- brute force


@st.composite
def samples(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, min(n, 8)))
    ties = draw(st.booleans())
    if ties:
        y = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    else:
        # rounded like measured data: a 1e-38 value next to values of 1000 is not a test of the
        # algorithm but of float64 (absolute error ~ eps × the largest value, by design)
        y = draw(st.lists(st.floats(0, 1000).map(lambda v: round(v, 3)), min_size=n, max_size=n))
    g = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    weighted = draw(st.booleans())
    w = (
        draw(st.lists(st.floats(0.1, 10, allow_nan=False), min_size=n, max_size=n))
        if weighted
        else None
    )
    block = draw(st.sampled_from([None, 1, 2, 3, 7]))
    return (
        np.asarray(y, dtype=float),
        np.asarray(g),
        None if w is None else np.asarray(w),
        block,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples())
def test_against_brute_force(sample) -> None:  # type: ignore[no-untyped-def]
    y, g, w, block = sample
    if np.dot(np.ones_like(y) if w is None else w, y) <= 0:
        res = dagum(y, g, weights=w, block=block)
        assert np.isnan(res.G) and np.isnan(res.Gw)
        return
    ref = brute_force(y, g, w)
    res = dagum(y, g, weights=w, block=block)
    assert_matches_brute(res, ref, scale=max(1.0, float(np.abs(y).max())))
    # accounting identities: G = Gw + Gnb + Gt with G computed independently of the pairs
    assert res.Gw + res.Gnb + res.Gt == pytest.approx(res.G, abs=EXACT_TOL)
    # identity 4: Gnb is the Gini of the smoothed distribution (every unit -> its group mean)
    means = pd.Series(y * (1 if w is None else w)).groupby(g).transform("sum") / pd.Series(
        np.ones_like(y) if w is None else w
    ).groupby(g).transform("sum")
    assert res.Gnb == pytest.approx(gini(means.to_numpy(), w), abs=EXACT_TOL)
    # the O(n log n) path without pair tables agrees
    fast = dagum(y, g, weights=w, pairs=False)
    for name in ("G", "Gw", "Gnb", "Gt"):
        assert getattr(fast, name) == pytest.approx(getattr(res, name), abs=EXACT_TOL)
    # weights that are integers are frequency weights: equal to repeating the rows
    if w is None:
        reps = np.arange(y.shape[0]) % 3 + 1
        dup = dagum(np.repeat(y, reps), np.repeat(g, reps))
        freq = dagum(y, g, weights=reps.astype(float))
        assert pytest.approx(dup.G, abs=EXACT_TOL) == freq.G
        assert freq.Gt == pytest.approx(dup.Gt, abs=EXACT_TOL)


def test_pair_kernel_chunking_matches_direct() -> None:
    """Many blocks and many chunks (tiny chunk size) give the same k×k sums as numpy pairs."""
    import didstudy.measure.dagum as dg

    rng = np.random.default_rng(7)
    n, k = 500, 23
    y = np.round(rng.lognormal(size=n), 2)
    g = rng.integers(0, k, n)
    w = rng.uniform(0.5, 2, n)
    absd = np.abs(y[:, None] - y[None, :]) * w[:, None] * w[None, :]
    onehot = np.eye(k)[g]
    direct = onehot.T @ absd @ onehot
    old = dg._CHUNK_ELEMENTS
    try:
        dg._CHUNK_ELEMENTS = 64
        for block in (1, 4, 33, 500, 900):
            got = pair_abs_diff_sums(y, g, w, k, block=block)
            np.testing.assert_allclose(got, direct, rtol=1e-12, atol=1e-9)
    finally:
        dg._CHUNK_ELEMENTS = old


# --------------------------------------------------------------------------- oracle and DGP


GOLDEN = Path(__file__).resolve().parents[1] / "reference" / "measure" / "pysal_golden.json"


def test_pysal_gini_oracle() -> None:
    """G and every G_jj equal PySAL inequality.gini.Gini (n² denominator). Golden file made by
    ``.venv/bin/python tests/reference/measure/make_pysal_golden.py`` (PySAL is test-only)."""
    ref = json.loads(GOLDEN.read_text(encoding="utf-8"))["gini"]
    y = np.asarray(ref["values"])
    g = np.asarray(ref["groups"])
    res = dagum(y, g)
    assert pytest.approx(ref["G"], abs=EXACT_TOL) == res.G
    assert pytest.approx(ref["G"], abs=EXACT_TOL) == gini(y)
    assert pytest.approx(ref["G"], abs=EXACT_TOL) == gini(y, weights=np.ones_like(y))
    assert len(res.groups) == len(ref["G_jj"])
    for lab, v in zip(res.groups["group"], res.groups["gini"], strict=True):
        assert v == pytest.approx(ref["G_jj"][str(lab)], abs=EXACT_TOL)


def test_simulated_known_truth() -> None:
    """Known population values: exponential Gini = 1/2, uniform Gini = 1/3; disjoint supports give
    Gt = 0 and D = 1; identically distributed groups give Gnb → 0."""
    rng = np.random.default_rng(11)
    n = 200_000
    assert gini(rng.exponential(size=n)) == pytest.approx(0.5, abs=DGP_TOL)
    assert gini(rng.uniform(size=n)) == pytest.approx(1 / 3, abs=DGP_TOL)
    y = np.concatenate([rng.uniform(0, 1, 300), rng.uniform(2, 3, 300)])
    g = np.repeat([0, 1], 300)
    res = dagum(y, g)
    assert res.Gt == pytest.approx(0.0, abs=EXACT_TOL)
    assert res.pairs is not None and res.pairs["D_jh"].iloc[0] == pytest.approx(1.0)
    same = dagum(rng.exponential(size=n), rng.integers(0, 4, n), pairs=False)
    assert same.Gnb == pytest.approx(0.0, abs=DGP_TOL)
    assert same.Gw == pytest.approx(0.5 / 4, abs=DGP_TOL)  # Σ p_j s_j G_jj = 4 · 1/16 · 1/2


# --------------------------------------------------------------------------- edge cases


def test_edge_cases() -> None:
    # single-unit groups: G_jj NaN under min_units=2, formula 0 in the decomposition
    res = dagum([1.0, 2.0, 3.0, 10.0], ["a", "a", "a", "b"], min_units=2)
    row = res.groups.set_index("group").loc["b"]
    assert np.isnan(row["gini"]) and row["within_contrib"] == 0.0 and row["n"] == 1
    assert res.Gw + res.Gnb + res.Gt == pytest.approx(res.G, abs=EXACT_TOL)
    # zero-mean group: G_jj NaN, G_jh with another zero group NaN, decomposition still adds up
    res = dagum([0.0, 0.0, 0.0, 0.0, 1.0, 3.0], ["z", "z", "y", "y", "x", "x"])
    assert res.order[:2] == ["y", "z"]  # equal means: ties broken by label order
    assert np.isnan(res.groups.set_index("group").loc["z", "gini"])
    assert res.pairs is not None
    zz = res.pairs.set_index(["group_j", "group_h"]).loc[("z", "y")]
    assert np.isnan(zz["G_jh"]) and zz["D_jh"] == 0.0 and zz["Gnb_contrib"] == 0.0
    assert res.Gw + res.Gnb + res.Gt == pytest.approx(res.G, abs=EXACT_TOL)
    # all zero: undefined -> NaN, documented
    res = dagum([0.0, 0.0, 0.0], ["a", "a", "b"])
    assert np.isnan(res.G) and np.isnan(res.Gnb)
    # missing values dropped and counted per group
    res = dagum(pd.Series([1.0, np.nan, 3.0, 4.0]), ["a", "a", "b", "b"])
    assert res.n_dropped_missing == 1 and res.n_units == 3
    assert res.groups.set_index("group").loc["a", "n_dropped_missing"] == 1
    # negative values: error by default, clip on request
    with pytest.raises(DataError, match="negative"):
        dagum([1.0, -0.5, 2.0], [1, 1, 2])
    clipped = dagum([1.0, -0.5, 2.0], [1, 1, 2], negative="clip")
    assert pytest.approx(dagum([1.0, 0.0, 2.0], [1, 1, 2]).G) == clipped.G
    with pytest.raises(DataError, match="numeric"):
        dagum(pd.Series(["1", "x", "3"]), [1, 1, 2])
    with pytest.raises(DataError, match="infinite"):
        dagum([1.0, np.inf], [1, 2])
    with pytest.raises(DataError, match="missing group"):
        dagum([1.0, 2.0], pd.Series(["a", None]))
    with pytest.raises(DataError, match="lengths"):
        dagum([1.0, 2.0], ["a"])
    with pytest.raises(DataError, match="strictly positive"):
        dagum([1.0, 2.0], ["a", "b"], weights=[1.0, 0.0])
    with pytest.raises(DidstudyError, match="min_units"):
        dagum([1.0, 2.0], ["a", "b"], min_units=0)
    with pytest.raises(DataError, match="no unit"):
        dagum([np.nan], ["a"])
    with pytest.raises(DidstudyError, match="pair tables"):
        _ = dagum([1.0, 2.0], ["a", "b"], pairs=False).G_jh


# --------------------------------------------------------------------------- panel


def _panel(seed: int, n_groups: int = 12, n_periods: int = 5, weighted: bool = False):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(2003, 2003 + n_periods):
        for c in range(n_groups):
            m = int(rng.integers(1, 7))
            for u in range(m):
                rows.append((t, f"city{c:02d}", f"c{c}-{u}", float(np.round(rng.gamma(2, 5), 1))))
    df = pd.DataFrame(rows, columns=["year", "city", "county", "light"])
    df.loc[df.sample(frac=0.05, random_state=seed).index, "light"] = np.nan
    df.loc[df.sample(frac=0.05, random_state=seed + 1).index, "light"] = 0.0
    if weighted:
        df["pop"] = rng.uniform(1, 100, len(df))
    return df


@pytest.mark.parametrize(
    ("seed", "weighted", "min_units"), [(1, False, 2), (2, True, 1), (3, False, 3)]
)
def test_panel_equals_loop(seed: int, weighted: bool, min_units: int) -> None:
    df = _panel(seed, weighted=weighted)
    wcol = "pop" if weighted else None
    res = dagum_panel(df, "light", "city", "year", weights=wcol, min_units=min_units)
    assert list(res.components.columns) == [
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
    ]
    assert list(res.groups.columns[:5]) == ["time", "group", "n", "mean", "gini"]
    comps = res.components.set_index("time")
    groups = res.groups.set_index(["time", "group"])
    for year, sub in df.groupby("year"):
        one = dagum(
            sub["light"],
            sub["city"],
            weights=None if wcol is None else sub[wcol],
            min_units=min_units,
        )
        for name in ("G", "Gw", "Gnb", "Gt", "Gb"):
            assert comps.loc[year, name] == pytest.approx(getattr(one, name), abs=EXACT_TOL)
        assert comps.loc[year, "share_nb"] == pytest.approx(one.share_nb, abs=1e-9)
        assert comps.loc[year, "n_units"] == one.n_units
        for row in one.groups.itertuples(index=False):
            got = groups.loc[(year, row.group)]
            assert got["n"] == row.n and got["n_dropped_missing"] == row.n_dropped_missing
            if np.isnan(row.gini):
                assert np.isnan(got["gini"])
            else:
                assert got["gini"] == pytest.approx(row.gini, abs=EXACT_TOL)
    json.dumps(res.to_dict(), allow_nan=False)
    assert len(res.tidy()) == 8 * len(res.components)


def test_panel_all_missing_cell_and_errors() -> None:
    df = pd.DataFrame(
        {
            "t": [1, 1, 1, 2, 2, 2],
            "g": ["a", "a", "b", "a", "b", "b"],
            "v": [1.0, 2.0, np.nan, 3.0, 4.0, 6.0],
        }
    )
    res = dagum_panel(df, "v", "g", "t", min_units=1)
    cell = res.groups.set_index(["time", "group"]).loc[(1, "b")]
    assert cell["n"] == 0 and cell["n_dropped_missing"] == 1 and np.isnan(cell["gini"])
    assert res.components.set_index("time").loc[1, "n_groups"] == 1
    with pytest.raises(DataError, match="not in the data"):
        dagum_panel(df, "light", "g", "t")
    bad = df.assign(g=["a", None, "b", "a", "b", "b"])
    with pytest.raises(DataError, match="missing g"):
        dagum_panel(bad, "v", "g", "t")
    with pytest.raises(DataError, match="negative"):
        dagum_panel(df.assign(v=-df["v"]), "v", "g", "t")


def test_docstring_examples() -> None:
    import doctest

    import didstudy.measure.dagum as module

    assert doctest.testmod(module).failed == 0
