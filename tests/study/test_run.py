"""End to end: the bundled demo, byte-identical results.json, cache reuse, atomic replacement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from didstudy.cli import main
from didstudy.errors import SpecError
from didstudy.study.run import run_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# placebo draws / permutations in tests: enough to exercise the code, cheap on 2 shared cores
QUICK_REPS = 20


DEMO = Path(__file__).resolve().parents[2] / "src/didstudy/study/examples/reference_study.toml"
TRUE_EFFECT = -0.01  # reference_study._EFFECT: half the error sd of INDG, negative


def _terms(node: object) -> list[dict[str, float]]:
    found: list[dict[str, float]] = []
    if isinstance(node, dict):
        if "term" in node and "estimate" in node and "std_error" in node:
            found.append(node)  # type: ignore[arg-type]
        for value in node.values():
            found += _terms(value)
    elif isinstance(node, list):
        for value in node:
            found += _terms(value)
    return found


def test_demo_end_to_end_deterministic_and_cached(tmp_path: Path) -> None:
    """One sequential test (the demo is the expensive part): complete report, estimate near the
    simulated truth, byte-identical results.json on a fresh rerun, cache reuse on a third run."""
    out = tmp_path / "report"
    assert main(["demo", "--out", str(out), "--reps", str(QUICK_REPS)]) == 0
    for name in ("report.html", "results.json", "manifest.json"):
        assert (out / name).is_file(), name
    tables = {p.name for p in (out / "tables").iterdir()}
    for stem in (
        "table1_definitions", "placebo_summary", "table2_descriptive", "table3_baseline",
        "table4_bacon", "table5_robustness", "table5a_psm_balance", "table6_heterogeneity",
        "table7_mechanisms", "dagum_decomposition", "table4b_cs_aggregation", "table4c_cs_group",
    ):  # fmt: skip
        assert {f"{stem}.{ext}" for ext in ("md", "csv", "tex", "xlsx", "docx")} <= tables
    figures = {p.name for p in (out / "figures").iterdir()}
    for stem in (
        "figure1_event_study", "figure2_placebo", "figure_dagum", "figure_timing",
        "figure1b_cs_event_study",
    ):  # fmt: skip
        assert {f"{stem}.png", f"{stem}.svg"} <= figures
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["study"]["simulated"] is True
    assert results["sample"]["units"] == 276
    assert {s["status"] for s in results["steps"].values()} == {"ok"}
    assert results["study"]["truth"]["cities"]["effect_indg"] == TRUE_EFFECT
    baseline = [t for t in _terms(results["steps"]["baseline"]["result"]) if t["term"] == "policy"]
    assert len(baseline) == 6
    for term in baseline:
        assert abs(term["estimate"] - TRUE_EFFECT) < 3 * term["std_error"]
    # Callaway-Sant'Anna: the simple ATT and the event-study path against the SIMULATED truth
    cs = results["steps"]["callaway_santanna"]["result"]["aggregations"]
    simple = cs["simple"]["estimates"][0]
    assert abs(simple["estimate"] - TRUE_EFFECT) < 3 * simple["std_error"]
    by_e = results["study"]["truth"]["cities"]["effect_indg_by_rel_time"]
    for row in cs["dynamic"]["estimates"][:-1]:
        e = str(int(row["rel_time"]))
        true = by_e.get(e, 0.0) if int(e) >= 0 else 0.0
        if e == "-1":  # the universal base period: zero by construction
            assert row["estimate"] == 0.0 and row["std_error"] == 0.0
            continue
        assert abs(row["estimate"] - true) < 4 * row["std_error"], (e, row, true)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "模拟数据" in html and "<img" in html and "<table" in html
    assert "表5a PSM 匹配前后协变量平衡性检验" in html  # the PSM balance of Table 5's column
    # Table 6: one group header per split dimension over its groups, and the difference tests
    table6 = (out / "tables" / "table6_heterogeneity.md").read_text(encoding="utf-8")
    assert "人口规模: " not in table6 and "| 人口规模 |" in table6 and "≥500万" in table6
    assert "组间系数差异检验 p 值（交互项）" in table6
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["simulated"] is True
    assert manifest["overrides"] == {"reps": QUICK_REPS}
    assert all(step["seconds"] >= 0 for step in manifest["steps"])
    assert len(manifest["inputs"]["cities"]["sha256"]) == 64
    first = (out / "results.json").read_bytes()

    # a second process with another string-hash seed: no dependence on set/dict ordering
    fresh = tmp_path / "fresh"
    command = [sys.executable, "-m", "didstudy", "demo", "--out", str(fresh)]
    command += ["--reps", str(QUICK_REPS), "--no-cache", "--formats", "md"]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(command, check=True, capture_output=True, env=env)
    assert (fresh / "results.json").read_bytes() == first

    again = run_study(DEMO, out, overrides={"reps": QUICK_REPS})
    assert {r.status for r in again.records} == {"cached"}
    assert (out / "results.json").read_bytes() == first
    assert (out / "tables" / "table3_baseline.docx").is_file()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CASTLE = """\
