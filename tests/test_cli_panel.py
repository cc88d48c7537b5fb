"""`didstudy panel`: summary output, warnings, and errors that exit 2 without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from didstudy.cli import main

DATASETS = Path(__file__).resolve().parents[1] / "src" / "didstudy" / "data" / "datasets"


def test_castle_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "panel",
            str(DATASETS / "castle.csv"),
            "--unit",
            "state",
            "--time",
            "year",
            "--treat",
            "post",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for piece in ("550", "2000-2010", "never", "29", "2006", "13", "encoding utf-8"):
        assert piece in out


def test_json_gbk_excel_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = pd.DataFrame(
        {
            "城市": ["赣州市"] * 3 + ["郴州市"] * 3,
            "年份": [2010, 2011, 2012] * 2,
            "政策": [1, 1, 1, 0, 0, 1],
        }
    )
    csv = tmp_path / "gbk.csv"
    csv.write_bytes(df.to_csv(index=False).encode("gbk"))
    code = main(["panel", str(csv), "-u", "城市", "-t", "年份", "-d", "政策", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    info = json.loads(captured.out)
    assert info["encoding"] == "gbk"
    assert info["cohorts"] == {"2010": 1, "2012": 1}
    assert info["always_treated"] == ["赣州市"]
    assert any("always treated" in w for w in info["warnings"])

    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="readme", index=False)
        df.to_excel(writer, sheet_name="2010", index=False)
    for sheet in ("2010", "1"):
        code = main(
            ["panel", str(book), "-u", "城市", "-t", "年份", "-d", "政策", "--sheet", sheet]
        )
        out = capsys.readouterr().out
        assert code == 0 and "sheet '2010'" in out and "Warnings" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.csv", "-u", "a", "-t", "b", "-d", "c"], "does not exist"),
        (["castle", "-u", "State", "-t", "year", "-d", "post"], "did you mean 'state'"),
        (["castle", "-u", "state", "-t", "year"], "no treatment given"),
        (["divorce", "-u", "st", "-t", "year", "-g", "divyear"], "appear more than once"),
        (["divorce", "-u", "st", "-t", "year", "-g", "divyear", "--query", "sex ="], "query"),
        (["castle", "-u", "state", "-t", "year", "-d", "post", "--sheet", "x"], "sheet"),
        (["castle", "-u", "state"], "Missing option"),
    ],
)
def test_errors_exit_2(args: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    if args[0] in ("castle", "divorce"):
        args = [str(DATASETS / f"{args[0]}.csv"), *args[1:]]
    code = main(["panel", *args])
    captured = capsys.readouterr()
    assert code == 2
    text = " ".join((captured.err + captured.out).split())
    assert expected in text
    assert "Traceback" not in text
    if args[0].endswith(".csv") and "Missing option" not in expected:
        assert f"file '{args[0]}'" in text  # every data error names the data file


def test_subprocess_missing_file_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "didstudy",
            "panel",
            "missing.csv",
            "--unit",
            "u",
            "--time",
            "t",
            "--treat",
            "d",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "missing.csv" in proc.stderr and "does not exist" in proc.stderr
