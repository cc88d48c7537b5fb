"""The bundled reference study's inputs: the paper's sample rules on the real code lists and the
simulated DGP (realised exactly, recovered by the estimators, deterministic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
from didstudy.data.china import cities, paper_sample, policy_dummies
from didstudy.data.reference_study import (
    _isa,
    build_reference_study,
    population_gini,
)
from didstudy.study.run import prepare
from didstudy.study.sources import frame_hash
from tests.study.test_run import DEMO

SEED = 20100112
# the bisection solves the dispersion to 2^-60 of its bracket; the realised Gini matches the
# target to floating-point summation error
GINI_TOL = 1e-10
# methods-spec §4.1 prints the worked example to 6 decimals
ISA_PRINTED_TOL = 5e-7
# estimates vs the DGP's true effect: within 3 clustered standard errors (a 0.3% two-sided
# chance of a false failure per comparison under correct SEs)
SE_MULTIPLE = 3.0


@pytest.fixture(scope="module")
def data() -> object:
    return build_reference_study(SEED)


def test_paper_sample_is_276_cities_and_documents_every_drop() -> None:
    sample = paper_sample()
    assert sample.n_cities == 276
    assert sample.n_treated == 27
    assert sample.frame["cohort"].value_counts().to_dict() == {
        0: 249, 2010: 13, 2011: 4, 2012: 4, 2013: 4, 2014: 2,
    }  # fmt: skip
    removed = {rule: names for rule, _, names in sample.log}
    assert any("重庆市" in names for names in removed.values())
    last = sample.log[-1]
    assert set(last[2]) == {"东莞市", "中山市", "三亚市", "嘉峪关市"}
    kept = set(sample.frame["name"])
    for gone in ("巢湖市", "莱芜市", "三沙市", "儋州市", "毕节市", "铜仁市", "海东市", "拉萨市"):
        assert gone not in kept
    assert {"合肥市", "六安市", "赣州市", "银川市"} <= kept


def test_the_demo_toml_sample_rules_give_the_paper_sample() -> None:
    _, context = prepare(DEMO)
    assert set(context.frame["code"].unique()) == set(paper_sample().frame["code"])


def test_concurrent_policy_dummies_follow_the_real_regions() -> None:
    frame = pd.DataFrame(
        {
            "name": ["合肥市", "合肥市", "深圳市", "深圳市", "石家庄市", "成都市", "北京市"],
            "province": ["安徽省", "安徽省", "广东省", "广东省", "河北省", "四川省", "北京市"],
            "year": [2003, 2004, 2018, 2019, 2014, 2014, 2013],
        }
    )
    dummies = policy_dummies(frame)
    assert dummies["central_rise"].tolist() == [0, 1, 0, 0, 0, 0, 0]
    assert dummies["greater_bay"].tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert dummies["jingjinji"].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert dummies["yangtze_belt"].tolist() == [0, 0, 0, 0, 0, 1, 0]


def test_builder_is_deterministic_and_says_it_is_simulated(data: object) -> None:
    again = build_reference_study(SEED)
    other = build_reference_study(SEED + 1)
    assert frame_hash(again.cities) == frame_hash(data.cities)  # type: ignore[attr-defined]
    assert frame_hash(again.counties) == frame_hash(data.counties)  # type: ignore[attr-defined]
    assert frame_hash(other.counties) != frame_hash(data.counties)  # type: ignore[attr-defined]
    for frame in (data.cities, data.counties):  # type: ignore[attr-defined]
        assert frame.attrs["simulated"] is True
        assert "SIMULATED" in frame.attrs["note"]


def test_group_flags_come_from_the_real_lists(data: object) -> None:
    flags = data.cities.drop_duplicates("code").set_index("name")  # type: ignore[attr-defined]
    assert flags.loc["鄂尔多斯市", "resource"] == 1
    assert flags.loc["上海市", "resource"] == 0
    assert flags.loc["赣州市", "old_revolutionary"] == 1
    assert flags.loc["广州市", "agglomeration"] == 1
    assert flags.loc["北京市", "large_pop"] == 1
    assert flags.loc["北京市", "municipality"] == 1
    assert flags.loc["合肥市", "cohort"] == 2010


def test_county_light_realises_the_target_gini_exactly(data: object) -> None:
    counties = data.counties  # type: ignore[attr-defined]
    target = data.indg_target.dropna()  # type: ignore[attr-defined]
    measured = ds.dagum_panel(counties, value="light", group="city_code", time="year").groups
    merged = target.merge(
        measured.rename(columns={"group": "code", "time": "year"}), on=["code", "year"]
    )
    assert len(merged) == len(target)
    np.testing.assert_allclose(merged["gini"], merged["indg"], rtol=0, atol=GINI_TOL)
    cell = pd.MultiIndex.from_arrays([counties["city_code"], counties["year"]])
    codes, index = np.unique(cell.codes[0] * 10_000 + cell.codes[1], return_inverse=True)
    alternative = population_gini(counties["light"].to_numpy(), index)
    assert codes.size == len(measured)
    np.testing.assert_allclose(
        np.sort(alternative), np.sort(measured["gini"].to_numpy()), rtol=0, atol=GINI_TOL
    )


def test_isa_formula_matches_the_worked_example_and_the_package_function(data: object) -> None:
    printed = [3.442453, 1.944444, 2.525362]
    mine = _isa(
        np.array([20.0, 5.0, 10.0]), np.array([30.0, 40.0, 10.0]),
        np.array([100.0, 120.0, 60.0]), np.zeros(3),
    )  # fmt: skip
    np.testing.assert_allclose(mine, printed, atol=ISA_PRINTED_TOL)
    frame = data.cities  # type: ignore[attr-defined]
    package = ds.coagglomeration(
        frame, city="code", time="year", services="emp_services",
        manufacturing="emp_manuf", total="emp_total",
    )  # fmt: skip
    merged = frame[["code", "year"]].merge(package, on=["code", "year"], how="left")
    ours = _isa(
        frame["emp_services"].to_numpy(), frame["emp_manuf"].to_numpy(),
        frame["emp_total"].to_numpy(), frame["year"].to_numpy(),
    )  # fmt: skip
    np.testing.assert_allclose(merged["isa"].to_numpy(), ours, rtol=1e-12)


def test_estimators_recover_the_simulated_effects(data: object) -> None:
    truth = data.truth  # type: ignore[attr-defined]
    frame = data.cities.merge(data.indg_target, on=["code", "year"])  # type: ignore[attr-defined]
    frame = frame.loc[frame["n_counties_min"] >= 2]
    panel = ds.Panel(frame, unit="code", time="year", treat="policy", cluster="code")
    checks = {
        "indg": (["ln_gdp"], truth["effect_indg"]),
        "innoap": ([], truth["mediators"]["innoap"]),
        "emp": ([], truth["mediators"]["emp"]),
    }
    for outcome, (controls, effect) in checks.items():
        fit = ds.twfe(panel, y=outcome, treat="policy", controls=controls)
        estimate, se = float(fit.coef["policy"]), float(fit.se["policy"])
        assert abs(estimate - effect) < SE_MULTIPLE * se, (outcome, estimate, se, effect)
    fit = ds.twfe(panel, y="indg", treat="policy", controls=["ln_gdp"])
    assert abs(float(fit.coef["ln_gdp"]) - truth["beta_ln_gdp"]) < SE_MULTIPLE * float(
        fit.se["ln_gdp"]
    )


def test_sample_universe_matches_the_code_lists() -> None:
    table = cities()
    in_all = table.loc[(table["first_year"] <= 2003) & (table["last_year"] >= 2022)]
    data = build_reference_study(SEED)
    assert data.cities["code"].nunique() == len(in_all) == 324
