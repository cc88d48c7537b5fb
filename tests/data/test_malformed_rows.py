"""Malformed rows are refused with their file line numbers, never padded with missing values
(issue 10, "Malformed rows")."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.data.io import read_table
from didstudy.errors import DataError

_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _lines(n: int, k: int) -> list[str]:
    header = ",".join(f"c{j}" for j in range(k))
    return [header] + [",".join(f"{i}{j}.5" for j in range(k)) for i in range(n)]


def test_issue_reproducers(tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("unit,year,y\na,2000,1.0\nb,2000\nc,2000,3.0\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(short)
    message = str(info.value)
    assert "file line 3 (2 fields)" in message and str(short) in message
    cut = tmp_path / "cut.csv"
    cut.write_text("unit,year,y\na,2000,1.0\nb,2001,2.0\nc,20", encoding="utf-8")
    with pytest.raises(DataError, match=r"file line 4 \(2 fields\)"):
        read_table(cut)


@settings(max_examples=60, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(
    n=st.integers(2, 30), k=st.integers(2, 6),
    damaged=st.lists(st.integers(1, 30), max_size=4),
    cut=st.one_of(st.none(), st.integers(1, 2_000)),
)  # fmt: skip
def test_fuzz_rows_are_refused_with_lines_or_read_unpadded(
    tmp_path_factory: pytest.TempPathFactory,
    n: int,
    k: int,
    damaged: list[int],
    cut: int | None,
) -> None:
    lines = _lines(n, k)
    bad_lines = set()
    for index in damaged:
        if index <= n:
            fields = lines[index].split(",")
            lines[index] = ",".join(fields[: max(1, len(fields) - 1)])
            bad_lines.add(index + 1)  # 1-based file line
    text = "\n".join(lines) + "\n"
    if cut is not None:
        text = text[: max(len(lines[0]) + 1, len(text) - cut)]
    path = tmp_path_factory.mktemp("rows") / "data.csv"
    path.write_text(text, encoding="utf-8")
    try:
        frame = read_table(path)
    except DataError as exc:
        message = str(exc)
        assert str(path) in message
        assert "file line" in message or "no data rows" in message or "is empty" in message
        if bad_lines and cut is None:
            assert f"file line {min(bad_lines)} " in message
        return
    assert not bad_lines or cut is not None
    assert int(frame.isna().sum().sum()) == 0  # nothing padded
