"""Callaway–Sant'Anna: identities, alternative algorithms, bad input, determinism."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from didstudy.data.panel import Panel
from didstudy.data.simulate import simulate_staggered
from didstudy.errors import EstimationError, PanelWarning, ValidationError
from didstudy.estimation.robust import GroupTimeWarning, callaway_santanna

MPDTA = Path(__file__).resolve().parents[3] / "src" / "didstudy" / "data" / "datasets"
# identities hold to floating-point accuracy
EXACT = 1e-10
# bootstrap SE from 9,999 draws: the IQR-based SE has a relative sd of about 1.2/sqrt(reps)
# ≈ 1.2%; 5% is four of those
BOOT_REL_TOL = 0.05


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA / "mpdta.csv")


@pytest.fixture(scope="module")
def panel(mpdta: pd.DataFrame) -> Panel:
    return Panel(mpdta, unit="countyreal", time="year", cohort="first.treat")


@pytest.mark.parametrize("control_group", ["never", "notyet"])
def test_without_covariates_all_methods_agree(panel: Panel, control_group: str) -> None:
    fits = [
        callaway_santanna(panel, y="lemp", method=m, control_group=control_group, seed=1)  # type: ignore[arg-type]
        for m in ("dr", "dr_traditional", "ipw", "reg")
    ]
    for other in fits[1:]:
        np.testing.assert_allclose(other.estimate, fits[0].estimate, atol=EXACT)
        np.testing.assert_allclose(other.std_error, fits[0].std_error, atol=EXACT)


def _did_regression(frame: pd.DataFrame, g: int, t: int, base: int, controls: np.ndarray) -> float:
    """Coefficient on D×post of y ~ 1 + D + post + D×post on the cell's units and periods."""
    cohort = frame["first.treat"].replace(0, np.inf)
    rows = frame[frame["year"].isin([t, base]) & ((cohort == g) | np.isin(cohort, controls))]
    d = (rows["first.treat"] == g).to_numpy(float)
    post = (rows["year"] == t).to_numpy(float)
    x = np.column_stack([np.ones(len(rows)), d, post, d * post])
    coef = np.linalg.lstsq(x, rows["lemp"].to_numpy(), rcond=None)[0]
    return float(coef[3])


@pytest.mark.parametrize(
    ("control_group", "rule", "base_period"),
    [
        ("never", "did", "varying"),
        ("notyet", "did", "varying"),
        ("notyet", "csdid", "varying"),
        ("notyet", "did", "universal"),
    ],
)
def test_each_cell_is_a_two_by_two_regression(
    mpdta: pd.DataFrame, panel: Panel, control_group: str, rule: str, base_period: str
) -> None:
    res = callaway_santanna(
        panel,
        y="lemp",
        control_group=control_group,  # type: ignore[arg-type]
        notyet_rule=rule,
        base_period=base_period,
        seed=1,
    )  # type: ignore[arg-type]
    cohorts = np.array([2004.0, 2006.0, 2007.0, np.inf])
    table = res.tidy()
    for row in table.itertuples():
        if row.time == row.base_time:
            assert row.estimate == 0.0
            continue
        g, t, b = int(row.group), int(row.time), int(row.base_time)
        if control_group == "never":
            controls = cohorts[np.isinf(cohorts)]
        else:
            bound = max(t, b) if rule == "did" else max(t, g - 1)
            controls = cohorts[(cohorts > bound) & (cohorts != g)]
        assert row.n_control == int(
            np.isin(mpdta["first.treat"].replace(0, np.inf), controls).sum() / 5
        )
        assert row.estimate == pytest.approx(_did_regression(mpdta, g, t, b, controls), abs=EXACT)


