"""Text that cannot hurt the reader of a table: formula injection, raw HTML, Markdown syntax.

Labels, titles and notes come from study files and data (column names, unit names), so anything
written to a spreadsheet or a Markdown file is neutralised here:

* spreadsheets (CSV, and xlsx text cells): a cell that a spreadsheet would read as a formula
  (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return — OWASP "CSV injection") gets a
  leading apostrophe, unless it is a plain number as didstudy prints them (``-0.037***``,
  ``(0.006)``, ``1,234``);
* Markdown: ``& < >`` become entities (no raw HTML), and Markdown's own syntax characters are
  backslash-escaped so a label prints as written;
* xlsx numbers: :func:`excel_number` turns ``-0.037***`` into the number ``-0.037`` with the
  number format ``0.000"***"``, so the sheet holds numbers that print exactly like the table.
"""

from __future__ import annotations

import re

__all__ = ["excel_number", "is_plain_number", "markdown_text", "spreadsheet_text", "xml_text"]

# characters XML 1.0 forbids (xlsx and docx are XML): C0 controls but tab/newline/CR, lone
# surrogates and the two non-characters; shown as U+FFFD so the reader sees something was there
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# a number as the table builders print it: optional parentheses (standard errors), sign,
# digits with thousands separators, decimals, optional percent and significance stars
_NUMBER = re.compile(
    r"^(?P<open>\()?(?P<sign>[-−])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?"
    r"(?P<pct>%)?(?P<close>\))?(?P<stars>\*{0,3}|†{0,3})$"
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# what makes a line a heading, a list item or a quote (only at the start of a line)
_MARKDOWN_LINE_START = re.compile(r"^(\s*)(#|[+\-](?=\s)|(?P<num>\d+)\.(?=\s))")


def xml_text(text: str) -> str:
    """``text`` with the characters XML cannot hold replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def is_plain_number(text: str) -> bool:
    """Whether ``text`` is a number as didstudy prints it (no formula can hide in it)."""
    match = _NUMBER.match(text)
    return match is not None and bool(match.group("open")) == bool(match.group("close"))


def spreadsheet_text(text: str) -> str:
    """``text`` safe for a spreadsheet cell: formula-like text gets a leading apostrophe.

    Examples
    --------
    >>> spreadsheet_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> spreadsheet_text("-0.037***")
    '-0.037***'
    """
    if text.startswith(_FORMULA_START) and not is_plain_number(text):
        return "'" + text
    return text


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown: no raw HTML, no emphasis/links/headings, one line.

    Examples
    --------
    >>> markdown_text("<script>alert(1)</script> *x*")
    '&lt;script&gt;alert(1)&lt;/script&gt; \\\\*x\\\\*'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))
    return _MARKDOWN_LINE_START.sub(_unstart, text)


def _unstart(match: re.Match[str]) -> str:
    if match.group("num"):
        return f"{match.group(1)}{match.group('num')}\\."
    return f"{match.group(1)}\\{match.group(2)}"


def excel_number(text: str) -> tuple[float, str] | None:
    """``(value, number format)`` for a printed number, or ``None`` when ``text`` is not one.

    The format reproduces the printed text: decimals, thousands separators, parentheses, a
    percent sign and stars (``-0.037***`` -> ``(-0.037, '0.000"***"')``).
    """
    match = _NUMBER.match(text.strip(" "))  # only spaces: a control character is text, not padding
    if match is None or bool(match.group("open")) != bool(match.group("close")):
        return None
    integer = match.group("int").replace(",", "")
    decimals = match.group("dec") or ""
    value = float(f"{integer}.{decimals}" if decimals else integer)
    if match.group("sign"):
        value = -value
    body = ("#,##0" if "," in match.group("int") else "0") + (f".{'0' * len(decimals)}"
                                                               if decimals else "")  # fmt: skip
    if match.group("pct"):
        value /= 100.0
        body += "%"
    stars = match.group("stars")
    suffix = f'"{stars}"' if stars else ""
    if match.group("open"):
        return value, f"({body}){suffix};(-{body}){suffix}"
    return value, f"{body}{suffix};-{body}{suffix}" if suffix else body
