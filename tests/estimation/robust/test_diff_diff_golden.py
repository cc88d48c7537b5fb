"""Point estimates and SEs against diff-diff 3.13.0 on the SIMULATED staggered panel."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.stacked import stacked_did
from didstudy.estimation.robust.sun_abraham import sun_abraham

#: diff-diff solves the same least squares (Rust/NumPy): rounding and its demeaning tolerance.
DIFF_DIFF_TOL = 1e-8


def _check(res, ref, se_too: bool) -> None:
    by = {k: (b, s) for k, b, s in zip(res.rel_time, res.coef, res.se, strict=True)}
    for k, b, s in zip(ref["rel_time"], ref["estimate"], ref["std_error"], strict=True):
        assert by[k][0] == pytest.approx(b, abs=DIFF_DIFF_TOL), k
        if se_too:
            assert by[k][1] == pytest.approx(s, rel=DIFF_DIFF_TOL), k


def test_imputation_and_two_stage(sim_panel, golden):
    ref = golden["diff_diff"]
    _check(imputation(sim_panel, "y"), ref["imputation"], se_too=False)
    # diff-diff's two-stage SE is the same GMM sandwich without small-sample factor
    _check(did2s(sim_panel, "y"), ref["two_stage"], se_too=True)


def test_stacked_matches_including_se(sim_panel, golden):
    _check(stacked_did(sim_panel, "y", window=(-2, 2)), golden["diff_diff"]["stacked"], True)


def test_etwfe_cells(sim_panel, golden):
    ref = golden["diff_diff"]["etwfe_cells"]
    cells = etwfe(sim_panel, "y").cells
    got = {(int(r.cohort), int(r.period)): r.estimate for r in cells.itertuples()}
    for (g, t), b in zip(ref["cells"], ref["estimate"], strict=True):
        assert got[(g, t)] == pytest.approx(b, abs=DIFF_DIFF_TOL)


def test_sun_abraham(sim_panel, golden):
    _check(sun_abraham(sim_panel, "y"), golden["diff_diff"]["sun_abraham"], se_too=False)
    assert np.isfinite(sun_abraham(sim_panel, "y").se).all()
