"""Deciding a text file's encoding by evidence, not by the first decode that succeeds.

Almost any byte string decodes as GBK or Latin-1, so "it decoded" proves nothing: a Latin-1
``Aláska`` decodes as GBK ``Al醩ka``, and a UTF-8 file with one flipped byte decodes as GBK
mojibake. The evidence used, on the raw bytes:

* **UTF-8**: a strict decode succeeds. If it fails but the file holds many valid multi-byte UTF-8
  sequences and only a few invalid bytes, the file *is* UTF-8 with corrupt bytes: refused, naming
  the line (decoding it as anything else would garble every other non-ASCII character).
* **GBK / GB18030**: genuine Chinese text is made mostly of GB2312 symbols and level-1 characters
  (lead byte ``0xA1..0xA9`` or ``0xB0..0xD7``, trail byte ``0xA1..0xFE``; the 3,755 most common
  characters). Latin-1 text read as GBK instead pairs an accented byte with the next ASCII letter
  (a trail byte below ``0x80``: a rare character of the GBK extension) or two lower-case accents
  (``çã``: lead byte above ``0xD7``, a level-2 character).
* **cp1252 / Latin-1**: accented letters sit inside words with ASCII letters (at most two in a
  row: ``ção``), typographic punctuation (``’ – €``) next to ASCII; read as cp1252, Chinese text
  gives runs of symbols and accented letters without any ASCII letter.

When the evidence does not single out one encoding the file is refused with both readings shown
and the fix ``encoding=``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from didstudy.errors import DataError

__all__ = ["EncodingDecision", "decide_encoding"]

# share of two-byte GBK characters among the common ones (GB2312 symbols and level 1) above
# which text is taken for Chinese; rare county names (level 2) keep real files well above it
GB2312_SHARE = 0.7
# share of non-ASCII characters plausible in Western text above which text is taken for cp1252
LATIN_SHARE = 0.8
# below this share the other reading is taken as implausible
IMPLAUSIBLE_SHARE = 0.5
# share of high bytes inside valid UTF-8 sequences above which a file that fails strict UTF-8 is
# UTF-8 with corrupt bytes (GBK or Latin-1 text forms valid sequences far less often)
CORRUPT_UTF8_BYTES = 0.6
# share of Chinese characters glued between ASCII letters (``Al醩ka``) above which a GBK reading
# is mojibake of Western text
SANDWICH_SHARE = 0.2
PREVIEW_CHARS = 40


@dataclass(frozen=True)
class EncodingDecision:
    """The encoding chosen for a file and why (for messages and the manifest)."""

    encoding: str
    evidence: str


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _utf8_counts(raw: bytes) -> tuple[int, int, int]:
    """(valid multi-byte sequences, invalid sequences, offset of the first invalid byte)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid = invalid = 0
    first = -1
    position = 0
    while position < len(raw):
        try:
            text = decoder.decode(raw[position:], final=True)
            valid += sum(1 for ch in text if ord(ch) > 0x7F)
            break
        except UnicodeDecodeError as err:
            text = raw[position : position + err.start].decode("utf-8")
            valid += sum(1 for ch in text if ord(ch) > 0x7F)
            invalid += 1
            if first < 0:
                first = position + err.start
            position += err.end
            decoder.reset()
    return valid, invalid, first


def _gbk_share(raw: bytes) -> float | None:
    """Share of two-byte GBK characters in the GB2312 area; None when no two-byte character."""
    pairs = gb2312 = 0
    index = 0
    while index < len(raw) - 1:
        lead = raw[index]
        if lead < 0x81 or lead == 0xFF:
            index += 1
            continue
        trail = raw[index + 1]
        if 0x30 <= trail <= 0x39:  # a four-byte GB18030 sequence: neither evidence nor against
            index += 4
            continue
        pairs += 1
        common = 0xA1 <= lead <= 0xA9 or 0xB0 <= lead <= 0xD7  # symbols, level-1 characters
        gb2312 += common and 0xA1 <= trail <= 0xFE
        index += 2
    return gb2312 / pairs if pairs else None


