"""ETWFE (Wooldridge 2021) and Sun–Abraham (2021): published numbers, pyfixest, identities with
imputation and with a hand-computed Callaway–Sant'Anna, and a SIMULATED design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
from didstudy.errors import ValidationError
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.sun_abraham import sun_abraham
from tests.estimation.robust.conftest import hetero_panel

#: Exact identities: the same least squares solved two ways, rounding only.
IDENTITY_TOL = 1e-10
#: R etwfe README prints estimates to 6 decimals.
PRINTED6 = 5e-7
#: SE: fixest counts the collinear varying slopes of the README model in K (our screen drops
#: them first): (n-1)/(n-K) differs by one parameter, 0.02% in the standard error.
K_COUNT_REL = 3e-4
#: pyfixest demeans iteratively (fixef_tol 1e-8).
PYFIXEST_TOL = 1e-8


def test_etwfe_lpop_matches_published_readme(mpdta_panel):
    """grantmcdermott/etwfe README.md (commit 03c205e): etwfe(lemp ~ lpop, tvar = year,
    gvar = first.treat, vcov = ~countyreal) and emfx(type = "event")."""
    res = etwfe(mpdta_panel, "lemp", ["lpop"])
    cells = res.cells
    assert cells is not None
    published = {
        (2004, 2004): (-0.021248, 0.021728),
        (2004, 2005): (-0.081850, 0.027375),
        (2004, 2006): (-0.137870, 0.030795),
        (2004, 2007): (-0.109539, 0.032322),
        (2006, 2006): (0.002537, 0.018883),
        (2006, 2007): (-0.045093, 0.021987),
        (2007, 2007): (-0.045955, 0.017975),
    }
    got = {(int(r.cohort), int(r.period)): (r.estimate, r.std_error) for r in cells.itertuples()}
    for key, (b, s) in published.items():
        assert got[key][0] == pytest.approx(b, abs=PRINTED6)
        assert got[key][1] == pytest.approx(s, rel=K_COUNT_REL)
    event = {
        -0: (-0.0332, 0.0134),
        1: (-0.0573, 0.0172),
        2: (-0.1379, 0.0308),
        3: (-0.1095, 0.0323),
    }
    for k, b, s in zip(res.rel_time, res.coef, res.se, strict=True):
        assert b == pytest.approx(event[k][0], abs=5e-5)
        assert s == pytest.approx(event[k][1], abs=5e-5 + K_COUNT_REL * event[k][1])


@pytest.mark.parametrize("panel_name", ["mpdta_panel", "sim_panel"])
def test_imputation_equals_etwfe_not_yet_for_every_cell(panel_name, request):
    panel = request.getfixturevalue(panel_name)
    y = "lemp" if panel_name == "mpdta_panel" else "y"
    imp = imputation(panel, y).cells
    for fe in ("cohort", "unit"):
        et = etwfe(panel, y, fe=fe).cells
        assert imp is not None and et is not None
        merged = imp.merge(et, on=["cohort", "period"], suffixes=("_imp", "_et"))
        assert len(merged) == len(imp) == len(et)
        np.testing.assert_allclose(merged.estimate_imp, merged.estimate_et, atol=IDENTITY_TOL)
    # and the emfx event aggregation equals the imputation horizons
    a = imputation(panel, y)
    b = etwfe(panel, y, fe="unit")
    np.testing.assert_allclose(a.coef, b.coef, atol=IDENTITY_TOL)


def test_sun_abraham_matches_pyfixest_saturated(mpdta_panel, golden):
    ref = golden["saturated"]
    res = sun_abraham(mpdta_panel, "lemp")
    assert [float(k) for k in res.rel_time] == ref["aggregate"]["rel_time"]
    np.testing.assert_allclose(res.coef, ref["aggregate"]["estimate"], atol=PYFIXEST_TOL)
    np.testing.assert_allclose(res.se, ref["aggregate"]["std_error"], rtol=PYFIXEST_TOL)
    cells = res.cells
    assert cells is not None
    got = {(int(r.rel_time), int(r.cohort)): r.estimate for r in cells.itertuples()}
    for term, b in zip(ref["cells"]["terms"], ref["cells"]["estimate"], strict=True):
        e, g = term.split(":first_treated_period::")
        assert got[(int(float(e.split("::")[1])), int(g))] == pytest.approx(b, abs=PYFIXEST_TOL)


#: bcallaway11/twfeweights README.md (commit 235ea0a), `did::att_gt(..., control_group =
#: "nevertreated", base_period = "universal")` on mpdta, printed to 9 decimals.
PUBLISHED_CS_UNIVERSAL = {
    (2004, 2004): -0.010503246,
    (2004, 2005): -0.070423158,
    (2004, 2006): -0.137258739,
    (2004, 2007): -0.100811363,
    (2006, 2003): -0.003769294,
    (2006, 2004): 0.002750819,
    (2006, 2006): -0.004594607,
    (2006, 2007): -0.041224472,
    (2007, 2003): 0.003306357,
    (2007, 2004): 0.033813012,
    (2007, 2005): 0.031087119,
    (2007, 2007): -0.026054411,
}
#: 9 printed decimals.
PRINTED9 = 5e-10


def test_sun_abraham_cells_equal_published_cs_universal_on_mpdta(mpdta_panel):
    """SA (never-treated) cells = published CS ATT(g,t), never-treated, universal base."""
    cells = sun_abraham(mpdta_panel, "lemp").cells
    assert cells is not None
    got = {(int(r.cohort), int(r.period)): r.estimate for r in cells.itertuples()}
    assert set(got) == set(PUBLISHED_CS_UNIVERSAL)
    for key, value in PUBLISHED_CS_UNIVERSAL.items():
        assert got[key] == pytest.approx(value, abs=PRINTED9)


def _cs_never_universal(frame: pd.DataFrame, y: str) -> dict[tuple[int, int], float]:
    """Independent Callaway–Sant'Anna ATT(g,t), never-treated controls, base g-1: 2x2 means."""
    m = frame.groupby(["cohort", "year"])[y].mean()
    never = frame[frame.cohort == 0].groupby("year")[y].mean()
    out = {}
    for g in sorted(c for c in frame.cohort.unique() if c > 0):
        for t in sorted(frame.year.unique()):
            if t == g - 1:
                continue
            out[(g, t)] = (m[(g, t)] - m[(g, g - 1)]) - (never[t] - never[g - 1])
    return out


