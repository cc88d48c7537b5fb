"""Encodings decided by evidence: never silent mojibake (issue 10, "Encoding guessed wrong")."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.data.encoding import decide_encoding
from didstudy.data.io import read_table
from didstudy.errors import DataError

LATIN_WORDS = [
    "Aláska", "Müller", "Zürich", "São", "Paulo", "Ærøskøbing", "café", "naïve", "Texas",
    "Ohio", "Québec", "Málaga", "ação", "informações", "Curaçao", "Björk", "Señor", "Øresund",
    "crème", "brûlée", "Groß", "Ångström",
]  # fmt: skip
CP1252_ONLY = ["l’état", "“quoted”", "€100", "–dash"]
CHINESE_WORDS = [
    "北京市", "上海市", "广州市", "重庆市", "乌鲁木齐市", "鄯善县", "呼和浩特市", "哈尔滨市",
    "长沙县", "东城区", "景德镇市", "秦皇岛市", "石家庄市", "（万元）", "人均地区生产总值",
]  # fmt: skip


def _csv(words: list[str], rows: int = 3) -> str:
    lines = ["unit,year,value"]
    for i in range(rows):
        for j, word in enumerate(words):
            lines.append(f"{word},{2000 + i},{j}.5")
    return "\n".join(lines) + "\n"


def test_issue_reproducers(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(_csv(["Aláska", "Texas", "Québec"]).encode("latin-1"))
    frame = read_table(latin)
    assert frame["unit"].iloc[0] == "Aláska" and frame.attrs["encoding"] in ("cp1252", "latin-1")
    windows = tmp_path / "cp1252.csv"
    windows.write_bytes(_csv(["l’état", "Málaga"]).encode("cp1252"))
    assert read_table(windows)["unit"].iloc[0] == "l’état"
    flipped = bytearray(_csv(["北京市", "Texas", "上海市"] * 17).encode("utf-8"))
    flipped[flipped.index("上".encode())] ^= 0x40  # one flipped byte in a UTF-8 file
    broken = tmp_path / "flipped.csv"
    broken.write_bytes(bytes(flipped))
    with pytest.raises(DataError) as info:
        read_table(broken)
    message = str(info.value)
    assert "UTF-8 text" in message and "corrupt" in message and "line 4" in message
    assert str(broken) in message and "encoding=" in message
    chinese = tmp_path / "gbk.csv"
    chinese.write_bytes(_csv(CHINESE_WORDS).encode("gbk"))
    assert read_table(chinese)["unit"].tolist()[: len(CHINESE_WORDS)] == CHINESE_WORDS


@settings(max_examples=120, deadline=None)
@given(
    words=st.lists(st.sampled_from(LATIN_WORDS + CP1252_ONLY + CHINESE_WORDS), min_size=1,
                   max_size=12),
    encoding=st.sampled_from(["utf-8", "gbk", "gb18030", "cp1252", "latin-1"]),
)  # fmt: skip
def test_fuzz_a_decision_is_right_or_refused_never_mojibake(
    words: list[str], encoding: str
) -> None:
    text = _csv(words, rows=1)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return  # the text does not exist in that encoding
    try:
        decision = decide_encoding(raw, "f.csv")
    except DataError as exc:
        assert "encoding=" in str(exc)
        return
    assert raw.decode(decision.encoding) == text, (decision, encoding)


@settings(max_examples=80, deadline=None)
@given(
    words=st.lists(st.sampled_from(CHINESE_WORDS + LATIN_WORDS), min_size=3, max_size=12),
    position=st.integers(0, 10_000),
    flip=st.integers(1, 255),
)
def test_fuzz_a_corrupt_utf8_file_is_never_read_as_another_encoding(
    words: list[str], position: int, flip: int
) -> None:
    text = _csv(words, rows=1)
    raw = bytearray(text.encode("utf-8"))
    raw[position % len(raw)] ^= flip
    try:
        decision = decide_encoding(bytes(raw), "f.csv")
    except DataError:
        return
    if sum(not ch.isascii() for ch in text) >= 2:  # UTF-8 evidence in the file: never mojibake
        assert decision.encoding == "utf-8", (decision, bytes(raw))
