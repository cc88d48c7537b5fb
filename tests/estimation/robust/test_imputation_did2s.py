"""Imputation (BJS 2024) and two-stage (Gardner 2021): peers, published numbers, identities,
alternative algorithms and a SIMULATED design with known heterogeneous effects."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import didstudy as ds
from didstudy.errors import DidstudyError, EstimationError, ValidationError
from didstudy.estimation.robust._common import panel_arrays
from didstudy.estimation.robust._untreated import UntreatedModel
from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.imputation import _tau_tilde, imputation
from tests.estimation.robust.conftest import hetero_panel

#: Exact identities: both sides are the same linear algebra up to rounding.
IDENTITY_TOL = 1e-10
#: did-imputation 0.1.0 recovers fixed effects and weights iteratively to tol 1e-6.
PEER_ITER_TOL = 1e-6
#: pyfixest demeans iteratively (fixef_tol 1e-8 relative): observed differences ~1e-9.
PYFIXEST_TOL = 1e-8


def _by_rel(res: ds.EventStudyResult) -> dict[int, tuple[float, float]]:
    return {k: (float(b), float(s)) for k, b, s in zip(res.rel_time, res.coef, res.se, strict=True)}


def test_imputation_matches_did_imputation_on_mpdta(mpdta_panel, golden):
    ref = golden["imputation"]["mpdta_horizons"]
    res = _by_rel(imputation(mpdta_panel, "lemp", pretrends=3))
    for h in range(4):
        est, se = res[h]
        assert est == pytest.approx(ref["estimates"][f"tau{h}"], abs=PEER_ITER_TOL)
        assert se == pytest.approx(ref["std_errors"][f"tau{h}"], rel=PEER_ITER_TOL)
    for k in (1, 2, 3):
        assert res[-k][0] == pytest.approx(ref["pre_estimates"][f"pre{k}"], abs=PEER_ITER_TOL)
        # pre-trend SEs: our CRV1 counts K = leads + periods (fixest nested rule); the peer's
        # reghdfe-style factor differs by 0.035% in variance on this panel
        assert res[-k][1] == pytest.approx(ref["pre_std_errors"][f"pre{k}"], rel=5e-4)
    overall = imputation(mpdta_panel, "lemp").aggregates[0]
    assert overall.name == "att"
    assert overall.estimate == pytest.approx(
        golden["imputation"]["mpdta_overall"]["estimates"]["tau_ate"], abs=PEER_ITER_TOL
    )
    assert overall.std_error == pytest.approx(
        golden["imputation"]["mpdta_overall"]["std_errors"]["tau_ate"], rel=1e-6
    )


def test_imputation_with_control_matches_did_imputation(sim_panel, golden):
    ref = golden["imputation"]["sim_x_overall"]
    att = imputation(sim_panel, "y", ["x"]).aggregates[0]
    assert att.estimate == pytest.approx(ref["estimates"]["tau_ate"], abs=PEER_ITER_TOL)
    assert att.std_error == pytest.approx(ref["std_errors"]["tau_ate"], rel=1e-5)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("event_unit", {}),
        ("static_unit", {"second_stage": "static"}),
        ("event_unit_x", {"controls": ["x"]}),
        ("static_state", {"second_stage": "static", "fe": "state"}),
    ],
)
def test_did2s_matches_pyfixest(sim_panel, golden, name, kwargs):
    ref = golden["did2s"][name]
    controls = kwargs.pop("controls", [])
    res = did2s(sim_panel, "y", controls, **kwargs)
    ref_rows = [
        (t, b, s)
        for t, b, s in zip(ref["terms"], ref["estimate"], ref["std_error"], strict=True)
        if "inf" not in t
    ]
    assert len(ref_rows) == len(res.coef)
    for (_, b, s), est, se in zip(ref_rows, res.coef, res.se, strict=True):
        assert est == pytest.approx(b, abs=PYFIXEST_TOL)
        assert se == pytest.approx(s, rel=PYFIXEST_TOL, abs=PYFIXEST_TOL)


@pytest.mark.parametrize("controls", [[], ["x"]])
def test_imputation_equals_two_stage_by_horizon(sim_panel, controls):
    imp = _by_rel(imputation(sim_panel, "y", controls))
    two = _by_rel(did2s(sim_panel, "y", controls))
    for k, (est, _) in imp.items():
        assert est == pytest.approx(two[k][0], abs=IDENTITY_TOL)


def _dense_design(A, absorb):
    n_a, n_t = int(absorb.max()) + 1, int(A.time.max()) + 1
    Z = np.zeros((A.n, n_a + n_t - 1 + A.X.shape[1]))
    Z[np.arange(A.n), absorb] = 1.0
    has = A.time > 0
    Z[np.flatnonzero(has), n_a + A.time[has] - 1] = 1.0
    Z[:, n_a + n_t - 1 :] = A.X
    return Z


def test_two_stage_se_equals_explicit_stacked_gmm(sim_panel):
    """Gardner's variance from dense stacked GMM moments (Butts & Gardner 2022, eq. 6)."""
    A = panel_arrays(sim_panel, "y", ["x"], estimator="t")
    Z = _dense_design(A, A.unit)
    d0 = ~A.treated
    Z0 = Z * d0[:, None]
    gamma = np.linalg.lstsq(Z0, A.y * d0, rcond=None)[0]
    e1 = (A.y - Z @ gamma) * d0
    rel = A.rel_time
    ks = sorted({int(k) for k in rel[np.isfinite(rel)]} - {-1})
    X2 = np.column_stack([(rel == k).astype(float) for k in ks])
    yt = A.y - Z @ gamma
    beta = np.linalg.lstsq(X2, yt, rcond=None)[0]
    e2 = yt - X2 @ beta
    corr = np.linalg.pinv(Z0.T @ Z0) @ (Z.T @ X2)  # (X10'X10)^- X1'X2
    psi = X2 * e2[:, None] - (Z0 @ corr) * e1[:, None]
    S = np.vstack([np.bincount(A.cluster, weights=psi[:, j]) for j in range(psi.shape[1])]).T
    B = np.linalg.inv(X2.T @ X2)
    V = B @ (S.T @ S) @ B
    res = did2s(sim_panel, "y", ["x"])
    np.testing.assert_allclose(res.coef, beta, atol=IDENTITY_TOL)
    np.testing.assert_allclose(res.vcov, V, atol=IDENTITY_TOL)


