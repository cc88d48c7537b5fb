"""Never silent: rows left out are named with file lines on the terminal, at the top of the report
and in the manifest; overflow and a constant outcome are refused (issue 10, "Never silent")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.cli import main
from didstudy.data.simulate import simulate_staggered
from didstudy.errors import DataError, EstimationError
from didstudy.study.dropped import MAX_MAGNITUDE, screen_rows

STUDY = """\
[study]
title = "never silent"
formats = ["md"]

[data.panel]
path = "panel.csv"

[panel]
data = "panel"
unit = "unit"
time = "time"
treat = "treat"

[[steps]]
kind = "twfe"
name = "baseline"
y = "y"
treat = "treat"
controls = ["x1"]

[[steps]]
kind = "event_study"
name = "dynamic"
y = "y"

[[steps]]
kind = "regression_table"
name = "table"
columns = ["baseline"]
"""


def _project(tmp_path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(tmp_path / "panel.csv", index=False)
    (tmp_path / "study.toml").write_text(STUDY, encoding="utf-8")
    return tmp_path / "study.toml"


def _panel() -> pd.DataFrame:
    frame = simulate_staggered(seed=1)
    return frame[frame["unit"] <= 60].reset_index(drop=True)


def test_dropped_rows_are_named_on_the_terminal_report_top_and_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _panel()
    frame.loc[[3, 40], "y"] = np.nan
    frame.loc[7, "x1"] = np.inf
    study = _project(tmp_path, frame)
    out = tmp_path / "report"
    assert main(["run", str(study), "--out", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    expected = "3 of 1200 rows left out for missing or infinite values in 'y' (2 missing), "
    assert expected in err, err
    assert "'x1' (1 infinite)" in err and "file lines 5, 9, 42 of" in err
    assert "warning baseline:" in err and "warning dynamic:" in err  # the event study too
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.index('id="warnings"') < html.index("<table")
    assert "file lines 5, 9, 42" in html
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("file lines 5, 9, 42" in w for w in manifest["warnings"])
    assert manifest["inputs"]["panel"]["encoding"] == "utf-8"


def test_overflow_and_constant_outcomes_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _panel()
    frame.loc[11, "y"] = 1e307
    study = _project(tmp_path, frame)
    assert main(["validate", str(study)]) == 2  # validate refuses what run would refuse
    assert "squares overflow" in " ".join(capsys.readouterr().err.split())
    assert main(["run", str(study), "--out", str(tmp_path / "r")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "squares overflow" in err and "file line 13 of" in err and "Traceback" not in err
    frame = _panel()
    frame["y"] = 3.0
    study = _project(tmp_path, frame)
    assert main(["run", str(study), "--out", str(tmp_path / "r")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the outcome is constant" in err and "column 'y'" in err


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(3, 60),
    marks=st.lists(
        st.tuples(st.integers(0, 59), st.sampled_from(["y", "x"]),
                  st.sampled_from([np.nan, np.inf, -np.inf, 2e150, 1.0])),
        max_size=8,
    ),
    factor_missing=st.lists(st.integers(0, 59), max_size=3),
)  # fmt: skip
def test_fuzz_every_left_out_row_is_counted_and_located(
    n: int, marks: list[tuple[int, str, float]], factor_missing: list[int]
) -> None:
    frame = pd.DataFrame(
        {"y": np.arange(n, dtype=float), "x": np.ones(n), "g": ["a"] * n}, dtype=object
    ).astype({"y": float, "x": float})
    for row, column, value in marks:
        if row < n:
            frame.loc[row, column] = value
    for row in factor_missing:
        if row < n:
            frame.loc[row, "g"] = None
    lines = [10 + 2 * i for i in range(n)]
    values = frame[["y", "x"]].to_numpy()
    huge = np.isfinite(values) & (np.abs(values) > MAX_MAGNITUDE)
    bad = ~np.isfinite(values).all(axis=1) | frame["g"].isna().to_numpy()
    kept = frame["y"].to_numpy()[~bad]
    try:
        notes = screen_rows(frame, ["y", "x"], ["g"], "y", lines, "d.csv")
    except DataError as exc:
        assert huge.any() and "overflow" in exc.message
        column = ["y", "x"].index(str(exc.column))
        first = int(np.flatnonzero(huge[:, column])[0])
        assert f" {lines[first]}" in exc.message and "file line" in exc.message
        return
    except EstimationError:
        assert len(kept) > 1 and np.all(kept == kept[0])
        return
    assert not huge.any()
    if not bad.any():
        assert notes == ()
        return
    (note,) = notes
    assert note.startswith(f"{int(bad.sum())} of {n} rows left out")
    first = [lines[i] for i in np.flatnonzero(bad)[:5]]
    assert ", ".join(map(str, first)) in note and "of d.csv" in note


def test_text_in_a_number_column_and_no_rows_left_name_cells_and_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _panel().astype({"x1": object})
    frame.loc[[6, 20], "x1"] = "n/a (see note)"
    study = _project(tmp_path, frame)
    assert main(["run", str(study), "--out", str(tmp_path / "r")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "column 'x1'" in err and "is not numeric: 2 value(s)" in err
    assert "file lines 8, 22 of" in err and "Traceback" not in err
    frame = _panel()
    frame["x1"] = np.nan
    study = _project(tmp_path, frame)
    assert main(["run", str(study), "--out", str(tmp_path / "r")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no observations left" in err and "'x1' (1200 missing)" in err and "Fix:" in err


def test_a_perfect_fit_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = _panel()
    frame["y"] = frame["unit"] * 0.5 + (frame["time"] - 2000) * 0.1 + 2.0 * frame["treat"]
    study = _project(tmp_path, frame)
    assert main(["run", str(study), "--out", str(tmp_path / "r")]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "standard error 0 or missing" in err and "'treat'" in err
