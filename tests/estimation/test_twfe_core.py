"""TWFE core: published reference (castle), LSDV dummies, a DGP with known truth, reuse seam."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from didstudy.data.panel import as_panel
from didstudy.errors import (
    CollinearityWarning,
    DataError,
    EstimationError,
    SingletonWarning,
)
from didstudy.estimation.twfe import prepare_twfe, stepwise, twfe
from didstudy.results.protocol import TIDY_COLUMNS, Result

CASTLE = Path(__file__).resolve().parents[2] / "src/didstudy/data/datasets/castle.csv"
#: Published fixest estimate (castle.md, bacondecomp index.ipynb), printed to 16 digits.
CASTLE_TWFE = 0.0818116169306475
#: Printed reference has 16 significant digits; demeaning error is ~1e-16.
CASTLE_TOL = 1e-10
#: Within vs dummy-variable least squares: both exact, differ by rounding (~1e-13 relative).
LSDV_RTOL = 1e-9
#: fit_many must reproduce twfe() per column (brief: 1e-10).
FIT_MANY_RTOL = 1e-10


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    return pd.read_csv(CASTLE)


def test_castle_published_estimate(castle: pd.DataFrame) -> None:
    res = twfe(
        castle, y="l_homicide", treat="post", fe=["state", "year"], unit="state", time="year"
    )
    assert abs(res.coef["post"] - CASTLE_TWFE) < CASTLE_TOL
    assert res.nobs == 550
    st = res.stats()
    assert st["n_clusters"] == 50 and st["df_t"] == 49
    assert st["n_singletons"] == 0 and st["n_dropped_missing"] == 0
    assert isinstance(res, Result)
    assert list(res.tidy().columns) == list(TIDY_COLUMNS)


def _panel(
    rng: np.random.Generator, n_units: int, n_periods: int, drop: float = 0.0
) -> pd.DataFrame:
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    region = unit % 4
    cohort = rng.choice(np.r_[np.arange(2, n_periods), 10_000], size=n_units)
    d = (time >= cohort[unit]).astype(float)
    x1 = rng.normal(size=unit.size) + 0.3 * d
    x2 = rng.normal(size=unit.size)
    a = rng.normal(size=n_units)[unit]
    lam = rng.normal(size=n_periods)[time]
    rt = rng.normal(size=(4, n_periods))[region, time]
    y = 1.5 * d + 0.5 * x1 - 0.25 * x2 + a + lam + rt + rng.normal(size=unit.size)
    df = pd.DataFrame(
        {
            "unit": unit,
            "time": time,
            "region": region,
            "d": d,
            "x1": x1,
            "x2": x2,
            "y": y,
            "w": rng.uniform(0.5, 2.0, unit.size),
        }
    )
    if drop:
        df = df.loc[rng.uniform(size=len(df)) > drop].reset_index(drop=True)
    return df


def _dummies(codes: np.ndarray, drop_first: bool) -> np.ndarray:
    g = int(codes.max()) + 1
    mat = np.eye(g)[codes]
    return mat[:, 1:] if drop_first else mat


def _lsdv(
    df: pd.DataFrame,
    fe: list[str],
    xcols: list[str],
    w: np.ndarray | None,
    kind: str,
    cluster: str | None,
    k_total: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Dummy-variable regression with numpy lstsq and a hand-written sandwich.

    ``K`` is the rank of the dummy design unless ``k_total`` is given (with three factors,
    fixest's count ``sum(G) - (Q - 1)`` exceeds the rank when a factor is redundant).
    """
    blocks = [df[xcols].to_numpy(float)]
    for i, f in enumerate(fe):
        codes = pd.factorize(
            df[f].astype(str)
            if "^" not in f
            else df[f.split("^")[0]].astype(str) + "_" + df[f.split("^")[1]].astype(str)
        )[0]
        blocks.append(_dummies(codes, drop_first=i > 0))
    X = np.column_stack(blocks)
    y = df["y"].to_numpy(float)
    sw = np.ones(len(y)) if w is None else np.sqrt(w)
    Xw, yw = X * sw[:, None], y * sw
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    rank = np.linalg.matrix_rank(Xw)
    dof = rank if k_total is None else k_total
    u = yw - Xw @ beta
    bread = np.linalg.pinv(Xw.T @ Xw)
    n = len(y)
    if kind == "iid":
        V = bread * (u @ u) / (n - dof)
    elif kind == "hc1":
        s = Xw * u[:, None]
        V = n / (n - dof) * bread @ (s.T @ s) @ bread
    else:
        codes = pd.factorize(df[cluster])[0]
        G = codes.max() + 1
        s = np.zeros((G, X.shape[1]))
        np.add.at(s, codes, Xw * u[:, None])
        V = G / (G - 1) * (n - 1) / (n - dof) * bread @ (s.T @ s) @ bread
    k = len(xcols)
    return beta[:k], np.sqrt(np.diag(V))[:k], rank


