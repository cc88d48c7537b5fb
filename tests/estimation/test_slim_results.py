"""Results keep parameters, not data: size, contents, and with_vcov from the kept pieces."""

from __future__ import annotations

import pickle
import warnings
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
import didstudy.estimation.design as design_module
from didstudy.errors import EstimationError
from didstudy.kernels.vcov import VcovPieces

#: The same sandwich from p x p pieces instead of the scores: rounding only.
PIECES_RTOL = 1e-12
#: Issue 9: a TWFE result on mpdta pickles to at most 20 KiB (382 KiB when it kept the design).
MAX_PICKLE_BYTES = 20 * 1024


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = ds.load_dataset("mpdta")
    post = (df["first.treat"] > 0) & (df["year"] >= df["first.treat"])
    return df.assign(post=post.astype(float), state=df["countyreal"] % 7)


def test_twfe_result_on_mpdta_pickles_small(mpdta: pd.DataFrame) -> None:
    panel = ds.Panel(mpdta, unit="countyreal", time="year", treat="post")
    res = ds.twfe(panel, y="lemp", treat="post", controls=["lpop"])
    assert len(pickle.dumps(res)) <= MAX_PICKLE_BYTES
    for f in fields(res):
        value = getattr(res, f.name)
        assert not isinstance(value, pd.DataFrame) and not callable(value), f.name
        if isinstance(value, np.ndarray):
            assert value.size <= len(res.terms) ** 2, f.name
    pieces = res.vcov_pieces
    assert isinstance(pieces, VcovPieces)
    for f in fields(pieces):
        value = getattr(pieces, f.name)
        if isinstance(value, np.ndarray):  # p x p meats, never n rows
            assert value.size < res.nobs, f.name


def test_with_vcov_from_pieces_equals_a_direct_fit(mpdta: pd.DataFrame) -> None:
    args = {"fe": ["countyreal", "year"], "controls": ["lpop"]}
    res = ds.twfe(mpdta, "lemp", "post", unit="countyreal", time="year", cluster="state", **args)
    cases = [
        ("hc1", {"vcov": "hc1"}),
        ("iid", {"vcov": "iid"}),
        ({"crv1": "year"}, {"cluster": "year"}),
        ({"crv1": "countyreal+year"}, {"cluster": "countyreal+year"}),
        ({"crv1": "year+state"}, {"cluster": "year+state"}),
    ]
    for request, direct_args in cases:
        direct = ds.twfe(mpdta, "lemp", "post", unit="countyreal", time="year", **args, **direct_args)
        changed = res.with_vcov(request)
        np.testing.assert_allclose(changed.cov, direct.cov, rtol=PIECES_RTOL)
        assert changed.df_t == direct.df_t and changed.stats() == direct.stats()
    stata = ds.twfe(mpdta, "lemp", "post", unit="countyreal", time="year", cluster="countyreal", ssc="stata", **args)
    switched = res.with_vcov({"crv1": "countyreal"}, ssc="stata")
    np.testing.assert_allclose(switched.cov, stata.cov, rtol=PIECES_RTOL)
    assert switched.stats() == stata.stats()


def test_a_cluster_that_was_not_kept_asks_for_a_refit(mpdta: pd.DataFrame) -> None:
    res = ds.twfe(mpdta, "lemp", "post", unit="countyreal", time="year", fe=["countyreal", "year"])
    with pytest.raises(EstimationError, match="refit with cluster='state'"):
        res.with_vcov({"crv1": "state"})


def test_large_fits_keep_only_their_own_clusters(
    mpdta: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above RECLUSTER_MAX_ROWS only the fit's clusters are kept (each factor costs p passes)."""
    monkeypatch.setattr(design_module, "RECLUSTER_MAX_ROWS", 100)
    res = ds.twfe(mpdta, "lemp", "post", unit="countyreal", time="year", fe=["countyreal", "year"], cluster="state")
    assert res.vcov_pieces is not None and res.vcov_pieces.cluster_names == ("state",)
    with pytest.raises(EstimationError, match="refit with cluster='year'"):
        res.with_vcov({"crv1": "year"})
    with pytest.raises(EstimationError, match="refit with vcov='hc1'"):
        res.with_vcov("hc1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert res.with_vcov("iid").vcov_type == "iid"
    with pytest.raises(EstimationError, match="refit with ssc='stata'"):
        res.with_vcov("crv1", ssc="stata")
