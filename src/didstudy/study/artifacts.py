"""Writing a report atomically, and the canonical JSON of ``results.json``/``manifest.json``.

The whole report is built in a temporary directory next to ``--out`` and swapped in only when
every step succeeded, so a failing run leaves the previous report exactly as it was.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import SpecError

__all__ = ["FLOAT_DIGITS", "canonical_json", "jsonable", "staging_directory", "write_json"]

# significant digits kept for floats in results.json: stable across BLAS/summation order noise
# in the last bits, still far beyond any printed table (which shows 3-4 decimals)
FLOAT_DIGITS = 12
REPORT_MARKER = "manifest.json"


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


def _check_replaceable(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise SpecError(
            f"output path '{out}' exists and is not a directory",
            fix="choose another --out directory",
        )
    if any(out.iterdir()) and not (out / REPORT_MARKER).is_file():
        raise SpecError(
            f"output directory '{out}' is not empty and holds no didstudy report "
            f"({REPORT_MARKER} missing); refusing to replace it",
            fix="choose an empty or new --out directory",
        )


@contextlib.contextmanager
def staging_directory(out: Path) -> Iterator[Path]:
    """Yield a fresh directory beside ``out``; on success it replaces ``out`` (rename swap).

    On any exception the staging directory is removed and ``out`` is left untouched. An existing
    non-empty ``out`` that is not a didstudy report is never replaced.
    """
    out = Path(out).absolute()
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old: Path | None = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "report")
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None:
            os.replace(old / "report", out)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
