"""``didstudy twfe``: success output and bad input (exit 2, one message, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from didstudy.cli import main

CASTLE = Path(__file__).resolve().parents[2] / "src/didstudy/data/datasets/castle.csv"
BASE = ["twfe", str(CASTLE), "--y", "l_homicide", "--unit", "state", "--time", "year"]


def test_cli_twfe_success(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*BASE, "--treat", "post", "--controls", "l_police,poverty", "--vcov", "hc1"])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("post", "l_police", "95% CI", "observations", "550", "hc1"):
        assert text in out
    code = main([*BASE, "--treat", "post"])
    out = capsys.readouterr().out
    assert code == 0 and "0.0818" in out and "crv1 (state)" in out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--treat", "no_such_column"], "no_such_column"),
        (["--treat", "post", "--cluster", "nope"], "nope"),
        (["--treat", "post", "--vcov", "bogus"], "bogus"),
        (["--treat", "state"], "state"),
    ],
)
def test_cli_twfe_bad_input(
    capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    code = main([*BASE, *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert needle in captured.err
    assert "Traceback" not in captured.err + captured.out
