"""Study file parsing: line numbers, typo suggestions, schema, safe expressions, plan checks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from didstudy.cli import main
from didstudy.errors import SpecError
from didstudy.study.expr import evaluate
from didstudy.study.plan import make_plan
from didstudy.study.spec import key_line, parse_spec, spec_json_schema

VALID = """\
[study]
title = "t"
seed = 3

[data.panel]
dataset = "castle"

[panel]
data = "panel"
unit = "state"
time = "year"
treat = "post"

[[steps]]
kind = "twfe"
name = "a"
y = "l_homicide"
treat = "post"

[[steps]]
kind = "twfe"
name = "b"
y = "l_homicide"
treat = "post"
controls = ["poverty"]
"""


@pytest.mark.parametrize(
    ("key", "line"),
    [
        (("study", "seed"), 3),
        (("data", "panel", "dataset"), 6),
        (("panel", "unit"), 10),
        (("steps", 0, "kind"), 15),
        (("steps", 1, "controls"), 25),
        (("steps", 1, "nonexistent"), 20),
        (("panel",), 8),
    ],
)
def test_key_line(key: tuple[str | int, ...], line: int) -> None:
    assert key_line(VALID, key) == line


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ("seed = 3", "sed = 3", ["unknown key 'sed'", "did you mean 'seed'", "line 3"]),
        ('unit = "state"', 'unti = "state"', ["did you mean 'unit'", "line 10"]),
        (
            'controls = ["poverty"]',
            'controls = ["poverty"]\ncontrol = 1',
            ["did you mean 'controls'"],
        ),
        (
            'kind = "twfe"\nname = "a"',
            'kind = "twef"\nname = "a"',
            ["did you mean 'twfe'", "line 15"],
        ),
        ("seed = 3", "seed = 3.5", ["study.seed", "is not a whole number", "line 3"]),
    ],
)
def test_errors_name_key_line_and_closest_match(old: str, new: str, fragments: list[str]) -> None:
    text = VALID.replace(old, new, 1)
    with pytest.raises(SpecError) as info:
        make_plan(parse_spec(text, Path("study.toml")))
    message = " ".join(str(info.value).split())
    for fragment in fragments:
        assert fragment in message, message


def test_valid_spec_plans_every_step_with_seed_and_overrides() -> None:
    plan = make_plan(parse_spec(VALID), {"reps": 7})
    assert [s.name for s in plan.steps] == ["a", "b"]
    assert plan.steps[1].arguments["controls"] == ["poverty"]
    assert "reps" not in plan.steps[0].arguments  # twfe takes no reps
    assert plan.steps[0].fingerprint() != plan.steps[1].fingerprint()


def test_args_table_passes_names_that_collide_with_runner_keys() -> None:
    text = VALID + '\n[[steps]]\nkind = "regression_table"\nname = "t"\ncolumns = ["a"]\n'
    text += 'args = { kind = "baseline" }\n'
    plan = make_plan(parse_spec(text))
    assert plan.steps[2].arguments == {"columns": ["a"], "kind": "baseline"}


def test_schema_is_json_schema_of_the_study_file(capsys: pytest.CaptureFixture[str]) -> None:
    schema = spec_json_schema()
    assert {"data", "panel", "steps", "sample", "study"} <= set(schema["properties"])
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "didstudy study file"


FRAME = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "x", "z"], "c": [0.5, None, 2.0, 3.0]})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a >= 2", [False, True, True, True]),
        ("a >= 2 and b == 'x'", [False, False, True, False]),
        ("not (a > 1) or b in ['z']", [True, False, False, True]),
        ("b not in ['x', 'y']", [False, False, False, True]),
        ("1 < a <= 3", [False, True, True, False]),
        ("a * 2 - 1 > 4", [False, False, True, True]),
        ("c > 1", [False, False, True, True]),
    ],
)
def test_safe_expressions(expression: str, expected: list[bool]) -> None:
    assert evaluate(expression, FRAME).tolist() == expected


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("__import__('os').system('true')", "function calls"),
        ("a.__class__", "attributes"),
        ("b[0] == 'x'", "indexing"),
        ("lambda: 1", "Lambda"),
        ("[x for x in a]", "ListComp"),
        ("aa > 1", "did you mean 'a'"),
        ("1 > 0", "does not depend on any column"),
        ("a >", "not valid"),
    ],
)
def test_unsafe_or_invalid_expressions_are_rejected(expression: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        evaluate(expression, FRAME)
    assert fragment in str(info.value)
