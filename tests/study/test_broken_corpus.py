"""Every broken study in tests/study/broken/ fails with a short message, exit code 2, no traceback,
and leaves an earlier report untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from didstudy.cli import main
from didstudy.study.outdir import staging_directory

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(p for p in BROKEN.iterdir() if p.is_dir() and not p.name.startswith("_"))
# a message is "short": the error line plus its Fix line, wrapped by the console
MAX_MESSAGE_LINES = 12


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def earlier_report(tmp_path: Path) -> Path:
    out = tmp_path / "report"
    with staging_directory(out) as stage:
        (stage / "manifest.json").write_text('{"earlier": true}\n', encoding="utf-8")
        (stage / "report.html").write_text("<p>EARLIER</p>\n", encoding="utf-8")
    return out


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_broken_case(
    case: Path,
    earlier_report: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").strip()
    before = _tree_digest(earlier_report)
    # run from the case's folder, as a user would: the message's length must not depend on
    # where the checkout lives (a long temporary path wrapped to one line more than allowed)
    monkeypatch.chdir(case)
    code = main(["run", "study.toml", "--out", str(earlier_report), "--no-cache"])
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())
    assert code == 2, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert expected in message, message
    assert "Fix:" in captured.err or "did you mean" in message, message
    assert len(captured.err.strip().splitlines()) <= MAX_MESSAGE_LINES, captured.err
    assert _tree_digest(earlier_report) == before
    leftovers = [p.name for p in earlier_report.parent.iterdir() if p.name.startswith(".report")]
    assert leftovers == []


@pytest.mark.parametrize("case", CASES[:3], ids=lambda p: p.name)
def test_validate_reports_the_same_problem(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").strip()
    code = main(["validate", str(case / "study.toml")])
    message = " ".join(capsys.readouterr().err.split())
    if code == 0:
        pytest.skip("this case fails only when the step runs")
    assert code == 2
    assert expected in message
