"""A study file cannot hang or exhaust the machine; every argument is bounded by meaning and
strictly typed; ``validate`` says key, line and range with exit 2 (issue 10, "A study file must
not hang" and "Study steps")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.cli import main
from didstudy.errors import SpecError
from didstudy.report.tables.format import Stars
from didstudy.study.expr import evaluate
from didstudy.study.limits import BOUNDS, MAX_NESTING
from didstudy.study.plan import make_plan
from didstudy.study.spec import parse_spec

# a refused value must be refused fast: no computation of what it asks for
FAST_S = 2.0

HEAD = """\
[study]
title = "limits"
seed = 3

[data.panel]
dataset = "castle"

[panel]
data = "panel"
unit = "state"
time = "year"
treat = "post"
"""

# one step per kind that carries bounded arguments, each argument given once (line = marker)
STEPS = {
    "reps": ('kind = "placebo"\nname = "p"\ny = "l_homicide"\ntreat = "post"\n', "reps"),
    "chunk_size": ('kind = "placebo"\nname = "p"\ny = "l_homicide"\n', "chunk_size"),
    "n_treated": ('kind = "placebo"\nname = "p"\ny = "l_homicide"\n', "n_treated"),
    "seed": ('kind = "placebo"\nname = "p"\ny = "l_homicide"\n', "seed"),
    "window": ('kind = "event_study"\nname = "e"\ny = "l_homicide"\n', "window"),
    "base": ('kind = "event_study"\nname = "e"\ny = "l_homicide"\n', "base"),
    "level": ('kind = "event_study"\nname = "e"\ny = "l_homicide"\n', "level"),
    "bins": ('kind = "placebo_figure"\nname = "f"\nresult = "p"\n', "bins"),
    "figsize": ('kind = "placebo_figure"\nname = "f"\nresult = "p"\n', "figsize"),
    "digits": ('kind = "regression_table"\nname = "t"\ncolumns = ["a"]\n', "digits"),
    "stat_digits": ('kind = "regression_table"\nname = "t"\ncolumns = ["a"]\n', "stat_digits"),
    "ci_level": ('kind = "regression_table"\nname = "t"\ncolumns = ["a"]\n', "ci_level"),
}


def _study(body: str, extra: str = "") -> str:
    return HEAD + extra + "\n[[steps]]\n" + body


def _plan_error(text: str) -> SpecError:
    started = time.perf_counter()
    with pytest.raises(SpecError) as info:
        make_plan(parse_spec(text, Path("study.toml")))
    assert time.perf_counter() - started < FAST_S
    return info.value


def _line_of(text: str, needle: str) -> int:
    return max(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(needle))


REPRODUCERS = [
    ("reps", "1000000000000", "100,000"),
    ("window", "[-1000000000, 1000000000]", "between -200 and 200"),
    ("digits", "100000000", "between 0 and 10"),
    ("digits", "-3", "between 0 and 10"),
    ("bins", "300000000", "between 1 and 1,000"),
    ("figsize", "[100000, 100000]", "between 1 and 50"),
    ("seed", "-1", "between 0 and"),
    ("seed", "true", "is not a whole number"),
    ("reps", "2.5", "is not a whole number"),
    ("reps", '"10"', "is not a whole number"),
    ("level", "1.5", "(exclusive)"),
]


@pytest.mark.parametrize(("name", "value", "expected"), REPRODUCERS)
def test_issue_reproducers_are_refused_with_key_line_and_range(
    name: str, value: str, expected: str
) -> None:
    body, key = STEPS[name]
    text = _study(body + f"{key} = {value}\n")
    error = _plan_error(text)
    message = " ".join(str(error).split())
    assert expected in message, message
    assert f"line {_line_of(text, key + ' =')}" in message, message
    assert f"{key} =" in message and "Fix:" in message


def test_valid_values_in_range_pass_and_stars_tables_become_stars() -> None:
    body = STEPS["digits"][0] + 'digits = 3\nstars = { "***" = 0.01, "**" = 0.05 }\n'
    plan = make_plan(parse_spec(_study(body), Path("study.toml")))
    stars = plan.steps[0].arguments["stars"]
    assert isinstance(stars, Stars) and stars(0.02) == "**"
    error = _plan_error(_study(STEPS["digits"][0] + 'stars = { "*" = 7 }\n'))
    assert "(0, 1)" in str(error)
    error = _plan_error(_study(STEPS["digits"][0] + 'stars = "lots"\n'))
    assert "[threshold, symbol]" in str(error)


def test_study_level_reproducers() -> None:
    seed = _plan_error(HEAD.replace("seed = 3", "seed = -1"))
    assert "study.seed" in str(seed) and "line 3" in str(seed)
    rot = _plan_error(HEAD.replace('dataset = "castle"', 'path = "x.csv"\nencoding = "rot13"'))
    assert "not a text encoding" in str(rot) and "line 7" in str(rot)
    hang = _plan_error(HEAD + '\n[sample]\nwhere = ["year < 9 ** 9 ** 9 ** 9"]\n')
    assert "too large" in str(hang) and "sample.where[0]" in str(hang)
    big = _plan_error(HEAD + "\n[sample]\nwhere = [\"state == 'x' * 3000000000\"]\n")
    assert "repeating" in str(big)
    deep = _plan_error("a = " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested" in str(deep)
    nested = _plan_error(HEAD + "\n[[steps]]\n" + STEPS["digits"][0] + "x = " + "[" * 40 + "1"
                         + "]" * 40 + "\n")  # fmt: skip
    assert f"more than {MAX_NESTING} deep" in str(nested)
    other = _plan_error(_study(STEPS["reps"][0] + 'data = "panel"\n'))
    assert "'data' applies only" in str(other)
    progress = _plan_error(_study(STEPS["reps"][0] + 'progress = "bar"\n'))
    assert "progress" in str(progress) and "remove" in str(progress)


def test_validate_cli_exits_2_and_reps_override_is_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study.toml"
    study.write_text(_study(STEPS["reps"][0] + "reps = 1000000000000\n"), encoding="utf-8")
    assert main(["validate", str(study)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "reps" in err and "100,000" in err and "Traceback" not in err
    study.write_text(_study(STEPS["reps"][0] + "reps = 10\n"), encoding="utf-8")
    assert main(["validate", str(study), "--reps", "1000000000000"]) == 2
    assert "--reps" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- fuzzing

_TOML_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet="abc xyz", max_size=5).map(lambda s: f'"{s}"'),
    st.lists(st.integers(-(10**12), 10**12), max_size=3).map(str),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), max_size=3).map(str),
)


def _fits(name: str, value: Any) -> bool:
    from didstudy.study.limits import _bound_ok

    return _bound_ok(value, BOUNDS[name])


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(sorted(STEPS)), value=_TOML_VALUES)
def test_fuzz_every_bounded_argument_is_in_range_or_refused_with_its_line(
    name: str, value: str
) -> None:
    import tomllib

    body, key = STEPS[name]
    text = _study(body + f"{key} = {value}\n")
    parsed = tomllib.loads(f"v = {value}")["v"]
    try:
        plan = make_plan(parse_spec(text, Path("study.toml")))
    except SpecError as exc:
        assert f"line {_line_of(text, key + ' =')}" in str(exc)
        assert not _fits(name, parsed) or "not" in exc.message
        return
    assert _fits(name, parsed), (name, parsed)
    assert plan.steps[0].arguments[key] == parsed


_ATOMS = st.sampled_from(["year", "post", "state", "9", "2", "0", "'x'", "1.5", "[1, 2]", "-3"])
_OPS = st.sampled_from(["**", "*", "+", "-", "/", "%", "<", "==", "and", "or", "in"])


@st.composite
def _expressions(draw: st.DrawFn) -> str:
    text = draw(_ATOMS)
    for _ in range(draw(st.integers(0, 6))):
        op, atom = draw(_OPS), draw(_ATOMS)
        text = f"{atom} {op} ({text})" if draw(st.booleans()) else f"{text} {op} {atom}"
    return text


@settings(max_examples=150, deadline=None)
@given(expression=_expressions())
def test_fuzz_expressions_finish_fast_and_fail_only_with_spec_errors(expression: str) -> None:
    frame = pd.DataFrame({"year": [2000, 2001, 2002], "post": [0, 1, 1], "state": ["a", "b", "c"]})
    started = time.perf_counter()
    try:
        out = evaluate(expression, frame)
    except SpecError:
        pass
    else:
        assert out.dtype == bool and len(out) == len(frame)
    assert time.perf_counter() - started < FAST_S
