"""Co-agglomeration: ISA index (methods spec §4.1) and Ellison–Glaeser–Kerr (§4.2)."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest

from didstudy.errors import DataError, DidstudyError
from didstudy.measure.agglomeration import coagglomeration, ellison_glaeser_kerr

# ratios of small integers in float64
EXACT_TOL = 1e-12

EXAMPLE = pd.DataFrame(
    {"city": ["c1", "c2", "c3"], "S": [20, 5, 10], "M": [30, 40, 10], "T": [100, 120, 60]}
)
ISAS = [F(8, 5), F(1, 3), F(4, 3)]
ISAM = [F(21, 20), F(7, 6), F(7, 12)]


def _exact_quality(a: F, b: F) -> F:
    return 1 - abs(a - b) / (a + b)


def test_isa_worked_example() -> None:
    res = coagglomeration(EXAMPLE, "city", services="S", manufacturing="M", total="T")
    for i in range(3):
        q = _exact_quality(ISAS[i], ISAM[i])
        assert abs(res["lq_services"][i] - float(ISAS[i])) < EXACT_TOL
        assert abs(res["lq_manufacturing"][i] - float(ISAM[i])) < EXACT_TOL
        assert abs(res["quality"][i] - float(q)) < EXACT_TOL
        assert abs(res["isa"][i] - float(q + ISAS[i] + ISAM[i])) < EXACT_TOL
    np.testing.assert_allclose(res["isa"], [3.442453, 1.944444, 2.525362], atol=1e-6)
    quality = coagglomeration(
        EXAMPLE, "city", services="S", manufacturing="M", total="T", variant="quality"
    )
    np.testing.assert_allclose(quality["isa"], res["quality"], atol=0)
    # the same numbers from given national totals and from a long table
    given = coagglomeration(
        EXAMPLE,
        "city",
        services="S",
        manufacturing="M",
        total="T",
        national={"services": 35, "manufacturing": 80, "total": 280},
    )
    np.testing.assert_allclose(given["isa"], res["isa"], atol=EXACT_TOL)
    long = EXAMPLE.melt(id_vars="city", var_name="sector", value_name="emp")
    from_long = coagglomeration(
        long, "city", services=["S"], manufacturing="M", total="T", sector="sector", value="emp"
    )
    np.testing.assert_allclose(from_long["isa"], res["isa"], atol=EXACT_TOL)


def test_isa_panel_services_sum_and_errors() -> None:
    rng = np.random.default_rng(2)
    rows = []
    for year in (2010, 2011):
        for c in range(6):
            s1, s2, m = rng.integers(1, 50, 3)
            rows.append((f"c{c}", year, s1, s2, m, s1 + s2 + m + rng.integers(10, 200)))
    df = pd.DataFrame(rows, columns=["city", "year", "fin", "it", "manu", "tot"])
    res = coagglomeration(
        df, "city", "year", services=["fin", "it"], manufacturing="manu", total="tot"
    )
    # hand formula per year with sample totals
    for year, sub in df.groupby("year"):
        s = sub["fin"] + sub["it"]
        lq_s = (s / sub["tot"]) / (s.sum() / sub["tot"].sum())
        lq_m = (sub["manu"] / sub["tot"]) / (sub["manu"].sum() / sub["tot"].sum())
        isa = 1 - (lq_s - lq_m).abs() / (lq_s + lq_m) + lq_s + lq_m
        got = res.loc[res["year"] == year, "isa"].to_numpy()
        np.testing.assert_allclose(got, isa.to_numpy(), atol=EXACT_TOL)
    # national totals by year, as a DataFrame, equal to the sample totals
    nat = (
        df.assign(services=df["fin"] + df["it"])
        .groupby("year")[["services", "manu", "tot"]]
        .sum()
        .rename(columns={"manu": "manufacturing", "tot": "total"})
        .reset_index()
    )
    again = coagglomeration(
        df, "city", "year", services=["fin", "it"], manufacturing="manu", total="tot", national=nat
    )
    np.testing.assert_allclose(again["isa"], res["isa"], atol=EXACT_TOL)
    # missing employment: NaN row, left out of the sample totals
    gap = df.astype({"fin": float})
    gap.loc[0, "fin"] = np.nan
    out = coagglomeration(
        gap, "city", "year", services=["fin", "it"], manufacturing="manu", total="tot"
    )
    assert np.isnan(out["isa"][0]) and out["isa"][1:].notna().all()
    with pytest.raises(DataError, match="negative"):
        coagglomeration(
            df.assign(manu=-df["manu"]),
            "city",
            "year",
            services="fin",
            manufacturing="manu",
            total="tot",
        )
    with pytest.raises(DataError, match="exceed total"):
        coagglomeration(df, "city", "year", services="fin", manufacturing="manu", total="it")
    with pytest.raises(DataError, match="several rows"):
        coagglomeration(
            pd.concat([df, df.iloc[:1]]),
            "city",
            "year",
            services="fin",
            manufacturing="manu",
            total="tot",
        )
    with pytest.raises(DidstudyError, match="variant"):
        coagglomeration(
            df,
            "city",
            "year",
            services="fin",
            manufacturing="manu",
            total="tot",
            variant="x",  # type: ignore[arg-type]
        )
    with pytest.raises(DataError, match="no national totals"):
        coagglomeration(
            df,
            "city",
            "year",
            services="fin",
            manufacturing="manu",
            total="tot",
            national=nat.iloc[:1],
        )


def test_egk_example_and_truth() -> None:
    res = ellison_glaeser_kerr(EXAMPLE, "city", ["S", "M"], "T")
    assert res["gamma"].iloc[0] == pytest.approx(float(F(-1, 28)), abs=EXACT_TOL)
    assert res["n_areas"].iloc[0] == 3
    # exact rational evaluation of eq. 2 on random integer data
    rng = np.random.default_rng(8)
    df = pd.DataFrame(
        {
            "prov": np.repeat(["p1", "p2"], 7),
            "city": [f"c{i}" for i in range(14)],
            "a": rng.integers(1, 30, 14),
            "b": rng.integers(1, 30, 14),
            "c": rng.integers(1, 30, 14),
        }
    )
    df["tot"] = df[["a", "b", "c"]].sum(axis=1) + rng.integers(0, 20, 14)
    out = ellison_glaeser_kerr(df, "city", ["a", "b", "c"], "tot", by="prov")
    assert len(out) == 6
    for row in out.itertuples(index=False):
        sub = df[df["prov"] == row.prov]
        ti = [F(int(v)) for v in sub["tot"]]
        x = [v / sum(ti) for v in ti]
        si = [F(int(v)) / int(sub[row.industry_i].sum()) for v in sub[row.industry_i]]
        sj = [F(int(v)) / int(sub[row.industry_j].sum()) for v in sub[row.industry_j]]
        num = sum((p - q) * (r - q) for p, q, r in zip(si, x, sj, strict=True))
        exact = num / (1 - sum(v * v for v in x))
        assert row.gamma == pytest.approx(float(exact), abs=EXACT_TOL)
    # known truth: industries spread exactly like total employment -> gamma = 0
    prop = pd.DataFrame({"city": list("abcd"), "tot": [100, 200, 300, 400]})
    prop["s"] = prop["tot"] * 0.1
    prop["m"] = prop["tot"] * 0.3
    assert ellison_glaeser_kerr(prop, "city", ["s", "m"], "tot")["gamma"].iloc[0] == pytest.approx(
        0.0, abs=EXACT_TOL
    )
    with pytest.raises(DidstudyError, match="two industries"):
        ellison_glaeser_kerr(EXAMPLE, "city", ["S"], "T")


def test_lq_accounting_identity_and_truth() -> None:
    """With sample totals the employment-weighted mean LQ is 1 in every sector and period; a city
    with the national sector structure has LQ = 1, quality = 1 and ISA = 3."""
    rng = np.random.default_rng(6)
    df = pd.DataFrame(
        {
            "city": [f"c{i}" for i in range(9)],
            "s": rng.integers(1, 40, 9).astype(float),
            "m": rng.integers(1, 40, 9).astype(float),
        }
    )
    df["t"] = df["s"] + df["m"] + rng.integers(5, 60, 9)
    res = coagglomeration(df, "city", services="s", manufacturing="m", total="t")
    share = df["t"] / df["t"].sum()
    assert (share * res["lq_services"]).sum() == pytest.approx(1.0, abs=EXACT_TOL)
    assert (share * res["lq_manufacturing"]).sum() == pytest.approx(1.0, abs=EXACT_TOL)
    typical = pd.concat(
        [
            df,
            pd.DataFrame(
                {"city": ["avg"], "s": [df["s"].sum()], "m": [df["m"].sum()], "t": [df["t"].sum()]}
            ),
        ],
        ignore_index=True,
    )
    out = coagglomeration(typical, "city", services="s", manufacturing="m", total="t")
    last = out.iloc[-1]
    assert last["lq_services"] == pytest.approx(1.0, abs=EXACT_TOL)
    assert last["quality"] == pytest.approx(1.0, abs=EXACT_TOL)
    assert last["isa"] == pytest.approx(3.0, abs=EXACT_TOL)
