"""``--out``: what didstudy may replace, and a swap that survives interrupts and kills (issue 10,
items 1 and 3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.errors import SpecError
from didstudy.study import outdir
from didstudy.study.outdir import MARKER, check_out, recover, staging_directory

CHECKPOINTS = ("journal", "moved-out", "moved-in", "removed-old")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MARKER
    }


def _report(out: Path, text: str) -> dict[str, bytes]:
    with staging_directory(out) as stage:
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
        (stage / "tables").mkdir()
        (stage / "tables" / "t.md").write_text(text, encoding="utf-8")
    return _tree(out)


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_a_web_app_with_a_manifest_is_never_replaced(tmp_path: Path) -> None:
    app = tmp_path / "webapp"
    (app / "src").mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "app"}', encoding="utf-8")
    (app / "index.html").write_text("<html></html>", encoding="utf-8")
    (app / "src" / "main.js").write_text("x", encoding="utf-8")
    before = _tree(app)
    with pytest.raises(SpecError, match="not a report didstudy wrote"), staging_directory(app):
        pass
    assert _tree(app) == before
    assert _leftovers(app) == []


def test_the_folder_holding_the_study_or_the_current_folder_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    study = project / "study.toml"
    study.write_text("[study]\n", encoding="utf-8")
    data = project / "data" / "panel.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    monkeypatch.chdir(project)
    for out in (Path("."), project, project / "data", tmp_path):
        with pytest.raises(SpecError, match="would delete it"):
            check_out(out, (study, data))
    with pytest.raises(SpecError, match=r"holds 'study.toml'|current folder"):
        check_out(Path("."), (study,))
    check_out(project / "report", (study, data))  # a fresh folder beside them is fine
    assert study.is_file() and data.is_file()


def test_added_or_edited_files_make_the_run_refuse_and_survive(tmp_path: Path) -> None:
    out = tmp_path / "report"
    _report(out, "first")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SpecError, match=r"did not write: 'notes\.txt'"), staging_directory(out):
        pass
    (out / "notes.txt").unlink()
    (out / "tables" / "t.md").write_text("edited by hand", encoding="utf-8")
    with pytest.raises(SpecError, match="edited since"), staging_directory(out):
        pass
    assert (out / "tables" / "t.md").read_text(encoding="utf-8") == "edited by hand"
    (out / "tables" / "t.md").write_text("first", encoding="utf-8")
    assert _report(out, "second") == {"manifest.json": b"{}", "tables/t.md": b"second"}


def test_a_forged_or_copied_marker_is_not_trusted(tmp_path: Path) -> None:
    out = tmp_path / "report"
    _report(out, "first")
    document = json.loads((out / MARKER).read_text(encoding="utf-8"))
    document["files"]["index.html"] = "0" * 64
    (out / MARKER).write_text(json.dumps(document), encoding="utf-8")
    (out / "index.html").write_text("<html>", encoding="utf-8")
    with pytest.raises(SpecError, match="no valid"), staging_directory(out):
        pass
    assert (out / "index.html").is_file()


def test_out_under_a_file_or_in_an_unwritable_place_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(SpecError, match="which is a file"):
        check_out(tmp_path / "file" / "report")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(SpecError, match="not writable"):
            check_out(locked / "report")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_an_interrupt_at_each_step_of_the_swap_leaves_one_complete_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint: str
) -> None:
    out = tmp_path / "report"
    first = _report(out, "first")

    def interrupt(label: str) -> None:
        if label == checkpoint:
            raise KeyboardInterrupt

    monkeypatch.setattr(outdir, "_checkpoint", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _report(out, "second")
    monkeypatch.setattr(outdir, "_checkpoint", lambda label: None)
    second = {"manifest.json": b"{}", "tables/t.md": b"second"}
    assert _tree(out) in (first, second)
    recover(out)
    assert _tree(out) in (first, second)
    assert _leftovers(out) == []
    assert _report(out, "third") == {"manifest.json": b"{}", "tables/t.md": b"third"}


_KILLER = """
import os, sys
from pathlib import Path
from didstudy.study import outdir
out, checkpoint = Path(sys.argv[1]), sys.argv[2]
def die(label):
    if label == checkpoint:
        os._exit(9)