def test_notyet_rules_differ_only_in_pre_periods(panel: Panel) -> None:
    did = callaway_santanna(panel, y="lemp", control_group="notyet", seed=1).tidy()
    stata = callaway_santanna(
        panel, y="lemp", control_group="notyet", notyet_rule="csdid", seed=1
    ).tidy()
    post = did["time"] >= did["group"]
    np.testing.assert_allclose(did.loc[post, "estimate"], stata.loc[post, "estimate"], atol=EXACT)
    # ATT(2007, 2004): R did compares with cohort 2006 too (2006 > 2004); csdid does not
    # (2006 is not above g − 1 = 2006) and keeps only never-treated units
    row = (did["group"] == 2007) & (did["time"] == 2004)
    assert did.loc[row, "n_control"].item() > stata.loc[row, "n_control"].item()
    assert did.loc[row, "estimate"].item() != pytest.approx(stata.loc[row, "estimate"].item())


def test_bootstrap_se_matches_analytic_within_mc_error() -> None:
    # large cohorts, so the cells' influence functions are close to normal and the IQR-based
    # bootstrap SE estimates the same number as the analytic one (on mpdta's 20-county cohort
    # the IQR of the skewed draws is ~5% above it, as in R did's README)
    df = simulate_staggered(
        n_units=2000,
        periods=range(2001, 2007),
        seed=5,
        cohorts={2003: 400, 2005: 400},
        n_controls=0,
    )
    sim = Panel(df, unit="unit", time="time", cohort="cohort")
    analytic = callaway_santanna(sim, y="y", seed=3)
    for kind in ("mammen", "rademacher"):
        boot = analytic.with_inference(bootstrap=True, reps=9999, kind=kind)
        np.testing.assert_allclose(boot.std_error, analytic.std_error, rtol=BOOT_REL_TOL)
        agg_a = analytic.aggregate("dynamic")
        agg_b = boot.aggregate("dynamic")
        np.testing.assert_allclose(agg_b.std_error, agg_a.std_error, rtol=BOOT_REL_TOL)
        # sup-t critical value: above the pointwise 1.96, below Bonferroni over 10 cells
        assert 1.96 < boot.crit_value < 2.81
        assert boot.crit_value == pytest.approx(analytic.crit_value, rel=BOOT_REL_TOL)
    assert 1.96 < analytic.crit_value < 2.81


def test_same_seed_same_json_and_fresh_seed_recorded(panel: Panel) -> None:
    a = callaway_santanna(panel, y="lemp", bootstrap=True, reps=199, seed=11)
    b = callaway_santanna(panel, y="lemp", bootstrap=True, reps=199, seed=11)
    dump = lambda r: json.dumps(r.to_dict(), sort_keys=True)  # noqa: E731
    assert dump(a) == dump(b)
    assert dump(a.aggregate("dynamic")) == dump(b.aggregate("dynamic"))
    c = callaway_santanna(panel, y="lemp", bootstrap=True, reps=199, seed=12)
    assert dump(a) != dump(c)
    fresh = callaway_santanna(panel, y="lemp")
    assert isinstance(fresh.inference.seed, int)
    assert fresh.to_dict()["inference"]["seed"] == fresh.inference.seed


