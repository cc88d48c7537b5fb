"""Wild cluster bootstrap of the robust estimators (decision 0054): enumeration = re-runs.

Every enumerated draw's t statistic must equal the t statistic of the estimator itself re-run
on ``y* = y~ + v_g u~`` (the restricted DGP built here from explicit dummy regressions), so the
per-draw algebra, the implicit weights and the linear score maps are all checked against the
estimators' own code.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
from didstudy.errors import DataError, ValidationError
from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.sun_abraham import sun_abraham
from didstudy.inference.wild_bootstrap import wild_bootstrap
from didstudy.inference.wild_kernel import enumerate_signs
from didstudy.inference.wild_robust import linear_problem
from didstudy.results.event_study import EventStudyResult

# two algebras of the same linear estimator (closed form per draw vs a full re-run): rounding
REFIT_TOL = 1e-10
pytestmark = pytest.mark.filterwarnings("ignore::didstudy.errors.InferenceWarning")
#: draws re-run per case (the first of the 2^G enumerated sign vectors, all-ones first)
N_RERUN = 24


def _panel(controls: int = 0) -> Any:
    df = ds.simulate_staggered(
        n_units=12, periods=range(1, 7), cohorts={3: 3, 5: 3}, n_never=6,
        n_controls=controls, heterogeneous=True, seed=3,
    )  # fmt: skip
    return ds.as_panel(df.drop(columns=["treat"]), unit="unit", time="time", cohort="cohort")


def _dummies(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    d = pd.get_dummies(frame[["unit", "time"]].astype(str), drop_first=True, dtype=float)
    return np.column_stack([np.ones(len(frame)), d.to_numpy()])[rows]


def _lstsq_fit(Z: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(Z[rows], y[rows], rcond=None)
    out: np.ndarray = Z @ coef
    return out


def _resid_imputation(panel: Any, y: np.ndarray, by: str) -> np.ndarray:
    """[untreated residuals of an explicit FE regression; tau - its group mean]."""
    f = panel.frame
    treated = (f["time"] >= f["_cohort"]).to_numpy()
    Z = _dummies(f, np.arange(len(f)))
    fitted = _lstsq_fit(Z, y, np.flatnonzero(~treated))
    u = y - fitted
    cell = f["_cohort"].astype(str) + (":" + f["time"].astype(str) if by != "cohort" else "")
    u[treated] -= pd.Series(u[treated]).groupby(cell[treated].to_numpy()).transform("mean")
    return u


def _resid_did2s(panel: Any, y: np.ndarray, ks: list[int]) -> np.ndarray:
    f = panel.frame
    treated = (f["time"] >= f["_cohort"]).to_numpy()
    Z = _dummies(f, np.arange(len(f)))
    ytil = y - _lstsq_fit(Z, y, np.flatnonzero(~treated))
    rel = (f["time"] - f["_cohort"]).to_numpy()
    X2 = np.column_stack([(rel == k).astype(float) for k in ks])
    coef, *_ = np.linalg.lstsq(X2, ytil, rcond=None)
    out: np.ndarray = ytil - X2 @ coef
    return out


def _implicit_weights(theta: Callable[[np.ndarray], float], n: int) -> np.ndarray:
    """``z`` with ``theta(y) = z'y``, by running the estimator on the unit vectors."""
    return np.array([theta(np.eye(n)[i]) for i in range(n)])


def _estimate(res: EventStudyResult, hyp: str) -> tuple[float, float]:
    if hyp == "post_average":
        assert res.post_average is not None
        return res.post_average.estimate, res.post_average.std_error
    i = res.terms.index(hyp)
    return float(res.coef[i]), float(np.sqrt(res.vcov[i, i]))


_LINEAR: dict[str, Callable[..., EventStudyResult]] = {"imputation": imputation, "did2s": did2s}