_LATIN_LETTERS = frozenset(
    [chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7)] + list("ŒœŠšŽžŸƒ")
)
_LATIN_PUNCTUATION = frozenset("’‘“”–—…€£°«»§ ·")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _latin_share(text: str) -> float | None:
    """Share of non-ASCII characters that are plausible in Western text: accented letters inside
    words that also have ASCII letters (at most two accents in a row), or typographic punctuation
    next to ASCII. None when there is no non-ASCII character."""
    plausible: set[int] = set()
    for word in _LETTER_RUN.finditer(text):
        letters = word.group()
        if not any(ch.isascii() for ch in letters) or re.search(r"[^\x00-\x7f]{3}", letters):
            continue
        plausible |= {word.start() + i for i, ch in enumerate(letters) if ch in _LATIN_LETTERS}
    total = 0
    for index, ch in enumerate(text):
        if ch.isascii():
            continue
        total += 1
        if ch in _LATIN_PUNCTUATION:
            neighbours = text[index - 1 : index] + text[index + 1 : index + 2]
            if neighbours and all(n.isascii() or n in _LATIN_LETTERS for n in neighbours):
                plausible.add(index)
    return len(plausible) / total if total else None


_SANDWICH = re.compile(r"[A-Za-z][\u3400-\u9fff\uf900-\ufaff]+[A-Za-z]")
_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _sandwich_share(text: str) -> float:
    """Share of runs of Chinese characters glued between ASCII letters (``Al醩ka``)."""
    runs = len(_HAN_RUN.findall(text))
    return len(_SANDWICH.findall(text)) / runs if runs else 0.0


def _utf8_share(raw: bytes) -> float:
    """Share of high bytes that sit inside valid UTF-8 sequences."""
    high = sum(1 for b in raw if b > 0x7F)
    inside = sum(len(ch.encode("utf-8")) for ch in raw.decode("utf-8", "ignore") if ord(ch) > 0x7F)
    return inside / high if high else 1.0


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _preview(raw: bytes, encoding: str) -> str:
    start = next((i for i, b in enumerate(raw) if b > 0x7F), 0)
    start = raw.rfind(b"\n", 0, start) + 1
    end = raw.find(b"\n", start)
    line = raw[start : end if end >= 0 else len(raw)]
    return line.decode(encoding, errors="replace").strip()[:PREVIEW_CHARS]


def _latin(raw: bytes) -> str:
    return "cp1252" if _decodes(raw, "cp1252") else "latin-1"


def decide_encoding(raw: bytes, file: str) -> EncodingDecision:
    """The encoding of ``raw`` (no byte-order mark) decided by evidence, or :class:`DataError`.

    Examples
    --------
    >>> decide_encoding("Alaska,Aláska\\n".encode("latin-1"), "x.csv").encoding
    'cp1252'
    >>> decide_encoding("城市,北京\\n".encode("gbk"), "x.csv").encoding
    'gbk'
    """
    valid, invalid, first = _utf8_counts(raw)
    if invalid == 0:
        return EncodingDecision("utf-8", "valid UTF-8")
    if valid >= 2 and _utf8_share(raw) >= CORRUPT_UTF8_BYTES:
        raise DataError(
            f"is UTF-8 text ({valid:,} valid non-ASCII characters) with {invalid} corrupt "
            f"byte sequence(s), the first at line {_line_of(raw, first)} (byte offset {first}); "
            "reading it as another encoding would garble every other non-ASCII character.",
            file=file,
            fix=f"repair line {_line_of(raw, first)} in a text editor (or re-export the file), "
            "or pass encoding= if the file really is in another encoding.",
        )
    gbk = _gbk_share(raw) if _decodes(raw, "gb18030") else None
    western = _latin_share(raw.decode(_latin(raw))) or 0.0
    glued = _sandwich_share(raw.decode("gb18030")) if gbk is not None else 1.0
    chinese = (
        gbk is not None
        and gbk >= GB2312_SHARE
        and western < IMPLAUSIBLE_SHARE
        and glued < SANDWICH_SHARE
    )
    latin = western >= LATIN_SHARE and (gbk is None or gbk < IMPLAUSIBLE_SHARE)
    if chinese and gbk is not None:
        encoding = "gbk" if _decodes(raw, "gbk") else "gb18030"
        return EncodingDecision(
            encoding, f"{gbk:.0%} of the two-byte characters are common Chinese characters"
        )
    if latin:
        encoding = _latin(raw)
        return EncodingDecision(
            encoding, f"{western:.0%} of the non-ASCII characters are accented letters in words"
        )
    readings = "; ".join(f"as {name}: {_preview(raw, name)!r}" for name in ("gb18030", "cp1252"))
    high = next(i for i, b in enumerate(raw) if b > 0x7F)
    raise DataError(
        "is not UTF-8 and its encoding cannot be decided from its bytes (first non-ASCII byte "
        f"at byte offset {high} (line {_line_of(raw, high)}); read {readings}).",
        file=file,
        fix="pass encoding= with the file's encoding (e.g. encoding='gb18030' for Chinese "
        "exports, 'cp1252' or 'latin-1' for Western European text), or re-save it as UTF-8.",
    )
