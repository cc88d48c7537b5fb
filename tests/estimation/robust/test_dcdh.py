"""de Chaisemartin–D'Haultfœuille DID_l: py-did-multiplegt-dyn golden (absorbing and switching
on/off), identity with hand-computed not-yet-treated 2x2 means, SIMULATED unbiasedness."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
from didstudy.errors import ValidationError
from didstudy.estimation.robust.dcdh import dcdh
from tests.estimation.robust.conftest import REF, hetero_panel

#: py-did-multiplegt-dyn computes the same sums in polars: rounding only.
PEER_TOL = 1e-10
IDENTITY_TOL = 1e-10


def _switching_panel() -> ds.Panel:
    df = pd.read_csv(REF / "sim_switching.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ds.Panel(df, unit="unit", time="t", treat="d", allow_switching=True)


@pytest.mark.parametrize("case", ["staggered", "switching"])
def test_dcdh_matches_did_multiplegt_dyn(case, sim_panel, golden):
    ref = golden["dcdh"][case]
    panel = sim_panel if case == "staggered" else _switching_panel()
    res = dcdh(panel, "y", effects=3, placebos=2)
    by = {k: (b, s) for k, b, s in zip(res.rel_time, res.coef, res.se, strict=True)}
    for ell in (1, 2, 3):
        assert by[ell - 1][0] == pytest.approx(ref["effects"][ell - 1], abs=PEER_TOL)
        assert by[ell - 1][1] == pytest.approx(ref["effects_se"][ell - 1], rel=PEER_TOL)
    for ell in (1, 2):
        assert by[-1 - ell][0] == pytest.approx(ref["placebos"][ell - 1], abs=PEER_TOL)
        assert by[-1 - ell][1] == pytest.approx(ref["placebos_se"][ell - 1], rel=PEER_TOL)
    assert res.pretrend is not None
    assert res.pretrend.p_chi2 == pytest.approx(ref["p_jointplacebo"], abs=1e-9)
    cells = res.cells
    assert cells is not None
    n_eff = cells[cells.rel_time >= 0].n_switchers.tolist()
    assert n_eff == [int(x) for x in ref["effects_switchers"]]


def test_dcdh_equals_not_yet_treated_two_by_two_means():
    """DID_l = switcher-weighted mean of (Ybar_{g,g-1+l} - Ybar_{g,g-1}) minus the same change of
    units not yet treated at g-1+l (absorbing, balanced: computed from cell means)."""
    panel, _ = hetero_panel(4, n_units=80)
    frame = panel.frame
    frame["g"] = frame["_cohort"]
    res = dcdh(panel, "y", effects=3, placebos=0)
    m = frame.groupby(["unit", "year"]).y.first().unstack()
    g_of = frame.groupby("unit").g.first()
    years = list(m.columns)
    for ell, est in zip(range(1, 4), res.coef, strict=True):
        num, den = 0.0, 0
        for g in sorted(g_of[np.isfinite(g_of)].unique()):
            t, b = int(g) - 1 + ell, int(g) - 1
            if t > years[-1] or b < years[0]:
                continue
            ctrl = g_of[g_of > t].index
            if len(ctrl) == 0:
                continue
            units = g_of[g_of == g].index
            d = (m.loc[units, t] - m.loc[units, b]).mean() - (
                m.loc[ctrl, t] - m.loc[ctrl, b]
            ).mean()
            num += len(units) * d
            den += len(units)
        assert est == pytest.approx(num / den, abs=IDENTITY_TOL)


def test_simulated_unbiased():
    """SIMULATED: DID_l is unbiased for the average effect l-1 periods after adoption."""
    errs = []
    for seed in range(10):
        panel, truth = hetero_panel(seed)
        res = dcdh(panel, "y", effects=3, placebos=1)
        by = dict(zip(res.rel_time, res.coef, strict=True))
        errs.append([by[h] - truth[h] for h in range(3)] + [by[-2]])
    # sampling error of a mean over 10 replications: |bias| < 0.1 (placebo truth 0)
    assert np.all(np.abs(np.mean(errs, axis=0)) < 0.1)


def test_bad_arguments():
    panel, _ = hetero_panel(0, n_units=20)
    with pytest.raises(ValidationError):
        dcdh(panel, "y", effects=0)