[study]
seed = 1
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
"""


def test_failing_step_leaves_the_previous_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    good = _write(tmp_path / "good.toml", CASTLE)
    assert main(["run", str(good), "--out", str(out)]) == 0
    before = (out / "results.json").read_bytes()
    # fails at run time, after the first step ran: psm needs never-treated units
    bad = _write(
        tmp_path / "bad.toml",
        CASTLE.replace("[[steps]]", '[sample]\nwhere = ["effyear > 0"]\n\n[[steps]]', 1)
        + '\n[[steps]]\nkind = "psm_did"\nname = "psm"\ny = "l_homicide"\ntreat = "post"\n'
        'covariates = ["poverty"]\n',
    )
    assert main(["run", str(bad), "--out", str(out)]) == 2
    assert (out / "results.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "good.toml", "report"]


def test_refuses_to_replace_a_directory_that_is_not_a_report(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious", encoding="utf-8")
    good = _write(tmp_path / "good.toml", CASTLE)
    with pytest.raises(SpecError, match="refusing to replace"):
        run_study(good, out)
    assert (out / "thesis.tex").read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("name", ["castle.toml", "mpdta.toml"])
def test_examples_validate(name: str) -> None:
    assert main(["validate", str(EXAMPLES / name)]) == 0


def test_unavailable_step_kinds_are_skipped_or_fail_with_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from didstudy.study import registry

    ghost = registry.StepKind(
        "ghost", ("didstudy.not_landed_yet:ghost",), "estimate", "a kind whose module is missing"
    )
    monkeypatch.setitem(registry.REGISTRY, "ghost", ghost)
    study = _write(
        tmp_path / "ghost.toml",
        CASTLE
        + '\n[[steps]]\nkind = "ghost"\nname = "g"\n'
        + '\n[[steps]]\nkind = "regression_table"\nname = "t"\ncolumns = ["baseline", "g"]\n',
    )
    out = tmp_path / "report"
    assert main(["validate", str(study)]) == 0
    assert "unavailable" in capsys.readouterr().err
    assert main(["run", str(study), "--out", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "skipped: g" in err and "needs the result of the unavailable step 'g'" in err
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["steps"]["g"]["status"] == "unavailable"
    assert results["steps"]["baseline"]["status"] == "ok"
    before = (out / "results.json").read_bytes()
    assert main(["run", str(study), "--out", str(out), "--strict"]) == 2
    assert "is unavailable" in " ".join(capsys.readouterr().err.split())
    assert (out / "results.json").read_bytes() == before


def test_validate_prints_the_plan_and_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEMO)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "276 units after the sample rules" in out
    assert "dagum_panel" in out and "placebo" in out


def test_missing_office_writer_skips_that_format_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from didstudy.errors import MissingDependencyError
    from didstudy.report import tables

    original = tables.write_table

    def no_word(table: object, stem: Path, formats: tuple[str, ...], **options: object) -> object:
        if "docx" in formats:
            raise MissingDependencyError("python-docx", "office", "Word output")
        return original(table, stem, formats=formats, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "write_table", no_word)
    study = _write(
        tmp_path / "s.toml",
        CASTLE + '\n[[steps]]\nkind = "regression_table"\nname = "t"\ncolumns = ["baseline"]\n',
    )
    outcome = run_study(study, tmp_path / "out", formats=("md", "docx"))
    assert "tables/t.md" in outcome.files and "tables/t.docx" not in outcome.files
    assert any("table format 'docx' skipped" in w for w in outcome.warnings)


def test_excel_source_with_a_sheet(tmp_path: Path) -> None:
    frame = pd.read_csv(Path(__file__).parent / "broken/_data/panel.csv")
    with pd.ExcelWriter(tmp_path / "panel.xlsx") as writer:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(writer, sheet_name="cover", index=False)
        frame.to_excel(writer, sheet_name="data", index=False)
    study = _write(
        tmp_path / "x.toml",
        CASTLE.replace('dataset = "castle"', 'path = "panel.xlsx"\nsheet = "data"')
        .replace('unit = "state"', 'unit = "city"')
        .replace('treat = "post"', 'treat = "treat"')
        .replace('y = "l_homicide"', 'y = "y"'),
    )
    outcome = run_study(study, tmp_path / "out")
    assert outcome.results["sample"]["units"] == 8
    assert outcome.results["steps"]["baseline"]["status"] == "ok"


def test_progress_callback_sees_every_step(tmp_path: Path) -> None:
    from didstudy.study.run import ProgressEvent

    events: list[ProgressEvent] = []
    study = _write(tmp_path / "s.toml", CASTLE)
    run_study(study, tmp_path / "out", progress=events.append)
    assert [(e.phase, e.index, e.total, e.name) for e in events] == [
        ("start", 0, 1, "baseline"),
        ("done", 0, 1, "baseline"),
    ]
    assert events[-1].status in ("ok", "cached")
