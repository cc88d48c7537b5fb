"""``didstudy panel`` and ``didstudy twfe`` name the data file in every data error (issue 10,
"Messages")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.cli import main

_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _frame() -> pd.DataFrame:
    units, years = np.repeat(np.arange(1, 9), 4), np.tile(np.arange(2000, 2004), 8)
    treat = ((units <= 4) & (years >= 2002)).astype(int)
    return pd.DataFrame({"u": units, "t": years, "d": treat, "y": np.arange(32.0)})


CORRUPTIONS = {
    "duplicate": lambda f: pd.concat([f, f.iloc[[3]]]),
    "treat_two": lambda f: f.assign(d=f["d"].where(f.index != 5, 2)),
    "switching": lambda f: f.assign(d=f["d"].where(f.index != 3, 0)),
    "missing_unit": lambda f: f.assign(u=f["u"].astype(float).where(f.index != 7)),
    "text_time": lambda f: f.assign(t=f["t"].astype(str).where(f.index != 2, "two")),
    "no_column": lambda f: f.rename(columns={"d": "dd"}),
}


@settings(max_examples=20, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(kinds=st.lists(st.sampled_from(sorted(CORRUPTIONS)), min_size=1, max_size=3, unique=True),
       command=st.sampled_from(["panel", "twfe"]))  # fmt: skip
def test_fuzz_every_data_error_names_the_file(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    kinds: list[str],
    command: str,
) -> None:
    frame = _frame()
    for kind in sorted(kinds, key=lambda k: k == "no_column"):  # renaming last
        frame = CORRUPTIONS[kind](frame)
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    frame.to_csv(path, index=False)
    args = [command, str(path), "--unit", "u", "--time", "t"]
    args += ["--treat", "d"] if command == "panel" else ["--treat", "d", "--y", "y"]
    code = main(args)
    err = " ".join(capsys.readouterr().err.split())
    if code == 0:
        return  # a corruption the command tolerates (e.g. twfe does not check switching)
    assert code == 2, err
    assert str(path) in err and "Traceback" not in err


def test_a_missing_column_shows_the_closest_name_beyond_the_first_twenty(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _frame()
    for i in range(30):
        frame[f"extra{i:02d}"] = 0.0
    frame["indg"] = frame["y"]
    path = tmp_path_factory.mktemp("cols") / "wide.csv"
    frame.to_csv(path, index=False)
    code = main(["twfe", str(path), "--y", "indgg", "--treat", "d", "--unit", "u", "--time", "t"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "did you mean 'indg'" in err and str(path) in err
    assert "(5 more)" in err  # 35 columns, 30 listed: the cut is said