def test_implicit_weights_match_dense_projection_and_sum_to_zero(sim_panel):
    """v_0 = -Z_0 (Z_0'Z_0)^- Z_1'w_1 (BJS eq. 6); with unit and period effects the weights
    of every unit and every period add up to zero (accounting identity)."""
    A = panel_arrays(sim_panel, "y", ["x"], estimator="t")
    model = UntreatedModel.build(A.unit, A.time, A.X, ~A.treated)
    w1 = np.where(A.treated & (A.rel_time == 2), 1.0, 0.0)
    w1 /= w1.sum()
    v0 = -model.adjoint(w1[:, None])[:, 0]
    Z = _dense_design(A, A.unit)
    Z0 = Z[~A.treated]
    dense = -Z0 @ np.linalg.pinv(Z0.T @ Z0) @ (Z.T @ w1)
    np.testing.assert_allclose(v0, dense, atol=IDENTITY_TOL)
    v = w1.copy()
    v[model.rows0] = v0
    np.testing.assert_allclose(np.bincount(A.unit, weights=v), 0.0, atol=IDENTITY_TOL)
    np.testing.assert_allclose(np.bincount(A.time, weights=v), 0.0, atol=IDENTITY_TOL)
    # and the estimator is v'y
    est = imputation(sim_panel, "y", ["x"], horizons=[2]).coef[0]
    assert float(v @ A.y) == pytest.approx(est, abs=IDENTITY_TOL)


def test_leave_out_average_equals_explicit_loop():
    rng = np.random.default_rng(3)
    n = 60
    tau, v = rng.normal(size=n), rng.uniform(0.1, 1, n)
    group, cluster = rng.integers(0, 3, n), rng.integers(0, 12, n)
    fast = _tau_tilde(tau, v, group, cluster, leave_out=True)
    for i in range(n):
        other = (group == group[i]) & (cluster != cluster[i])
        expect = (v[other] @ tau[other]) / v[other].sum()
        assert fast[i] == pytest.approx(expect, abs=IDENTITY_TOL)


def test_leave_out_se_is_larger_than_plug_in(mpdta_panel):
    plug = imputation(mpdta_panel, "lemp").aggregates[0].std_error
    loo = imputation(mpdta_panel, "lemp", leave_out=True).aggregates[0].std_error
    assert loo > plug


