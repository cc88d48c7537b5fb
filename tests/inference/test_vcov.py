"""Variance estimators: brute-force sandwiches, multi-way identity, small-sample bookkeeping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.data.panel import as_panel
from didstudy.errors import EstimationError
from didstudy.estimation.twfe import twfe
from didstudy.kernels.vcov import (
    SSC_PRESETS,
    fixef_parameters,
    resolve_ssc,
    sandwich_vcov,
)

#: Same arithmetic in a different order: rounding only.
BRUTE_RTOL = 1e-10


def _brute_cluster_meat(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    meat = np.zeros((scores.shape[1], scores.shape[1]))
    for g in np.unique(groups):
        s = scores[groups == g].sum(axis=0)
        meat += np.outer(s, s)
    return meat


@pytest.mark.parametrize("cluster_df", ["min", "conventional"])
def test_two_way_equals_v1_plus_v2_minus_v12(cluster_df: str) -> None:
    rng = np.random.default_rng(1)
    n, p = 300, 3
    X = rng.normal(size=(n, p))
    u = rng.normal(size=n)
    g1 = rng.integers(0, 12, n)
    g2 = rng.integers(0, 7, n)
    bread = np.linalg.inv(X.T @ X)
    k = 5
    ssc = resolve_ssc({"cluster_df": cluster_df})
    est = sandwich_vcov(
        X,
        u,
        bread,
        "crv1",
        n_obs=n,
        k_total=k,
        ssc=ssc,
        cluster_codes=[g1, g2],
        cluster_names=["a", "b"],
    )
    scores = X * u[:, None]
    g12 = pd.factorize(pd.Series(g1).astype(str) + "-" + pd.Series(g2).astype(str))[0]
    G1, G2, G12 = 12, 7, len(np.unique(g12))
    adj = (n - 1) / (n - k)
    parts = []
    for groups, G in ((g1, G1), (g2, G2), (g12, G12)):
        gf = (min(G1, G2) / (min(G1, G2) - 1)) if cluster_df == "min" else G / (G - 1)
        parts.append(adj * gf * bread @ _brute_cluster_meat(scores, groups) @ bread)
    brute = parts[0] + parts[1] - parts[2]
    np.testing.assert_allclose(est.matrix, brute, rtol=BRUTE_RTOL)
    assert est.df_t == min(G1, G2) - 1 and est.n_clusters == (12, 7)
    # one-way and HC1 against the same brute force
    one = sandwich_vcov(X, u, bread, "crv1", n_obs=n, k_total=k, ssc=ssc, cluster_codes=[g1])
    np.testing.assert_allclose(
        one.matrix,
        adj * G1 / (G1 - 1) * bread @ _brute_cluster_meat(scores, g1) @ bread,
        rtol=BRUTE_RTOL,
    )
    hc = sandwich_vcov(X, u, bread, "hc1", n_obs=n, k_total=k, ssc=ssc)
    np.testing.assert_allclose(
        hc.matrix, n / (n - k) * bread @ (scores.T @ scores) @ bread, rtol=BRUTE_RTOL
    )
    iid = sandwich_vcov(X, u, bread, "iid", n_obs=n, k_total=k, ssc=ssc)
    np.testing.assert_allclose(iid.matrix, (u @ u) / (n - k) * bread, rtol=BRUTE_RTOL)
    assert iid.df_t == n - k


def test_psd_fix_and_errors() -> None:
    rng = np.random.default_rng(4)
    n = 60
    X = rng.normal(size=(n, 4))
    u = rng.normal(size=n)
    # few clusters in each dimension make V1 + V2 - V12 indefinite
    g1 = rng.integers(0, 3, n)
    g2 = rng.integers(0, 3, n)
    bread = np.linalg.inv(X.T @ X)
    plain = sandwich_vcov(
        X, u, bread, "crv1", n_obs=n, k_total=4, ssc=SSC_PRESETS["fixest"], cluster_codes=[g1, g2]
    )
    fixed = sandwich_vcov(
        X, u, bread, "crv1", n_obs=n, k_total=4, ssc=SSC_PRESETS["stata"], cluster_codes=[g1, g2]
    )
    assert np.linalg.eigvalsh(fixed.matrix).min() >= -1e-12
    if np.linalg.eigvalsh(plain.matrix).min() < 0:
        assert fixed.psd_fixed
    with pytest.raises(EstimationError):
        sandwich_vcov(
            X,
            u,
            bread,
            "crv1",
            n_obs=n,
            k_total=4,
            ssc=SSC_PRESETS["fixest"],
            cluster_codes=[np.zeros(n, dtype=np.intp)],
        )
    with pytest.raises(EstimationError):
        resolve_ssc("sas")


def test_fixef_parameter_counts() -> None:
    fx, st = SSC_PRESETS["fixest"], SSC_PRESETS["stata"]
    # state (50, nested in the state cluster) + year (11): fixest 61 - 1 - 50 + 1 = 11
    assert fixef_parameters([50, 11], [True, False], fx) == 11
    assert fixef_parameters([50, 11], [False, False], fx) == 60
    assert fixef_parameters([50, 11], [False, False], resolve_ssc({"fixef_k": "none"})) == 0
    # reghdfe: nested factor counts 0, year becomes the first factor: 11 -> same K as fixest
    assert fixef_parameters([50, 11], [True, False], st, [0, 0]) == 11
    # all nested: reghdfe keeps one parameter for the intercept (nested_adj), like fixest
    assert fixef_parameters([50], [True], st, [0]) == 1
    assert fixef_parameters([50], [True], fx) == 1
    # disconnected second factor (3 mobility groups): exact count is 2 lower than fixest's
    assert fixef_parameters([40, 10], [False, False], st, [0, 3]) == 47
    assert fixef_parameters([40, 10], [False, False], fx) == 49


def test_exact_counting_through_twfe() -> None:
    """Two disconnected blocks of units/periods: reghdfe counts 2 redundant period levels."""
    rng = np.random.default_rng(8)
    rows = []
    for unit in range(20):
        periods = range(0, 5) if unit < 10 else range(5, 10)
        for t in periods:
            rows.append((unit, t, rng.normal(), rng.normal()))
    df = pd.DataFrame(rows, columns=["unit", "time", "x", "y"])
    # a Panel needs a treatment role; x (continuous) is the regressor, g only the role
    df["g"] = np.select([df["unit"] < 5, (df["unit"] >= 10) & (df["unit"] < 15)], [2, 7], 0)
    panel = as_panel(df, unit="unit", time="time", cohort="g")
    fx = twfe(panel, "y", "x", fe=["unit", "time"], vcov="iid")
    st = twfe(panel, "y", "x", fe=["unit", "time"], vcov="iid", ssc="stata")
    assert fx.stats()["k_fe"] == 20 + 10 - 1
    assert st.stats()["k_fe"] == 20 + 10 - 2
    n = 100
    ratio = (st.se["x"] / fx.se["x"]) ** 2
    assert ratio == pytest.approx((n - 1 - 29) / (n - 1 - 28), rel=1e-12)