@pytest.mark.parametrize(
    ("name", "hyp", "null", "kw"),
    [
        ("imputation", "rel_time::0", 0.0, {}),
        ("imputation", "post_average", 0.05, {}),
        ("imputation", "post_average", 0.0, {"leave_out": True, "avg_effects_by": "cohort"}),
        ("did2s", "rel_time::1", 0.0, {"window": (-2, 2)}),
        ("did2s", "post_average", -0.02, {"window": (-2, 2)}),
    ],
    ids=["imp-h0", "imp-post", "imp-leave-out", "did2s-h1", "did2s-post"],
)
def test_linear_enumeration_equals_estimator_reruns(
    name: str, hyp: str, null: float, kw: dict[str, Any]
) -> None:
    panel = _panel()
    fn = _LINEAR[name]
    res = fn(panel, "y", **kw)
    wb = wild_bootstrap(res, panel, hyp, reps=9999, null=null)
    assert wb.enumerated and wb.reps == 2**12
    frame = panel.frame
    y = frame["y"].to_numpy(dtype=float)

    def rerun(values: np.ndarray) -> tuple[float, float]:
        return _estimate(fn(panel.with_frame(frame.assign(y=values)), "y", **kw), hyp)

    z = _implicit_weights(lambda v: rerun(v)[0], y.size)
    ks = [k for k in res.rel_time]
    by = kw.get("avg_effects_by", "cohort_period")
    u = _resid_imputation(panel, y, by) if name == "imputation" else _resid_did2s(panel, y, ks)
    est, _ = _linear_problem_estimate(panel, res, hyp)
    np.testing.assert_allclose(est.z, z, atol=REFIT_TOL)
    np.testing.assert_allclose(est.resid, u, atol=REFIT_TOL)
    theta = float(z @ y)
    kappa = (theta - null - float(z @ u)) / float(z @ z)
    u_r = u + kappa * z
    y_r = y - u_r
    assert rerun(y_r)[0] == pytest.approx(null, abs=REFIT_TOL)  # the null holds in the DGP
    codes = pd.factorize(frame["unit"], sort=True)[0]
    signs = enumerate_signs(12)[:N_RERUN]
    brute = []
    for v in signs:
        b_est, b_se = rerun(y_r + v[codes] * u_r)
        brute.append((b_est - null) / b_se)
    np.testing.assert_allclose(wb.t_draws[:N_RERUN], brute, rtol=REFIT_TOL, atol=REFIT_TOL)
    assert wb.t_draws[0] == pytest.approx(wb.statistic, rel=REFIT_TOL)
    # the observed statistic is the estimator's own
    e, s = _estimate(res, hyp)
    assert wb.statistic == pytest.approx((e - null) / s, rel=1e-9)


def _linear_problem_estimate(panel: Any, res: EventStudyResult, hyp: str) -> Any:
    if hyp == "post_average":
        assert res.post_average is not None
        combo = dict(zip(res.post_average.terms, res.post_average.weights, strict=True))
    else:
        combo = {hyp: 1.0}
    return linear_problem(panel, res, combo, {}, None)


@pytest.mark.parametrize("name", ["sun_abraham", "etwfe"])
def test_saturated_enumeration_equals_estimator_reruns(name: str) -> None:
    """Restricted LS of the explicit dummy regression under the combination, re-run per draw."""
    panel = _panel(controls=1 if name == "etwfe" else 0)
    fn = sun_abraham if name == "sun_abraham" else etwfe
    controls = ["x1"] if name == "etwfe" else []
    res = fn(panel, "y", controls)
    hyp = "post_average"
    wb = wild_bootstrap(res, panel, hyp, reps=9999)
    frame = panel.frame
    y = frame["y"].to_numpy(dtype=float)

    def rerun(values: np.ndarray) -> tuple[float, float]:
        return _estimate(fn(panel.with_frame(frame.assign(y=values)), "y", controls), hyp)

    # the combination is linear in y: z by unit vectors; the restricted fit is the LS fit of
    # y on the saturated design (its column space found by re-running on dummies is overkill:
    # the fitted values of the unrestricted fit are y - u with u orthogonal to z)
    z = _implicit_weights(lambda v: rerun(v)[0], y.size)
    f = frame.copy()
    cells = (f["time"] >= f["_cohort"]) if name == "etwfe" else (
        np.isfinite(f["_cohort"]) & (f["time"] - f["_cohort"] != -1)
    )  # fmt: skip
    key = np.where(cells, f["_cohort"].astype(str) + ":" + f["time"].astype(str), "none")
    D = pd.get_dummies(pd.Series(key), dtype=float).drop(columns="none").to_numpy()
    fe = ["cohort", "time"] if name == "etwfe" else ["unit", "time"]
    F = pd.get_dummies(frame[fe].astype(str), drop_first=True, dtype=float).to_numpy()
    extra = [frame[["x1"]].to_numpy()] if controls else []
    if controls:
        xdm = frame["x1"] - frame.groupby("_cohort", dropna=False)["x1"].transform("mean")
        extra += [D * xdm.to_numpy()[:, None]]
        g = pd.get_dummies(frame["_cohort"].astype(str), dtype=float).to_numpy()
        t = pd.get_dummies(frame["time"].astype(str), drop_first=True, dtype=float).to_numpy()
        extra += [g * frame[["x1"]].to_numpy(), t * frame[["x1"]].to_numpy()]
    X = np.column_stack([np.ones(len(frame)), D, F, *extra])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    u = y - X @ coef
    assert abs(float(z @ u)) < 1e-8  # z lies in the column space of the explicit design
    theta = float(z @ y)
    u_r = u + theta / float(z @ z) * z  # restricted LS residuals under z'Xb = 0
    y_r = y - u_r
    codes = pd.factorize(frame["unit"], sort=True)[0]
    brute = []
    for v in enumerate_signs(12)[:N_RERUN]:
        b_est, b_se = rerun(y_r + v[codes] * u_r)
        brute.append(b_est / b_se)
    np.testing.assert_allclose(wb.t_draws[:N_RERUN], brute, rtol=1e-8, atol=1e-8)


