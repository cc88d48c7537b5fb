"""Table builders: stars, statistics, term selection, indicator rows, other table kinds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from didstudy.errors import DataError, DidstudyError
from didstudy.report.labels import join_list, normalize_lang, title, variable_label
from didstudy.report.tables import (
    Stars,
    bacon_table,
    balance_table,
    descriptive_table,
    placebo_table,
    regression_table,
)
from didstudy.report.tables.bacon import bacon_type_key
from didstudy.report.tables.format import fmt_count, fmt_number
from tests.report.fixtures.results import COLUMN_1, COLUMN_2, FakeResult


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, "***"),
        (0.00999, "***"),
        (0.01, "**"),  # boundary: strictly below the threshold earns the level
        (0.04999, "**"),
        (0.05, "*"),
        (0.0999, "*"),
        (0.1, ""),
        (0.5, ""),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
    ],
)
def test_default_star_boundaries(p: Any, expected: str) -> None:
    assert Stars()(p) == expected


def test_custom_thresholds_change_stars_and_note() -> None:
    stars = Stars.from_thresholds([0.1, 0.05])
    assert stars.levels == ((0.05, "**"), (0.1, "*"))
    assert [stars(p) for p in (0.01, 0.05, 0.0999, 0.1)] == ["**", "*", "*", ""]
    table = regression_table([COLUMN_2], stars=stars, keep=["policy"], stats=())
    assert table.body[0].grid()[1] == "-0.034**"  # p = 0.01 < 0.05
    assert table.notes == (
        "Note: ** and * denote significance at the 5% and 10% levels; "
        "standard errors in parentheses.",
    )
    single = regression_table([COLUMN_2], lang="zh", stars=Stars(((0.1, "*"),)), stats=())
    assert single.notes[0] == "注：* 表示在 10% 的水平下显著，括号里的数字为标准误。"
    none = regression_table([COLUMN_2], stars=Stars(()), keep=["policy"], stats=())
    assert none.body[0].grid()[1] == "-0.034"
    assert none.notes == ("Note: standard errors in parentheses.",)
    with pytest.raises(DidstudyError, match="strictest first"):
        Stars(((0.1, "*"), (0.05, "**")))


@pytest.mark.parametrize(
    ("statistic", "below", "note"),
    [
        ("se", "(0.006)", "standard errors in parentheses"),
        ("t", "(-5.828)", "t-statistics in parentheses"),  # -0.0373 / 0.0064
        ("p", "[0.000]", "p-values in brackets"),
        ("ci", "[-0.050, -0.025]", "95% confidence intervals in brackets"),
    ],
)
def test_statistic_below_coefficient(statistic: Any, below: str, note: str) -> None:
    table = regression_table(
        [COLUMN_1], statistic=statistic, keep=["policy"], stats=(), fixed_effects={}
    )
    assert [r.grid() for r in table.body] == [["policy", "-0.037***"], ["", below]]
    assert table.notes[0].endswith(note + ".")


def test_no_statistic_row_and_digits_and_thousands() -> None:
    table = regression_table(
        [COLUMN_2], statistic="none", digits=4, stat_digits=2, thousands=" ", keep=["policy"]
    )
    assert [r.grid() for r in table.body] == [
        ["policy", "-0.0344**"],
        ["City FE", "Yes"],
        ["Year FE", "Yes"],
        ["Observations", "15 480"],
        ["R²", "0.89"],
    ]
    assert table.notes == ("Note: ***, ** and * denote significance at the 1%, 5% and 10% levels.",)


def test_keep_drop_order_labels_and_interactions() -> None:
    result = FakeResult(
        rows=(
            ("const", 1.0, 0.1, 0.5),
            ("x1", 0.2, 0.1, 0.5),
            ("policy:pre1", -0.01, 0.012, 0.4),
            ("x2", 0.3, 0.1, 0.5),
            ("policy", -0.03, 0.006, 0.001),
        )
    )
    default = regression_table([result], stats=(), statistic="none", numbers=False)
    assert [r.grid()[0] for r in default.body] == [
        "x1",
        "policy × pre1",
        "x2",
        "policy",
        "Constant",
    ]
    labels = {"policy": "Policy", "pre1": "pre₁"}
    kept = regression_table(
        [result],
        keep=["policy", "policy*", "x?"],
        drop=["x2"],
        labels=labels,
        stats=(),
        statistic="none",
    )
    assert [r.grid()[0] for r in kept.body] == ["Policy", "Policy × pre₁", "x1"]
    assert variable_label("city", "zh") == "城市"
    assert variable_label("city", "zh", {"city": "地级市"}) == "地级市"
    assert variable_label("_cons", "zh") == "常数项"


def test_controls_row_fixed_effects_and_groups_zh() -> None:
    table = regression_table(
        {"PSM-DID": COLUMN_1, "缩尾 1%": COLUMN_2},
        lang="zh",
        kind="robustness",
        number="5",
        controls=["ln_trans", "saver"],
        show_controls=False,
        fixed_effects={"city": True, "year": [True, False]},
        groups=[("逐期匹配", 1), ("缩尾", 1)],
        stats=("nobs", "r2", "n_clusters", "bandwidth"),
        labels={"policy": "Policy"},
    )
    assert table.title == "表5 稳健性检验"
    assert [[(c.text, c.colspan) for c in r.cells] for r in table.header] == [
        [("", 1), ("逐期匹配", 1), ("缩尾", 1)],
        [("", 1), ("(1)", 1), ("(2)", 1)],
        [("变量", 1), ("PSM-DID", 1), ("缩尾 1%", 1)],
    ]
    assert [r.grid() for r in table.body] == [
        ["Policy", "-0.037***", "-0.034**"],
        ["", "(0.006)", "(0.007)"],
        ["常数项", "0.545***", "0.703***"],
        ["", "(0.001)", "(0.019)"],
        ["控制变量", "否", "是"],
        ["城市固定效应", "是", "是"],
        ["年份固定效应", "是", "否"],
        ["样本量", "5480", "15480"],
        ["R²", "0.887", "0.889"],
        ["聚类数", "274", "274"],
        ["bandwidth", "", ""],
    ]
    assert not any(r.rule_above for r in table.body)
    explicit = regression_table([COLUMN_1], controls_row=True, stats=(), fixed_effects={})
    assert [r.grid() for r in explicit.body][-1] == ["Controls", "Yes"]


def test_per_column_dependent_variables_like_table_7() -> None:
    table = regression_table(
        [COLUMN_1, COLUMN_2], dep_var=["InnoAp", "INDG"], kind="mechanism", stats=()
    )
    assert [r.grid() for r in table.header] == [
        ["", "(1)", "(2)"],
        ["Variable", "InnoAp", "INDG"],
    ]
    assert table.caption == "Mechanisms"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"groups": [("a", 1)]}, "span 1 columns but there are 2"),
        ({"dep_var": ["a"]}, "1 names for 2 columns"),
        ({"fixed_effects": {"city": [True]}}, "1 entries for 2 columns"),
        ({"controls_row": [True, False, True]}, "3 entries for 2 columns"),
    ],
)
def test_shape_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        regression_table([COLUMN_1, COLUMN_2], **kwargs)


class _NoEstimate:
    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame({"term": ["a"], "coef": [1.0]})


class _Duplicated:
    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame({"term": ["a", "a"], "estimate": [1.0, 2.0]})


def test_bad_results_are_named() -> None:
    with pytest.raises(DidstudyError, match=r"column 1 .*not an estimation result"):
        regression_table([("x", 3.0)])
    with pytest.raises(DataError, match="no 'estimate' column"):
        regression_table([_NoEstimate()])
    with pytest.raises(DataError, match="repeats the term"):
        regression_table([_Duplicated()])
    with pytest.raises(DidstudyError, match="at least one"):
        regression_table([])
    with pytest.raises(DidstudyError, match="lang='zh'"):
        regression_table([COLUMN_1], lang="fr")


def test_no_fixed_effect_rows_when_not_reported() -> None:
    plain = FakeResult(rows=(("x", 1.0, 0.5, 0.2),), statistics=(("nobs", 10),))
    table = regression_table([plain], stats=("nobs",))
    assert [r.grid()[0] for r in table.body] == ["x", "", "Observations"]


def test_descriptive_statistics_by_hand() -> None:
    data = pd.DataFrame(
        {
            "indg": [0.2, 0.4, 0.6, np.nan],
            "policy": [True, False, True, False],
            "city": ["a", "b", "c", "d"],
        }
    )
    table = descriptive_table(
        data, ["indg", "policy"], lang="zh", number=2, labels={"indg": "INDG"}, digits=4
    )
    assert table.title == "表2 主要变量描述性统计结果"
    assert table.grid() == [
        ["变量", "观测值", "均值", "标准差", "最小值", "最大值"],
        # SD with n - 1: sqrt(((0.2)^2 + 0 + (0.2)^2) / 2) = 0.2
        ["INDG", "3", "0.4000", "0.2000", "0.2000", "0.6000"],
        # sqrt((2 * 0.25 + 2 * 0.25) / 3) = 0.57735
        ["policy", "4", "0.5000", "0.5774", "0.0000", "1.0000"],
    ]
    default = descriptive_table(data, lang="en")
    assert [r.grid()[0] for r in default.body] == ["indg", "policy"]
    with pytest.raises(DataError, match="'city' is not numeric"):
        descriptive_table(data, ["city"])
    with pytest.raises(DataError, match="lacks the column"):
        descriptive_table(data, ["gdp"])
    with pytest.raises(DataError, match="unknown descriptive statistic"):
        descriptive_table(data, ["indg"], statistics=["n", "kurtosis"])


def test_bacon_table_types_and_weighted_sum_identity() -> None:
    summary = pd.DataFrame(
        {
            "type": ["Timing_groups", "Never_v_timing", "something else"],
            "avg_estimate": [-0.0006, -0.0377, 0.5402],
            "weight": [0.0150, 0.9645, 0.0205],
            "n_comparisons": [6, 3, 1],
        }
    )
    twfe = float(np.dot(summary["avg_estimate"], summary["weight"]))
    for lang, labels in (
        ("zh", ["时变处理", "从未处理 vs 时变处理", "something else"]),
        ("en", ["Timing groups (earlier vs later treated)", "Never treated vs timing", "x"]),
    ):
        table = bacon_table(
            summary, lang=lang, number=4, labels={"something else": "x"} if lang == "en" else None
        )
        grid = table.grid()
        assert [row[0] for row in grid[1:4]] == labels
        assert grid[1][1:] == ["-0.0006", "0.0150", "6"]
        assert grid[4][1:] == [f"{twfe:.4f}", "1.0000", "10"]
        assert table.body[-1].rule_above
    assert bacon_type_key("Earlier vs Later Treated") == "earlier_vs_later"
    assert bacon_type_key("Treated vs Untreated") == "never_vs_timing"
    with pytest.raises(DataError, match="no weight column"):
        bacon_table(summary.drop(columns="weight"))
    with pytest.raises(DataError, match="missing or non-numeric"):
        bacon_table(summary.assign(weight=[0.1, None, 0.2]))


def test_balance_table_before_after_groups() -> None:
    balance = pd.DataFrame(
        {
            "variable": ["ln_gdp", "edu"],
            "mean_treated_before": [16.5, 0.031],
            "mean_control_before": [16.1, 0.029],
            "std_diff_before": [35.2, 12.0],
            "mean_treated_after": [16.5, 0.031],
            "mean_control_after": [16.45, 0.0305],
            "std_diff_after": [4.1, -1.5],
        }
    )
    table = balance_table(balance, lang="zh", labels={"ln_gdp": "ln gdp"}, digits=2)
    assert [[(c.text, c.colspan) for c in r.cells] for r in table.header] == [
        [("", 1), ("匹配前", 3), ("匹配后", 3)],
        [
            ("变量", 1),
            ("处理组均值", 1),
            ("控制组均值", 1),
            ("标准化偏差（%）", 1),
            ("处理组均值", 1),
            ("控制组均值", 1),
            ("标准化偏差（%）", 1),
        ],
    ]
    assert table.body[0].grid() == ["ln gdp", "16.50", "16.10", "35.20", "16.50", "16.45", "4.10"]
    assert table.body[1].grid()[-1] == "-1.50"
    with pytest.raises(DataError, match="no mean_treated"):
        balance_table(pd.DataFrame({"variable": ["a"], "x": [1]}))


def test_placebo_table_shares_by_hand() -> None:
    draws = pd.DataFrame(
        {
            "estimate": [-0.03, -0.01, 0.0, 0.01, 0.02, np.nan],
            "p_value": [0.01, 0.5, 0.9, 0.6, 0.08, 0.3],
        }
    )
    table = placebo_table(draws, actual=-0.02, quantiles=(50,), lang="en")
    assert table.grid() == [
        ["Statistic", "Value"],
        ["Placebo draws", "5"],
        ["Mean of placebo estimates", "-0.0020"],
        ["SD of placebo estimates", f"{np.std([-0.03, -0.01, 0, 0.01, 0.02], ddof=1):.4f}"],
        ["50% quantile", "0.0000"],
        ["Actual estimate", "-0.0200"],
        ["Randomisation p (two-sided, (k+1)/(R+1))", "0.500"],  # (1 + 2) / (1 + 5)
        ["Share with |placebo| ≥ |actual| (k/R)", "0.400"],  # -0.03 and 0.02
        ["Share with placebo ≤ actual", "0.200"],  # -0.03
        ["Share of placebo p-values < 0.10", "0.4000"],  # 0.01 and 0.08
    ]
    zh = placebo_table(np.array([0.1, -0.1]), actual=0.05, lang="zh", quantiles=())
    assert zh.grid()[0] == ["统计量", "数值"]
    with pytest.raises(DataError, match="no 'estimate' column"):
        placebo_table(pd.DataFrame({"coef": [1.0]}), 0.0)


def test_formatting_helpers_and_labels() -> None:
    assert fmt_number(-0.00001, 3) == "-0.000"
    assert fmt_number(None) == "" and fmt_number(math.inf) == "∞"
    assert fmt_count(1234567.0, ",") == "1,234,567" and fmt_count(1234567) == "1234567"
    assert normalize_lang("zh-CN") == "zh"
    assert join_list(["a", "b", "c"], "en") == "a, b and c"
    assert join_list(["a", "b", "c"], "zh") == "a、b、c"
    assert title("Baseline", "en") == "Baseline"
    assert title("基准回归结果", "zh", 3) == "表3 基准回归结果"


class _Collection:
    """Like ResultCollection: iterates (name, result) pairs and has ``names``."""

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        self.items = items

    def __iter__(self) -> Any:
        return iter(self.items)

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.items]


def _clustered(result: FakeResult, clusters: Any, vcov: str = "crv1") -> FakeResult:
    extra = (("vcov", vcov), ("clusters", clusters))
    return FakeResult(result.rows, result.statistics + extra)


def test_collections_numbered_names_and_clustered_note() -> None:
    c1, c2 = _clustered(COLUMN_1, ["city"]), _clustered(COLUMN_2, ["city"])
    table = regression_table(_Collection([("(1)", c1), ("(2)", c2)]), stats=())
    # names "(1)", "(2)" duplicate the column numbers: one header row only
    assert [r.grid() for r in table.header] == [["Variable", "(1)", "(2)"]]
    assert table.notes[0].endswith("standard errors clustered by city in parentheses.")
    zh = regression_table([c1, c2], lang="zh", stats=(), labels={"city": "城市"})
    assert zh.notes[0].endswith("括号里的数字为聚类到城市层面的稳健标准误。")
    two_way = regression_table([_clustered(COLUMN_1, ["city", "year"])], stats=())
    assert "clustered by city and year" in two_way.notes[0]
    mixed = regression_table([c1, _clustered(COLUMN_2, ["province"])], stats=())
    assert mixed.notes[0].endswith("; standard errors in parentheses.")
    robust = regression_table([_clustered(COLUMN_1, [], vcov="hc1")], stats=())
    assert robust.notes[0].endswith("; standard errors in parentheses.")
    lower = regression_table([c1], labels={"city": "city"}, stats=())
    assert [r.grid()[0] for r in lower.body][-2:] == ["City FE", "Year FE"]


class _Placebo:
    """Like PlaceboResult: draws() frame and the real estimate."""

    estimate = -0.02

    def draws(self) -> pd.DataFrame:
        return pd.DataFrame({"estimate": [-0.03, 0.01, 0.02, 0.0]})


def test_result_objects_feed_the_other_tables() -> None:
    grid = placebo_table(_Placebo(), quantiles=()).grid()
    assert grid[4] == ["Actual estimate", "-0.0200"]
    assert grid[5] == ["Randomisation p (two-sided, (k+1)/(R+1))", "0.600"]  # (1 + 2) / (1 + 4)
    assert grid[6] == ["Share with |placebo| ≥ |actual| (k/R)", "0.500"]  # -0.03 and 0.02
    with pytest.raises(DataError, match="actual estimate"):
        placebo_table(pd.DataFrame({"estimate": [1.0]}))
    assert bacon_type_key("Later vs Always Treated") == "always_vs_timing"
    assert bacon_type_key("Timing Groups") == "timing"
    fraction = balance_table(
        pd.DataFrame({"variable": ["x"], "std_diff": [0.05]}), percent=False, lang="zh"
    )
    assert fraction.grid() == [["变量", "标准化偏差"], ["x", "0.050"]]
    assert fraction.notes == ("注：标准化偏差 =（处理组均值 − 控制组均值）/ 标准差。",)


class _Heterogeneity:
    """Like HeterogeneityResult: models named "dimension: group" and paired differences."""

    def __init__(self) -> None:
        self.models = _Collection(
            [
                ("size: small", COLUMN_1),
                ("size: large", COLUMN_2),
                ("resource: yes", COLUMN_1),
                ("resource: no", COLUMN_2),
            ]
        )
        self.differences = pd.DataFrame(
            {
                "dimension": ["size", "resource"],
                "group_a": ["small", "yes"],
                "group_b": ["large", "no"],
                "interaction_p_value": [0.0123, 0.5],
                "permutation_p_value": [0.02, None],
            }
        )


def test_heterogeneity_groups_and_difference_rows_like_table_6() -> None:
    table = regression_table(
        _Heterogeneity(),
        lang="zh",
        kind="heterogeneity",
        number=6,
        keep=["policy"],
        labels={"size": "城市规模", "resource": "城市类型", "policy": "Policy"},
        fixed_effects={},
        stats=("nobs",),
        extra_rows=[("样本", ["A", "B", "C", "D"])],
    )
    assert table.title == "表6 异质性检验结果"
    assert [[(c.text, c.colspan) for c in r.cells] for r in table.header] == [
        [("", 1), ("城市规模", 2), ("城市类型", 2)],
        [("", 1), ("(1)", 1), ("(2)", 1), ("(3)", 1), ("(4)", 1)],
        [("变量", 1), ("small", 1), ("large", 1), ("yes", 1), ("no", 1)],
    ]
    rows = [[(c.text, c.colspan) for c in r.cells] for r in table.body]
    assert rows[2] == [("组间系数差异检验 p 值（交互项）", 1), ("0.012", 2), ("0.500", 2)]
    assert rows[3] == [("组间系数差异检验 p 值（Fisher 置换检验，k/R）", 1), ("0.020", 2), ("", 2)]
    assert rows[4] == [("样本", 1), ("A", 1), ("B", 1), ("C", 1), ("D", 1)]
    assert rows[5] == [("样本量", 1), ("5480", 1), ("15480", 1), ("5480", 1), ("15480", 1)]
    with pytest.raises(DataError, match="extra row 'x' has 1 values"):
        regression_table([COLUMN_1, COLUMN_2], extra_rows=[("x", ["a"])])
    # the user's labels also name the groups (the split's values), e.g. English group labels
    english = regression_table(
        _Heterogeneity(),
        lang="en",
        kind="heterogeneity",
        keep=["policy"],
        labels={"size": "City size", "small": "Small", "large": "Large", "yes": "Resource"},
    )
    assert [[c.text for c in r.cells] for r in english.header[::2]] == [
        ["", "City size", "resource"],
        ["Variable", "Small", "Large", "Resource", "no"],
    ]
    assert [r.grid()[1] for r in english.body][2] == "0.012"


def test_definitions_table_like_table_1() -> None:
    from didstudy.report.tables import definitions_table

    rows = [
        ("被解释变量", "indg", "地级市 Dagum 基尼系数"),
        ("控制变量", "ln_trans", "公路客运量取对数 / 万人"),
        ("控制变量", "ln_gdp", "地区生产总值取对数 / 元"),
    ]
    table = definitions_table(rows, lang="zh", number=1, labels={"indg": "INDG"})
    assert table.title == "表1 主要变量及定义"
    assert table.grid() == [
        ["变量类型", "变量", "变量定义"],
        ["被解释变量", "INDG", "地级市 Dagum 基尼系数"],
        ["控制变量", "ln_trans", "公路客运量取对数 / 万人"],
        ["", "ln_gdp", "地区生产总值取对数 / 元"],
    ]
    frame = pd.DataFrame({"variable": ["y"], "definition": ["outcome"]})
    assert definitions_table(frame).grid() == [["Variable", "Definition"], ["y", "outcome"]]
    with pytest.raises(DataError, match="lacks the column"):
        definitions_table(pd.DataFrame({"variable": ["y"]}))
    with pytest.raises(DataError, match="4 fields"):
        definitions_table([("a", "b", "c", "d")])
