"""Wild cluster bootstrap: wildboottest goldens, brute-force re-fits, identities, coverage."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import DataError, ValidationError
from didstudy.estimation.design import prepare_twfe
from didstudy.estimation.event_study import event_study
from didstudy.estimation.twfe import stepwise, twfe
from didstudy.inference.wild_bootstrap import wild_bootstrap
from didstudy.inference.wild_kernel import bootstrap_weights, enumerate_signs

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests/reference/wild_bootstrap"
# the same least squares computed by two algebras (per-draw closed form vs full re-fit):
# agreement is limited by float rounding
REFIT_TOL = 1e-8
# wildboottest works on the dummy-variable regression (k = 3 + 21 dummies) with an explicit
# inverse; the ratios t*/t agree to rounding of that larger system
GOLDEN_TOL = 1e-7
CONTROLS = ["x1", "x2"]


def _golden_panel() -> pd.DataFrame:
    return pd.read_csv(GOLDEN / "panel.csv")


_CASES = json.loads((GOLDEN / "golden.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(_CASES))
def test_matches_wildboottest_full_enumeration(name: str) -> None:
    case = _CASES[name]
    df = _golden_panel()
    res = twfe(
        df,
        "y",
        "treat",
        CONTROLS,
        unit="unit",
        time="period",
        fe=["unit", "period"],
        cluster=case["cluster"],
    )
    wb = wild_bootstrap(
        res,
        df,
        case["term"],
        reps=9999,
        impose_null=case["impose_null"],
        bootstrap_cluster=case["bootstrap_cluster"],
    )
    assert wb.enumerated and case["enumerated"]
    assert wb.reps == case["reps"] and wb.seed is None
    ratio = np.sort(wb.t_draws / wb.statistic)
    np.testing.assert_allclose(ratio, case["ratio_sorted"], rtol=0, atol=GOLDEN_TOL)
    assert wb.p_value == pytest.approx(case["p_value"], abs=1e-12)
    # the analytic t statistic is the result's own
    assert wb.statistic == pytest.approx(res.term(case["term"]).statistic, rel=REFIT_TOL)


def _brute_force_t(
    df: pd.DataFrame,
    term: str,
    regressors: list[str],
    cluster: str | list[str],
    boot: str,
    signs: np.ndarray,
    null: float = 0.0,
) -> np.ndarray:
    """t statistics of ``term`` re-fitted on y* = restricted fit + restricted residuals x v."""
    others = [r for r in regressors if r != term]
    shifted = df.assign(_y0=df["y"] - null * df[term])
    # restricted residuals and fitted values from an explicit dummy regression
    dummies = pd.get_dummies(df[["unit", "period"]].astype(str), drop_first=True, dtype=float)
    Z = np.column_stack([np.ones(len(df)), df[others].to_numpy(), dummies.to_numpy()])
    coef, *_ = np.linalg.lstsq(Z, shifted["_y0"].to_numpy(), rcond=None)
    fitted = Z @ coef + null * df[term].to_numpy()
    resid = df["y"].to_numpy() - fitted
    codes = pd.factorize(df[boot])[0]
    out = []
    for v in signs:
        star = df.assign(_ystar=fitted + resid * v[codes])
        # the oracle is a plain least-squares re-fit (the term may be a control, not a treatment)
        fit = prepare_twfe(star, "_ystar", others, ["unit", "period"], cluster, None, treat=[term])
        fit = fit.fit(term)
        with np.errstate(invalid="ignore"):  # two-way: a draw's variance may be negative
            est = fit.term(term)
        out.append((est.estimate - null) / est.std_error)
    return np.asarray(out)


@pytest.mark.parametrize(
    ("cluster", "boot", "null"),
    [("region", "region", 0.0), ("region", "unit", 0.1), (["unit", "period"], "period", 0.0)],
    ids=["one-way", "subcluster", "two-way"],
)
def test_enumeration_equals_brute_force_refits(
    cluster: str | list[str], boot: str, null: float
) -> None:
    df = _golden_panel()
    res = twfe(
        df,
        "y",
        "treat",
        CONTROLS,
        unit="unit",
        time="period",
        fe=["unit", "period"],
        cluster=cluster,
    )
    wb = wild_bootstrap(res, df, "treat", reps=100_000, bootstrap_cluster=boot, null=null)
    n_boot = df[boot].nunique()
    assert wb.enumerated and wb.reps == 2**n_boot
    # the kernel's draws are in enumerate_signs order; re-fit the first 64 of them
    signs = enumerate_signs(n_boot)[:64]
    # clusters are indexed by first appearance in both (the panel is sorted by unit, period)
    brute = _brute_force_t(df, "treat", ["treat", *CONTROLS], cluster, boot, signs, null)
    np.testing.assert_allclose(wb.t_draws[:64], brute, rtol=REFIT_TOL, atol=REFIT_TOL)
    # the all-ones draw reproduces the data: t* = t
    assert wb.t_draws[0] == pytest.approx(wb.statistic, rel=REFIT_TOL)


def test_interval_inverts_the_test_and_identities() -> None:
    df = _golden_panel()
    res = twfe(
        df,
        "y",
        "treat",
        CONTROLS,
        unit="unit",
        time="period",
        fe=["unit", "period"],
        cluster="unit",
    )
    for impose in (True, False):
        wb = wild_bootstrap(res, df, "treat", reps=9999, impose_null=impose)
        assert wb.conf_low < wb.estimate < wb.conf_high
        for bound in (wb.conf_low, wb.conf_high):
            # p just inside the interval exceeds alpha, just outside it does not
            inside = bound + 1e-6 * (wb.estimate - bound)
            outside = bound - 1e-3 * (wb.estimate - bound)
            p_in = wild_bootstrap(res, df, "treat", reps=9999, impose_null=impose, null=inside)
            p_out = wild_bootstrap(res, df, "treat", reps=9999, impose_null=impose, null=outside)
            assert p_in.p_value > 0.05 >= p_out.p_value
    # at the estimate the statistic is 0 and every draw is at least as extreme
    at_est = wild_bootstrap(res, df, "treat", reps=9999, null=res.coef["treat"])
    assert at_est.p_value == 1.0
    # WCU: the distribution does not depend on the null; the symmetric interval is
    # estimate +- (1 - alpha) quantile of |t*| x se, up to the step of the empirical CDF
    wcu = wild_bootstrap(res, df, "treat", reps=9999, impose_null=False)
    half = 0.5 * (wcu.conf_high - wcu.conf_low)
    crit = np.sort(np.abs(wcu.t_draws))
    k = np.searchsorted(crit, half / wcu.std_error)
    assert crit[k - 1] <= half / wcu.std_error <= crit[min(k, crit.size - 1)] + 1e-9


def test_linear_combination_stepwise_and_event_study() -> None:
    df = simulate_staggered(
        n_units=40, periods=range(2001, 2011), cohorts={2005: 6, 2007: 6}, n_never=28, seed=3
    )
    ctr = ["x1", "x2"]
    cols = stepwise(
        df, "y", "treat", ctr, unit="unit", time="time", fe=["unit", "time"], cluster="unit"
    )
    col = cols.get("(2)")
    wb = wild_bootstrap(col, df, {"treat": 1.0, "x1": -0.5}, reps=499, seed=4)
    assert wb.name == "lincomb"
    assert wb.estimate == pytest.approx(col.coef["treat"] - 0.5 * col.coef["x1"], rel=1e-10)
    w = np.array([1.0, -0.5, 0.0][: len(col.terms)])
    assert wb.std_error == pytest.approx(float(np.sqrt(w @ col.cov @ w)), rel=REFIT_TOL)
    es = event_study(df, "y", ctr, window=(-3, 3), unit="unit", time="time", cohort="cohort")
    kw = {"unit": "unit", "time": "time", "cohort": "cohort"}
    post = wild_bootstrap(es, df, "post_average", reps=499, seed=5, **kw)
    assert es.post_average is not None
    assert post.estimate == pytest.approx(es.post_average.estimate, rel=1e-10)
    assert post.std_error == pytest.approx(es.post_average.std_error, rel=REFIT_TOL)
    one = wild_bootstrap(es, df, "rel_time::0", reps=499, seed=5, **kw)
    assert one.std_error == pytest.approx(float(es.se[es.terms.index("rel_time::0")]), rel=1e-8)
    # same seed -> identical draws; None -> a fresh seed recorded on the result
    again = wild_bootstrap(es, df, "post_average", reps=499, seed=5, **kw)
    np.testing.assert_array_equal(again.t_draws, post.t_draws)
    fresh = wild_bootstrap(es, df, "post_average", reps=99, **kw)
    assert isinstance(fresh.seed, int)
    replay = wild_bootstrap(es, df, "post_average", reps=99, seed=fresh.seed, **kw)
    np.testing.assert_array_equal(replay.t_draws, fresh.t_draws)
    assert json.dumps(post.to_dict())  # JSON-safe


@pytest.mark.parametrize("kind", ["rademacher", "webb", "mammen", "normal"])
def test_weights_moments_and_chunk_invariance(kind: str) -> None:
    w = bootstrap_weights(np.random.default_rng(1), 50, 4000, kind)  # type: ignore[arg-type]
    # mean 0, variance 1: 200k draws, 5 standard errors
    assert abs(w.mean()) < 5 / np.sqrt(w.size)
    assert abs(w.var() - 1.0) < 5 * np.sqrt(2.0 / w.size) * (3 if kind == "normal" else 1)
    rng = np.random.default_rng(2)
    parts = np.vstack([bootstrap_weights(rng, 7, n, kind) for n in (3, 10, 1)])  # type: ignore[arg-type]
    whole = bootstrap_weights(np.random.default_rng(2), 7, 14, kind)  # type: ignore[arg-type]
    np.testing.assert_array_equal(parts, whole)


def test_coverage_simulated_few_treated_clusters() -> None:
    """SIMULATED: 6 of 30 clusters treated, AR(1) errors; WCR covers near 95% (light MC)."""
    rng = np.random.default_rng(11)
    n_units, n_periods, reps_mc = 30, 8, 60
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    treat = ((unit < 6) & (period >= 4)).astype(float)
    covered = 0
    for _ in range(reps_mc):
        e = rng.standard_normal((n_units, n_periods))
        for t in range(1, n_periods):
            e[:, t] += 0.5 * e[:, t - 1]
        y = 0.3 * treat + rng.standard_normal(n_units)[unit] + e.ravel()
        df = pd.DataFrame({"unit": unit, "period": period, "treat": treat, "y": y})
        res = twfe(
            df, "y", "treat", unit="unit", time="period", fe=["unit", "period"], cluster="unit"
        )
        wb = wild_bootstrap(res, df, "treat", reps=199, weights="webb", seed=int(rng.integers(1e9)))
        covered += wb.conf_low <= 0.3 <= wb.conf_high
    # 60 replications: a 95% procedure covers at least 50 with probability > 0.99
    assert covered >= 50


def test_errors_name_the_problem() -> None:
    df = _golden_panel()
    res = twfe(
        df,
        "y",
        "treat",
        CONTROLS,
        unit="unit",
        time="period",
        fe=["unit", "period"],
        cluster="unit",
    )
    with pytest.raises(ValidationError, match="no coefficient named"):
        wild_bootstrap(res, df, "nope")
    with pytest.raises(ValidationError, match="alpha"):
        wild_bootstrap(res, df, "treat", alpha=1.5)
    with pytest.raises(ValidationError, match="unknown bootstrap weights"):
        wild_bootstrap(res, df, "treat", weights="uniform")  # type: ignore[arg-type]
    other = df.assign(y=df["y"] + df["x1"])
    with pytest.raises(DataError, match="do not reproduce"):
        wild_bootstrap(res, other, "treat")
    hc1 = twfe(
        df, "y", "treat", CONTROLS, unit="unit", time="period", fe=["unit", "period"], vcov="hc1"
    )
    with pytest.raises(ValidationError, match="needs cluster"):
        wild_bootstrap(hc1, df, "treat")


@settings(max_examples=25, deadline=None)
@given(name=hst.text(min_size=1, max_size=12))
def test_unknown_terms_always_raise_validation_error(name: str) -> None:
    df = _golden_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = twfe(
            df,
            "y",
            "treat",
            CONTROLS,
            unit="unit",
            time="period",
            fe=["unit", "period"],
            cluster="unit",
        )
    if name in res.terms:
        return
    with pytest.raises(ValidationError):
        wild_bootstrap(res, df, name)
    with pytest.raises(ValidationError):
        wild_bootstrap(res, df, {name: 1.0})