def test_coarse_fixed_effect_changes_the_first_stage(sim_panel, golden):
    state = did2s(sim_panel, "y", fe="state", second_stage="static")
    unit = did2s(sim_panel, "y", second_stage="static")
    assert state.coef[0] != pytest.approx(unit.coef[0], abs=1e-3)


def test_simulated_heterogeneous_effects_unbiased_twfe_biased():
    """SIMULATED: mean over replications of the imputation / two-stage horizon estimates equals
    the true average effect; the static TWFE coefficient does not."""
    errs_imp, errs_two, twfe_bias = [], [], []
    for seed in range(12):
        panel, truth = hetero_panel(seed)
        imp = _by_rel(imputation(panel, "y", horizons=range(4)))
        two = _by_rel(did2s(panel, "y", window=(-3, 3)))
        errs_imp.append([imp[h][0] - truth[h] for h in range(4)])
        errs_two.append([two[h][0] - truth[h] for h in range(4)])
        att = imputation(panel, "y").aggregates[0].estimate
        static = ds.twfe(panel, y="y", treat="_treated", fe=["unit", "year"], cluster="unit")
        twfe_bias.append(float(static.coef["_treated"]) - att)
    mean_imp = np.mean(errs_imp, axis=0)
    mean_two = np.mean(errs_two, axis=0)
    # sampling error of a mean over 12 replications (effect sd ~0.1 each): |bias| < 0.08
    assert np.all(np.abs(mean_imp) < 0.08)
    assert np.all(np.abs(mean_two) < 0.08)
    # TWFE's forbidden comparisons bias it far below the ATT under growing effects
    assert np.mean(twfe_bias) < -0.5


def test_switching_treatment_is_refused_and_names_dcdh():
    df = pd.DataFrame(
        {
            "u": np.repeat([1, 2, 3], 4),
            "t": np.tile([1, 2, 3, 4], 3),
            "d": [0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
            "y": np.arange(12.0),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = ds.Panel(df, unit="u", time="t", treat="d", allow_switching=True)
    for fn in (imputation, did2s):
        with pytest.raises(ValidationError, match="dcdh") as info:
            fn(panel, "y")
        assert "1" in str(info.value)


def test_unimputable_effects_name_cohorts_and_fix():
    df = pd.DataFrame(
        {
            "u": np.repeat([1, 2], 4),
            "t": np.tile([1, 2, 3, 4], 2),
            "g": [2] * 4 + [3] * 4,
            "y": np.arange(8.0),
        }
    )
    panel = ds.Panel(df, unit="u", time="t", cohort="g")
    with pytest.raises(EstimationError, match="cannot be imputed") as info:
        imputation(panel, "y")
    assert "Fix" in str(info.value)


@settings(max_examples=25, deadline=None)
@given(hs.sets(hs.integers(0, 59), min_size=1, max_size=5))
def test_missing_outcome_rows_are_named(bad_rows):
    panel, _ = hetero_panel(0, n_units=6)
    frame = panel.frame.drop(columns=[c for c in panel.frame.columns if c.startswith("_")])
    frame.loc[sorted(bad_rows), "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = ds.Panel(frame, unit="unit", time="year", cohort="cohort")
    for fn in (imputation, did2s):
        with pytest.raises(DidstudyError) as info:
            fn(bad, "y")
        assert info.value.rows == sorted(bad_rows)
        assert info.value.column == "y"


@settings(max_examples=20, deadline=None)
@given(hs.lists(hs.integers(0, 5), min_size=1, max_size=4, unique=True))
def test_switching_units_are_named_for_every_absorbing_estimator(switchers):
    """Property: whichever units switch off, every absorbing estimator refuses and names them."""
    from didstudy.estimation.robust.etwfe import etwfe
    from didstudy.estimation.robust.stacked import stacked_did
    from didstudy.estimation.robust.sun_abraham import sun_abraham

    units, periods = 8, 6
    d = np.zeros((units, periods), dtype=int)
    d[:6, 2:] = 1
    for u in switchers:
        d[u, 4] = 0
    df = pd.DataFrame(
        {
            "u": np.repeat(np.arange(units), periods),
            "t": np.tile(np.arange(periods), units),
            "d": d.ravel(),
            "y": np.arange(units * periods, dtype=float),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = ds.Panel(df, unit="u", time="t", treat="d", allow_switching=True)
    for fn in (imputation, did2s, etwfe, sun_abraham, stacked_did):
        with pytest.raises(ValidationError, match="dcdh") as info:
            fn(panel, "y")
        assert f"{len(switchers)} unit(s)" in str(info.value)
