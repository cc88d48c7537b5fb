"""Pre-trend power (Roth 2022): the published Stata pretrends example, identities, simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from didstudy.errors import ValidationError
from didstudy.inference.pretrends import box_probability, pretrend_power, slope_for_power

# Published example (mcaceresb/stata-pretrends README, He & Wang 2017 Fig. 2C): coefficients
# and the cached covariance of PreTrendsExampleSigma() in src/mata/pretrends.mata. The README's
# printed results use reghdfe's covariance, which is the cached one divided by a constant
# (1.1066776: the ratio of the printed squared standard errors to its diagonal, equal to 1e-6
# for all seven coefficients).
BETA = np.array([0.0667031482, -0.0077017923, -0.0307690538, 0.084030658, 0.2424418181,
                 0.2198789865, 0.1910925359])  # fmt: skip
_SIGMA_ROWS = """
0.0089065712 0.0044883136 0.0014587025 0.0012157689 0.0020327645 0.0013225015 0.0019617728
0.0044883136 0.0059369169 0.0027500791 0.0013505858 0.0014315459 0.0012067792 0.0013847158
0.0014587025 0.0027500791 0.0030386248 0.0009056166 0.0006791299 0.0010167636 0.0007090144
0.0012157689 0.0013505858 0.0009056166 0.0039247409 0.002596118 0.0017326149 0.0022345525
0.0020327645 0.0014315459 0.0006791299 0.002596118 0.008065897 0.0058753751 0.0037414359
0.0013225015 0.0012067792 0.0010167636 0.0017326149 0.0058753751 0.007881579 0.0036507095
0.0019617728 0.0013847158 0.0007090144 0.0022345525 0.0037414359 0.0036507095 0.0097884266
"""
SIGMA_CACHED = np.array([[float(v) for v in row.split()] for row in _SIGMA_ROWS.split("\n") if row])
SE_PRINTED = np.array([0.0897108, 0.0732436, 0.0523996, 0.0595518, 0.0853721, 0.084391, 0.0940472])
TIMES = np.array([-4, -3, -2, 0, 1, 2, 3])
# printed to 7 significant digits; the covariance rescaling is known to ~1e-6 relative
PUBLISHED_RTOL = 2e-5
# published 7-decimal means after pre-testing
MEAN_ATOL = 2e-7 + 1e-6
PUBLISHED_LINEAR = {
    "slope": 0.0494932155202119,
    "bayes": 0.5690176868657252,
    "lr": 0.1016996725963556,
    "mean": [-0.087755, -0.052812, -0.0265324, 0.0617067, 0.1148959, 0.1611171, 0.2134771],
}
PUBLISHED_QUADRATIC = {
    "power": 0.7026124047271576,
    "bayes": 0.3384376031301103,
    "lr": 0.3962795305253372,
    "mean": [0.1157555, 0.0391983, 0.003749, 0.0089854, 0.0723966, 0.2000759, 0.3612036],
}


def _example() -> dict[str, object]:
    scale = np.median(np.diag(SIGMA_CACHED) / SE_PRINTED**2)
    return {"betahat": BETA, "sigma": SIGMA_CACHED / scale, "rel_time": TIMES, "reference": -1}


def test_matches_published_stata_pretrends_example() -> None:
    res = pretrend_power(_example())
    pub = PUBLISHED_LINEAR
    assert res.slope_power50 == pytest.approx(pub["slope"], rel=PUBLISHED_RTOL)
    assert res.power == pytest.approx(0.5, abs=1e-9)
    assert res.bayes_factor == pytest.approx(pub["bayes"], rel=PUBLISHED_RTOL)
    assert res.likelihood_ratio == pytest.approx(pub["lr"], rel=PUBLISHED_RTOL)
    np.testing.assert_allclose(res.mean_after_pretest, pub["mean"], atol=MEAN_ATOL)
    quad = pretrend_power(_example(), delta=0.024 * (TIMES + 1.0) ** 2)
    pub = PUBLISHED_QUADRATIC
    assert quad.power == pytest.approx(pub["power"], rel=PUBLISHED_RTOL)
    assert quad.bayes_factor == pytest.approx(pub["bayes"], rel=PUBLISHED_RTOL)
    assert quad.likelihood_ratio == pytest.approx(pub["lr"], rel=PUBLISHED_RTOL)
    np.testing.assert_allclose(quad.mean_after_pretest, pub["mean"], atol=MEAN_ATOL)
    # 80% power needs a steeper trend than 50%
    assert res.slope_power80 > res.slope_power50 > 0


def test_box_probability_and_truncated_mean_against_monte_carlo() -> None:
    """SIMULATED: 400k normal draws check the QMC box probability and the Tallis mean."""
    ex = _example()
    sigma = np.asarray(ex["sigma"])[:3, :3]
    mean = np.array([0.05, -0.02, 0.01])
    bound = 1.96 * np.sqrt(np.diag(sigma))
    draws = np.random.default_rng(5).multivariate_normal(mean, sigma, size=400_000)
    inside = np.all(np.abs(draws) <= bound, axis=1)
    p = box_probability(mean, sigma, -bound, bound)
    # Monte Carlo standard error of a share near 0.8 with 400k draws: 6e-4; 5 SE
    assert p == pytest.approx(inside.mean(), abs=3e-3)
    res = pretrend_power(
        {"betahat": np.r_[mean, 0.1], "sigma": np.asarray(ex["sigma"])[:4, :4],
         "rel_time": [-4, -3, -2, 0], "reference": -1},
        delta=[0.05, -0.02, 0.01, 0.0],
    )  # fmt: skip
    mc_mean = draws[inside].mean(axis=0)
    np.testing.assert_allclose(res.mean_after_pretest[:3], mc_mean, atol=5e-4)
    # 1-d: closed form of the two-sided probability
    one = box_probability(np.zeros(1), np.eye(1) * 4.0, -np.full(1, 2.0), np.full(1, 2.0))
    assert one == pytest.approx(stats.norm.cdf(1) - stats.norm.cdf(-1), abs=1e-14)


def test_identities_zero_slope_and_power_curve() -> None:
    ex = _example()
    s_pre = np.asarray(ex["sigma"])[:3, :3]
    times = np.array([-3.0, -2.0, -1.0])
    # power of the slope for a target equals the target; no trend: power = size, no bias
    for target in (0.3, 0.5, 0.8, 0.95):
        slope = slope_for_power(s_pre, times, target)
        res = pretrend_power(ex, slope=slope)
        assert res.power == pytest.approx(target, abs=1e-9)
    flat = pretrend_power(ex, slope=0.0)
    assert flat.bayes_factor == pytest.approx(1.0, abs=1e-12)
    assert flat.likelihood_ratio == pytest.approx(1.0, abs=1e-12)
    # symmetric box around a zero mean: zero up to the QMC integration error (~1e-11)
    assert flat.bias_after_pretest == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValidationError):
        slope_for_power(s_pre, times, 1.5)
