"""The improved, locally efficient doubly robust estimator on unbalanced panels and repeated
cross-sections (Sant'Anna and Zhao 2020, eq. 3.10; DRDID ``drdid_imp_rc``): peers, identities and
a SIMULATED design with a known truth.

Golden file: tests/reference/callaway_santanna/peers_rc.json, written by generate_rc.py (csdid
0.4.3 and moderndid 0.2.0 ``att_gt`` with moderndid's ``drdid_imp_local_rc`` as the estimator).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.data.panel import Panel
from didstudy.errors import PanelWarning
from didstudy.estimation.robust import GroupTimeWarning, callaway_santanna
from didstudy.estimation.robust.cs_twobytwo_rc import rc_twobytwo

REF = Path(__file__).resolve().parents[2] / "reference" / "callaway_santanna"
PEERS = json.loads((REF / "peers_rc.json").read_text())
MPDTA = Path(__file__).resolve().parents[3] / "src" / "didstudy" / "data" / "datasets"

# same formulas; the peers solve the tilting problem with scipy's trust-constr (gradient
# tolerance 1e-8), we iterate Newton to 1e-10: the propensity odds agree to about 1e-9
PEER_ATT_TOL = 1e-7
PEER_SE_RTOL = 1e-6
# identities hold to floating-point accuracy
EXACT = 1e-10


def _frame() -> pd.DataFrame:
    df = pd.read_csv(MPDTA / "mpdta.csv")
    return df.drop(index=PEERS["dropped_rows"]).reset_index(drop=True)


def _fit(case: dict, **extra: object):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        panel = Panel(_frame(), unit="countyreal", time="year", cohort="first.treat")
        warnings.simplefilter("ignore", GroupTimeWarning)
        return callaway_santanna(panel, y="lemp", seed=1, **case["didstudy"], **extra)


def _cells(res) -> dict[tuple[int, int], tuple[float, float]]:  # type: ignore[no-untyped-def]
    t = res.tidy()
    return {(int(g), int(s)): (float(a), float(e)) for g, s, a, e in
            zip(t["group"], t["time"], t["estimate"], t["std_error"], strict=True)}  # fmt: skip


CASES = [(name, peer) for name, case in sorted(PEERS["cases"].items())
         for peer in ("csdid", "moderndid") if peer in case]  # fmt: skip


@pytest.mark.parametrize(("name", "peer"), CASES)
def test_every_cell_and_se_matches_peer(name: str, peer: str) -> None:
    case = PEERS["cases"][name]
    ours = _cells(_fit(case))
    theirs = case[peer]["cells"]
    assert len(theirs) == len(ours) == 12
    for cell in theirs:
        att, se = ours[(cell["group"], cell["time"])]
        assert att == pytest.approx(cell["att"], abs=PEER_ATT_TOL), (cell, att)
        assert se == pytest.approx(cell["se"], rel=PEER_SE_RTOL), (cell, se)


RCS = sorted(n for n, c in PEERS["cases"].items() if "moderndid" in c)


@pytest.mark.parametrize("name", RCS)
def test_aggregations_match_moderndid(name: str) -> None:
    case = PEERS["cases"][name]
    res = _fit(case)
    for spec, ref in case["moderndid"]["aggregations"].items():
        agg = res.aggregate(spec.split("_")[0], **ref["options"])
        assert agg.overall_estimate == pytest.approx(ref["overall"], abs=PEER_ATT_TOL)
        assert agg.overall_std_error == pytest.approx(ref["overall_se"], rel=PEER_SE_RTOL)
        if ref["labels"] is not None:
            assert list(agg.labels) == ref["labels"]
            np.testing.assert_allclose(agg.estimate, ref["estimate"], atol=PEER_ATT_TOL)
            np.testing.assert_allclose(agg.std_error, ref["std_error"], rtol=PEER_SE_RTOL)


def test_balanced_panel_as_cross_sections_gives_the_panel_estimates() -> None:
    """Identity: with a time-invariant covariate, every unit in both periods of a cell and the
    tilting score fit on the stacked rows (same minimiser as on units), the cross-section
    estimator's efficiency terms cancel (treated covariates are the same in both periods) and
    it reduces to the panel improved DR, mean over cohort g of ΔY − X'β̂ (the weighted
    comparison residuals average to zero by the least-squares normal equations)."""
    df = pd.read_csv(MPDTA / "mpdta.csv")
    panel = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    for control in ("never", "notyet"):
        a = callaway_santanna(panel, y="lemp", covariates=["lpop"], control_group=control,
                              seed=1)  # fmt: skip
        b = callaway_santanna(panel, y="lemp", covariates=["lpop"], control_group=control,
                              repeated_cross_section=True, seed=1)  # fmt: skip
        np.testing.assert_allclose(b.estimate, a.estimate, atol=1e-9)
        assert not np.allclose(b.std_error, a.std_error)  # rows as independent draws


def test_without_covariates_dr_is_the_four_means_estimator() -> None:
    """Identity: with only the intercept every method is the difference of four means."""
    case = PEERS["cases"]["unbalanced_none_never_dr"]
    dr = _fit({"didstudy": {**case["didstudy"], "method": "dr"}})
    reg = _fit({"didstudy": {**case["didstudy"], "method": "reg"}})
    np.testing.assert_allclose(dr.estimate, reg.estimate, atol=EXACT)
    np.testing.assert_allclose(dr.std_error, reg.std_error, atol=EXACT)


def test_covariate_mean_of_treated_is_reproduced_by_tilting_weights() -> None:
    """Identity behind the estimator (Graham, Pinto and Egel 2012): the comparison rows weighted
    by the tilting odds have exactly the treated rows' covariate means, so with the outcome
    equal to a covariate plus a constant the improved DR estimates zero (the comparison
    regressions fit it exactly and the efficiency terms vanish)."""
    rng = np.random.default_rng(3)
    n = 400
    x1 = rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.7 * x1)))).astype(float)
    post = (rng.random(n) < 0.5).astype(float)
    x = np.column_stack([np.ones(n), x1])
    att, psi = rc_twobytwo(2.0 + 3.0 * x1, post, d, x, np.ones(n), "dr")
    assert abs(att) < EXACT and np.max(np.abs(psi)) < 1e-8


# SIMULATED: repeated cross-sections with selection on x and an x-dependent trend ----------
SIM_REPS = 1000 if os.environ.get("DIDSTUDY_HEAVY_MC") else 150
SIM_N = 1000
# coverage of a 95% interval in SIM_REPS draws: binomial sd; 4 sd either way
SIM_COVERAGE_BAND = 4.0 * np.sqrt(0.95 * 0.05 / SIM_REPS)


def _true_att() -> float:
    """ATT = E[1 + 0.5 X | D = 1] with X ~ N(0, 1), P(D = 1 | X) = Λ(−0.5 + 0.8 X): by
    quadrature on a fine grid (error far below the Monte Carlo error)."""
    grid = np.linspace(-10, 10, 200_001)
    dens = np.exp(-0.5 * grid**2) / (1 + np.exp(0.5 - 0.8 * grid))
    return float(1.0 + 0.5 * (grid @ dens) / dens.sum())


def _sim_draw(seed: int, unbalanced: bool) -> pd.DataFrame:
    """2 periods; cohort 2 (treated in period 2) or never treated, selected on x; the trend
    of the untreated outcome depends on x (parallel trends only conditional on x); effect
    1 + 0.5 x. Cross-sections: fresh units each period; unbalanced: units in both periods
    with 30% of rows missing at random."""
    rng = np.random.default_rng(seed)
    units = SIM_N if unbalanced else 2 * SIM_N
    x = rng.normal(size=units)
    d = rng.random(units) < 1 / (1 + np.exp(0.5 - 0.8 * x))
    if unbalanced:
        unit, period = np.repeat(np.arange(units), 2), np.tile([1, 2], units)
        keep = rng.random(2 * units) > 0.3
        unit, period = unit[keep], period[keep]
    else:
        unit, period = np.arange(units), np.repeat([1, 2], SIM_N)
    post = period == 2
    xi, di = x[unit], d[unit]
    y = (1 + xi + 0.5 * di + post * (0.5 + xi) + di * post * (1 + 0.5 * xi)
         + rng.normal(size=len(unit)))  # fmt: skip
    return pd.DataFrame({"unit": unit, "time": period, "x": xi, "y": y,
                         "cohort": np.where(di, 2, 0)})  # fmt: skip


@pytest.mark.parametrize("unbalanced", [False, True])
def test_simulated_improved_dr_is_unbiased_with_nominal_coverage(unbalanced: bool) -> None:
    truth = _true_att()
    est, se, naive = [], [], []
    for seed in range(SIM_REPS):
        df = _sim_draw(seed, unbalanced)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PanelWarning)
            panel = Panel(df, unit="unit", time="time", cohort="cohort")
        kw = {"repeated_cross_section": not unbalanced, "seed": 1}
        res = callaway_santanna(panel, y="y", covariates=["x"], **kw)  # type: ignore[arg-type]
        est.append(float(res.estimate[0]))
        se.append(float(res.std_error[0]))
        naive.append(float(callaway_santanna(panel, y="y", **kw).estimate[0]))  # type: ignore[arg-type]
    est_a, se_a = np.array(est), np.array(se)
    mc_se = est_a.std(ddof=1) / np.sqrt(SIM_REPS)
    # unbiased: within 4 Monte Carlo standard errors
    assert abs(est_a.mean() - truth) < 4 * mc_se
    # without covariates the x-dependent trend biases the estimate (by E[x|D=1] − E[x|D=0])
    assert np.mean(naive) - truth > 10 * mc_se
    coverage = np.mean(np.abs(est_a - truth) <= 1.959964 * se_a)
    assert abs(coverage - 0.95) < SIM_COVERAGE_BAND
    # analytic SE vs the Monte Carlo spread: within 15% (sd of an sd estimate ≈ 1/sqrt(2R))
    assert se_a.mean() / est_a.std(ddof=1) == pytest.approx(1.0, abs=0.15)


# ---- alternative algorithms, weights, inference, bad input on the cross-section paths -----


def _did_coefficient(rows: pd.DataFrame, g: int, t: int) -> float:
    """Coefficient on D×post of y ~ 1 + D + post + D×post (OLS) on a cell's rows."""
    d = (rows["first.treat"] == g).to_numpy(float)
    post = (rows["year"] == t).to_numpy(float)
    x = np.column_stack([np.ones(len(rows)), d, post, d * post])
    return float(np.linalg.lstsq(x, rows["lemp"].to_numpy(), rcond=None)[0][3])


