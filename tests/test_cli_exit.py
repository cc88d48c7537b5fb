"""Exit codes of the CLI at the edges: Ctrl-C is 130 with one line, OS errors are 2 without a
traceback (issue 10, item 4 and "never a traceback")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from didstudy.cli import EXIT_INTERRUPTED, main

SRC = str(Path(__file__).resolve().parents[1] / "src")
CASTLE = Path(__file__).resolve().parents[1] / "examples" / "castle.toml"
# how long the child may take to start and reach the hanging step before SIGINT is sent
START_TIMEOUT_S = 60


def test_ctrl_c_inside_a_command_exits_130_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import didstudy.study.run as run_module

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "run_study", interrupted)
    code = main(["run", str(CASTLE), "--out", "unused"])
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err
    assert "Traceback" not in err


_HANGS = """
import sys, time
import didstudy.study.run as run_module
from didstudy.cli import main
def hang(*args, **kwargs):
    print("ready", flush=True)
    time.sleep(60)
run_module.run_study = hang
sys.exit(main(sys.argv[1:]))
"""


def test_a_real_sigint_exits_130(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    child = subprocess.Popen(
        [sys.executable, "-c", _HANGS, "run", str(CASTLE), "--out", str(tmp_path / "r")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    started = time.monotonic()
    line = child.stdout.readline()
    assert line.strip() == "ready", time.monotonic() - started
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=START_TIMEOUT_S)
    assert child.returncode == EXIT_INTERRUPTED, err
    assert "interrupted" in err and "Traceback" not in err


def test_out_under_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code = main(["run", str(CASTLE), "--out", str(blocker / "report"), "--reps", "2"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "which is a file" in " ".join(err.split()) and "Traceback" not in err


def test_an_os_error_is_exit_2_with_the_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import didstudy.study.run as run_module

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/somewhere/report")

    monkeypatch.setattr(run_module, "run_study", denied)
    assert main(["run", str(CASTLE), "--out", "unused"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Permission denied '/somewhere/report'" in err and "Fix:" in err