def test_wcu_and_aggregates_and_errors() -> None:
    panel = _panel()
    res = imputation(panel, "y", pretrends=2)
    wcu = wild_bootstrap(res, panel, "att", reps=9999, impose_null=False)
    wcr = wild_bootstrap(res, panel, "att", reps=9999)
    att = next(a for a in res.aggregates if a.name == "att")
    assert wcu.estimate == pytest.approx(att.estimate, rel=1e-9)
    assert wcu.std_error == pytest.approx(att.std_error, rel=1e-9)
    # WCU enumerated: the bootstrap distribution is symmetric (v and -v give -t*)
    np.testing.assert_allclose(np.sort(wcu.t_draws), -np.sort(wcu.t_draws)[::-1], atol=1e-9)
    assert 0.0 < wcr.p_value <= 1.0 and wcr.conf_low < wcr.estimate < wcr.conf_high
    with pytest.raises(ValidationError, match="pre-trend"):
        wild_bootstrap(res, panel, "rel_time::-1", reps=99, seed=1)
    with pytest.raises(ValidationError, match="Panel"):
        wild_bootstrap(res, panel.frame, "att", reps=99, seed=1)
    with pytest.raises(ValidationError, match="estimator_args"):
        frame = panel.frame.assign(d=panel.frame["_treated"].astype(float))
        twfe_res = ds.twfe(frame, "y", "d", unit="unit", time="time", fe=["unit", "time"])
        wild_bootstrap(twfe_res, frame, "d", reps=99, seed=1, estimator_args={"fe": "unit"})
    weighted_panel = panel.with_frame(panel.frame.assign(w=1.0 + np.arange(len(panel.frame)) % 3))
    weighted = imputation(weighted_panel, "y", weights="w")
    with pytest.raises(ValidationError, match="unweighted"):
        wild_bootstrap(weighted, weighted_panel, "att", reps=99, seed=1)
    with pytest.raises(ValidationError, match="bootstrap cluster"):
        wild_bootstrap(res, panel, "att", reps=99, seed=1, bootstrap_cluster="time")
    other = _panel(controls=1)
    with warnings.catch_warnings(), pytest.raises(DataError, match="reproduce"):
        warnings.simplefilter("ignore")
        bumped = other.with_frame(other.frame.assign(y=other.frame["y"] + other.frame["x1"]))
        wild_bootstrap(res, bumped, "att", reps=99, seed=1)