@pytest.mark.parametrize("rcs", [False, True])
def test_each_cell_is_the_two_by_two_regression_on_its_rows(rcs: bool) -> None:
    """Alternative algorithm: without covariates every unbalanced-panel / cross-section cell is
    the interaction coefficient of the saturated 2×2 regression on the rows of cohort g and its
    comparison cohorts observed in the cell's two periods (not-yet-treated, R did's rule)."""
    df = _frame()
    case = {"didstudy": {"control_group": "notyet", "repeated_cross_section": rcs}}
    res = _fit(case)
    cohort = df["first.treat"].replace(0, np.inf)
    for row in res.tidy().itertuples():
        g, t, b = int(row.group), int(row.time), int(row.base_time)
        controls = np.isinf(cohort) | ((cohort > max(t, b)) & (cohort != g))
        rows = df[df["year"].isin([t, b]) & ((cohort == g) | controls)]
        assert row.estimate == pytest.approx(_did_coefficient(rows, g, t), abs=EXACT)


def test_integer_weights_equal_duplicated_rows() -> None:
    """Weight 2 on a row of a repeated cross-section gives the same improved-DR ATT(g,t) as the
    row entered twice (weights enter the tilting score, both regressions and every mean)."""
    df = _frame().assign(row=lambda d: np.arange(len(d)))  # every row its own unit
    w = (df.index % 3 == 0).astype(float) + 1.0
    weighted = Panel(df.assign(w=w), unit="row", time="year", cohort="first.treat")
    again = df.loc[w == 2].assign(row=lambda d: d["row"] + 100_000)
    dup = Panel(pd.concat([df, again], ignore_index=True), unit="row", time="year",
                cohort="first.treat")  # fmt: skip
    kw = {"covariates": ["lpop"], "repeated_cross_section": True, "seed": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        a = callaway_santanna(weighted, y="lemp", weights="w", **kw)  # type: ignore[arg-type]
        b = callaway_santanna(dup, y="lemp", **kw)  # type: ignore[arg-type]
    assert a.valid.all()
    np.testing.assert_allclose(a.estimate, b.estimate, atol=1e-8)


def test_bootstrap_se_matches_analytic_on_the_cross_section_path() -> None:
    """The multiplier bootstrap uses the same influence functions: SIMULATED cross-section
    (2,000 rows per period), 9,999 draws, within 5% (the IQR-based SE has a relative sd of
    about 1.2% at that many draws)."""
    df = _sim_draw(7, unbalanced=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)  # cohort-2 rows exist only in period 2
        panel = Panel(df, unit="unit", time="time", cohort="cohort")
    res = callaway_santanna(panel, y="y", covariates=["x"], repeated_cross_section=True, seed=2)
    for kind in ("mammen", "rademacher"):
        boot = res.with_inference(bootstrap=True, reps=9999, kind=kind)
        np.testing.assert_allclose(boot.std_error, res.std_error, rtol=0.05)


def test_no_overlap_on_the_cross_section_path_is_a_missing_cell_with_a_warning() -> None:
    """A covariate that separates cohort 2004 from the comparison rows: the tilting score
    cannot balance it; those cells are missing with a warning naming them, the rest stand."""
    df = _frame()
    df["sep"] = np.where(df["first.treat"] == 2004, 1.0, 0.0) + 0.01 * (df["countyreal"] % 7)
    for rcs in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PanelWarning)
            p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
        with pytest.warns(GroupTimeWarning, match=r"ATT\(2004,2004\.\.2007\)"):
            res = callaway_santanna(p, y="lemp", covariates=["sep"], repeated_cross_section=rcs,
                                    seed=1)  # fmt: skip
        table = res.tidy()
        assert table.loc[table["group"] == 2004, "estimate"].isna().all()
        assert table.loc[table["group"] != 2004, "estimate"].notna().all()
        assert np.isfinite(res.aggregate("simple").overall_estimate)


