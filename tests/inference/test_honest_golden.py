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


#: honestdid reports the outermost accepted point of its grid (1,000 points on ±20 SE around
#: zero); ours is the exact end, so theirs lies inside ours by less than one grid step
GRID_STEPS_INSIDE = 1.0
#: the hybrid's least-favourable critical value is the 99.5% quantile of 1,000 simulated draws;
#: with our default_rng(0) draws instead of honestdid's RandomState(0) draws it moves the ends
#: by up to 2.9 grid steps on these cases (measured; nothing else differs, see the test below)
LF_DRAW_STEPS = 3.0


def _legacy_lf_cv(V: np.ndarray, sigma_y: np.ndarray, kappa: float, sims: int, seed: int) -> float:
    """The least-favourable critical value from honestdid's own draws
    (``RandomState(seed).multivariate_normal``); the statistic is ours (dual vertices)."""
    if V.shape[0] == 0:
        return float("inf")
    xi = np.random.RandomState(seed).multivariate_normal(np.zeros(len(sigma_y)), sigma_y, sims)
    return float(np.quantile(np.max(xi @ V.T, axis=1), 1.0 - kappa))


def _run(name: str) -> tuple[dict[str, list[float]], np.ndarray, np.ndarray, float, str]:
    case = GOLDEN["cases"][name]
    l_vec = np.asarray(case["l_vec"])
    method = METHODS[name.split("_")[0]]
    test = "conditional" if name.endswith("conditional") else "hybrid"
    res = sensitivity(BETA, SIGMA, int(GOLDEN["num_pre"]), l_vec, method, case["m"], test=test)  # type: ignore[arg-type]
    table = res.tidy()
    return (
        case,
        table["conf_low"].to_numpy(),
        table["conf_high"].to_numpy(),
        _grid_step(l_vec),
        method,
    )


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_matches_python_honestdid(name: str) -> None:
    case, low, high, step, method = _run(name)
    if method == "smoothness":
        np.testing.assert_allclose(low, case["lb"], atol=FLCI_TOL)
        np.testing.assert_allclose(high, case["ub"], atol=FLCI_TOL)
        return
    tol = (GRID_STEPS_INSIDE if name.endswith("conditional") else LF_DRAW_STEPS) * step
    np.testing.assert_allclose(low, case["lb"], atol=tol)
    np.testing.assert_allclose(high, case["ub"], atol=tol)


@pytest.mark.parametrize("name", sorted(n for n in GOLDEN["cases"] if not n.startswith("sd_")))
def test_arp_agrees_to_the_grid_with_the_same_draws(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Conditional and hybrid ARP: the only gaps to honestdid are its grid and its draws.

    With honestdid's least-favourable draws, every end lies outside honestdid's reported grid
    point by less than one grid step (decision 0052), on both sides: the conditioning
    intervals, the truncated-normal critical values and the union over polyhedra agree.
    """
    import didstudy.inference.honest as honest

    monkeypatch.setattr(honest, "least_favorable_cv", _legacy_lf_cv)
    case, low, high, step, _ = _run(name)
    inside_low = (np.asarray(case["lb"]) - low) / step
    inside_high = (high - np.asarray(case["ub"])) / step
    slack = 1e-6  # a grid point on the exact end
    assert np.all(inside_low >= -slack) and np.all(inside_low <= GRID_STEPS_INSIDE), inside_low
    assert np.all(inside_high >= -slack) and np.all(inside_high <= GRID_STEPS_INSIDE), inside_high
