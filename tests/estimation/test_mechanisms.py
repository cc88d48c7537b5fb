"""Mechanisms: (a) mediator on policy, (b) outcome on policy, M and M x policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError
from didstudy.estimation.mechanisms import interaction_term, mechanisms

pytestmark = pytest.mark.filterwarnings("ignore::didstudy.errors.SingletonWarning")

# simulated truth must lie within this many standard errors
Z_TOL = 4.0


@pytest.mark.parametrize("center", [False, True])
def test_mechanisms_recover_known_paths(center: bool) -> None:
    df = simulate_staggered(
        n_units=150,
        periods=range(2004, 2016),
        cohorts={2008: 25, 2011: 25},
        n_never=100,
        effect=0.2,
        n_controls=2,
        noise_sd=0.05,
        seed=8,
    )
    assert df.attrs["simulated"]
    rng = np.random.default_rng(1)
    unit_fe = pd.Series(rng.normal(size=df["unit"].nunique()), index=np.sort(df["unit"].unique()))
    # mediators: the policy raises InnoAp by 0.5 and leaves EMP unchanged
    df["InnoAp"] = (
        1.0 + 0.5 * df["treat"] + unit_fe.loc[df["unit"]].to_numpy() + rng.normal(0, 0.1, len(df))
    )
    df["EMP"] = rng.normal(0, 1, len(df))
    # outcome: c = 0.2 on InnoAp and d = -0.3 on InnoAp x Policy
    df["INDG"] = df["y"] + 0.2 * df["InnoAp"] - 0.3 * df["InnoAp"] * df["treat"]
    out = mechanisms(
        df,
        "INDG",
        "treat",
        ["InnoAp", "EMP"],
        ["x1", "x2"],
        center=center,
        unit="unit",
        time="time",
    )
    assert out.names == ["InnoAp (a)", "INDG (b: InnoAp)", "EMP (a)", "INDG (b: EMP)"]
    a = out.get("InnoAp (a)").term("treat")
    assert abs(a.estimate - 0.5) < Z_TOL * a.std_error
    e = out.get("EMP (a)").term("treat")
    assert abs(e.estimate) < Z_TOL * e.std_error
    b = out.get("INDG (b: InnoAp)")
    assert b.terms[:3] == ("treat", "InnoAp", interaction_term("InnoAp", "treat"))
    for term, truth in [("InnoAp", 0.2), (interaction_term("InnoAp", "treat"), -0.3)]:
        est = b.term(term)
        assert abs(est.estimate - truth) < Z_TOL * est.std_error, (term, est)
    # Policy coefficient: the effect at M = 0 (raw) or at the mean of M (centred)
    m_mean = df["InnoAp"].mean()
    truth_policy = 0.2 - (0.3 * m_mean if center else 0.0)
    p = b.term("treat")
    assert abs(p.estimate - truth_policy) < Z_TOL * p.std_error
    # the caller's frame is untouched (centring works on a private copy)
    assert df["InnoAp"].mean() == pytest.approx(m_mean, abs=0) and m_mean > 0.05
    assert interaction_term("InnoAp", "treat") not in df.columns


def test_mechanism_errors() -> None:
    df = simulate_staggered(
        n_units=40, periods=range(2010, 2016), cohorts={2012: 10}, n_never=30, n_controls=1, seed=0
    )
    with pytest.raises(ValidationError):
        mechanisms(df, "y", "treat", ["x1"], ["x1"], unit="unit", time="time")
    with pytest.raises(ValidationError):
        mechanisms(df, "y", "treat", [], unit="unit", time="time")
