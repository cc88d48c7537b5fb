"""DMSP–VIIRS harmonisation: simulated DGPs with known parameters, out-of-sample check."""

from __future__ import annotations

import numpy as np
import pytest

from didstudy.errors import DataError, ValidationError
from didstudy.lights.harmonize import fit_harmonization


def _logistic(r: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    return a / (1 + np.exp(-b * (np.log1p(r) - c))) + d


def test_logistic_recovers_parameters_and_validates_out_of_sample() -> None:
    rng = np.random.default_rng(12)
    truth = (60.0, 2.2, 2.0, 2.5)
    r13 = rng.lognormal(1.0, 1.3, 4000)
    dn13 = np.clip(_logistic(r13, *truth) + rng.normal(0, 1.0, r13.size), 0, 63)
    fit = fit_harmonization(r13, dn13, "logistic")
    est = fit.params
    # 4,000 pairs, noise sd 1 DN: parameters within a few standard errors of the truth
    for name, true in zip("abcd", truth, strict=True):
        assert abs(est[name] - true) < 5 * fit.std_errors[name] + 1e-6, name
    assert fit.in_sample.r2 > 0.98 and abs(fit.in_sample.mean_bias) < 0.1
    # out of sample: another year from the same mapping (2012 check)
    r12 = rng.lognormal(0.9, 1.3, 3000)
    dn12 = np.clip(_logistic(r12, *truth) + rng.normal(0, 1.0, r12.size), 0, 63)
    oos = fit.evaluate(r12, dn12)
    assert oos.n == 3000 and oos.r2 > 0.97 and oos.rmse < 1.2
    # a wrong mapping is detected out of sample
    bad = fit.evaluate(r12, np.clip(dn12 * 0.5, 0, 63))
    assert bad.r2 < 0.5
    out = fit.apply(np.array([-1.0, 0.0, 1e6, np.nan]))
    assert out[0] == out[1] and out[2] <= 63 and np.isnan(out[3])
    assert fit.to_dict()["method"] == "logistic"


def test_power_law_county_level_matches_log_ols() -> None:
    rng = np.random.default_rng(4)
    r = rng.lognormal(1.5, 1.0, 300)
    dn = np.exp(0.8) * r**0.7 * np.exp(rng.normal(0, 0.05, r.size))
    fit = fit_harmonization(r, dn, "power")
    slope, intercept = np.polyfit(np.log(r), np.log(dn), 1)  # alternative algorithm: log OLS
    assert abs(fit.params["beta"] - slope) < 1e-8 and abs(fit.params["alpha"] - intercept) < 1e-8
    assert abs(fit.params["beta"] - 0.7) < 0.02
    with pytest.raises(ValidationError, match="unknown harmonisation method"):
        fit_harmonization(r, dn, "spline")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="usable VIIRS/DMSP pairs"):
        fit_harmonization(r[:5], dn[:5], "power")
