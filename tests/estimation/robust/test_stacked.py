"""Stacked DiD with WFH (2024) weights: identity with the trimmed aggregate ATT computed from
cell means, a SIMULATED design, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.errors import EstimationError, ValidationError
from didstudy.estimation.robust._common import panel_arrays
from didstudy.estimation.robust.stacked import stack_panel, stacked_did
from tests.estimation.robust.conftest import hetero_panel

#: Weighted least squares vs weighted cell means: rounding only.
IDENTITY_TOL = 1e-10


def _trimmed_att(A, k_pre, k_post, e):
    """sum_d (N^D_d / N^D) [(Ybar^D_{d,e} - Ybar^D_{d,-1}) - (Ybar^C_{d,e} - Ybar^C_{d,-1})]."""
    stack = stack_panel(A, k_pre, k_post)
    total, out = 0.0, 0.0
    for _, block in stack.groupby("subexp"):
        y = A.y[block["row"].to_numpy()]
        ev, tr = block["event"].to_numpy(), block["treated"].to_numpy() == 1
        did = (y[tr & (ev == e)].mean() - y[tr & (ev == -1)].mean()) - (
            y[~tr & (ev == e)].mean() - y[~tr & (ev == -1)].mean()
        )
        n_d = block.loc[tr, "unit"].nunique()
        out += n_d * did
        total += n_d
    return out / total


def test_weighted_stack_equals_trimmed_aggregate_att(sim_panel):
    A = panel_arrays(sim_panel, "y", (), estimator="t")
    res = stacked_did(sim_panel, "y", window=(-2, 2))
    for e, b in zip(res.rel_time, res.coef, strict=True):
        assert b == pytest.approx(_trimmed_att(A, 2, 2, e), abs=IDENTITY_TOL)


def test_simulated_unbiased_for_trimmed_target():
    """SIMULATED: effect (1 + 0.4 e)(1 + (2010 - g)/3); the target weighs cohorts by size."""
    errs = []
    for seed in range(10):
        panel, _ = hetero_panel(seed)
        A = panel_arrays(panel, "y", (), estimator="t")
        stack = stack_panel(A, 2, 2)
        sizes = stack[stack.treated == 1].groupby("subexp")["unit"].nunique()
        res = stacked_did(panel, "y", window=(-2, 2))
        by = dict(zip(res.rel_time, res.coef, strict=True))
        for e in (0, 1, 2):
            truth = sum(n * (1 + 0.4 * e) * (1 + (2010 - d) / 3) for d, n in sizes.items())
            errs.append(by[e] - truth / sizes.sum())
    # sampling error of a mean of 30 estimates (sd ~0.1 each): |bias| < 0.06
    assert abs(float(np.mean(errs))) < 0.06


def test_no_clean_sub_experiment_names_cohorts():
    panel, _ = hetero_panel(0, n_units=30)
    with pytest.raises(EstimationError, match="2004") as info:
        stacked_did(panel, "y", window=(-8, 8))
    assert "Fix" in str(info.value)
    with pytest.raises(ValidationError):
        stacked_did(panel, "y", window=(0, 2))
