"""Goodman-Bacon decomposition: published castle numbers, diff-diff golden, identities, DGP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError
from didstudy.estimation.bacon import bacon, largest_balanced_window
from didstudy.kernels.demean import demean
from didstudy.results.bacon import (
    EARLIER_VS_LATER,
    LATER_VS_ALWAYS,
    LATER_VS_EARLIER,
    TREATED_VS_NEVER,
    WITHIN,
)

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests/reference/bacon"
# Sums of products over a few thousand cells: exact up to float rounding.
IDENTITY_TOL = 1e-10
# diff-diff computes the same 2x2s by subsample regressions; rounding-level agreement.
ORACLE_TOL = 1e-9

_CASTLE = json.loads((REF / "castle_published.json").read_text())


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    return pd.read_csv(ROOT / "src/didstudy/data/datasets/castle.csv")


def test_castle_published_numbers(castle: pd.DataFrame) -> None:
    res = bacon(castle, "l_homicide", "post", unit="state", time="year")
    assert res.estimate == pytest.approx(_CASTLE["twfe"], abs=IDENTITY_TOL)
    assert res.decomposed_estimate == pytest.approx(_CASTLE["twfe"], abs=IDENTITY_TOL)
    assert len(res.comparisons) == _CASTLE["n_comparisons"]
    summary = res.summary().set_index("type")
    for kind, weight in _CASTLE["weights_by_type"].items():
        # published to 8 digits: agreement to half a unit in the last digit
        assert summary.loc[kind, "weight"] == pytest.approx(weight, abs=5e-9)
    for kind, avg in _CASTLE["average_by_type"].items():
        assert round(float(summary.loc[kind, "estimate"]), 3) == pytest.approx(avg, abs=1e-12)
    frame = res.comparisons_frame()
    top = frame.loc[frame["weight"].idxmax()]
    big = _CASTLE["largest"]
    assert (top["treated"], top["control"]) == (big["treated"], big["control"])
    assert top["estimate"] == pytest.approx(big["estimate"], abs=5e-9)
    assert top["weight"] == pytest.approx(big["weight"], abs=5e-8)
    assert frame["weight"].sum() == pytest.approx(1.0, abs=IDENTITY_TOL)
    tidy = res.tidy()
    assert list(tidy.columns[:7]) == [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert len(tidy) == 25 and "2006 vs never" in set(tidy["term"])
    json.dumps(res.to_dict())


def test_matches_diff_diff_golden() -> None:
    golden = json.loads((REF / "golden.json").read_text())
    df = pd.read_csv(REF / "sim_balanced.csv")
    res = bacon(df, "y", "treat", unit="unit", time="time")
    assert res.estimate == pytest.approx(golden["twfe"], abs=ORACLE_TOL)
    frame = res.comparisons_frame()
    # diff-diff pools never- and always-treated units into U (paper footnote 11)
    frame["control"] = frame["control"].replace({"never": "U", "always": "U"})
    pooled = (
        frame.assign(we=frame["weight"] * frame["estimate"])
        .groupby(["treated", "control"], as_index=False)[["weight", "we"]]
        .sum()
    )
    pooled["estimate"] = pooled["we"] / pooled["weight"]
    mine = pooled.set_index(["treated", "control"])
    assert len(mine) == len(golden["comparisons"])
    for row in golden["comparisons"]:
        got = mine.loc[(row["treated"], row["control"])]
        assert got["weight"] == pytest.approx(row["weight"], abs=ORACLE_TOL)
        assert got["estimate"] == pytest.approx(row["estimate"], abs=ORACLE_TOL)
    kinds = set(frame["type"])
    assert {LATER_VS_ALWAYS, TREATED_VS_NEVER, EARLIER_VS_LATER, LATER_VS_EARLIER} == kinds


def _twfe(df: pd.DataFrame, y: str, regressors: list[str]) -> float:
    """Alternative algorithm for the TWFE coefficient: iterative demeaning + least squares."""
    codes = [pd.factorize(df["unit"])[0], pd.factorize(df["time"])[0]]
    mat = demean(df[[y, *regressors]].to_numpy(float), codes, method="iterative")
    beta, *_ = np.linalg.lstsq(mat[:, 1:], mat[:, 0], rcond=None)
    return float(beta[0])


def _random_panel(rng: np.random.Generator) -> pd.DataFrame:
    n_periods = int(rng.integers(4, 12))
    n_units = int(rng.integers(12, 40))
    first = rng.integers(1, n_periods + 3, size=n_units)  # > n_periods: never; 1: always
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(1, n_periods + 1), n_units)
    d = (time >= first[unit]).astype(float)
    y = rng.normal(size=n_units)[unit] + rng.normal(size=n_periods)[time - 1]
    y = y + rng.normal(0.5, 1.0, size=n_units)[unit] * d + rng.normal(size=unit.size)
    x1 = rng.normal(size=unit.size) + 0.3 * d
    x2 = rng.normal(size=unit.size) * (1 + 0.1 * time)
    return pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y, "x1": x1, "x2": x2})


def _labels(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Timing-group label of every unit (rows of the pivoted panel) and the Y matrix."""
    d = df.pivot(index="unit", columns="time", values="d").to_numpy()
    y = df.pivot(index="unit", columns="time", values="y").to_numpy()
    first = np.where(d.any(axis=1), d.argmax(axis=1) + 1, 0)
    labels = np.array(
        ["never" if f == 0 else ("always" if f == 1 else str(f)) for f in first], dtype=object
    )
    return labels, y


