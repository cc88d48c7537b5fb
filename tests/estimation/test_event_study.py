"""Event study: pyfixest golden files, LSDV alternative, identities, a known dynamic effect."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import InferenceWarning, PanelWarning, ValidationError
from didstudy.estimation.event_study import event_study, relative_time_design

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests/reference/event_study"
# pyfixest solves the same normal equations; agreement is limited by float rounding only.
COEF_TOL = 1e-8
# SEs go through a sandwich and the small-sample factor; 1e-6 relative is rounding-level.
SE_RTOL = 1e-6
# Simulated recovery: 5 sd of the sampling error of a 200-unit panel with noise sd 0.1.
RECOVERY_TOL = 0.03


def _data(key: str) -> pd.DataFrame:
    if key == "mpdta":
        return pd.read_csv(ROOT / "src/didstudy/data/datasets/mpdta.csv")
    if key == "sim":
        return pd.read_csv(GOLDEN / "sim_data.csv")
    return pd.read_csv(GOLDEN / "sim_all_treated.csv")


_CASES = json.loads((GOLDEN / "golden.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(_CASES))
def test_matches_pyfixest_golden(name: str) -> None:
    case = _CASES[name]
    df = _data(case["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = event_study(
            df,
            case["y"],
            controls=case["controls"],
            window=tuple(case["window"]),
            endpoints=case["endpoints"],
            control_group=case["control_group"],
            weights=case["weights"],
            unit=case["unit"],
            time=case["time"],
            cohort=case["cohort"],
        )
    assert res.nobs == case["nobs"]
    expected_terms = [t.replace("rel::", "rel_time::") for t in case["terms"]]
    assert list(res.terms) == expected_terms
    np.testing.assert_allclose(res.coef, case["estimate"], rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(res.se, case["std_error"], rtol=SE_RTOL)
    assert res.pretrend is not None
    assert res.pretrend.chi2 == pytest.approx(case["wald_leads"], rel=SE_RTOL)
    assert res.pretrend.df1 == case["n_leads"]
    assert res.pretrend.df2 == res.n_clusters - 1


def _lsdv(df: pd.DataFrame, y: str, dummies: np.ndarray, cluster: np.ndarray) -> tuple:
    """Alternative algorithm: explicit unit and time dummies, CRV1 by hand."""
    u = pd.get_dummies(df["unit"], dtype=float).to_numpy()
    t = pd.get_dummies(df["time"], dtype=float).to_numpy()[:, 1:]
    x = np.column_stack([dummies, u, t])
    b, *_ = np.linalg.lstsq(x, df[y].to_numpy(), rcond=None)
    e = df[y].to_numpy() - x @ b
    xtx_inv = np.linalg.pinv(x.T @ x)
    k = dummies.shape[1]
    g = pd.factorize(cluster)[0]
    scores = np.zeros((g.max() + 1, x.shape[1]))
    np.add.at(scores, g, x * e[:, None])
    n, n_g = len(e), g.max() + 1
    big_k = k + t.shape[1] + 1  # slopes + time levels (unit FE nested in the cluster)
    v = n_g / (n_g - 1) * (n - 1) / (n - big_k) * xtx_inv @ scores.T @ scores @ xtx_inv
    return b[:k], np.sqrt(np.diag(v)[:k])


def test_dummy_variable_regression_agrees() -> None:
    df = simulate_staggered(
        n_units=40,
        periods=range(1, 9),
        cohorts={3: 8, 5: 8, 7: 8},
        n_never=16,
        n_controls=0,
        drop_share=0.1,
        seed=5,
    )
    res = event_study(df, "y", window=(-2, 2), unit="unit", time="time", cohort="cohort")
    g = df["cohort"].to_numpy(float)
    treated = g > 0
    _, dummies, rel = relative_time_design(
        df["time"].to_numpy(float) - g, treated, (-2, 2), -1, "bin", "never"
    )
    assert rel == list(res.rel_time)
    b, se = _lsdv(df, "y", dummies, df["unit"].to_numpy())
    np.testing.assert_allclose(res.coef, b, atol=COEF_TOL)
    np.testing.assert_allclose(res.se, se, rtol=SE_RTOL)


def test_recovers_dynamic_effect_and_identities() -> None:
    df = simulate_staggered(
        n_units=200,
        periods=range(2003, 2015),
        cohorts={2006: 40, 2008: 40, 2010: 40},
        n_never=80,
        n_controls=2,
        dynamic=lambda e: 0.1 + 0.05 * min(e, 3),
        seed=21,
    )
    res = event_study(
        df, "y", controls=["x1", "x2"], window=(-3, 3), unit="unit", time="time", cohort="cohort"
    )
    tidy = res.tidy(include_controls=False)
    for k, est in zip(tidy["rel_time"], tidy["estimate"], strict=True):
        truth = 0.0 if k < 0 else 0.1 + 0.05 * k  # the bin k = 3 holds e >= 3: all 0.25
        assert est == pytest.approx(truth, abs=RECOVERY_TOL)
    # identity: post average = mean of the lag coefficients, SE from the vcov
    lags = [i for i, k in enumerate(res.rel_time) if k >= 0]
    assert res.post_average is not None
    assert res.post_average.estimate == pytest.approx(float(np.mean(res.coef[lags])), abs=1e-14)
    w = np.zeros(len(res.coef))
    w[lags] = 1 / len(lags)
    assert res.post_average.std_error == pytest.approx(float(np.sqrt(w @ res.vcov @ w)))
    # pre-trends hold in the DGP: the Wald test must not reject at 1%
    assert res.pretrend is not None and res.pretrend.p_f > 0.01
    assert res.pretrend.p_chi2 == pytest.approx(st.chi2.sf(res.pretrend.chi2, res.pretrend.df1))
    fig = res.figure_data()
    assert fig["is_base"].sum() == 1 and fig.loc[fig["is_base"], "estimate"].iloc[0] == 0.0
    assert list(fig["rel_time"]) == sorted(fig["rel_time"])
    out = res.to_dict()
    json.dumps(out)
    assert out["pretrend"]["df1"] == 2
    assert set(res.tidy().columns) >= {"term", "estimate", "std_error", "p_value", "rel_time"}


def test_pretrend_detects_violation() -> None:
    df = simulate_staggered(
        n_units=200,
        periods=range(1, 13),
        cohorts={5: 50, 8: 50},
        n_never=100,
        n_controls=0,
        effect=0.0,
        seed=2,
    )
    # anticipation: the outcome of eventually treated units rises two periods before adoption
    g = df["cohort"].where(df["cohort"] > 0, np.inf)
    df["y"] = df["y"] + 0.2 * (df["time"] >= g - 2)
    res = event_study(df, "y", window=(-4, 2), unit="unit", time="time", cohort="cohort")
    assert res.pretrend is not None and res.pretrend.p_f < 1e-6


def test_specification_variants() -> None:
    df = simulate_staggered(
        n_units=60,
        periods=range(1, 11),
        cohorts={4: 20, 6: 20, 8: 20},
        n_never=0,
        n_controls=0,
        effect=0.5,
        seed=9,
    )
    with pytest.raises(ValidationError, match="not_yet"):
        event_study(df, "y", unit="unit", time="time", cohort="cohort")
    res = event_study(
        df,
        "y",
        window=(-2, 2),
        control_group="not_yet",
        unit="unit",
        time="time",
        cohort="cohort",
    )
    # periods from the last cohort's adoption (8) on are dropped
    assert res.nobs == 60 * 7
    for k, est in zip(res.rel_time, res.coef, strict=False):
        assert est == pytest.approx(0.5 if k >= 0 else 0.0, abs=0.06)
    drop = event_study(
        df,
        "y",
        window=(-2, 1),
        endpoints="drop",
        control_group="not_yet",
        base=-2,
        unit="unit",
        time="time",
        cohort="cohort",
    )
    assert -2 not in drop.rel_time and -1 in drop.rel_time
    with pytest.raises(ValidationError):
        event_study(df, "y", window=(1, 3), unit="unit", time="time", cohort="cohort")
    with pytest.raises(ValidationError, match="endpoints"):
        event_study(df, "y", endpoints="trim", unit="unit", time="time", cohort="cohort")  # type: ignore[arg-type]
    # treat column instead of cohort gives the same design
    by_treat = event_study(
        df, "y", window=(-2, 2), control_group="not_yet", unit="unit", time="time", treat="treat"
    )
    np.testing.assert_allclose(by_treat.coef, res.coef, atol=1e-12)


def test_panel_input_matches_dataframe() -> None:
    from didstudy.data.panel import Panel

    df = simulate_staggered(
        n_units=60,
        periods=range(2001, 2013),
        cohorts={2004: 8, 2007: 8, 2010: 8},
        n_never=36,
        n_controls=2,
        effect=0.3,
        seed=8,
    )
    panel = Panel(df, unit="unit", time="time", cohort="cohort")
    a = event_study(panel, "y", ["x1"], window=(-3, 3))
    b = event_study(df, "y", ["x1"], window=(-3, 3), unit="unit", time="time", cohort="cohort")
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-14)
    np.testing.assert_allclose(a.se, b.se, atol=1e-14)


@pytest.mark.parametrize("endpoints", ["bin", "drop"])
@pytest.mark.parametrize("control_group", ["never", "not_yet"])
def test_every_specification_recovers_a_known_effect(endpoints: str, control_group: str) -> None:
    df = simulate_staggered(
        n_units=200,
        periods=range(1, 15),
        cohorts={5: 40, 8: 40, 11: 40},
        n_never=80,
        n_controls=1,
        dynamic=lambda e: 0.2 + 0.1 * min(e, 2),
        seed=31,
    )
    # effects are constant from e = 2 on, so the binned endpoint is correctly specified (with
    # effects that keep changing beyond the window, binning biases every coefficient)
    res = event_study(
        df,
        "y",
        ["x1"],
        window=(-3, 2),
        endpoints=endpoints,  # type: ignore[arg-type]
        control_group=control_group,  # type: ignore[arg-type]
        unit="unit",
        time="time",
        cohort="cohort",
    )
    assert len(res.rel_time) == 5
    for k, est in zip(res.rel_time, res.coef, strict=False):
        assert est == pytest.approx(0.2 + 0.1 * k if k >= 0 else 0.0, abs=RECOVERY_TOL)


@pytest.mark.parametrize("base", [-2, -3, 1])
def test_base_period_is_a_reparametrisation(base: int) -> None:
    """Identity: with binned endpoints every treated row carries one dummy, so moving the base
    from -1 to ``b`` only reparametrises the model: beta'_k = beta_k - beta_b (beta'_-1 = -beta_b)
    with the variance of that difference (same sample, residuals and small-sample factor)."""
    df = simulate_staggered(
        n_units=80,
        periods=range(1, 11),
        cohorts={4: 20, 6: 20, 8: 20},
        n_never=20,
        n_controls=1,
        dynamic=lambda e: 0.2 + 0.1 * e,
        seed=5,
    )
    kw = dict(controls=["x1"], window=(-3, 2), unit="unit", time="time", cohort="cohort")
    ref = event_study(df, "y", **kw)  # type: ignore[arg-type]
    alt = event_study(df, "y", base=base, **kw)  # type: ignore[arg-type]
    assert base not in alt.rel_time and -1 in alt.rel_time and alt.nobs == ref.nobs
    pos = {k: i for i, k in enumerate(ref.rel_time)}
    b = pos[base]
    for j, k in enumerate(alt.rel_time):
        c = np.zeros(len(ref.coef))
        c[b] -= 1.0
        if k != -1:
            c[pos[k]] += 1.0
        assert alt.coef[j] == pytest.approx(float(c @ ref.coef), abs=COEF_TOL), k
        assert alt.se[j] == pytest.approx(float(np.sqrt(c @ ref.vcov @ c)), rel=SE_RTOL), k


def test_singular_lead_covariance_uses_rank_and_never_goes_negative() -> None:
    # audit repro shape: few clusters (6 regions) and more leads (10) than clusters
    df = simulate_staggered(
        n_units=60, periods=range(2000, 2020), cohorts={2012: 12, 2014: 12}, n_never=36, seed=4
    )
    df["region"] = df["unit"] % 6
    with pytest.warns(InferenceWarning, match="singular"):
        res = event_study(
            df, "y", window=(-11, 5), unit="unit", time="time", cohort="cohort", cluster="region"
        )
    assert res.pretrend is not None
    leads = [i for i, k in enumerate(res.rel_time) if k < 0]
    # CRV1 with G = 6 clusters: the lead covariance has rank <= G - 1 = 5 < number of leads
    assert res.pretrend.df1 == np.linalg.matrix_rank(res.vcov[np.ix_(leads, leads)]) <= 5
    assert len(leads) > res.pretrend.df1
    assert res.pretrend.chi2 >= 0.0 and 0.0 <= res.pretrend.p_chi2 <= 1.0
    # alternative computation: the pseudo-inverse quadratic form over the same leads
    b = res.coef[leads]
    pinv = np.linalg.pinv(res.vcov[np.ix_(leads, leads)], rcond=1e-10, hermitian=True)
    assert res.pretrend.chi2 == pytest.approx(float(b @ pinv @ b), rel=1e-8)


def test_clipped_window_warns_naming_the_horizons() -> None:
    df = simulate_staggered(
        n_units=60, periods=range(2010, 2020), cohorts={2016: 20}, n_never=40, seed=2
    )
    # adoption in 2016 in a 2010-2019 panel: leads reach -6, lags +3; ask for (-8, 5)
    with pytest.warns(PanelWarning, match=r"relative times -8, -7, 4, 5") as rec:
        res = event_study(df, "y", window=(-8, 5), unit="unit", time="time", cohort="cohort")
    assert min(res.rel_time) == -6 and max(res.rel_time) == 3
    assert len([w for w in rec if issubclass(w.category, PanelWarning)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", PanelWarning)
        event_study(df, "y", window=(-6, 3), unit="unit", time="time", cohort="cohort")
