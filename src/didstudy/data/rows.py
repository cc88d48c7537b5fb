"""Malformed rows of delimited text: refused with their file line numbers, never padded.

pandas pads a row with too few fields with missing values, and keeps the last row of a file cut in
the middle of a line: values silently become missing. :func:`check_field_counts` reads the text
once with :mod:`csv` (quoted fields and embedded newlines handled as pandas does) and refuses rows
whose number of fields differs from the header's, naming the file lines.
"""

from __future__ import annotations

import csv
import io

from didstudy.errors import DataError

__all__ = ["check_field_counts"]

SHOWN_LINES = 10


def _counts(text: str, sep: str) -> list[tuple[int, int, bool]]:
    """(file line, number of fields, has text beyond...) of every non-blank row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows: list[tuple[int, int, bool]] = []
    start = 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if not row or (len(row) <= 1 and not "".join(row).strip()):
            continue  # blank lines are skipped by the reader as well
        rows.append((line, len(row), bool(row[-1].strip())))
    return rows


def _refuse(found: list[tuple[int, int, bool]], kind: str, expected: int, file: str) -> None:
    shown = ", ".join(
        f"file line {line} ({n} field{'s' if n != 1 else ''})" for line, n, _ in found[:SHOWN_LINES]
    )
    more = f" (and {len(found) - SHOWN_LINES} more)" if len(found) > SHOWN_LINES else ""
    raise DataError(
        f"cannot be parsed as a delimited table: {len(found)} row(s) have {kind} fields than "
        f"the header's {expected}: {shown}{more}",
        file=file,
        fix="complete or delete these rows (a file cut short loses its last row), or check the "
        "separator (pass sep=...)",
    )


def check_field_counts(text: str, sep: str, file: str) -> tuple[int, ...]:
    """Raise :class:`DataError` when a data row has fewer or more fields than the header;
    return the file line of every data row (for messages that name rows).

    Title lines above the header (fewer fields than every row after them) are named with the
    fix ``skiprows=``.

    Examples
    --------
    >>> check_field_counts("a,b\\n1,2\\n3\\n", ",", "x.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    didstudy.errors.DataError: file 'x.csv': cannot be parsed ... file line 3 (1 field)
    Fix: ...
    """
    rows = _counts(text, sep)
    if len(rows) < 2:
        return tuple(line for line, _, _ in rows[1:])
    counts = [n for _, n, _ in rows]
    mode = max(set(counts), key=lambda n: (counts.count(n), n))
    title = counts.index(mode)
    majority = counts.count(mode) >= max(2, len(counts) // 2)
    if title and majority and all(n < mode for n in counts[:title]):
        raise DataError(
            f"the first {title} non-blank line(s) (up to file line {rows[title - 1][0]}) have "
            f"fewer fields than the table below them: a title above the header?",
            file=file,
            fix=f"pass skiprows={rows[title - 1][0]} to skip them (or delete them)",
        )
    expected = rows[0][1]
    short = [r for r in rows[1:] if r[1] < expected]
    if short:
        _refuse(short, "fewer", expected, file)
    long = [r for r in rows[1:] if r[1] > expected]
    if long:
        _refuse(long, "more", expected, file)
    if not text.endswith(("\n", "\r")) and not rows[-1][2]:
        raise DataError(
            f"ends in the middle of file line {rows[-1][0]}: no final newline and its last field "
            "is empty (a file cut short?)",
            file=file,
            fix="re-export the complete file; if that row is complete, end the file with a newline",
        )
    return tuple(line for line, _, _ in rows[1:])