def test_too_few_rows_for_the_covariates_is_a_missing_cell() -> None:
    """Cohort 2004 kept with only 2 rows in 2003: fewer rows than the 2 coefficients + 1 of the
    per-period regressions; the cells that use 2003 are missing with a warning."""
    df = _frame()
    first = df[(df["first.treat"] == 2004) & (df["year"] == 2003)].index
    df = df.drop(index=first[2:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.warns(GroupTimeWarning, match="too few observations"):
        res = callaway_santanna(p, y="lemp", covariates=["lpop"], seed=1)
    table = res.tidy()
    assert table.loc[table["group"] == 2004, "estimate"].isna().all()
    assert table.loc[table["group"] != 2004, "estimate"].notna().all()


def test_time_varying_covariate_on_unbalanced_panel_uses_each_rows_values() -> None:
    """R did's unbalanced path (and csdid's) uses each row's own covariate values; the warning
    says so (not the balanced panel's base-period rule), and the estimate is the cross-section
    estimator on those rows."""
    df = _frame().assign(x=lambda d: d["lpop"] + 0.05 * (d["year"] - 2003))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    with pytest.warns(PanelWarning, match="each row's own values"):
        res = callaway_santanna(p, y="lemp", covariates=["x"], seed=1)
    assert any("own values" in n for n in res.notes)
    cohort = df["first.treat"].replace(0, np.inf)
    rows = df[df["year"].isin([2003, 2006]) & ((cohort == 2004) | np.isinf(cohort))]
    x = np.column_stack([np.ones(len(rows)), rows["x"].to_numpy()])
    att, _ = rc_twobytwo(rows["lemp"].to_numpy(), (rows["year"] == 2006).to_numpy(float),
                         (rows["first.treat"] == 2004).to_numpy(float), x,
                         np.ones(len(rows)), "dr")  # fmt: skip
    row = res.tidy().query("group == 2004 and time == 2006")
    assert row["estimate"].item() == pytest.approx(att, abs=EXACT)


@pytest.mark.parametrize("scale", [1e-3, 1e3])
@pytest.mark.parametrize("rcs", [None, False, True])
def test_estimates_do_not_depend_on_covariate_units(scale: float, rcs: bool | None) -> None:
    """Invariance: measuring lpop in other units (×1e-3, ×1e3) changes no ATT(g,t) and no SE,
    for every method, on the balanced panel (None), the unbalanced panel and cross-sections.
    (The separation check once looked at |γ| > 30 and refused every cell of lpop × 1e-3.)"""
    full = pd.read_csv(MPDTA / "mpdta.csv")
    df = full if rcs is None else _frame()
    df = df.assign(x=df["lpop"] * scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        p = Panel(df, unit="countyreal", time="year", cohort="first.treat")
    for method in ("dr", "dr_traditional", "ipw", "reg"):
        kw = {"method": method, "repeated_cross_section": bool(rcs), "seed": 1}
        a = callaway_santanna(p, y="lemp", covariates=["lpop"], **kw)  # type: ignore[arg-type]
        b = callaway_santanna(p, y="lemp", covariates=["x"], **kw)  # type: ignore[arg-type]
        assert b.valid.all()
        np.testing.assert_allclose(b.estimate, a.estimate, atol=1e-8)
        np.testing.assert_allclose(b.std_error, a.std_error, rtol=1e-6)
