"""File names of a study's outputs: readable, portable and unique.

A step's tables and figures are written as ``<stem>.<ext>``. The stem keeps letters and digits of
any script (``表一`` stays ``表一``; Latin accents are transliterated: ``Tabelle Größe`` ->
``tabelle-grosse``), joins the rest with ``-``, avoids names Windows reserves and is at most
:data:`MAX_STEM` characters. A name with no letter or digit at all is numbered by its step
(``step-3``). Two render steps whose stems coincide (``Table 1`` and ``table-1``) would overwrite
each other's files: :func:`check_unique_outputs` refuses them when the plan is made, naming both
steps and lines.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

from didstudy.errors import SpecError

__all__ = ["MAX_STEM", "check_unique_outputs", "output_stem"]

MAX_STEM = 80  # characters; well below every filesystem's 255-byte limit even in CJK (3 bytes)
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
     *(f"lpt{i}" for i in range(1, 10))}
)  # fmt: skip
_SPECIAL = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th"}


def _fold(text: str) -> str:
    """Latin letters without accents; other scripts unchanged."""
    out = []
    for ch in unicodedata.normalize("NFKC", text).lower():
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
            continue
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        out.append(base if base.isascii() and base else ch)
    return "".join(out)


def output_stem(name: str, index: int | None = None) -> str:
    """The file stem of a step's outputs.

    Examples
    --------
    >>> output_stem("Table 1: Baseline (TWFE)")
    'table-1-baseline-twfe'
    >>> output_stem("表一 基准回归")
    '表一-基准回归'
    >>> output_stem("***", index=2)
    'step-3'
    """
    stem = re.sub(r"[^\w-]+", "-", _fold(name)).strip("-")
    if not stem:
        return f"step-{index + 1}" if index is not None else "output"
    if stem.split(".")[0] in _WINDOWS_RESERVED:
        stem += "-"
    if len(stem) > MAX_STEM:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        stem = stem[: MAX_STEM - 9].rstrip("-") + "-" + digest
    return stem


def check_unique_outputs(
    steps: Iterable[tuple[int, str]],
    where: Callable[[Sequence[str | int]], str],
) -> None:
    """Refuse two steps (``(index, name)``) whose outputs would have the same file name."""
    seen: dict[str, tuple[int, str]] = {}
    for index, name in steps:
        stem = output_stem(name, index)
        if stem in seen:
            first_index, first_name = seen[stem]
            raise SpecError(
                f"steps[{index}].name: steps '{first_name}' and '{name}' would both write "
                f"'{stem}.*' (their names differ only in case, spaces or punctuation)",
                file=where(("steps", index, "name")),
                fix=f"rename one of them (the other is at {where(('steps', first_index, 'name'))})",
            )
        seen[stem] = (index, name)