@pytest.mark.parametrize("name", ["imputation", "did2s"])
def test_low_rank_split_equals_dense_maps(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With many clusters the score maps are applied as diagonal + low rank: same draws."""
    import didstudy.inference.wild_linear as wl

    df = ds.simulate_staggered(
        n_units=90, periods=range(1, 9), cohorts={4: 10, 6: 10}, n_never=70, n_controls=1, seed=5
    )
    panel = ds.as_panel(df.drop(columns=["treat"]), unit="unit", time="time", cohort="cohort")
    res = imputation(panel, "y", ["x1"]) if name == "imputation" else did2s(panel, "y", ["x1"])
    assert res.post_average is not None
    combo = dict(zip(res.post_average.terms, res.post_average.weights, strict=True))
    est, codes = linear_problem(panel, res, combo, {}, None)
    aff = wl._affine(est, codes, 90, True)
    assert aff.M0.M is None and aff.M0.Q is not None and aff.M0.Q.shape[1] < 45  # split
    split = wl.linear_draws(
        est, codes, None, restricted=True, rng=np.random.default_rng(3), reps=500
    )
    monkeypatch.setattr(wl, "_split", lambda M: wl._Map(M))
    dense = wl.linear_draws(
        est, codes, None, restricted=True, rng=np.random.default_rng(3), reps=500
    )
    for null in (0.0, 0.05):
        np.testing.assert_allclose(split.t_stats(null), dense.t_stats(null), rtol=1e-9, atol=1e-9)
    # the structured one-pass maps equal the estimator's score map applied column by column
    from dataclasses import replace

    u = est.resid
    np.testing.assert_allclose(
        wl._cluster_maps(est, u, codes, 90),
        wl._cluster_maps(replace(est, maps=None), u, codes, 90),
        rtol=0,
        atol=1e-12 * float(np.abs(wl._cluster_maps(est, u, codes, 90)).max()),
    )


def test_results_that_are_not_linear_regressions_are_refused_with_the_fix() -> None:
    """A Callaway-Sant'Anna event study is not re-estimable by the wild bootstrap: a clear
    refusal pointing to its multiplier bootstrap (it was bootstrapped as a TWFE event study and
    failed with 'the data do not reproduce the result')."""
    import didstudy as ds
    from didstudy.errors import EstimationError

    df = ds.load_dataset("mpdta")
    panel = ds.as_panel(df, unit="countyreal", time="year", cohort="first.treat")
    es = ds.callaway_santanna(panel, "lemp", base_period="universal")
    study = es.aggregate("dynamic").to_event_study()
    assert study.estimator == "callaway_santanna"
    with pytest.raises(EstimationError, match=r"bootstrap=True"):
        ds.wild_bootstrap(study, panel, "post_average", reps=99, seed=1)


@pytest.mark.parametrize("name", ["sun_abraham", "etwfe"])
def test_weighted_saturated_bootstrap_equals_duplicated_units(name: str) -> None:
    """Weighted Sun-Abraham / ETWFE: integer weights = the units entered that many times, the
    copies in their original cluster — the enumerated bootstrap distribution, p-value and
    interval agree (the t statistics up to fixest's row-counting factor); constant weights =
    unweighted draws."""
    df = ds.simulate_staggered(
        n_units=12, periods=range(1, 7), cohorts={3: 3, 5: 3}, n_never=6, n_controls=1,
        heterogeneous=True, seed=3,
    ).drop(columns=["treat"])  # fmt: skip
    units = sorted(df["unit"].unique())
    df["w"] = df["unit"].map({u: 2.0 if i % 3 == 0 else 1.0 for i, u in enumerate(units)})
    df["cl"] = df["unit"]
    copies = df[df["w"] == 2.0].assign(unit=lambda f: f["unit"].astype(str) + "_copy")
    twice = pd.concat([df.assign(unit=df["unit"].astype(str)), copies], ignore_index=True)
    panel = ds.as_panel(df, unit="unit", time="time", cohort="cohort")
    panel2 = ds.as_panel(twice, unit="unit", time="time", cohort="cohort", cluster="cl")
    fn = sun_abraham if name == "sun_abraham" else etwfe
    controls = ["x1"] if name == "etwfe" else []
    weighted = fn(panel, "y", controls, weights="w", cluster="cl")
    duplicated = fn(panel2, "y", controls, cluster="cl")
    a = wild_bootstrap(weighted, panel, "post_average", reps=9999, cluster="cl")
    b = wild_bootstrap(duplicated, panel2, "post_average", reps=9999, cluster="cl")
    assert a.p_value == pytest.approx(b.p_value, abs=1e-12)
    assert a.conf_low == pytest.approx(b.conf_low, abs=1e-10)
    assert a.conf_high == pytest.approx(b.conf_high, abs=1e-10)
    ratio = np.sort(a.t_draws) / np.sort(b.t_draws)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-8)
    panel3 = ds.as_panel(df.assign(c=3.0), unit="unit", time="time", cohort="cohort")
    c = wild_bootstrap(fn(panel3, "y", controls, weights="c"), panel3, "post_average", reps=9999)
    u = wild_bootstrap(fn(panel3, "y", controls), panel3, "post_average", reps=9999)
    np.testing.assert_allclose(c.t_draws, u.t_draws, rtol=1e-9, atol=1e-12)
