"""read_table: every format, encoding detection, and every error message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.data.io import read_table
from didstudy.errors import DataError

CITIES = ["北京市", "上海市", "广州市", "重庆市", "乌鲁木齐市"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": CITIES,
            "year": [2003, 2004, 2005, 2006, 2007],
            "gdp": [1.5, 2.25, np.nan, 4.0, 5.125],
        }
    )


def _check(df: pd.DataFrame) -> None:
    ref = _frame()
    assert list(df.columns) == ["city", "year", "gdp"]
    assert df["city"].tolist() == CITIES
    assert df["year"].tolist() == ref["year"].tolist()
    np.testing.assert_allclose(df["gdp"].to_numpy(float), ref["gdp"].to_numpy(float))


def _csv_text(sep: str = ",") -> str:
    return _frame().to_csv(index=False, sep=sep, lineterminator="\n")


@pytest.mark.parametrize(
    ("name", "encoding", "expected"),
    [
        ("utf8.csv", "utf-8", "utf-8"),
        ("bom.csv", "utf-8-sig", "utf-8-sig"),
        ("gbk.csv", "gbk", "gbk"),
        ("gb18030.csv", "gb18030", "gb18030"),
        ("utf16.csv", "utf-16", "utf-16"),
        ("tabs.tsv", "utf-8", "utf-8"),
    ],
)
def test_text_encodings_detected(tmp_path: Path, name: str, encoding: str, expected: str) -> None:
    text = _csv_text("\t" if name.endswith(".tsv") else ",")
    if expected == "gb18030":
        # U+20000 (CJK Ext. B) exists in GB18030 but not in GBK
        text = text.replace("重庆市", "重庆市\U00020000")
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    if expected == "gbk":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    df = read_table(path)
    assert df.attrs["encoding"] == expected
    assert df.attrs["source"] == str(path)
    if expected == "gb18030":
        assert df["city"].iloc[3] == "重庆市\U00020000"
    else:
        _check(df)


def test_explicit_encoding_and_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    raw = _csv_text().encode("gbk")
    path.write_bytes(raw)
    assert read_table(path, encoding="gb18030").attrs["encoding"] == "gb18030"
    with pytest.raises(DataError) as err:
        read_table(path, encoding="utf-8")
    msg = str(err.value)
    first_bad = next(i for i, b in enumerate(raw) if b >= 0x80)
    assert f"file '{path}'" in msg and f"byte offset {first_bad}" in msg and "line 2" in msg
    assert "Fix:" in msg and "gb18030" in msg
    with pytest.raises(DataError, match="unknown encoding 'nope'"):
        read_table(path, encoding="nope")
    # neither UTF-8 nor GB18030: a lone 0x80 and a 0xFF byte
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"a,b\n1,2\n3,\x80\xff\n")
    with pytest.raises(DataError) as err:
        read_table(bad)
    msg = str(err.value)
    assert "cannot be decided" in msg and "byte offset 10 (line 3" in msg
    assert "encoding=" in msg
    assert read_table(bad, encoding="latin-1")["b"].tolist() == ["2", "\x80ÿ"]


def test_excel_sheets(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    other = pd.DataFrame({"a": [1, 2]})
    with pd.ExcelWriter(path) as writer:
        other.to_excel(writer, sheet_name="notes", index=False)
        _frame().to_excel(writer, sheet_name="数据", index=False)
    first = read_table(path)
    assert first.attrs["sheet"] == "notes" and first["a"].tolist() == [1, 2]
    for choice in ("数据", 1, -1):
        df = read_table(path, sheet=choice)
        _check(df)
        assert df.attrs["sheet"] == "数据" and df.attrs["format"] == "excel"
    with pytest.raises(DataError) as err:
        read_table(path, sheet="data")
    msg = str(err.value)
    assert "no sheet 'data'" in msg and "'notes', '数据'" in msg and "Fix:" in msg
    with pytest.raises(DataError, match="sheet index 5 does not exist"):
        read_table(path, sheet=5)
    with pytest.raises(DataError, match="encoding='gbk' was given, but only text files"):
        read_table(path, encoding="gbk")
    csv = tmp_path / "t.csv"
    csv.write_text(_csv_text(), encoding="utf-8")
    with pytest.raises(DataError, match="only Excel workbooks have sheets"):
        read_table(csv, sheet="数据")


@pytest.mark.parametrize("ext", [".dta", ".parquet"])
def test_binary_round_trips(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"t{ext}"
    ref = _frame()
    if ext == ".dta":
        ref.to_stata(path, write_index=False, version=118)
    else:
        ref.to_parquet(path, index=False)
    df = read_table(path, columns=["year", "city"])
    assert list(df.columns) == ["year", "city"]
    assert df["city"].tolist() == CITIES and df["year"].tolist() == ref["year"].tolist()
    full = read_table(path)
    _check(full)
    assert full.attrs["format"] == ("stata" if ext == ".dta" else "parquet")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", None, ["does not exist", "Fix: check the path"]),
        ("table.sav", b"x", ["unknown extension '.sav'", "Fix: use one of", ".parquet"]),
        ("old.xls", b"x", ["legacy Excel", "save it as .xlsx"]),
        ("empty.csv", b"", ["is empty", "Fix:"]),
        ("blank.csv", b"\n\n  \n", ["is empty"]),
        ("header.csv", b"a,b\n", ["has no data rows"]),
        (
            "dup.csv",
            "city,year,城市,year\nx,1,y,2\n".encode(),
            ["duplicated column names", "'year' at positions 2, 4", "column 'year'", "rename"],
        ),
        ("ragged.csv", b"a,b\n1,2,3,4\n5\n", ["cannot be parsed", "sep="]),
        ("fake.xlsx", b"not a zip", ["cannot be read as an Excel workbook", "renamed"]),
        ("fake.parquet", b"not parquet", ["cannot be read as parquet", "corrupt"]),
        ("fake.dta", b"not stata", ["cannot be read as dta"]),
    ],
)
def test_read_errors(tmp_path: Path, name: str, content: bytes | None, expected: list[str]) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_table(path)
    msg = str(err.value)
    assert f"file '{path}'" in msg
    for piece in expected:
        assert piece in msg


def test_missing_columns_suggest_names(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(path, columns=["City", "yaer", "zzz"])
    msg = str(err.value)
    assert "columns 'City', 'yaer', 'zzz' not found" in msg
    assert "'City' -> did you mean 'city'" in msg
    assert "'yaer' -> did you mean 'year'" in msg
    assert "'zzz' has no close match" in msg
    assert "Available columns: 'city', 'year', 'gdp'" in msg


def test_kwargs_passed_through_and_not_mutated(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(_csv_text(";"), encoding="utf-8")
    kw = {"sep": ";", "dtype": {"year": "int32"}}
    before = repr(kw)
    df = read_table(path, **kw)
    assert repr(kw) == before
    assert df["year"].dtype == np.int32
    _check(df)
    txt = tmp_path / "t.txt"
    txt.write_text(_csv_text(";"), encoding="utf-8")
    _check(read_table(txt))


def test_title_rows_above_header(tmp_path: Path) -> None:
    """Yearbook exports put a title above the header: header=/skiprows= reach the check."""
    title = "表1 城市数据（2003-2007）\n单位：亿元\n"
    csv = tmp_path / "yearbook.csv"
    csv.write_bytes((title + _csv_text()).encode("gbk"))
    _check(read_table(csv, skiprows=2))
    with pytest.raises(DataError, match="skiprows=2"):
        read_table(csv)
    dup = tmp_path / "dup.csv"
    dup.write_bytes((title + "city,gdp,gdp\nx,1,2\n").encode("gbk"))
    with pytest.raises(DataError, match="'gdp' at positions 2, 3"):
        read_table(dup, skiprows=2)
    book = tmp_path / "yearbook.xlsx"
    body = pd.DataFrame([["表1 城市数据", None, None], [None, None, None]])
    with pd.ExcelWriter(book) as writer:
        body.to_excel(writer, index=False, header=False)
        _frame().to_excel(writer, index=False, startrow=2)
    _check(read_table(book, header=2))
    _check(read_table(book, skiprows=2))