def _paper_weight(row: pd.Series, labels: np.ndarray, n_periods: int) -> float:
    """Closed-form weights of Goodman-Bacon (2021), eqs. 10a-10c (unnormalised)."""

    def dbar(label: str) -> float:
        if label == "never":
            return 0.0
        if label == "always":
            return 1.0
        return (n_periods - float(label) + 1) / n_periods

    nk, nl = float(np.mean(labels == row["treated"])), float(np.mean(labels == row["control"]))
    dk, dl = dbar(row["treated"]), dbar(row["control"])
    if row["type"] in (TREATED_VS_NEVER, LATER_VS_ALWAYS):
        nku = nk / (nk + nl)
        # a never- or always-treated control has constant D: the same variance term
        return (nk + nl) ** 2 * nku * (1 - nku) * dk * (1 - dk)
    if row["type"] == EARLIER_VS_LATER:
        nkl = nk / (nk + nl)
        v = nkl * (1 - nkl) * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl)
        return ((nk + nl) * (1 - dl)) ** 2 * v
    # later vs earlier: treated is later (l), control earlier (k)
    dk, dl = dl, dk
    nk, nl = nl, nk
    nkl = nk / (nk + nl)
    v = nkl * (1 - nkl) * (dl / dk) * (dk - dl) / dk
    return ((nk + nl) * dk) ** 2 * v


def _explicit_dd(row: pd.Series, labels: np.ndarray, y: np.ndarray, periods: np.ndarray) -> float:
    """The 2x2 as a difference of mean changes: (post - pre) treated minus (post - pre) control."""
    window = (periods >= row["period_start"]) & (periods <= row["period_end"])
    adopt = 1 if row["treated"] == "always" else int(row["treated"])
    post = window & (periods >= adopt)
    pre = window & ~post
    trt, ctl = y[labels == row["treated"]], y[labels == row["control"]]
    return float(
        (trt[:, post].mean() - trt[:, pre].mean()) - (ctl[:, post].mean() - ctl[:, pre].mean())
    )


def test_identities_on_random_balanced_panels() -> None:
    rng = np.random.default_rng(20240601)
    checked = 0
    while checked < 10:
        df = _random_panel(rng)
        if df.groupby("unit")["d"].mean().between(0, 1, inclusive="neither").sum() == 0:
            continue
        checked += 1
        res = bacon(df, "y", "d", unit="unit", time="time")
        frame = res.comparisons_frame()
        assert res.decomposed_estimate == pytest.approx(_twfe(df, "y", ["d"]), abs=IDENTITY_TOL)
        assert frame["weight"].sum() == pytest.approx(1.0, abs=IDENTITY_TOL)
        n_periods = int(df["time"].max())
        labels, y = _labels(df)
        periods = np.arange(1, n_periods + 1)
        paper = np.array([_paper_weight(r, labels, n_periods) for _, r in frame.iterrows()])
        np.testing.assert_allclose(frame["weight"], paper / paper.sum(), atol=IDENTITY_TOL)
        explicit = [_explicit_dd(r, labels, y, periods) for _, r in frame.iterrows()]
        np.testing.assert_allclose(frame["estimate"], explicit, atol=IDENTITY_TOL)
        # with controls: Ω β_w + Σ s β_b = TWFE with controls; weights sum to one
        ctl_res = bacon(df, "y", "d", ["x1", "x2"], unit="unit", time="time")
        twfe_x = _twfe(df, "y", ["d", "x1", "x2"])
        assert ctl_res.estimate == pytest.approx(twfe_x, abs=IDENTITY_TOL)
        assert ctl_res.decomposed_estimate == pytest.approx(twfe_x, abs=IDENTITY_TOL)
        summary = ctl_res.summary()
        assert summary["weight"].sum() == pytest.approx(1.0, abs=IDENTITY_TOL)
        assert WITHIN in set(summary["type"])