@pytest.mark.parametrize(
    ("fe", "drop", "weighted", "kind"),
    [
        (["unit", "time"], 0.0, False, "crv1"),
        (["unit", "time"], 0.15, False, "iid"),
        (["unit", "time"], 0.15, True, "hc1"),
        (["unit", "time", "region^time"], 0.1, True, "crv1"),
        (["unit", "time", "region^time"], 0.0, False, "iid"),
    ],
)
def test_within_equals_lsdv(fe: list[str], drop: float, weighted: bool, kind: str) -> None:
    rng = np.random.default_rng(7)
    df = _panel(rng, 24, 9, drop)
    xcols = ["d", "x1", "x2"]
    res = twfe(
        df,
        "y",
        "d",
        ["x1", "x2"],
        fe=fe,
        cluster="unit",
        weights="w" if weighted else None,
        vcov=kind,
        ssc={"fixef_k": "full"},
        unit="unit",
        time="time",
    )
    k_total = None if len(fe) == 2 else 3 + res.stats()["k_fe"]
    b, se, rank = _lsdv(
        df, fe, xcols, df["w"].to_numpy() if weighted else None, kind, "unit", k_total
    )
    if len(fe) == 2:  # connected two-way design: fixest's FE count equals the dummy rank
        assert res.stats()["k_fe"] + 3 == rank
    np.testing.assert_allclose(res.coef.to_numpy(), b, rtol=LSDV_RTOL)
    np.testing.assert_allclose(res.se.to_numpy(), se, rtol=LSDV_RTOL)


def test_dgp_recovery_and_coverage() -> None:
    """y = 1.5 D + ...: estimate within 4 SE; CRV1 95% CI covers the truth ~95% of the time."""
    rng = np.random.default_rng(2024)
    df = _panel(rng, 60, 10)
    res = twfe(
        df,
        "y",
        "d",
        ["x1", "x2"],
        fe=["unit", "time", "region^time"],
        cluster="unit",
        unit="unit",
        time="time",
    )
    assert abs(res.coef["d"] - 1.5) < 4 * res.se["d"]
    assert abs(res.coef["x1"] - 0.5) < 4 * res.se["x1"]
    # Monte Carlo coverage: cluster-correlated errors (unit AR(1)), 150 replications
    n_units, n_periods, reps = 40, 6, 150
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    base = pd.DataFrame({"unit": unit, "time": time})
    cover = 0
    for _ in range(reps):
        cohort = rng.choice([3, 5, 100], size=n_units)
        d = (time >= cohort[unit]).astype(float)
        e = np.zeros((n_units, n_periods))
        shocks = rng.normal(size=(n_units, n_periods))
        e[:, 0] = shocks[:, 0]
        for t in range(1, n_periods):
            e[:, t] = 0.7 * e[:, t - 1] + shocks[:, t]
        yv = 1.0 * d + rng.normal(size=n_units)[unit] + e.reshape(-1)
        design = base.assign(d=d, y=yv)
        lo, hi = (
            twfe(design, "y", "d", fe=["unit", "time"], unit="unit", time="time")
            .tidy()
            .loc[0, ["conf_low", "conf_high"]]
        )
        cover += int(lo <= 1.0 <= hi)
    rate = cover / reps
    # binomial sd at p=.95, reps=150 is 0.018; allow 3.5 sd
    assert abs(rate - 0.95) < 3.5 * np.sqrt(0.95 * 0.05 / reps), rate


