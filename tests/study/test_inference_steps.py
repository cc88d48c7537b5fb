"""Study steps for inference: wild bootstrap of a step's result, automatic HonestDiD after
every event study (table, figure, pre-trend power), results.json keeps them."""

from __future__ import annotations

import json
from pathlib import Path

from didstudy.study.run import run_study

STUDY = """\
[study]
seed = 7
sensitivity = {sensitivity}
formats = ["md"]
[data.castle]
dataset = "castle"
[panel]
data = "castle"
unit = "state"
time = "year"
treat = "post"
[[steps]]
kind = "twfe"
name = "baseline"
y = "l_homicide"
treat = "post"
[[steps]]
kind = "wild_bootstrap"
name = "baseline_boot"
result = "baseline"
hypothesis = "post"
reps = 199
[[steps]]
kind = "event_study"
name = "es"
y = "l_homicide"
window = [-4, 4]
[[steps]]
kind = "event_study_figure"
name = "es_figure"
result = "es"
[[steps]]
kind = "regression_table"
name = "boot_table"
columns = ["baseline_boot"]
statistic = "ci"
[[steps]]
kind = "regression_table"
name = "es_table"
columns = ["es"]
"""


def test_bootstrap_and_automatic_sensitivity_steps(tmp_path: Path) -> None:
    study = tmp_path / "s.toml"
    study.write_text(STUDY.format(sensitivity="true"), encoding="utf-8")
    out = tmp_path / "report"
    run = run_study(study, out)
    names = [r.name for r in run.records]
    assert names.index("es_honest") == names.index("es") + 1
    assert {"es_pretrend_power", "es_honest_table", "es_honest_figure"} <= set(names)
    # the sensitivity table and figure follow the last step that presents the event study
    assert names.index("es_honest_table") == names.index("es_table") + 1
    assert names.index("es_honest_figure") == names.index("es_table") + 2
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    steps = results["steps"]
    boot = steps["baseline_boot"]["result"]
    assert boot["kind"] == "wild_bootstrap" and boot["stats"]["seed"] == 7
    assert boot["conf_low"] < boot["estimate"] < boot["conf_high"]
    honest = steps["es_honest"]["result"]
    assert honest["kind"] == "honest_did" and len(honest["intervals"]) == 9
    assert steps["es_pretrend_power"]["result"]["slope_power80"] > 0
    assert (out / "tables" / "es_honest_table.md").is_file()
    assert (out / "figures" / "es_honest_figure.png").is_file()
    table = (out / "tables" / "boot_table.md").read_text(encoding="utf-8")
    assert f"{boot['conf_low']:.3f}" in table
    assert "wild cluster bootstrap (WCR, rademacher weights, 199 draws" in table
    es_table = (out / "tables" / "es_table.md").read_text(encoding="utf-8")
    assert "Pre-test power (Roth 2022)" in es_table
    # a second run reuses every step from the cache and writes the same results.json
    first = (out / "results.json").read_bytes()
    again = run_study(study, out)
    assert {r.status for r in again.records} == {"cached"}
    assert (out / "results.json").read_bytes() == first


def test_sensitivity_can_be_turned_off(tmp_path: Path) -> None:
    study = tmp_path / "s.toml"
    study.write_text(STUDY.format(sensitivity="false"), encoding="utf-8")
    run = run_study(study, tmp_path / "report")
    assert not [r.name for r in run.records if r.name.startswith("es_honest")]