def test_controls_match_twfe_engine(castle: pd.DataFrame) -> None:
    """With controls the decomposed coefficient is the TWFE one (engine golden-tested vs
    pyfixest in tests/estimation)."""
    from didstudy.estimation.twfe import twfe

    res = bacon(castle, "l_homicide", "post", ["l_pop", "l_income"], unit="state", time="year")
    fit = twfe(
        castle,
        "l_homicide",
        "post",
        ["l_pop", "l_income"],
        fe=["state", "year"],
        unit="state",
        time="year",
    )
    assert res.estimate == pytest.approx(fit.term("post").estimate, abs=IDENTITY_TOL)
    assert res.decomposed_estimate == pytest.approx(res.estimate, abs=IDENTITY_TOL)
    assert res.within_weight is not None and 0 < res.within_weight < 1


def test_recovers_constant_effect() -> None:
    df = simulate_staggered(
        n_units=120,
        periods=range(1, 11),
        cohorts={3: 20, 5: 20, 8: 20},
        n_never=60,
        n_controls=0,
        effect=0.4,
        noise_sd=0.05,
        seed=3,
    )
    res = bacon(df, "y", "treat", unit="unit", time="time")
    # with a constant effect every 2x2 is unbiased; 0.05 = ~6 sd of the noisiest 2x2
    assert res.estimate == pytest.approx(0.4, abs=0.02)
    assert np.allclose(res.comparisons_frame()["estimate"], 0.4, atol=0.05)


def test_unbalanced_panels() -> None:
    df = simulate_staggered(
        n_units=40, periods=range(1, 9), cohorts={3: 10, 6: 10}, n_never=20, n_controls=0, seed=4
    )
    df = df[~((df["unit"] <= 3) & (df["time"] == 8)) & ~((df["unit"] == 5) & (df["time"] == 2))]
    with pytest.raises(ValidationError, match="balance='largest'"):
        bacon(df, "y", "treat", unit="unit", time="time")
    res = bacon(df, "y", "treat", unit="unit", time="time", balance="largest")
    # all 8 periods without units 1-3 and 5 (36 x 8 = 288) beat periods 1-7 without unit 5
    # (39 x 7 = 273) and periods 3-8 without units 1-3 (37 x 6 = 222)
    assert (res.n_units, res.n_periods) == (36, 8)
    assert res.sample_share == pytest.approx(288 / len(df))
    assert res.dropped_units == 4
    manual = df[~df["unit"].isin([1, 2, 3, 5])]
    direct = bacon(manual, "y", "treat", unit="unit", time="time")
    assert res.estimate == pytest.approx(direct.estimate, abs=1e-14)
    a, b, mask = largest_balanced_window(np.array([[1, 1, 0], [1, 1, 1], [1, 1, 1]], dtype=bool))
    # 3 units x 2 periods ties 2 units x 3 periods: the longer window wins
    assert (a, b, mask.tolist()) == (0, 2, [False, True, True])


def test_bad_treatment() -> None:
    df = _random_panel(np.random.default_rng(1))
    switching = df.copy()
    switching.loc[(switching["unit"] == switching["unit"].iloc[0]), "d"] = [1, 0] * (
        int(switching["time"].max()) // 2
    ) + [1] * (int(switching["time"].max()) % 2)
    with pytest.raises(ValidationError, match="absorbing"):
        bacon(switching, "y", "d", unit="unit", time="time")
    bad = df.assign(d=df["d"] * 2)
    with pytest.raises(ValidationError, match="0/1"):
        bacon(bad, "y", "d", unit="unit", time="time")
    with pytest.raises(ValidationError, match="unit and time"):
        bacon(df, "y", "d")


def test_panel_input() -> None:
    from didstudy.data.panel import Panel

    df = simulate_staggered(
        n_units=40, periods=range(1, 9), cohorts={3: 10, 6: 10}, n_never=20, n_controls=0, seed=4
    )
    res = bacon(Panel(df, unit="unit", time="time", cohort="cohort"), "y")
    direct = bacon(df, "y", "treat", unit="unit", time="time")
    assert res.estimate == pytest.approx(direct.estimate, abs=1e-14)
    assert len(res.comparisons) == len(direct.comparisons) == 4