outdir._checkpoint = die
with outdir.staging_directory(out) as stage:
    (stage / "manifest.json").write_text("{}")
    (stage / "tables").mkdir()
    (stage / "tables" / "t.md").write_text("second")
    if checkpoint == "building":
        os._exit(9)
"""


@pytest.mark.parametrize("checkpoint", ("building", *CHECKPOINTS))
def test_a_kill_at_each_step_is_completed_or_rolled_back_by_the_next_run(
    tmp_path: Path, checkpoint: str
) -> None:
    out = tmp_path / "report"
    first = _report(out, "first")
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", _KILLER, str(out), checkpoint], env=env, check=False
    )
    assert done.returncode == 9
    second = {"manifest.json": b"{}", "tables/t.md": b"second"}
    recover(out)
    assert _tree(out) in (first, second)
    assert _leftovers(out) == []
    assert _report(out, "third") == {"manifest.json": b"{}", "tables/t.md": b"third"}


def test_a_live_build_is_not_taken_by_another_runs_cleanup(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with staging_directory(out) as stage:
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
        recover(out)  # as another run would, while this one builds
        assert stage.is_dir()
    assert _tree(out) == {"manifest.json": b"{}"}


def test_stale_folders_of_the_old_swap_are_restored_or_removed(tmp_path: Path) -> None:
    out = tmp_path / "report"
    legacy = tmp_path / ".report.old-abc123"
    (legacy / "report").mkdir(parents=True)
    (legacy / "report" / "manifest.json").write_text("{}", encoding="utf-8")
    (tmp_path / ".report.build-xyz").mkdir()
    recover(out)
    assert _tree(out) == {"manifest.json": b"{}"}
    assert _leftovers(out) == []


_NAMES = st.text(alphabet="abcxyz._-", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..", MARKER, ".cache")
)


_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=25, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(
    added=st.lists(st.tuples(st.lists(_NAMES, min_size=1, max_size=3), st.binary(max_size=20)),
                   min_size=1, max_size=4),
)  # fmt: skip
def test_fuzz_any_foreign_file_makes_the_run_refuse(
    tmp_path_factory: pytest.TempPathFactory, added: list[tuple[list[str], bytes]]
) -> None:
    out = tmp_path_factory.mktemp("fuzz") / "report"
    _report(out, "first")
    for parts, payload in added:
        path = out.joinpath(*parts)
        if path.exists() or any(p.is_file() for p in path.parents if out in p.parents):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload + b"!")  # never byte-equal to what didstudy wrote
    before = _tree(out)
    if before == {"manifest.json": b"{}", "tables/t.md": b"first"}:
        return
    with pytest.raises(SpecError, match="refusing"), staging_directory(out):
        pass
    assert _tree(out) == before
    assert _leftovers(out) == []


@settings(max_examples=20, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(checkpoint=st.sampled_from(CHECKPOINTS), fail_twice=st.booleans())
def test_fuzz_interrupts_during_swap_and_recovery(
    tmp_path_factory: pytest.TempPathFactory, checkpoint: str, fail_twice: bool
) -> None:
    out = tmp_path_factory.mktemp("swap") / "report"
    first = _report(out, "first")
    calls = {"n": 0}

    def interrupt(label: str) -> None:
        if label == checkpoint:
            calls["n"] += 1
            raise KeyboardInterrupt

    original = outdir._checkpoint
    outdir._checkpoint = interrupt  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            _report(out, "second")
        if fail_twice:
            with pytest.raises(KeyboardInterrupt):
                _report(out, "third")
    finally:
        outdir._checkpoint = original  # type: ignore[assignment]
    valid = (first, {"manifest.json": b"{}", "tables/t.md": b"second"},
             {"manifest.json": b"{}", "tables/t.md": b"third"})  # fmt: skip
    assert _tree(out) in valid
    assert _report(out, "fourth") == {"manifest.json": b"{}", "tables/t.md": b"fourth"}
    assert _leftovers(out) == []
