"""Observation weights and ``spec=`` of the heterogeneity-robust estimators (decision 0063).

Weights: peers with weights (did-imputation ``aw``, pyfixest ``did2s(weights=)`` and weighted
``feols`` cell regressions; tests/reference/robust/generate_weighted.py), and identities:
integer weights = duplicated units, constant weights = unweighted, weighted imputation =
weighted two-stage by horizon. ``spec=``: the resolution rules of the TWFE estimators.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import didstudy as ds
from didstudy.errors import ValidationError
from didstudy.estimation.robust.compare import compare_estimators
from didstudy.estimation.robust.dcdh import dcdh
from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.stacked import stacked_did
from didstudy.estimation.robust.sun_abraham import sun_abraham
from tests.estimation.robust.conftest import REF

#: Exact identities: both sides are the same linear algebra up to rounding.
IDENTITY_TOL = 1e-10
#: did-imputation 0.1.0 recovers fixed effects and weights iteratively to tol 1e-6.
PEER_ITER_TOL = 1e-6
#: pyfixest demeans iteratively (fixef_tol 1e-8 relative): observed differences ~1e-9.
PYFIXEST_TOL = 1e-8
#: pyfixest's *weighted* alternating projections stop earlier: its did2s coefficients differ by
#: up to 2e-6 from a dense weighted least squares, which matches ours to 1e-12 (test below).
PYFIXEST_WEIGHTED_TOL = 5e-6

ESTIMATORS: dict[str, Callable[..., ds.EventStudyResult]] = {
    "sun_abraham": lambda p, **k: sun_abraham(p, "y", ["x"], window=(-3, 3), **k),
    "etwfe": lambda p, **k: etwfe(p, "y", ["x"], **k),
    "stacked_did": lambda p, **k: stacked_did(p, "y", window=(-2, 2), **k),
    "imputation": lambda p, **k: imputation(p, "y", ["x"], pretrends=2, **k),
    "did2s": lambda p, **k: did2s(p, "y", ["x"], **k),
    "dcdh": lambda p, **k: dcdh(p, "y", effects=3, placebos=2, **k),
}
#: py-did-multiplegt-dyn computes the same weighted sums in polars: rounding only.
DCDH_PEER_TOL = 1e-10


@pytest.fixture(scope="module")
def wgolden() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((REF / "weighted_golden.json").read_text())
    return out


@pytest.fixture(scope="module")
def mpdta_pop() -> ds.Panel:
    df = pd.read_csv(REF / "mpdta.csv")
    df["pop"] = np.exp(df["lpop"])
    return ds.Panel(df, unit="countyreal", time="year", cohort="first.treat", weight="pop")


@pytest.fixture(scope="module")
def sim_w() -> ds.Panel:
    df = pd.read_csv(REF / "sim_staggered.csv")
    rng = np.random.default_rng(63)  # the generator's weights
    df["w"] = np.round(rng.uniform(0.5, 3.0, len(df)), 3)
    return ds.Panel(df, unit="unit", time="year", cohort="cohort")


def _by_rel(res: ds.EventStudyResult) -> dict[int, tuple[float, float]]:
    return {k: (float(b), float(s)) for k, b, s in zip(res.rel_time, res.coef, res.se, strict=True)}


# -- peers --------------------------------------------------------------------------------------
def test_weighted_imputation_matches_did_imputation(mpdta_pop, wgolden):
    ref = wgolden["imputation"]["mpdta_horizons"]
    res = _by_rel(imputation(mpdta_pop, "lemp", pretrends=3))
    for h in range(4):
        assert res[h][0] == pytest.approx(ref["estimates"][f"tau{h}"], abs=PEER_ITER_TOL)
        assert res[h][1] == pytest.approx(ref["std_errors"][f"tau{h}"], rel=PEER_ITER_TOL)
    for k in (1, 2, 3):
        assert res[-k][0] == pytest.approx(ref["pre_estimates"][f"pre{k}"], abs=PEER_ITER_TOL)
        # the pre-trend CRV1 factor differs from the peer's by 0.035% (unweighted test too)
        assert res[-k][1] == pytest.approx(ref["pre_std_errors"][f"pre{k}"], rel=5e-4)
    att = imputation(mpdta_pop, "lemp").aggregates[0]
    overall = wgolden["imputation"]["mpdta_overall"]
    assert att.estimate == pytest.approx(overall["estimates"]["tau_ate"], abs=PEER_ITER_TOL)
    assert att.std_error == pytest.approx(overall["std_errors"]["tau_ate"], rel=PEER_ITER_TOL)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("event_unit", {}),
        ("static_unit", {"second_stage": "static"}),
        ("event_unit_x", {"controls": ["x"]}),
        ("static_state", {"second_stage": "static", "fe": "state"}),
    ],
)
def test_weighted_did2s_matches_pyfixest(sim_w, wgolden, name, kwargs):
    ref = wgolden["did2s"][name]
    controls = kwargs.pop("controls", [])
    res = did2s(sim_w, "y", controls, weights="w", **kwargs)
    rows = [
        (b, s)
        for t, b, s in zip(ref["terms"], ref["estimate"], ref["std_error"], strict=True)
        if "inf" not in t
    ]
    assert len(rows) == len(res.coef)
    for (b, s), est, se in zip(rows, res.coef, res.se, strict=True):
        assert est == pytest.approx(b, abs=PYFIXEST_WEIGHTED_TOL)
        assert se == pytest.approx(s, rel=PYFIXEST_WEIGHTED_TOL)


def test_weighted_did2s_equals_dense_weighted_least_squares(sim_w):
    """Alternative algorithm: both stages by dense WLS with explicit unit and year dummies."""
    df = sim_w.frame
    w, y = df["w"].to_numpy(), df["y"].to_numpy()
    treated = ((df.cohort > 0) & (df.year >= df.cohort)).to_numpy()
    Z = np.column_stack(
        [pd.get_dummies(df.unit).to_numpy(float), pd.get_dummies(df.year).to_numpy(float)[:, 1:]]
    )
    sw = np.sqrt(w[~treated])
    gamma = np.linalg.lstsq(Z[~treated] * sw[:, None], y[~treated] * sw, rcond=None)[0]
    y_tilde = y - Z @ gamma
    res = did2s(sim_w, "y", weights="w", second_stage="static")
    expected = (w[treated] * y_tilde[treated]).sum() / w[treated].sum()
    assert res.coef[0] == pytest.approx(expected, abs=IDENTITY_TOL)


def test_weighted_sun_abraham_matches_weighted_feols(mpdta_pop, wgolden):
    ref = wgolden["saturated"]
    res = sun_abraham(mpdta_pop, "lemp")
    cells = res.cells.set_index(["cohort", "period"])
    for term, b, s in zip(
        ref["cells"]["terms"], *(ref["cells"][k] for k in ("estimate", "std_error")), strict=True
    ):
        g, t = (int(v) for v in term.split("_")[1:])
        assert cells.loc[(g, t), "estimate"] == pytest.approx(b, abs=PYFIXEST_TOL)
        assert cells.loc[(g, t), "std_error"] == pytest.approx(s, rel=PYFIXEST_TOL)
    got = _by_rel(res)
    agg = ref["aggregate"]
    for e, b, s in zip(agg["rel_time"], agg["estimate"], agg["std_error"], strict=True):
        assert got[e][0] == pytest.approx(b, abs=PYFIXEST_TOL)
        assert got[e][1] == pytest.approx(s, rel=PYFIXEST_TOL)


def test_weighted_etwfe_matches_weighted_feols(mpdta_pop, wgolden):
    ref = wgolden["etwfe"]
    res = etwfe(mpdta_pop, "lemp")
    cells = res.cells.set_index(["cohort", "period"])
    for term, b, s in zip(
        ref["cells"]["terms"], *(ref["cells"][k] for k in ("estimate", "std_error")), strict=True
    ):
        g, t = (int(v) for v in term.split("_")[1:])
        assert cells.loc[(g, t), "estimate"] == pytest.approx(b, abs=PYFIXEST_TOL)
        assert cells.loc[(g, t), "std_error"] == pytest.approx(s, rel=PYFIXEST_TOL)
    simple = next(a for a in res.aggregates if a.name == "simple")
    assert simple.estimate == pytest.approx(ref["simple"]["estimate"], abs=PYFIXEST_TOL)
    assert simple.std_error == pytest.approx(ref["simple"]["std_error"], rel=PYFIXEST_TOL)


# -- identities ---------------------------------------------------------------------------------
def _duplicated(seed: int) -> tuple[ds.Panel, ds.Panel]:
    """The same SIMULATED panel with integer unit weights and with those units duplicated."""
    df = pd.read_csv(REF / "sim_staggered.csv")
    rng = np.random.default_rng(seed)
    k = dict(zip(df.unit.unique(), rng.integers(1, 4, df.unit.nunique()), strict=True))
    df["w"] = df.unit.map(k).astype(float)
    df["orig"] = df.unit
    copies = [df.assign(unit=df.unit * 10 + j) for j in range(3)]
    dup = pd.concat([c[c.unit % 10 < c.w] for c in copies], ignore_index=True)
    weighted = ds.Panel(df, unit="unit", time="year", cohort="cohort", weight="w")
    return weighted, ds.Panel(dup, unit="unit", time="year", cohort="cohort", cluster="orig")


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_integer_weights_equal_duplicated_units(name):
    weighted, dup = _duplicated(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ESTIMATORS[name](weighted, cluster="orig")
        b = ESTIMATORS[name](dup)
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=IDENTITY_TOL)
    if name == "dcdh":
        # the cohort-mean DOF factors sqrt(n/(n-1)) count cells (did_multiplegt_dyn), which
        # duplicating units changes: only the estimates are invariant
        return
    if name in ("imputation", "did2s"):
        # no small-sample factor (BJS conservative / Gardner GMM): the cluster sums coincide;
        # the imputation leads (BJS pre-trend OLS) carry CRV1's row-counting factor
        post = np.asarray(a.rel_time) >= 0
        np.testing.assert_allclose(a.se[post], b.se[post], rtol=IDENTITY_TOL)
        ratio = a.se[~post] / b.se[~post]
        np.testing.assert_allclose(ratio, ratio[0] if ratio.size else 1.0, rtol=IDENTITY_TOL)
    else:
        # CRV1's (n-1)/(n-K) counts rows (fixest), so it differs between the two samples; the
        # sandwich without that factor is identical
        ratio = a.se / b.se
        np.testing.assert_allclose(ratio, ratio[0], rtol=IDENTITY_TOL)
        assert abs(ratio[0] - 1) < 0.05


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_constant_weights_equal_unweighted(sim_w, name):
    df = sim_w.frame.assign(c=2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ESTIMATORS[name](sim_w)
        b = ESTIMATORS[name](
            ds.Panel(
                df.drop(columns=[c for c in df if c.startswith("_")]),
                unit="unit",
                time="year",
                cohort="cohort",
            ),
            weights="c",
        )
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=IDENTITY_TOL)
    np.testing.assert_allclose(a.se, b.se, rtol=IDENTITY_TOL)


def test_weighted_stacked_equals_weighted_trimmed_aggregate_att():
    """Alternative algorithm (WFH 2024, eq. 4 with weights): with unit weights, the weighted
    stack's delta_e is sum_d s_d [weighted DiD of cohort d vs its clean controls at e],
    s_d = cohort d's treated weight share, from weighted cell means. No peer composes weights
    this way (diff-diff 3.13 multiplies count-based Q by survey weights; decision 0063)."""
    df = pd.read_csv(REF / "sim_staggered.csv")
    rng = np.random.default_rng(8)
    df["w"] = df.unit.map(dict(zip(df.unit.unique(), rng.uniform(0.5, 3, 60), strict=True)))
    panel = ds.Panel(df, unit="unit", time="year", cohort="cohort")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stacked_did(panel, "y", window=(-2, 2), weights="w")
    first, last = df.year.min(), df.year.max()
    cohorts = [
        g for g in sorted(df.cohort[df.cohort > 0].unique()) if first <= g - 2 and g + 2 <= last
    ]
    cohorts = [g for g in cohorts if ((df.cohort == 0) | (df.cohort > g + 2)).any()]

    def wmean(rows: pd.DataFrame, year: int) -> float:
        r = rows[rows.year == year]
        return float(np.average(r.y, weights=r.w))

    mass = {g: df[(df.cohort == g) & (df.year == g)].w.sum() for g in cohorts}
    total = sum(mass.values())
    for e, est in zip(res.rel_time, res.coef, strict=True):
        expected = 0.0
        for g in cohorts:
            tr = df[df.cohort == g]
            cl = df[(df.cohort == 0) | (df.cohort > g + 2)]
            did = (wmean(tr, g + e) - wmean(tr, g - 1)) - (wmean(cl, g + e) - wmean(cl, g - 1))
            expected += mass[g] / total * did
        assert est == pytest.approx(expected, abs=IDENTITY_TOL)


def test_weighted_imputation_equals_weighted_two_stage(sim_w):
    imp = _by_rel(imputation(sim_w, "y", ["x"], weights="w"))
    two = _by_rel(did2s(sim_w, "y", ["x"], weights="w"))
    for k, (est, _) in imp.items():
        assert est == pytest.approx(two[k][0], abs=IDENTITY_TOL)


def test_weights_change_the_estimate(sim_w):
    """Guard against a weight silently ignored: unequal weights move every estimator."""
    for name, run in ESTIMATORS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, b = run(sim_w), run(sim_w, weights="w")
        assert np.max(np.abs(a.coef - b.coef)) > 1e-4, name


# -- spec= --------------------------------------------------------------------------------------
def test_spec_equals_explicit_arguments_and_is_carried(sim_w):
    spec = ds.Baseline(y="y", controls=("x",), cluster="state", weights="w")
    for name, run in {
        "sun_abraham": lambda **k: sun_abraham(sim_w, window=(-3, 3), **k),
        "etwfe": lambda **k: etwfe(sim_w, **k),
        "imputation": lambda **k: imputation(sim_w, **k),
        "did2s": lambda **k: did2s(sim_w, **k),
    }.items():
        a = run(spec=spec)
        b = run(y="y", controls=["x"], cluster="state", weights="w")
        np.testing.assert_array_equal(a.coef, b.coef, err_msg=name)
        np.testing.assert_array_equal(a.se, b.se, err_msg=name)
        assert a.spec is not None and a.spec.y == "y" and a.spec.weights == "w"
        assert a.spec.controls == ("x",) and a.spec.cluster == ("state",)


def test_explicit_arguments_override_the_spec(sim_w):
    spec = ds.Baseline(y="nope", controls=("x",))
    res = imputation(sim_w, "y", [], spec=spec)
    assert res.spec is not None and res.spec.y == "y" and res.spec.controls == ()
    np.testing.assert_array_equal(res.coef, imputation(sim_w, "y").coef)


def test_spec_fe_maps_to_the_absorbed_factor(sim_w):
    a = did2s(sim_w, spec=ds.Baseline(y="y", fe="state+year"), second_stage="static")
    b = did2s(sim_w, "y", fe="state", second_stage="static")
    np.testing.assert_array_equal(a.coef, b.coef)
    with pytest.raises(ValidationError, match="one unit-level factor"):
        imputation(sim_w, spec=ds.Baseline(y="y", fe="unit+state+year"))


def test_spec_errors(sim_w):
    with pytest.raises(ValidationError, match="needs 'y'"):
        sun_abraham(sim_w)
    with pytest.raises(ValidationError, match="one variable"):
        etwfe(sim_w, "y", cluster=["unit", "state"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="takes no controls"):
        stacked_did(sim_w, spec=ds.Baseline(y="y", controls=("x",)))
    res = stacked_did(sim_w, spec=ds.Baseline(y="y", controls=("x",)).override(controls=()))
    assert res.spec is not None and res.spec.controls == ()


@pytest.mark.parametrize("case", ["staggered", "switching"])
def test_weighted_dcdh_matches_did_multiplegt_dyn(sim_w, wgolden, case):
    ref = wgolden["dcdh"][case]
    if case == "staggered":
        panel = sim_w
    else:
        df = pd.read_csv(REF / "sim_switching.csv")
        df["w"] = np.round(np.random.default_rng(64).uniform(0.5, 3.0, len(df)), 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            panel = ds.Panel(df, unit="unit", time="t", treat="d", allow_switching=True)
    res = dcdh(panel, spec=ds.Baseline(y="y", weights="w"), effects=3, placebos=2)
    by = _by_rel(res)
    for ell in (1, 2, 3):
        assert by[ell - 1][0] == pytest.approx(ref["effects"][ell - 1], abs=DCDH_PEER_TOL)
        assert by[ell - 1][1] == pytest.approx(ref["effects_se"][ell - 1], rel=DCDH_PEER_TOL)
    for ell in (1, 2):
        assert by[-1 - ell][0] == pytest.approx(ref["placebos"][ell - 1], abs=DCDH_PEER_TOL)
        assert by[-1 - ell][1] == pytest.approx(ref["placebos_se"][ell - 1], rel=DCDH_PEER_TOL)
    assert res.pretrend is not None
    assert res.pretrend.p_chi2 == pytest.approx(ref["p_jointplacebo"], abs=1e-9)


@pytest.mark.parametrize("case", ["staggered", "staggered_w", "switching"])
def test_dcdh_controls_match_did_multiplegt_dyn(sim_w, wgolden, case):
    """did_multiplegt_dyn(controls=["x"]): estimates and SEs (theta's estimation error)."""
    ref = wgolden["dcdh_controls"][case]
    weights = "w" if case == "staggered_w" else None
    if case.startswith("staggered"):
        panel = sim_w
    else:
        df = pd.read_csv(REF / "sim_switching.csv")
        rng = np.random.default_rng(65)  # the generator's control
        df["x"] = np.round(rng.normal(0, 1, len(df)) + 0.3 * df["d"], 4)
        df["y"] = df["y"] + 0.8 * df["x"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            panel = ds.Panel(df, unit="unit", time="t", treat="d", allow_switching=True)
    res = dcdh(panel, "y", ["x"], effects=3, placebos=2, weights=weights)
    by = _by_rel(res)
    for ell in (1, 2, 3):
        assert by[ell - 1][0] == pytest.approx(ref["effects"][ell - 1], abs=DCDH_PEER_TOL)
        assert by[ell - 1][1] == pytest.approx(ref["effects_se"][ell - 1], rel=DCDH_PEER_TOL)
    for ell in (1, 2):
        assert by[-1 - ell][0] == pytest.approx(ref["placebos"][ell - 1], abs=DCDH_PEER_TOL)
        assert by[-1 - ell][1] == pytest.approx(ref["placebos_se"][ell - 1], rel=DCDH_PEER_TOL)
    assert res.pretrend is not None
    assert res.pretrend.p_chi2 == pytest.approx(ref["p_jointplacebo"], abs=1e-9)
    assert res.controls == ("x",)


def test_dcdh_controls_that_explain_nothing_change_nothing(sim_w):
    """Identity: a control constant within every unit has dX = 0, so theta is undefined (pinv:
    0) and the estimates and SEs equal those without controls."""
    df = sim_w.frame
    panel = ds.Panel(
        df.drop(columns=[c for c in df if c.startswith("_")]).assign(c=df["unit"] * 0.5),
        unit="unit", time="year", cohort="cohort",
    )  # fmt: skip
    a = dcdh(panel, "y", effects=3, placebos=2)
    b = dcdh(panel, "y", ["c"], effects=3, placebos=2)
    np.testing.assert_allclose(a.coef, b.coef, atol=IDENTITY_TOL)
    np.testing.assert_allclose(a.se, b.se, rtol=IDENTITY_TOL)


def test_dcdh_controls_recover_a_confounder():
    """SIMULATED: y depends on a time-varying x correlated with switching; with x as a control
    the effects are unbiased (truth 1.5), without it they are not."""
    rng = np.random.default_rng(9)
    rows = []
    for u in range(300):
        g = rng.choice([4, 6, 8, 99])
        alpha = rng.normal()
        for t in range(1, 11):
            d = int(t >= g)
            x = rng.normal() + 1.0 * d + 0.2 * t * (g < 99)
            rows.append((u, t, d, x, alpha + 0.1 * t + 2.0 * x + 1.5 * d + rng.normal(0, 0.3)))
    df = pd.DataFrame(rows, columns=["unit", "t", "d", "x", "y"])
    panel = ds.Panel(df, unit="unit", time="t", treat="d")
    with_x = dcdh(panel, "y", ["x"], effects=3, placebos=0)
    without = dcdh(panel, "y", effects=3, placebos=0)
    assert np.all(np.abs(with_x.coef - 1.5) < 4 * with_x.se)
    assert np.all(np.abs(without.coef - 1.5) > 5 * without.se)


def test_compare_estimators_passes_the_spec(sim_w):
    spec = ds.Baseline(y="y", controls=("x",), weights="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = compare_estimators(
            sim_w, spec=spec, estimators=["sun_abraham", "imputation", "dcdh"], window=(-3, 3)
        )
    assert cmp.spec is not None and cmp.spec.weights == "w"
    np.testing.assert_array_equal(
        cmp["imputation"].coef[-4:],
        imputation(sim_w, "y", ["x"], weights="w", horizons=range(4), pretrends=3).coef[-4:],
    )
    assert not cmp.skipped
    for name in ("sun_abraham", "imputation", "dcdh"):
        spec_used = cmp[name].spec
        assert spec_used is not None and spec_used.weights == "w"
    assert cmp["dcdh"].spec.controls == ("x",)  # type: ignore[union-attr]


# -- bad weight columns (hypothesis) ------------------------------------------------------------
def _small(values: list[float | str | None]) -> ds.Panel:
    rows = [(u, t, 2003 if u < 2 else 0, float(u + t)) for u in range(4) for t in range(2001, 2006)]
    df = pd.DataFrame(rows, columns=["u", "t", "g", "y"])
    df["w"] = pd.Series(values * (len(df) // len(values) + 1), dtype=object)[: len(df)].to_numpy()
    return ds.Panel(df, unit="u", time="t", cohort="g")


BAD = {
    "negative": (-1.5, "negative"),
    "missing": (None, "missing"),
    "text": ("heavy", "non-numeric"),
    "infinite": (float("inf"), "infinite"),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=hs.sampled_from(sorted(BAD)),
    row=hs.integers(0, 19),
    est=hs.sampled_from(["sun_abraham", "etwfe", "imputation", "did2s", "stacked_did", "dcdh"]),
)
def test_bad_weight_column_names_column_and_row(kind, row, est):
    values: list[float | str | None] = [1.0] * 20
    values[row] = BAD[kind][0]
    panel = _small(values)
    run = {
        "sun_abraham": lambda: sun_abraham(panel, "y", weights="w"),
        "etwfe": lambda: etwfe(panel, "y", weights="w"),
        "imputation": lambda: imputation(panel, "y", weights="w"),
        "did2s": lambda: did2s(panel, "y", weights="w"),
        "stacked_did": lambda: stacked_did(panel, "y", window=(-1, 1), weights="w"),
        "dcdh": lambda: dcdh(panel, "y", weights="w"),
    }[est]
    with pytest.raises(ValidationError) as info:
        run()
    err = info.value
    assert err.column == "w"
    assert BAD[kind][1] in err.message
    assert panel.frame.index[row] in (err.rows or [])


@settings(max_examples=10, deadline=None)
@given(est=hs.sampled_from(["sun_abraham", "etwfe", "imputation", "did2s", "dcdh"]))
def test_zero_sum_weights_raise(est):
    panel = _small([0.0])
    fn = {
        "sun_abraham": sun_abraham, "etwfe": etwfe, "imputation": imputation, "did2s": did2s,
        "dcdh": dcdh,
    }  # fmt: skip
    with pytest.raises(ValidationError, match="sum to zero"):
        fn[est](panel, "y", weights="w")  # type: ignore[operator]


def test_unknown_weight_column(sim_w):
    with pytest.raises(ValidationError, match="weight column 'ww' is not in the panel"):
        etwfe(sim_w, "y", weights="ww")
