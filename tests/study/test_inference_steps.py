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


ROBUST = """\
[study]
seed = 11
sensitivity = true
formats = ["md"]
[data.castle]
dataset = "castle"
[panel]
data = "castle"
unit = "state"
time = "year"
treat = "post"
[[steps]]
kind = "imputation"
name = "imp"
y = "l_homicide"
horizons = [0, 1, 2, 3]
[[steps]]
kind = "wild_bootstrap"
name = "imp_boot"
result = "imp"
hypothesis = "post_average"
reps = 199
[[steps]]
kind = "sun_abraham"
name = "sa"
y = "l_homicide"
window = [-3, 3]
[[steps]]
kind = "wild_bootstrap"
name = "sa_boot"
result = "sa"
hypothesis = "rel_time::0"
reps = 199
weights = "webb"
[[steps]]
kind = "regression_table"
name = "robust_boot_table"
columns = ["imp_boot", "sa_boot"]
statistic = "ci"
[[steps]]
kind = "wild_bootstrap_figure"
name = "imp_boot_figure"
result = "imp_boot"
"""


def test_bootstrap_of_robust_estimators_in_a_study(tmp_path: Path) -> None:
    """The wild bootstrap step takes imputation and Sun-Abraham results (decision 0054)."""
    study = tmp_path / "s.toml"
    study.write_text(ROBUST, encoding="utf-8")
    out = tmp_path / "report"
    run_study(study, out)
    steps = json.loads((out / "results.json").read_text(encoding="utf-8"))["steps"]
    imp, sa = steps["imp"]["result"], steps["imp_boot"]["result"]
    assert sa["kind"] == "wild_bootstrap" and sa["name"] == "post_average"
    post = imp["post_average"]
    assert sa["estimate"] == post["estimate"] and sa["std_error"] == post["std_error"]
    assert sa["conf_low"] < sa["estimate"] < sa["conf_high"] and sa["stats"]["seed"] == 11
    assert steps["sa_boot"]["result"]["stats"]["weight_kind"] == "webb"
    table = (out / "tables" / "robust_boot_table.md").read_text(encoding="utf-8")
    assert f"{sa['conf_low']:.3f}" in table and "wild cluster bootstrap (WCR" in table
    assert (out / "figures" / "imp_boot_figure.png").is_file()
    # HonestDiD and pre-trend power follow the windowed Sun-Abraham event study, not the
    # imputation one (no reference period; decision 0055)
    assert steps["sa_honest"]["result"]["kind"] == "honest_did"
    assert steps["sa_pretrend_power"]["result"]["slope_power80"] > 0
    assert "imp_honest" not in steps


CS_STUDY = """\
[study]
seed = 7
formats = ["md"]
[data.mpdta]
dataset = "mpdta"
[panel]
data = "mpdta"
unit = "countyreal"
time = "year"
cohort = "first.treat"
[[steps]]
kind = "callaway_santanna"
name = "cs"
y = "lemp"
base_period = "{base}"
[[steps]]
kind = "cs_event_study_figure"
name = "cs_figure"
result = "cs"
"""


def test_callaway_santanna_with_a_universal_base_gets_the_sensitivity_steps(
    tmp_path: Path,
) -> None:
    study = tmp_path / "s.toml"
    study.write_text(CS_STUDY.format(base="universal"), encoding="utf-8")
    run = run_study(study, tmp_path / "report")
    names = [r.name for r in run.records]
    assert names[:3] == ["cs", "cs_honest", "cs_pretrend_power"]
    assert names[-2:] == ["cs_honest_table", "cs_honest_figure"]
    results = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    honest = results["steps"]["cs_honest"]["result"]
    assert honest["kind"] == "honest_did" and len(honest["intervals"]) == 9
    table = (tmp_path / "report" / "tables" / "cs_honest_table.md").read_text(encoding="utf-8")
    assert "(HonestDiD, Callaway-Sant'Anna)" in table  # the title names its event study
    # a varying base (R did's default) gets none: HonestDiD refuses it (R HonestDiD's rule)
    study.write_text(CS_STUDY.format(base="varying"), encoding="utf-8")
    run = run_study(study, tmp_path / "report2")
    assert [r.name for r in run.records] == ["cs", "cs_figure"]


def test_etwfe_with_never_treated_comparisons_gets_the_sensitivity_steps(tmp_path: Path) -> None:
    study = tmp_path / "s.toml"
    text = CS_STUDY.replace('kind = "callaway_santanna"', 'kind = "etwfe"')
    text = text.replace('base_period = "{base}"', 'control_group = "{base}"')
    text = text.replace('kind = "cs_event_study_figure"', 'kind = "event_study_figure"')
    study.write_text(text.format(base="never"), encoding="utf-8")
    names = [r.name for r in run_study(study, tmp_path / "report").records]
    assert names[:3] == ["cs", "cs_honest", "cs_pretrend_power"]
    table = (tmp_path / "report" / "tables" / "cs_honest_table.md").read_text(encoding="utf-8")
    assert "(HonestDiD, ETWFE)" in table
    study.write_text(text.format(base="not_yet"), encoding="utf-8")  # no pre-periods: none
    assert [r.name for r in run_study(study, tmp_path / "r2").records] == ["cs", "cs_figure"]
