"""Every CLI entry validates through the Panel: same check, same message, exit 2, no numbers.

Issue 9: ``didstudy twfe`` used to print a wrong estimate for a treatment holding 2s, for
duplicated unit-year rows and for a treatment that switches off, and ``validate`` said ok where
``run`` failed. Each bad panel below is refused by ``twfe``, ``panel``, ``validate`` and ``run``
with the message the Panel itself raises.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.cli import main
from didstudy.data.panel import Panel
from didstudy.data.simulate import simulate_staggered
from didstudy.errors import ValidationError

# a printed estimate: a decimal number with at least three decimals
NUMBER = re.compile(r"-?\d+\.\d{3,}")


def _base() -> pd.DataFrame:
    return simulate_staggered(
        n_units=24, periods=range(2001, 2009), cohorts={2004: 6, 2006: 6}, seed=3
    )


def _twos(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(treat=df["treat"] * 2)


def _duplicated(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[5]]], ignore_index=True)


def _switching(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    treated = out.index[(out["treat"] == 1) & (out["time"] == out["time"].max())]
    out.loc[treated[:1], "treat"] = 0
    return out


def _no_treated(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(treat=0)


def _all_at_once(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(treat=(df["time"] >= 2005).astype(int))


BAD: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "non_binary": (_twos, "must be 0/1"),
    "duplicated_rows": (_duplicated, "appear more than once"),
    "switching_off": (_switching, "switches off"),
    "no_treated_units": (_no_treated, "no unit is treated"),
    "all_treated_at_once": (_all_at_once, "all units are treated at the same time"),
}

STUDY = """
[study]
title = "refusal"
seed = 1

[data.panel]
path = "{path}"

[panel]
data = "panel"
unit = "unit"
time = "time"
treat = "treat"

[baseline]
y = "y"
treat = "treat"

[[steps]]
kind = "twfe"
name = "baseline"
"""


def _commands(csv: Path, tmp: Path) -> dict[str, list[str]]:
    study = tmp / "study.toml"
    study.write_text(STUDY.format(path=csv.as_posix()), encoding="utf-8")
    roles = ["--unit", "unit", "--time", "time"]
    return {
        "twfe": ["twfe", str(csv), "--y", "y", "--treat", "treat", *roles],
        "panel": ["panel", str(csv), "--treat", "treat", *roles],
        "validate": ["validate", str(study)],
        "run": ["run", str(study), "--out", str(tmp / "report"), "--no-cache"],
    }


@pytest.mark.parametrize("command", ["twfe", "panel", "validate", "run"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_refuses_bad_panel(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, needle = BAD[case]
    bad = make(_base())
    # the Panel itself raises this message (the CLI must repeat it, not its own)
    with pytest.raises(ValidationError, match=needle):
        Panel(bad, unit="unit", time="time", treat="treat").require_estimable()
    csv = tmp_path / "panel.csv"
    bad.to_csv(csv, index=False)
    code = main(_commands(csv, tmp_path)[command])
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())
    assert code == 2, captured.out + captured.err
    assert needle in message, message
    assert "Traceback" not in captured.err + captured.out
    assert not NUMBER.search(captured.out), captured.out
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("command", ["twfe", "panel", "validate", "run"])
def test_cli_accepts_the_good_panel(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: the same data without the defect passes every command."""
    csv = tmp_path / "panel.csv"
    _base().to_csv(csv, index=False)
    code = main(_commands(csv, tmp_path)[command])
    captured = capsys.readouterr()
    assert code == 0, captured.err


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(0, 24 * 8 - 1), command=st.sampled_from(["twfe", "panel", "validate"]))
def test_rows_are_reported_as_file_lines(
    position: int, command: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 10: a bad cell is named by its line in the file (header = line 1) on every path."""
    tmp = tmp_path_factory.mktemp("lines")
    bad = _base()
    bad.loc[position, "treat"] = 2
    csv = tmp / "panel.csv"
    bad.to_csv(csv, index=False)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(_commands(csv, tmp)[command])
    message = " ".join(err.getvalue().split())
    assert code == 2
    assert f"line {position + 2}:" in message and "the header is line 1" in message, message
