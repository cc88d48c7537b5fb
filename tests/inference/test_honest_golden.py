"""HonestDiD against the Python ``honestdid`` 0.1.1 package on the same (betahat, sigma)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from didstudy.inference.honest import sensitivity

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[2] / "tests/reference/honest/golden.json").read_text()
)
BETA = np.asarray(GOLDEN["betahat"])
SIGMA = np.asarray(GOLDEN["sigma"])
METHODS = {"rm": "relative_magnitude", "sd": "smoothness", "sdrm": "combined"}
# FLCI: both solve the same convex problem; honestdid's folded-normal quantile is simulated
# (10^6 draws) and its optimum found by bisection on h, so they agree to ~2e-5
FLCI_TOL = 5e-5


def _grid_step(l_vec: np.ndarray) -> float:
    """honestdid reports the outermost accepted point of 1,000 points over ±20 SE of θ."""
    post = SIGMA[5:, 5:]
    return 40.0 * float(np.sqrt(l_vec @ post @ l_vec)) / 999.0


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_matches_python_honestdid(name: str) -> None:
    case = GOLDEN["cases"][name]
    l_vec = np.asarray(case["l_vec"])
    method = METHODS[name.split("_")[0]]
    test = "conditional" if name.endswith("conditional") else "hybrid"
    res = sensitivity(BETA, SIGMA, int(GOLDEN["num_pre"]), l_vec, method, case["m"], test=test)  # type: ignore[arg-type]
    # ARP: honestdid's end is up to one grid step inside the exact one, and both simulate the
    # least-favourable critical value from 1,000 draws of different generators (measured here:
    # ±0.03 SE across seeds, about 0.8 steps); the largest gap seen is 2.9 steps (C-LF, average,
    # M̄ = 0.5; 0.11 SE), unexplained beyond these two sources: three steps
    tol = FLCI_TOL if method == "smoothness" else 3.0 * _grid_step(l_vec)
    table = res.tidy()
    np.testing.assert_allclose(table["conf_low"], case["lb"], atol=tol)
    np.testing.assert_allclose(table["conf_high"], case["ub"], atol=tol)
