"""The canonical JSON of ``results.json``/``manifest.json`` (and, re-exported from
:mod:`didstudy.study.outdir`, the staging folder that replaces a report atomically)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from didstudy.study.outdir import staging_directory

__all__ = ["FLOAT_DIGITS", "canonical_json", "jsonable", "staging_directory", "write_json"]

# significant digits kept for floats in results.json: stable across BLAS/summation order noise
# in the last bits, still far beyond any printed table (which shows 3-4 decimals)
FLOAT_DIGITS = 12


_FLOAT_FORMAT = f".{FLOAT_DIGITS}g"


def _float(value: float) -> float | None:
    if value != value or value in (math.inf, -math.inf):
        return None
    out = float(format(value, _FLOAT_FORMAT))
    return 0.0 if out == 0 else out


def jsonable(value: Any) -> Any:
    """Plain-JSON version of ``value``: floats rounded to ``FLOAT_DIGITS`` significant digits,
    NaN/inf -> None, numpy/pandas scalars and arrays unwrapped, frames as lists of records."""
    kind = type(value)
    if kind is float:
        return _float(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float | np.floating):
        return _float(float(value))
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def canonical_json(value: Any) -> str:
    """``json.dumps`` with sorted keys, fixed float precision, UTF-8 text and a final newline."""
    return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False, indent=2) + "\n"


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(canonical_json(value), encoding="utf-8")
