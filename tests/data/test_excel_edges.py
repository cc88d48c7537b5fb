"""Excel edges: hidden sheets, unsaved formulas, broken XML, the sheet named in messages
(issue 10, "Excel" and "never a traceback")."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didstudy.data.io import read_table, require_columns
from didstudy.errors import DataError, DidstudyWarning

ROWS = 550
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _workbook(path: Path, *, hidden_first: bool = False, formulas: bool = False) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "notes"
    first.append(["note"])
    first.append(["made by hand"])
    if hidden_first:
        first.sheet_state = "hidden"
    data = book.create_sheet("data")
    data.append(["unit", "year", "y"])
    for i in range(ROWS):
        data.append([f"u{i % 50}", 2000 + i // 50, float(i)])
    if formulas:
        data["C5"] = "=C3+C4"
        data["C9"] = "=SUM(C2:C8)"
    book.save(path)
    return path


def test_a_hidden_first_sheet_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "book.xlsx", hidden_first=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_table(path)
    assert len(frame) == ROWS and frame.attrs["sheet"] == "data"
    assert any("hidden sheet(s) 'notes'" in str(w.message) and w.category is DidstudyWarning
               for w in caught)  # fmt: skip


def test_data_on_the_second_sheet_the_error_offers_sheet(tmp_path: Path) -> None:
    frame = read_table(_workbook(tmp_path / "book.xlsx"))
    assert frame.attrs["sheet"] == "notes"
    with pytest.raises(DataError) as info:
        require_columns(frame, ["unit"], file=str(tmp_path / "book.xlsx"))
    message = str(info.value)
    assert "'data'" in message and "--sheet" in message


def test_formula_cells_without_saved_values_are_refused_with_their_cells(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "book.xlsx", formulas=True)
    with pytest.raises(DataError) as info:
        read_table(path, sheet="data")
    message = str(info.value)
    assert "2 formula cell(s)" in message and "C5" in message and "C9" in message
    assert str(path) in message and "save it" in message


def _with_sheet_xml(path: Path, xml: bytes) -> bytes:
    source = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for item in source.infolist():
            payload = source.read(item.filename)
            out.writestr(item, xml if item.filename.endswith("sheet2.xml") else payload)
    return buffer.getvalue()


def test_a_broken_sheet_xml_is_a_data_error(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "book.xlsx")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(_with_sheet_xml(path, b"<worksheet><sheetData><row><c r='A1'"))
    with pytest.raises(DataError, match="cannot be read as an Excel workbook") as info:
        read_table(broken, sheet="data")
    assert str(broken) in str(info.value)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.floats(0.05, 0.99), position=st.integers(0, 100_000), flip=st.integers(1, 255))
def test_fuzz_damaged_workbooks_are_data_errors_never_tracebacks(
    tmp_path_factory: pytest.TempPathFactory, cut: float, position: int, flip: int
) -> None:
    folder = tmp_path_factory.mktemp("xlsx")
    payload = bytearray(_workbook(folder / "book.xlsx").read_bytes())
    payload[position % len(payload)] ^= flip
    damaged = folder / "damaged.xlsx"
    damaged.write_bytes(bytes(payload[: max(1, int(len(payload) * cut))] if cut < 0.5
                              else payload))  # fmt: skip
    try:
        frame = read_table(damaged, sheet="data")
    except DataError as exc:
        assert str(damaged) in str(exc)
    else:
        assert list(frame.columns) == ["unit", "year", "y"]


def test_twfe_offers_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from didstudy.cli import main

    path = _workbook(tmp_path / "book.xlsx", hidden_first=True)
    code = main(["twfe", str(path), "--y", "y", "--treat", "y", "--unit", "unit",
                 "--time", "year", "--sheet", "nope"])  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "no sheet 'nope'" in err and "'data'" in err and "--sheet" in err