def test_cluster_at_unit_equals_default_and_coarser_cluster_sums(
    mpdta: pd.DataFrame, panel: Panel
) -> None:
    df = mpdta.assign(state=mpdta["countyreal"] // 1000, unit_copy=mpdta["countyreal"])
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    base = callaway_santanna(p, y="lemp", seed=1)
    same = callaway_santanna(p, y="lemp", cluster="unit_copy", seed=1)
    np.testing.assert_allclose(same.std_error, base.std_error, atol=EXACT)
    state = callaway_santanna(p, y="lemp", cluster="state", seed=1)
    assert state.n_clusters == df["state"].nunique()
    # cluster sums of the unit influence functions, by hand (influence rows are the units in
    # the order of their cohort, never treated last, ties by unit id)
    per_unit = df.groupby("countyreal")[["state", "first.treat"]].first()
    cohort = per_unit["first.treat"].replace(0, np.inf).to_numpy()
    units = per_unit["state"].to_numpy()[np.argsort(cohort, kind="stable")]
    codes = pd.factorize(units, sort=True)[0]
    summed = np.zeros((state.n_clusters, base.influence.shape[1]))
    np.add.at(summed, codes, base.influence.dense())
    np.testing.assert_allclose(state.influence.dense(), summed, atol=EXACT)
    se = np.sqrt((summed**2).sum(axis=0)) / 500
    np.testing.assert_allclose(state.std_error, se, atol=EXACT)


def test_cross_section_path_gives_panel_estimates_on_balanced_data(panel: Panel) -> None:
    a = callaway_santanna(panel, y="lemp", seed=1)
    b = callaway_santanna(panel, y="lemp", repeated_cross_section=True, seed=1)
    np.testing.assert_allclose(b.estimate, a.estimate, atol=EXACT)
    assert b.n_units == 2500 and a.n_units == 500
    # rows treated as independent draws ignore the within-unit correlation: SEs differ
    assert not np.allclose(b.std_error, a.std_error)


def test_unbalanced_panel_cell_is_four_means(mpdta: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    df = mpdta.loc[rng.random(len(mpdta)) > 0.1].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    res = callaway_santanna(p, y="lemp", seed=1)
    assert res.n_units == df["countyreal"].nunique()
    cohort = df["first.treat"]
    m = lambda c, t: df.loc[c & (df["year"] == t), "lemp"].mean()  # noqa: E731
    by_hand = (m(cohort == 2004, 2006) - m(cohort == 2004, 2003)) - (
        m(cohort == 0, 2006) - m(cohort == 0, 2003)
    )
    row = res.tidy().query("group == 2004 and time == 2006")
    assert row["estimate"].item() == pytest.approx(by_hand, abs=EXACT)
    assert res.options["balanced"] is False


def test_universal_base_reference_cells_are_zero(panel: Panel) -> None:
    res = callaway_santanna(panel, y="lemp", base_period="universal", seed=1)
    ref = res.tidy()[res.reference]
    assert (ref["time"] == ref["group"] - 1).all() and (ref["estimate"] == 0).all()
    dyn = res.aggregate("dynamic")
    assert dyn.estimate[dyn.labels.index(-1)] == 0.0
    es = dyn.to_event_study()
    assert -1 not in es.rel_time and es.base == -1 and es.pretrend is not None


def test_dynamic_window_and_balance(panel: Panel) -> None:
    res = callaway_santanna(panel, y="lemp", seed=1)
    assert res.aggregate("dynamic", min_e=-1, max_e=1).labels == (-1, 0, 1)
    balanced = res.aggregate("dynamic", balance_e=1)
    assert balanced.labels == (-2, -1, 0, 1)
    # with balance_e=1 only cohorts 2004 and 2006 (observed at e = 1) enter
    cells = res.tidy().set_index(["group", "time"])["estimate"]
    w = np.array([20.0, 40.0])  # cohort sizes of 2004 and 2006 in mpdta
    e0 = (w @ [cells[(2004, 2004)], cells[(2006, 2006)]]) / w.sum()
    assert balanced.estimate[balanced.labels.index(0)] == pytest.approx(e0, abs=EXACT)


# ---- bad input ------------------------------------------------------------------------------


def test_never_without_never_treated_suggests_notyet(mpdta: pd.DataFrame) -> None:
    df = mpdta.loc[mpdta["first.treat"] > 0]
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.raises(EstimationError, match="notyet"):
        callaway_santanna(p, y="lemp")
    res = callaway_santanna(p, y="lemp", control_group="notyet", seed=1)
    assert any("comparison group" in n for n in res.notes)
    assert set(res.group.tolist()) == {2004.0, 2006.0} and res.time.max() < 2007


def test_always_treated_units_are_dropped_with_a_count(mpdta: pd.DataFrame) -> None:
    df = mpdta.copy()
    first_units = df["countyreal"].unique()[:3]
    df.loc[df["countyreal"].isin(first_units), "first.treat"] = 2003
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.warns(PanelWarning, match="dropped 3 unit"):
        res = callaway_santanna(p, y="lemp", seed=1)
    assert res.n_units == 497


def test_cell_without_overlap_is_missing_with_a_warning(mpdta: pd.DataFrame) -> None:
    df = mpdta.copy()
    # a covariate that separates cohort 2004 from never-treated units perfectly
    df["sep"] = np.where(df["first.treat"] == 2004, 1.0, 0.0) + 0.01 * (df["countyreal"] % 7)
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    for method in ("dr", "ipw", "dr_traditional"):
        with pytest.warns(GroupTimeWarning, match=r"ATT\(2004,2004\.\.2007\)"):
            res = callaway_santanna(p, y="lemp", covariates=["sep"], method=method, seed=1)  # type: ignore[arg-type]
        table = res.tidy()
        assert table.loc[table["group"] == 2004, "estimate"].isna().all()
        assert table.loc[table["group"] != 2004, "estimate"].notna().all()
        assert np.isfinite(res.aggregate("simple").overall_estimate)


def test_cell_without_comparison_units_warns(mpdta: pd.DataFrame) -> None:
    df = mpdta.loc[mpdta["first.treat"].isin([2004, 2006])]
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    # no never-treated: cohort 2006 is the comparison group, periods from 2006 on dropped
    res = callaway_santanna(p, y="lemp", control_group="notyet", seed=1)
    assert set(res.time.tolist()) == {2004, 2005}


@pytest.mark.parametrize(
    "options",
    [
        {"control_group": "nevr"},
        {"method": "ols"},
        {"base_period": "fixed"},
        {"anticipation": -1},
        {"multiplier": "normal"},
        {"reps": 1},
        {"alpha": 1.5},
        {"notyet_rule": "stata"},
    ],
)
def test_invalid_options(panel: Panel, options: dict) -> None:
    with pytest.raises(EstimationError, match="invalid"):
        callaway_santanna(panel, y="lemp", **options)


def test_unknown_column_and_varying_weight(mpdta: pd.DataFrame, panel: Panel) -> None:
    with pytest.raises(Exception, match="lemq"):
        callaway_santanna(panel, y="lemq")
    df = mpdta.assign(w=np.arange(len(mpdta), dtype=float) + 1)
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.raises(ValidationError, match="weight changes within a unit"):
        callaway_santanna(p, y="lemp", weights="w")


def test_time_varying_covariate_warns(mpdta: pd.DataFrame) -> None:
    df = mpdta.assign(x=mpdta["lpop"] + 0.01 * (mpdta["year"] - 2003))
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.warns(PanelWarning, match="base period"):
        res = callaway_santanna(p, y="lemp", covariates=["x"], seed=1)
    assert res.valid.all()


@settings(max_examples=25, deadline=None)
@given(rows=hs.lists(hs.integers(0, 2499), min_size=1, max_size=5, unique=True))
def test_missing_outcome_names_rows(mpdta: pd.DataFrame, rows: list[int]) -> None:
    df = mpdta.copy()
    df.loc[rows, "lemp"] = np.nan
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.raises(ValidationError, match="outcome has missing") as err:
        callaway_santanna(p, y="lemp")
    assert err.value.rows and err.value.column == "lemp"


@settings(max_examples=20, deadline=None)
@given(cohorts=hs.lists(hs.sampled_from([2004, 2005, 2006, 2007]), min_size=6, max_size=6))
def test_no_never_treated_always_raises_for_never(cohorts: list[int]) -> None:
    units = np.repeat(np.arange(6), 5)
    years = np.tile(np.arange(2003, 2008), 6)
    df = pd.DataFrame(
        {"u": units, "t": years, "g": np.repeat(cohorts, 5), "y": np.sin(units + years)}
    )
    p = Panel(df, unit="u", time="t", cohort="g")
    with pytest.raises(EstimationError, match="never-treated"):
        callaway_santanna(p, y="y")


@pytest.mark.parametrize("control_group", ["never", "notyet"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_cohort_sums_equal_cell_by_cell_two_by_twos(
    panel: Panel, control_group: str, base_period: str
) -> None:
    """The no-covariate fast path (cohort sums) against the per-cell 2×2 estimator."""
    from didstudy.estimation.robust.callaway_santanna import _panel_cells, _panel_cells_means
    from didstudy.estimation.robust.cs_cells import plan_cells
    from didstudy.estimation.robust.cs_data import prepare

    data = prepare(panel, "lemp", (), None, None, control_group, 0, False)
    plan = plan_cells(
        data.periods, np.array([2004.0, 2006.0, 2007.0]), control_group, base_period, 0
    )
    fast = _panel_cells_means(data, plan)
    slow = _panel_cells(data, plan, "dr")
    np.testing.assert_allclose(fast[0], slow[0], atol=EXACT)
    np.testing.assert_allclose(fast[1].dense(), slow[1].dense(), atol=EXACT)
    np.testing.assert_array_equal(fast[2], slow[2])
    np.testing.assert_array_equal(fast[3], slow[3])


@pytest.mark.parametrize("covariates", [(), ("lpop",)])
def test_integer_weights_equal_duplicated_units(mpdta: pd.DataFrame, covariates: tuple) -> None:
    """Weight 2 on a unit gives the same ATT(g,t) as the unit entered twice."""
    w = (mpdta["countyreal"] % 3 == 0).astype(float) + 1.0
    weighted = Panel(mpdta.assign(w=w), unit="countyreal", time="year", cohort="first.treat")
    twice = mpdta.loc[w == 2].assign(countyreal=lambda d: d["countyreal"] + 100_000)
    dup = Panel(
        pd.concat([mpdta, twice], ignore_index=True),
        unit="countyreal",
        time="year",
        cohort="first.treat",
    )
    for method in ("dr", "reg", "ipw"):
        a = callaway_santanna(
            weighted, y="lemp", covariates=covariates, weights="w", method=method, seed=1
        )  # type: ignore[arg-type]
        b = callaway_santanna(dup, y="lemp", covariates=covariates, method=method, seed=1)  # type: ignore[arg-type]
        np.testing.assert_allclose(a.estimate, b.estimate, atol=1e-8)
        agg_a, agg_b = a.aggregate("dynamic"), b.aggregate("dynamic")
        np.testing.assert_allclose(agg_a.estimate, agg_b.estimate, atol=1e-8)


def test_unbalanced_with_covariates_every_method_runs(mpdta: pd.DataFrame) -> None:
    df = mpdta.loc[(mpdta["countyreal"] + mpdta["year"]) % 7 != 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    for method in ("dr", "dr_traditional", "reg", "ipw"):
        res = callaway_santanna(p, y="lemp", covariates=["lpop"], method=method, seed=1)  # type: ignore[arg-type]
        assert res.valid.all() and res.n_units == df["countyreal"].nunique()
        assert np.all(res.std_error > 0)


def _gateaux(estimate, weights: np.ndarray, rows: range) -> np.ndarray:  # type: ignore[no-untyped-def]
    """n · ∂att/∂w_i by central differences: the empirical influence function of an estimator
    that is invariant to the scale of the weights."""
    step = 1e-5
    out = []
    for i in rows:
        up, down = weights.copy(), weights.copy()
        up[i] += step
        down[i] -= step
        out.append(len(weights) * (estimate(up) - estimate(down)) / (2 * step))
    return np.array(out)


# central differences with step 1e-5 on O(1) influence values
DERIVATIVE_TOL = 1e-6


def _mpdta_cell(mpdta: pd.DataFrame) -> tuple[np.ndarray, ...]:
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    first = mpdta.groupby("countyreal")[["first.treat", "lpop"]].first()
    keep = first["first.treat"].isin([2004, 0]).to_numpy()
    d = (first["first.treat"].to_numpy()[keep] == 2004).astype(float)
    x = np.column_stack([np.ones(keep.sum()), first["lpop"].to_numpy()[keep]])
    dy = (wide[2006] - wide[2003]).to_numpy()[keep][:, None]
    return dy, d, x


@pytest.mark.parametrize("method", ["reg", "ipw", "dr", "dr_traditional"])
def test_panel_influence_function_is_the_derivative(mpdta: pd.DataFrame, method: str) -> None:
    from didstudy.estimation.robust.cs_twobytwo import panel_twobytwo

    dy, d, x = _mpdta_cell(mpdta)
    w = np.ones(len(d))
    psi = panel_twobytwo(dy, d, x, w, method).influence[:, 0]
    rows = range(0, len(d), 11)
    numeric = _gateaux(lambda v: panel_twobytwo(dy, d, x, v, method).att[0], w, rows)
    np.testing.assert_allclose(psi[list(rows)], numeric, atol=DERIVATIVE_TOL)


@pytest.mark.parametrize("method", ["none", "reg", "ipw", "dr_traditional"])
def test_cross_section_influence_function_is_the_derivative(
    mpdta: pd.DataFrame, method: str
) -> None:
    from didstudy.estimation.robust.cs_twobytwo_rc import rc_twobytwo

    rows = mpdta.loc[
        ((mpdta["countyreal"] + mpdta["year"]) % 5 != 0)
        & mpdta["year"].isin([2003, 2006])
        & mpdta["first.treat"].isin([2004, 0])
    ]
    y = rows["lemp"].to_numpy()
    post = (rows["year"] == 2006).to_numpy(float)
    d = (rows["first.treat"] == 2004).to_numpy(float)
    x = None if method == "none" else np.column_stack([np.ones(len(y)), rows["lpop"].to_numpy()])
    w = np.ones(len(y))
    psi = rc_twobytwo(y, post, d, x, w, method)[1]
    picks = range(0, len(y), 17)
    numeric = _gateaux(lambda v: rc_twobytwo(y, post, d, x, v, method)[0], w, picks)
    np.testing.assert_allclose(psi[list(picks)], numeric, atol=DERIVATIVE_TOL)


def test_pretrend_wald_with_singular_covariance_tests_non_redundant_constraints(
    mpdta: pd.DataFrame,
) -> None:
    """Five pre-period cells, three clusters: the clustered covariance has rank ≤ 2 (cluster
    sums of mean-zero influence functions sum to zero). The test uses the non-redundant
    constraints (decision 0043), warns, and equals b' V⁺ b by numpy's pseudo-inverse."""
    from didstudy.errors import InferenceWarning
    from didstudy.report.tables.group_time import group_time_table

    df = mpdta.assign(region=mpdta["countyreal"] % 3)
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.warns(InferenceWarning, match="non-redundant"):
        res = callaway_santanna(p, y="lemp", cluster="region", seed=1)
    pre = res.pretrend
    assert pre is not None and len(pre.terms) == 5 and pre.df1 == 2
    idx = np.flatnonzero(res.time < res.group)
    b = res.estimate[idx]
    v = res.influence.gram(idx) / res.n_units**2
    by_hand = float(b @ np.linalg.pinv(v, rcond=1e-10, hermitian=True) @ b)
    assert pre.chi2 == pytest.approx(by_hand, rel=1e-8) and pre.chi2 >= 0
    from scipy import stats as st

    assert pre.p_chi2 == pytest.approx(st.chi2.sf(by_hand, 2), rel=1e-8)
    assert any("2 non-redundant of 5" in n for n in res.notes)
    notes = " ".join(group_time_table(res).notes)
    assert "chi2(2)" in notes and "non-redundant of 5" in notes
    assert res.to_dict()["pretrend"]["df1"] == 2


def test_pretrend_wald_full_rank_is_the_inverse_form(panel: Panel) -> None:
    """Non-singular covariance: the rank-based form is b' V⁻¹ b with df = number of cells."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = callaway_santanna(panel, y="lemp", method="reg", seed=1)
    idx = np.flatnonzero(res.time < res.group)
    b = res.estimate[idx]
    v = res.influence.gram(idx) / res.n_units**2
    assert res.pretrend is not None and res.pretrend.df1 == len(idx) == 5
    assert res.pretrend.chi2 == pytest.approx(float(b @ np.linalg.solve(v, b)), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(rows=hs.lists(hs.integers(0, 2499), min_size=1, max_size=5, unique=True))
def test_negative_weight_names_rows(rows: list[int]) -> None:
    """Bad input: a negative weight anywhere is refused, naming the first offending rows."""
    df = pd.read_csv(MPDTA / "mpdta.csv")
    w = np.ones(len(df))
    units = df.loc[rows, "countyreal"].unique()
    w[df["countyreal"].isin(units).to_numpy()] = -1.0  # constant within unit
    p = Panel(df.assign(w=w), unit="countyreal", time="year", cohort="first.treat")
    with pytest.raises(ValidationError, match="negative") as info:
        callaway_santanna(p, y="lemp", weights="w")
    assert info.value.column == "w"
    bad = np.flatnonzero(w < 0)  # row labels of the DataFrame (file lines in the CLI)
    assert sorted(info.value.rows) == [int(i) for i in bad]


def test_zero_weights_and_constant_covariate_are_refused(mpdta: pd.DataFrame) -> None:
    p = Panel(mpdta.assign(w=0.0, c=2.0), unit="countyreal", time="year", cohort="first.treat")
    with pytest.raises(ValidationError, match="weights sum to zero"):
        callaway_santanna(p, y="lemp", weights="w")
    with pytest.raises(ValidationError, match="constant") as info:
        callaway_santanna(p, y="lemp", covariates=["lpop", "c"])
    assert info.value.column == "c" and "drop 'c'" in str(info.value)


def test_spec_supplies_outcome_weights_cluster_and_keywords_override(mpdta: pd.DataFrame) -> None:
    """``spec=Baseline(...)`` (decision 0021): its y, weights and cluster are used unless the
    keyword is given; its controls do not become covariates."""
    from didstudy.results.spec import Baseline

    df = mpdta.assign(w=(mpdta["countyreal"] % 3 == 0) + 1.0, region=mpdta["countyreal"] % 40)
    p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    base = Baseline(y="lemp", treat="treat", controls=["lpop"], weights="w", cluster="region")
    a = callaway_santanna(p, spec=base, seed=1)
    b = callaway_santanna(p, y="lemp", weights="w", cluster="region", seed=1)
    np.testing.assert_array_equal(a.estimate, b.estimate)
    np.testing.assert_array_equal(a.std_error, b.std_error)
    assert a.options["covariates"] == ()
    c = callaway_santanna(p, y="lpop", spec=base, weights=None, cluster="countyreal", seed=1)
    d = callaway_santanna(p, y="lpop", weights="w", seed=1)
    np.testing.assert_allclose(c.estimate, d.estimate, atol=EXACT)
    np.testing.assert_allclose(c.std_error, d.std_error, atol=EXACT)
    with pytest.raises(ValidationError, match="needs 'y'"):
        callaway_santanna(p, spec=Baseline(treat="treat"))
    with pytest.raises(EstimationError, match="one column"):
        callaway_santanna(p, spec=base.override(cluster=("region", "year")))


def test_cells_that_cannot_be_estimated_are_one_warning() -> None:
    """Every failing cell of one estimation is named in one warning, grouped by reason, periods
    as ranges (a terminal line per batch flooded the CLI)."""
    from didstudy.estimation.robust.callaway_santanna import _spans

    assert _spans([2005, 2000, 2001, 2002, 2003]) == "2000..2003 2005"
    assert _spans([1, 2]) == "1 2" and _spans([7]) == "7"
    import didstudy as ds

    df = ds.load_dataset("castle")
    first = df.loc[df["post"] == 1].groupby("state")["year"].min()
    df = df.assign(g=df["state"].map(first).fillna(0))
    panel = ds.as_panel(df, unit="state", time="year", cohort="g")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = callaway_santanna(panel, "l_homicide", ["l_police", "unemployrt"])
    cells = [w for w in caught if issubclass(w.category, GroupTimeWarning)]
    assert len(cells) == 1
    assert "cannot be estimated" in str(cells[0].message)
    assert "too few units" in str(cells[0].message)
    assert np.isnan(res.estimate).any()
