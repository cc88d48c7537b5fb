"""The baseline specification: ``didstudy.Baseline`` in Python and ``[baseline]`` in study files.

One frozen spec (outcome, treatment, controls, fixed effects, cluster, vcov, small-sample
convention, weights) that estimators accept and results carry; a study file writes it once and
a step overrides only what differs (decision record 0021).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import didstudy as ds
from didstudy.errors import SpecError, ValidationError
from didstudy.study.plan import make_plan
from didstudy.study.spec import parse_spec, spec_json_schema

STUDY = """\
[study]
seed = 3

[data.panel]
dataset = "castle"

[panel]
data = "panel"
unit = "state"
time = "year"
treat = "post"

[baseline]
y = "l_homicide"
treat = "post"
controls = ["poverty", "l_police"]

[[steps]]
kind = "twfe"
name = "baseline"

[[steps]]
kind = "twfe"
name = "no_controls"
controls = []

[[steps]]
kind = "bacon"
name = "bacon"
y = "l_income"

[[steps]]
kind = "regression_table"
name = "table"
columns = ["baseline", "no_controls"]
"""


@pytest.fixture(scope="module")
def castle() -> ds.Panel:
    return ds.as_panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")


def test_steps_take_the_baseline_and_override_only_what_differs() -> None:
    plan = make_plan(parse_spec(STUDY))
    args = {s.name: dict(s.arguments) for s in plan.steps}
    assert args["baseline"]["y"] == "l_homicide"
    assert args["baseline"]["controls"] == ["poverty", "l_police"]
    assert args["no_controls"]["controls"] == [] and args["no_controls"]["treat"] == "post"
    assert args["bacon"]["y"] == "l_income" and args["bacon"]["treat"] == "post"
    # a render step takes no baseline argument
    assert "y" not in args["table"] and "controls" not in args["table"]


def test_missing_outcome_without_baseline_names_both_places() -> None:
    text = STUDY.replace('y = "l_homicide"\n', "", 1)
    with pytest.raises(SpecError, match="required argument 'y' is missing") as err:
        make_plan(parse_spec(text))
    assert "[baseline]" in str(err.value)


def test_baseline_key_typo_and_schema() -> None:
    with pytest.raises(SpecError, match="did you mean 'controls'"):
        parse_spec(STUDY.replace("controls = [", "contrls = [", 1))
    schema = spec_json_schema()
    assert "baseline" in schema["properties"]
    fields = schema["$defs"]["BaselineSpec"]["properties"]
    assert set(fields) == {"y", "treat", "controls", "fe", "cluster", "vcov", "ssc", "weights"}


def test_spec_equals_keywords_and_results_carry_it(castle: ds.Panel) -> None:
    base = ds.Baseline(y="l_homicide", treat="post", controls=["poverty"], vcov="hc1")
    by_spec = ds.twfe(castle, spec=base)
    by_keywords = ds.twfe(castle, y="l_homicide", treat="post", controls=["poverty"], vcov="hc1")
    np.testing.assert_array_equal(by_spec.params, by_keywords.params)
    np.testing.assert_array_equal(by_spec.cov, by_keywords.cov)
    assert by_spec.spec == base
    # an explicit keyword overrides the spec; None keeps it
    crv = ds.twfe(castle, spec=base, vcov="crv1", controls=None)
    assert crv.spec is not None and crv.spec.vcov == "crv1"
    assert crv.spec.controls == ("poverty",) and crv.vcov_type == "crv1"
    # changing the inference records it in the carried spec
    assert by_spec.with_vcov("iid").spec == dataclasses.replace(base, vcov="iid")
    steps = ds.stepwise(castle, spec=base.override(controls=["poverty", "l_police"]))
    assert [r.spec.controls for _, r in steps] == [(), ("poverty",), ("poverty", "l_police")]


def test_baseline_is_frozen_and_checked() -> None:
    base = ds.Baseline(y="y", treat="d", fe="unit+time", cluster="unit+time")
    assert base.fe == ("unit", "time") and base.cluster == ("unit", "time")
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.y = "z"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="unknown baseline field"):
        base.override(outcome="z")
    with pytest.raises(ValidationError, match="needs 'y'"):
        ds.twfe(ds.as_panel(ds.load_dataset("castle"), unit="state", time="year", treat="post"))
    assert ds.Baseline.from_mapping(base.to_dict()) == base


def _same(a: object, b: object) -> None:
    to_dict = getattr(a, "to_dict", None)
    if to_dict is not None:
        assert to_dict() == b.to_dict()  # type: ignore[attr-defined]
    else:
        assert [r.to_dict() for _, r in a] == [r.to_dict() for _, r in b]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("robustness_winsorized", {}),
        ("robustness_drop", {"drop": {"two": ["Florida", "Texas"]}}),
        ("anticipation", {}),
        ("mechanisms", {"mediators": ["l_police"]}),
        ("event_study", {"window": (-3, 3)}),
        ("bacon", {}),
        ("placebo", {"reps": 20, "seed": 4}),
        ("psm_did", {"covariates": ["poverty"]}),
    ],
)
def test_every_estimator_takes_the_spec(castle: ds.Panel, name: str, extra: dict) -> None:  # type: ignore[type-arg]
    fn = getattr(ds, name)
    controls = [] if name == "bacon" else ["poverty"]
    keywords = {"y": "l_homicide", "controls": controls}
    if name != "event_study":
        keywords["treat"] = "post"
    by_spec = fn(castle, spec=ds.Baseline(**keywords), **extra)
    by_keywords = fn(castle, **keywords, **extra)
    _same(by_spec, by_keywords)


ROBUST_STUDY = """\
[study]
seed = 3

[data.panel]
dataset = "mpdta"

[panel]
data = "panel"
unit = "countyreal"
time = "year"
cohort = "first.treat"

[baseline]
y = "lemp"
controls = ["lpop"]

[[steps]]
kind = "sun_abraham"
name = "sa"

[[steps]]
kind = "imputation"
name = "imp"

[[steps]]
kind = "did2s"
name = "two"

[[steps]]
kind = "etwfe"
name = "et"

[[steps]]
kind = "stacked_did"
name = "stacked"

[[steps]]
kind = "compare_estimators"
name = "cmp"
controls = []
"""


def test_robust_steps_take_the_baseline() -> None:
    """Issue 12: the robust estimators receive [baseline] like the TWFE steps (decision 0063);
    stacked DiD takes no controls, so it receives only the outcome."""
    plan = make_plan(parse_spec(ROBUST_STUDY))
    args = {s.name: dict(s.arguments) for s in plan.steps}
    for name in ("sa", "imp", "two", "et"):
        assert args[name]["y"] == "lemp" and args[name]["controls"] == ["lpop"]
    assert args["stacked"]["y"] == "lemp" and "controls" not in args["stacked"]
    assert args["cmp"]["y"] == "lemp" and args["cmp"]["controls"] == []
    without = ROBUST_STUDY.replace('y = "lemp"\n', "", 1)
    with pytest.raises(SpecError, match="required argument 'y' is missing"):
        make_plan(parse_spec(without))