def test_sun_abraham_never_equals_callaway_santanna_with_cohort_shares(sim_panel):
    frame = pd.read_csv(
        __import__("pathlib").Path(__file__).resolve().parents[2]
        / "reference"
        / "robust"
        / "sim_staggered.csv"
    )
    cs = _cs_never_universal(frame, "y")
    res = sun_abraham(sim_panel, "y")
    n_g = frame[frame.cohort > 0].groupby("cohort").unit.nunique()
    for k, b in zip(res.rel_time, res.coef, strict=True):
        members = [(g, g + k) for g in n_g.index if (g, g + k) in cs]
        w = np.array([n_g[g] for g, _ in members], dtype=float)
        expect = float(np.dot(w / w.sum(), [cs[m] for m in members]))
        assert b == pytest.approx(expect, abs=IDENTITY_TOL)
    # the cells themselves are the CS ATT(g, t)
    for r in res.cells.itertuples():
        assert r.estimate == pytest.approx(cs[(r.cohort, r.period)], abs=IDENTITY_TOL)


def test_sun_abraham_never_cells_equal_etwfe_never(sim_panel):
    sa = sun_abraham(sim_panel, "y").cells
    et = etwfe(sim_panel, "y", control_group="never", fe="unit").cells
    merged = sa.merge(et, on=["cohort", "period"])
    assert len(merged) == len(sa)
    np.testing.assert_allclose(merged.estimate_x, merged.estimate_y, atol=IDENTITY_TOL)


def test_cohort_homogeneity_test_detects_heterogeneity():
    """SIMULATED: effects differ by cohort → the Sun–Abraham homogeneity test rejects."""
    panel, _ = hetero_panel(1, n_units=300)
    note = sun_abraham(panel, "y").notes[1]
    p = float(note.rsplit("p = ", 1)[1])
    assert p < 0.01


def test_simulated_unbiased():
    """SIMULATED: ETWFE and Sun–Abraham horizons are unbiased for the true ATT by horizon."""
    errs: dict[str, list[list[float]]] = {"etwfe": [], "sa": []}
    for seed in range(10):
        panel, truth = hetero_panel(seed)
        for name, res in (
            ("etwfe", etwfe(panel, "y")),
            ("sa", sun_abraham(panel, "y")),
        ):
            by = dict(zip(res.rel_time, res.coef, strict=True))
            errs[name].append([by[h] - truth[h] for h in range(3)])
    for name in ("etwfe", "sa"):
        # sampling error of a mean over 10 replications: |bias| < 0.1
        assert np.all(np.abs(np.mean(errs[name], axis=0)) < 0.1), name


def test_bad_control_groups():
    panel, _ = hetero_panel(0, n_units=20)
    with pytest.raises(ValidationError, match="not known"):
        sun_abraham(panel, "y", control_group="sometimes")  # type: ignore[arg-type]
    frame = panel.frame
    treated_only = frame[frame["_cohort"] < np.inf].drop(
        columns=[c for c in frame.columns if c.startswith("_")]
    )
    p2 = ds.Panel(treated_only, unit="unit", time="year", cohort="cohort")
    with pytest.raises(ValidationError, match="never-treated"):
        sun_abraham(p2, "y")
    with pytest.raises(ValidationError, match="never-treated"):
        etwfe(p2, "y", control_group="never")


def test_sun_abraham_and_etwfe_equal_the_callaway_santanna_estimator(sim_panel):
    """Issues 11 and 12: with never-treated controls and a universal base, the library's own
    Callaway-Sant'Anna cells equal the Sun-Abraham (and ETWFE never) cells, and its dynamic
    aggregation (cohort-share weights) equals the Sun-Abraham event study."""
    from didstudy.estimation.robust.callaway_santanna import callaway_santanna

    cs = callaway_santanna(sim_panel, "y", control_group="never", base_period="universal")
    cells = {
        (int(g), int(t)): float(b)
        for g, t, b in zip(cs.group, cs.time, cs.estimate, strict=True)
        if np.isfinite(b)
    }
    sa = sun_abraham(sim_panel, "y")
    for r in sa.cells.itertuples():
        assert r.estimate == pytest.approx(cells[(int(r.cohort), int(r.period))], abs=IDENTITY_TOL)
    et = etwfe(sim_panel, "y", control_group="never", fe="unit").cells
    for r in et.itertuples():
        assert r.estimate == pytest.approx(cells[(int(r.cohort), int(r.period))], abs=IDENTITY_TOL)
    dynamic = cs.aggregate("dynamic").to_event_study()
    by_e = dict(zip(dynamic.rel_time, dynamic.coef, strict=False))
    assert len(sa.rel_time) >= 4 and len(sa.cells) >= 4  # the identities are not vacuous
    for k, b in zip(sa.rel_time, sa.coef, strict=False):
        assert b == pytest.approx(by_e[k], abs=IDENTITY_TOL)