def test_fit_many_matches_twfe() -> None:
    rng = np.random.default_rng(11)
    df = _panel(rng, 30, 8, drop=0.1)
    R = 6
    draws = (rng.uniform(size=(len(df), R)) < 0.3).astype(float)
    for j in range(R):
        df[f"p{j}"] = draws[:, j]
    for kind, w, cl in [
        (None, None, "unit"),
        ("hc1", "w", None),
        ("iid", None, None),
        ({"crv1": "unit+time"}, "w", None),
    ]:
        design = prepare_twfe(
            df, "y", ["x1", "x2"], fe=["unit", "time"], cluster=cl or "unit", weights=w, vcov=kind
        )
        coef, se = design.fit_many(design.demean(draws[design.sample]))
        for j in range(R):
            ref = twfe(
                as_panel(df, unit="unit", time="time", treat="d"),
                "y",
                f"p{j}",
                ["x1", "x2"],
                fe=["unit", "time"],
                cluster=cl or "unit",
                weights=w,
                vcov=kind,
                unit="unit",
                time="time",
            )
            np.testing.assert_allclose(coef[j], ref.coef[f"p{j}"], rtol=FIT_MANY_RTOL)
            np.testing.assert_allclose(se[j], ref.se[f"p{j}"], rtol=FIT_MANY_RTOL)
            fit = design.fit(draws[:, j])
            np.testing.assert_allclose(fit.coef["treat"], ref.coef[f"p{j}"], rtol=FIT_MANY_RTOL)


def test_with_vcov_returns_new_result(castle: pd.DataFrame) -> None:
    res = twfe(
        castle, y="l_homicide", treat="post", fe=["state", "year"], unit="state", time="year"
    )
    hc = res.with_vcov("hc1")
    assert res.vcov_type == "crv1" and hc.vcov_type == "hc1"
    assert hc.coef["post"] == res.coef["post"] and hc.se["post"] != res.se["post"]
    direct = twfe(
        castle,
        y="l_homicide",
        treat="post",
        fe=["state", "year"],
        vcov="hc1",
        unit="state",
        time="year",
    )
    assert hc.se["post"] == pytest.approx(direct.se["post"], rel=1e-12)
    two = res.with_vcov({"crv1": "state+year"})
    assert two.stats()["n_clusters_by"] == [50, 11] and two.df_t == 10
    assert res.to_dict()["stats"]["nobs"] == 550
    term = res.term("post")
    assert term.conf_low < term.estimate < term.conf_high


def test_sample_handling_and_warnings() -> None:
    rng = np.random.default_rng(3)
    df = _panel(rng, 20, 6)
    df.loc[[0, 5, 9], "x1"] = np.nan
    extra = pd.DataFrame(
        {
            "unit": [999],
            "time": [0],
            "region": [0],
            "d": [0.0],
            "x1": [0.0],
            "x2": [0.0],
            "y": [1.0],
            "w": [1.0],
        }
    )
    df = pd.concat([df, extra], ignore_index=True)
    df["const_unit"] = df["unit"] * 2.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = twfe(
            df, "y", "d", ["x1", "const_unit", "x2"], fe=["unit", "time"], unit="unit", time="time"
        )
    kinds = {type(w.message) for w in caught}
    assert SingletonWarning in kinds and CollinearityWarning in kinds
    st = res.stats()
    assert st["n_dropped_missing"] == 3 and st["n_singletons"] == 1
    assert res.nobs == len(df) - 4
    assert "const_unit" not in res.terms and "const_unit" in res.dropped
    with pytest.raises(DataError, match="nope"):
        twfe(df, "y", "nope", fe=["unit", "time"], unit="unit", time="time")
    with pytest.raises(EstimationError):
        twfe(df, "y", "d")  # DataFrame without fe


