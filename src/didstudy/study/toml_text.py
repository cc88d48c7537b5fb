"""Writing TOML text: the values a study file holds (strings, numbers, lists, inline tables).

The standard library reads TOML (:mod:`tomllib`) but does not write it; a study file needs only
scalars, arrays and inline tables, which this module formats. Used by ``didstudy init`` and by
:meth:`didstudy.study.builder.Study.to_toml`; the round trip ``tomllib.loads(format(x)) == x`` is
a tested property.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["toml_key", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    """A TOML key: bare when it can be, else a quoted basic string.

    Examples
    --------
    >>> toml_key("first.treat"), toml_key("year")
    ('"first.treat"', 'year')
    """
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # JSON string escapes (\" \\ \n \t \uXXXX) are valid TOML basic-string escapes; DEL is not
    # escaped by json and is not allowed unescaped in TOML
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(float(value))
    return text if any(c in text for c in ".en") else text + ".0"


def toml_value(value: Any) -> str:
    """One TOML value (scalars, arrays and inline tables; nesting allowed).

    Parameters
    ----------
    value
        ``str``, ``bool``, ``int``, ``float``, a sequence or a mapping with string keys (NumPy
        scalars are accepted through their ``item()``).

    Returns
    -------
    str
        The value as it would be written after ``key = `` in a TOML file.

    Raises
    ------
    TypeError
        For a value TOML cannot hold (``None``, objects).

    Examples
    --------
    >>> toml_value({"by": ["a", 1, 2.5, True]})
    '{ by = ["a", 1, 2.5, true] }'
    """
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes | Mapping | Sequence):
        value = item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        inner = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"TOML cannot hold a value of type {type(value).__name__}: {value!r}")
