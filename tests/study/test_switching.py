"""A treatment that switches off in a study file: ``[panel] allow_switching = true`` admits it,
``dcdh`` estimates it, absorbing-only estimators refuse it naming dcdh; without the key the
Panel refuses it naming the key (the refusal's fix used to name an option study files lacked)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.cli import main

STUDY = """\
[study]
seed = 1
formats = ["md"]
[data.main]
path = "switch.csv"
[panel]
data = "main"
unit = "city"
time = "yr"
treat = "zone"
{switching}
[[steps]]
kind = "{kind}"
name = "effects"
y = "gap"
"""


def _panel(folder: Path) -> None:
    """SIMULATED: 40 cities x 10 years, 20 adopt in years 3..7, 5 of them stop 3 years later."""
    rng = np.random.default_rng(1)
    rows = []
    for u in range(40):
        on = int(rng.integers(3, 8)) if u < 20 else 99
        off = on + 3 if u < 5 else 99
        for t in range(1, 11):
            d = int(on <= t < off)
            rows.append((f"C{u:02d}", 2000 + t, d, rng.normal() + d))
    frame = pd.DataFrame(rows, columns=["city", "yr", "zone", "gap"])
    frame.to_csv(folder / "switch.csv", index=False)


def _run(
    tmp_path: Path, kind: str, switching: bool, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    _panel(tmp_path)
    study = tmp_path / "s.toml"
    flag = "allow_switching = true" if switching else ""
    study.write_text(STUDY.format(switching=flag, kind=kind), encoding="utf-8")
    code = main(["run", str(study), "--out", str(tmp_path / "rep")])
    return code, capsys.readouterr().err


def test_dcdh_estimates_a_switching_treatment_from_a_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _run(tmp_path, "dcdh", True, capsys)
    assert code == 0
    results = json.loads((tmp_path / "rep" / "results.json").read_text(encoding="utf-8"))
    assert results["steps"]["effects"]["kind"] == "dcdh"
    effect = results["steps"]["effects"]["result"]
    first = next(c for c in effect["cells"] if c["rel_time"] == 0)
    assert abs(first["estimate"] - 1.0) < 4 * first["std_error"]  # SIMULATED effect 1


def test_absorbing_estimators_refuse_and_name_dcdh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(tmp_path, "imputation", True, capsys)
    assert code == 2 and "Traceback" not in err
    assert "switches off" in err and "dcdh" in err


def test_without_the_key_the_panel_refusal_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(tmp_path, "dcdh", False, capsys)
    assert code == 2 and "Traceback" not in err
    assert "allow_switching" in err


def test_init_on_a_switching_treatment_says_how_to_study_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _panel(tmp_path)
    code = main(
        ["init", str(tmp_path / "switch.csv"), "--treat", "zone", "-o", str(tmp_path / "s.toml")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "allow_switching = true" in err and "dcdh" in err
    assert not (tmp_path / "s.toml").exists()  # nothing half-written
