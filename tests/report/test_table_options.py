"""esttab/modelsummary options on regression tables, and labels on every row and column."""

from __future__ import annotations

import re

import pytest

from didstudy.errors import DidstudyError
from didstudy.report.labels import variable_label
from didstudy.report.tables import regression_table
from didstudy.report.tables.options import (
    TableOptions,
    apply_table_options,
    mechanism_columns,
    stars_of,
)
from tests.report._demo import TABLES, demo_run
from tests.report.fixtures.results import COLUMN_1, COLUMN_2, FakeResult

LABELS = {"policy": "Policy", "ln_trans": "ln trans", "ln_gdp": "ln gdp"}


def _stubs(table: object) -> list[str]:
    return [row.cells[0].text for row in table.body]  # type: ignore[attr-defined]


def test_rename_order_keep_drop_indicate_extra_groups_notes() -> None:
    base = regression_table([("A", COLUMN_1), ("B", COLUMN_2)], lang="en", labels=LABELS)
    terms = [r.cells[0].text for r in base.body if r.kind == "coef"]
    assert len(terms) >= 2
    out = regression_table(
        [("A", COLUMN_1), ("B", COLUMN_2)],
        lang="en",
        labels=LABELS,
        options={
            "rename": {"policy": "Demonstration zone"},
            "order": [terms[-1]],
            "drop": [],
            "indicate": {"Controls": ["No", "Yes"]},
            "extra": {"Clusters": ["276", "276"]},
            "groups": [["OLS", 1], ["Controls", 1]],
            "notes": ["Custom note."],
        },
    )
    stubs = _stubs(out)
    assert stubs[0] == terms[-1]  # reordered first
    assert "Demonstration zone" in stubs and "Policy" not in stubs
    assert stubs.index("Controls") < stubs.index("Observations") < stubs.index("Clusters")
    assert out.header[0].kind == "group" and [c.text for c in out.header[0].cells] == [
        "",
        "OLS",
        "Controls",
    ]
    assert out.notes[-1] == "Custom note."
    kept = regression_table(
        [("A", COLUMN_1), ("B", COLUMN_2)], lang="en", labels=LABELS, options={"keep": ["policy"]}
    )
    coefficient_rows = [r for r in kept.body if r.kind == "coef"]
    assert [r.cells[0].text for r in coefficient_rows] == ["Policy"]
    dropped = apply_table_options(base, TableOptions(drop=["Policy"]))
    assert "Policy" not in _stubs(dropped) and len(dropped.body) == len(base.body) - 2


def test_bad_options_are_errors_that_say_the_fix() -> None:
    with pytest.raises(DidstudyError, match="unknown table option"):
        regression_table([COLUMN_1], options={"renam": {}})
    with pytest.raises(DidstudyError, match="cells for 1 columns"):
        regression_table([COLUMN_1], options={"extra": {"Mean": ["1", "2"]}})
    with pytest.raises(DidstudyError, match="column groups span 3"):
        regression_table([COLUMN_1], options={"groups": [["a", 3]]})


def test_star_levels_and_statistic_per_table() -> None:
    assert stars_of([0.01, 0.05, 0.1])(0.004) == "***"
    assert stars_of([0.05])(0.04) == "*" and stars_of([0.05])(0.06) == ""
    one = FakeResult((("policy", -0.02, 0.008, 0.02),))
    strict = regression_table([one], lang="en", stars=[0.01, 0.05])
    assert strict.body[0].cells[1].text == "-0.020*"  # p = 0.02: one star of two levels
    ci = regression_table([one], lang="en", statistic="ci")
    assert re.fullmatch(r"\[-?\d\.\d{3}, -?\d\.\d{3}\]", ci.body[1].cells[1].text)


def test_models_from_different_estimators_sit_side_by_side() -> None:
    twfe = FakeResult((("policy", -0.01, 0.003, 0.001),), (("nobs", 100), ("mean_y", 0.25)))
    other = FakeResult((("ATT", -0.012, 0.004, 0.003),), (("nobs", 90),))
    table = regression_table(
        [("TWFE", twfe), ("CS", other)],
        lang="en",
        options={"rename": {"ATT": "Policy (ATT)"}},
    )
    stubs = _stubs(table)
    assert "policy" in stubs and "Policy (ATT)" in stubs
    mean = next(r for r in table.body if r.cells[0].text == "Mean of dependent variable")
    assert [c.text for c in mean.cells[1:]] == ["0.250", ""]


def test_interactions_and_mechanism_columns_are_labelled() -> None:
    labels = {"innoap": "Patents", "policy": "Policy", "indg": "INDG"}
    assert variable_label("innoap×policy", "en", labels) == "Patents × Policy"
    assert variable_label("a:b", "en", {"a": "A"}) == "A × b"
    names, groups = mechanism_columns(["innoap (a)", "indg (b: innoap)"], "en", labels) or ([], [])
    assert names == ["Patents", "INDG"] and groups == [("Patents", 2)]
    assert mechanism_columns(["A", "B"], "en", labels) is None


RAW = re.compile(r"^(innoap|isa|emp|indg)\b|\(a\)|\(b: |×policy")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_raw_variable_name_in_any_demo_table(lang: str) -> None:
    """Labels reach every row and column header, mechanism columns and interactions too."""
    demo_run(lang)
    for table in TABLES[lang]:
        if table.name.startswith("table1_definitions"):
            continue  # the definitions table names the variables on purpose
        for row in (*table.header, *table.body):
            for cell in row.cells:
                assert not RAW.search(cell.text), (table.name, cell.text)
