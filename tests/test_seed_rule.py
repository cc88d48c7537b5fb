"""One seed rule (decision record 0022): ``seed=None`` draws a fresh seed that the result
records; passing the recorded seed reproduces the result exactly, in Python and in a study."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import didstudy as ds
from didstudy.cli import main
from didstudy.data.seed import resolve_seed
from didstudy.errors import PanelRequiredError, ValidationError


@pytest.fixture(scope="module")
def panel() -> ds.Panel:
    df = ds.simulate_staggered(
        n_units=40, periods=range(2001, 2011), cohorts={2004: 8, 2007: 8}, seed=5
    )
    df["big"] = (df["unit"].astype(str).str[-1] < "5").astype(int)
    return ds.as_panel(df, unit="unit", time="time", treat="treat")


def test_placebo_records_the_drawn_seed_and_reproduces(panel: ds.Panel) -> None:
    first = ds.placebo(panel, y="y", treat="treat", reps=40)
    second = ds.placebo(panel, y="y", treat="treat", reps=40)
    assert isinstance(first.seed, int) and first.seed != second.seed
    again = ds.placebo(panel, y="y", treat="treat", reps=40, seed=first.seed)
    np.testing.assert_array_equal(again.coef, first.coef)
    assert again.seed == first.seed and again.to_dict() == first.to_dict()


def test_permutation_test_records_the_drawn_seed_and_reproduces(panel: ds.Panel) -> None:
    kw = {"y": "y", "treat": "treat", "by": "big", "reps": 30, "test": "permutation"}
    first = ds.heterogeneity(panel, **kw)  # type: ignore[arg-type]
    assert isinstance(first.seed, int)
    again = ds.heterogeneity(panel, seed=first.seed, **kw)  # type: ignore[arg-type]
    assert again.to_dict() == first.to_dict()


def test_random_matching_order_records_the_drawn_seed(panel: ds.Panel) -> None:
    kw = {"y": "y", "treat": "treat", "covariates": ["x1", "x2"], "m_order": "random"}
    first = ds.psm_did(panel, **kw)  # type: ignore[arg-type]
    seed = first.options["seed"]
    assert isinstance(seed, int)
    again = ds.psm_did(panel, seed=seed, **kw)  # type: ignore[arg-type]
    assert again.regression.coef.equals(first.regression.coef)
    # deterministic matching uses no seed and records none
    assert ds.psm_did(panel, y="y", treat="treat", covariates=["x1"]).options["seed"] is None


def test_seed_values() -> None:
    assert resolve_seed(0) == 0 and resolve_seed(np.int64(3)) == 3
    assert resolve_seed(None) != resolve_seed(None)
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(ValidationError, match="non-negative integer"):
            resolve_seed(bad)  # type: ignore[arg-type]


STUDY = """\
[study]
title = "seed"
{seed}

[data.castle]
dataset = "castle"

[panel]
data = "castle"
unit = "state"
time = "year"
treat = "post"

[baseline]
y = "l_homicide"
treat = "post"

[[steps]]
kind = "placebo"
name = "placebo"
reps = 30
"""


def test_study_without_seed_prints_and_records_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drawn = tmp_path / "drawn.toml"
    drawn.write_text(STUDY.format(seed=""), encoding="utf-8")
    assert main(["run", str(drawn), "--out", str(tmp_path / "a"), "--no-cache"]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))
    seed = results["study"]["seed"]
    assert f"seed = {seed}" in " ".join(out.split())
    assert results["steps"]["placebo"]["result"]["stats"]["seed"] == seed
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == seed and manifest["steps"][0]["seed"] == seed
    # the printed seed written into the study file reproduces results.json byte for byte
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(STUDY.format(seed=f"seed = {seed}"), encoding="utf-8")
    assert main(["run", str(fixed), "--out", str(tmp_path / "b"), "--no-cache"]) == 0
    assert (tmp_path / "b" / "results.json").read_bytes() == (
        tmp_path / "a" / "results.json"
    ).read_bytes()


@settings(max_examples=50, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=3), st.none()))
def test_resolve_seed_property(value: object) -> None:
    """Non-negative integers pass unchanged, None gives a fresh seed, anything else fails."""
    if value is None:
        assert resolve_seed(None) >= 0
    elif isinstance(value, int) and value >= 0:
        assert resolve_seed(value) == value
    else:
        with pytest.raises(ValidationError, match="non-negative integer"):
            resolve_seed(value)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3)))
def test_estimators_refuse_what_is_not_a_panel(value: object) -> None:
    """Anything but a Panel (or a DataFrame with its roles) is refused, naming as_panel."""
    for fn in (ds.twfe, ds.bacon, ds.event_study, ds.placebo):
        with pytest.raises(PanelRequiredError, match="as_panel"):
            fn(value, y="y", treat="d")
