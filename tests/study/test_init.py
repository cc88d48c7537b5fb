"""`didstudy init`: detected roles, a study file that validates and runs, explicit flags win.

The matrix runs init -> validate -> run on the bundled datasets and on SIMULATED panels written
in every supported format, with other column names (Chinese, dotted), a GBK csv and the three
codings of never-treated units in a cohort column (0, empty, 9999); the report's main TWFE must
equal the direct ``ds.twfe`` call on the same panel.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import didstudy as ds
from didstudy.cli import main
from didstudy.data.simulate import simulate_staggered
from didstudy.errors import DataError, SpecError
from didstudy.study.detect import detect_roles
from didstudy.study.init_template import init_study
from didstudy.study.run import prepare, run_study
from didstudy.study.spec import load_spec
from didstudy.study.toml_text import toml_value

QUICK = {"reps": 20}
# the report's TWFE and the direct call run the same code on the same rows: only the JSON
# rounding to 12 significant digits separates them
JSON_DIGITS = 1e-10


def _panel(coding: str, names: dict[str, str]) -> pd.DataFrame:
    frame = simulate_staggered(n_units=60, periods=range(2005, 2015), seed=7)
    frame = frame.drop(columns=["treat"])
    cohort = frame["cohort"].astype("float64")
    never = ~np.isfinite(cohort) | (cohort <= 0) | (cohort > frame["time"].max())
    frame["cohort"] = {"zero": 0.0, "empty": np.nan, "9999": 9999.0}[coding]
    frame.loc[~never, "cohort"] = cohort[~never]
    return frame.rename(columns=names)


CHINESE = {"unit": "城市代码", "time": "年份", "cohort": "首次批准年份", "y": "夜光基尼"}
DOTTED = {"unit": "firm.id", "time": "period", "cohort": "first.treat", "y": "ln.sales"}
STATA = {"unit": "county_id", "time": "year", "cohort": "adopt_year", "y": "outcome"}


def _write(frame: pd.DataFrame, folder: Path, fmt: str) -> Path:
    path = folder / f"panel.{fmt}"
    if fmt == "csv":
        path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt == "dta":
        frame.to_stata(path, write_index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _check_twfe(study: Path, out: Path) -> dict[str, Any]:
    outcome = run_study(study, out, overrides=QUICK, formats=("md",))
    assert not outcome.unavailable
    assert (out / "report.html").is_file()
    spec = load_spec(study).spec
    step = next(s for s in spec.steps if s.name == "twfe")
    _, context = prepare(study)
    direct = ds.twfe(context.panel(), **step.arguments).tidy()
    reported = pd.DataFrame(json.loads((out / "results.json").read_text())["steps"]["twfe"]
                            ["result"]["terms"])  # fmt: skip
    for column in ("estimate", "std_error", "p_value"):
        np.testing.assert_allclose(reported[column], direct[column], rtol=JSON_DIGITS)
    return outcome.results


@pytest.mark.parametrize("dataset", ["castle", "mpdta", "divorce"])
def test_bundled_datasets(dataset: str, tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    assert main(["init", dataset, "-o", str(study)]) == 0
    assert main(["validate", str(study), "--reps", "20"]) == 0
    results = _check_twfe(study, tmp_path / "report")
    assert {"twfe", "event_study", "placebo", "bacon", "winsorized"} <= set(results["steps"])


@pytest.mark.parametrize(
    ("fmt", "coding", "names"),
    [
        ("csv", "zero", CHINESE),
        ("xlsx", "empty", DOTTED),
        ("dta", "9999", STATA),
        ("parquet", "empty", CHINESE),
    ],
)
def test_written_panels(fmt: str, coding: str, names: dict[str, str], tmp_path: Path) -> None:
    data = _write(_panel(coding, names), tmp_path, fmt)
    study = tmp_path / "sub" / "study.toml"
    assert main(["init", str(data), "-o", str(study)]) == 0
    spec = load_spec(study).spec
    assert (spec.panel.unit, spec.panel.time, spec.panel.cohort) == (
        names["unit"], names["time"], names["cohort"],
    )  # fmt: skip
    assert spec.data["panel"].path == f"../panel.{fmt}"
    _check_twfe(study, tmp_path / "report")


def test_flags_override_detection(tmp_path: Path) -> None:
    study = tmp_path / "castle.toml"
    done = init_study(
        "castle", study, unit="sid", treat="post", y="l_homicide", controls=["l_police"]
    )
    assert (done.roles.unit, done.roles.treat, done.roles.outcome) == ("sid", "post", "l_homicide")
    assert done.roles.detected == ("time", "cohort")
    raw = tomllib.loads(study.read_text(encoding="utf-8"))
    baseline = next(s for s in raw["steps"] if s["name"] == "baseline")
    assert baseline["controls"] == ["l_police"] and baseline["treat"] == "post"


def test_placeholders_and_disabled_steps(tmp_path: Path) -> None:
    study = tmp_path / "mpdta.toml"
    init_study("mpdta", study)
    steps = {s.name: s for s in load_spec(study).spec.steps}
    # mpdta has no time-varying control: stepwise is a disabled placeholder, PSM uses lpop
    assert not steps["baseline"].enabled
    assert steps["psm_did"].enabled and steps["psm_did"].arguments["covariates"] == ["lpop"]
    for name in ("drop_units", "concurrent", "heterogeneity", "mechanisms"):
        assert not steps[name].enabled
    assert "baseline" not in steps["table_baseline"].arguments["columns"]


def test_cohort_codings_are_detected() -> None:
    for coding in ("zero", "empty", "9999"):
        roles = detect_roles(_panel(coding, {}))
        assert (roles.unit, roles.time, roles.cohort, roles.outcome) == (
            "unit", "time", "cohort", "y",
        )  # fmt: skip
        key = {"zero": "never_zero", "empty": "never_empty", "9999": "never_after_sample"}
        assert roles.facts[key[coding]] == roles.facts["never_treated"] > 0


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "s.toml"
    init_study("castle", study)
    with pytest.raises(SpecError, match="already exists"):
        init_study("castle", study)
    with pytest.raises(DataError, match="not in the data"):
        init_study("castle", tmp_path / "t.toml", unit="stat")
    flat = tmp_path / "flat.csv"
    pd.DataFrame({"a": ["x", "y", "z"], "b": [0.1, 0.2, 0.3]}).to_csv(flat, index=False)
    assert main(["init", str(flat), "-o", str(tmp_path / "f.toml")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot detect the period" in err and "--time" in err and "Traceback" not in err
    assert not (tmp_path / "f.toml").exists()


_scalars = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8,
)  # fmt: skip


@given(_values)
@settings(max_examples=200, deadline=None)
def test_toml_values_round_trip(value: Any) -> None:
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == value