def test_stepwise_table(castle: pd.DataFrame) -> None:
    controls = ["l_police", "unemployrt", "poverty"]
    table = stepwise(
        castle,
        "l_homicide",
        "post",
        controls,
        fe=["state", "year"],
        cluster="state",
        unit="state",
        time="year",
    )
    assert table.names == ["(1)", "(2)", "(3)", "(4)"]
    assert abs(table.get("(1)").coef["post"] - CASTLE_TWFE) < CASTLE_TOL
    last = twfe(
        castle, "l_homicide", "post", controls, fe=["state", "year"], unit="state", time="year"
    )
    assert table.get("(4)").coef["post"] == pytest.approx(last.coef["post"], rel=1e-12)
    long = table.tidy()
    assert list(long.columns) == ["model", *TIDY_COLUMNS] and len(long) == 1 + 2 + 3 + 4
    assert len(table.to_dict()["models"]) == 4
    assert sps.t.ppf(0.975, 49) > 1.96


def test_panel_input_defaults(castle: pd.DataFrame) -> None:
    """A didstudy Panel: fe = unit + time, cluster = unit, weights = panel.weight."""
    from didstudy.data.panel import Panel

    panel = Panel(castle, unit="state", time="year", treat="post")
    res = twfe(panel, y="l_homicide", treat="post")
    ref = twfe(
        castle,
        y="l_homicide",
        treat="post",
        fe=["state", "year"],
        cluster="state",
        unit="state",
        time="year",
    )
    assert res.coef["post"] == pytest.approx(ref.coef["post"], rel=1e-12)
    assert res.se["post"] == pytest.approx(ref.se["post"], rel=1e-12)
    assert res.stats()["fixed_effects"] == ["state", "year"] and res.clusters == ("state",)
    weighted = Panel(castle, unit="state", time="year", treat="post", weight="popwt")
    res_w = twfe(weighted, y="l_homicide", treat="post")
    ref_w = twfe(
        castle,
        "l_homicide",
        "post",
        fe=["state", "year"],
        weights="popwt",
        unit="state",
        time="year",
    )
    assert res_w.coef["post"] == pytest.approx(ref_w.coef["post"], rel=1e-12)
    assert res_w.coef["post"] != pytest.approx(res.coef["post"], rel=1e-6)


def test_iterative_path_string_ids_and_ssc_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Alternating projections inside twfe (forced) give the direct answer; string ids work."""
    import didstudy.kernels.demean as demean_module

    rng = np.random.default_rng(21)
    df = _panel(rng, 30, 8, drop=0.2)
    df["unit"] = "u" + df["unit"].astype(str)
    df["time"] = pd.Categorical(df["time"])
    direct = twfe(
        df, "y", "d", ["x1"], fe=["unit", "time", "region^time"], unit="unit", time="time"
    )
    assert direct.stats()["demean_method"] == "direct"
    monkeypatch.setattr(demean_module, "DIRECT_MAX_LEVELS", 1)
    iterative = twfe(
        df, "y", "d", ["x1"], fe=["unit", "time", "region^time"], unit="unit", time="time"
    )
    assert iterative.stats()["demean_method"] == "iterative"
    np.testing.assert_allclose(iterative.coef.to_numpy(), direct.coef.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(iterative.se.to_numpy(), direct.se.to_numpy(), rtol=1e-9)
    stata = direct.with_vcov("crv1", ssc="stata")
    assert stata.ssc == "stata" and direct.ssc == "fixest"
    assert stata.df_t == min(
        stata.stats()["n_clusters"] - 1, stata.nobs - stata.stats()["k"] - stata.stats()["k_fe"]
    )
    separate = stepwise(
        df, "y", "d", ["x1", "x2"], fe=["unit", "time"], same_sample=False, unit="unit", time="time"
    )
    assert separate.get("(3)").coef["d"] == pytest.approx(
        twfe(df, "y", "d", ["x1", "x2"], fe=["unit", "time"], unit="unit", time="time").coef["d"],
        rel=1e-12,
    )
