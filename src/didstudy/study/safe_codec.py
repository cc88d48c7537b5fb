"""A codec for cached step results that cannot execute code: JSON plus ``.npz`` arrays.

What a cache entry may hold: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, lists,
tuples, dicts, numpy arrays and scalars, pandas ``Index``/``Series``/``DataFrame`` and instances of
didstudy's own dataclasses (an allow-list: dataclasses defined in :data:`ALLOWED_PACKAGES`),
rebuilt field by field. Fields holding a callable (private callbacks such as a regression's
re-estimation hook) are left at their default. Anything else is :class:`Unencodable` and the step
is simply not cached. Arrays are read with ``allow_pickle=False``; no byte of an entry is ever
given to :mod:`pickle`.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ALLOWED_PACKAGES", "Unencodable", "decode", "encode"]

# packages whose dataclasses may be rebuilt from a cache entry (results, tables, measures)
ALLOWED_PACKAGES = (
    "didstudy.results",
    "didstudy.measure",
    "didstudy.estimation",
    "didstudy.inference",
    "didstudy.kernels",
    "didstudy.lights",
    "didstudy.report",
    "didstudy.study",
    "didstudy.data",
)
_MODULE = re.compile(r"^didstudy(\.[a-z_][a-z0-9_]*)+$")
_QUALNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# nesting deeper than this is not a result but an attack or a bug
MAX_DEPTH = 64
DOC = "__doc__"


class Unencodable(TypeError):
    """The value holds something the safe codec does not represent (the step is not cached)."""


def _allowed(cls: type) -> bool:
    module = getattr(cls, "__module__", "")
    return (
        dataclasses.is_dataclass(cls)
        and isinstance(module, str)
        and bool(_MODULE.match(module))
        and module.startswith(ALLOWED_PACKAGES)
    )


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, values: np.ndarray) -> Any:
        if values.dtype.kind in "biufcmM":
            name = f"a{len(self.arrays)}"
            self.arrays[name] = np.array(values, order="C", copy=True)  # 0-d stays 0-d
            return {"$nd": name}
        if values.dtype.kind == "O":
            return {"$ndo": list(values.shape), "v": [self.value(v, 1) for v in values.ravel()]}
        raise Unencodable(f"numpy dtype {values.dtype}")

    def column(self, values: Any, depth: int) -> Any:
        """Values of a Series/Index: numpy arrays where the dtype allows, else typed lists."""
        if isinstance(values, np.ndarray) and values.dtype.kind in "biufcmM":
            return self.array(values)
        dtype = str(values.dtype)
        items = [self.value(v, depth + 1) for v in list(values)]
        return {"$col": dtype, "v": items}

    def index(self, index: pd.Index, depth: int) -> Any:
        if isinstance(index, pd.RangeIndex):
            return {"$range": [index.start, index.stop, index.step], "name": self.value(index.name)}
        if isinstance(index, pd.MultiIndex):
            levels = [
                self.index(index.get_level_values(i), depth + 1) for i in range(index.nlevels)
            ]
            return {"$mi": levels, "names": [self.value(n) for n in index.names]}
        return {"$ix": self.column(index.to_numpy() if index.dtype.kind in "biufcmM" else
                                   index.array, depth), "name": self.value(index.name)}  # fmt: skip

    def frame(self, frame: pd.DataFrame, depth: int) -> Any:
        columns = [
            self.column(frame.iloc[:, i].to_numpy() if frame.dtypes.iloc[i].kind in "biufcmM"
                        else frame.iloc[:, i].array, depth)
            for i in range(frame.shape[1])
        ]  # fmt: skip
        return {
            "$df": columns,
            "columns": self.index(frame.columns, depth),
            "index": self.index(frame.index, depth),
            "attrs": self.value(dict(frame.attrs), depth + 1),
        }

    def series(self, series: pd.Series, depth: int) -> Any:
        values = series.to_numpy() if series.dtype.kind in "biufcmM" else series.array
        return {
            "$sr": self.column(values, depth),
            "index": self.index(series.index, depth),
            "name": self.value(series.name, depth + 1),
        }

    def dataclass(self, value: Any, depth: int) -> Any:
        cls = type(value)
        if not _allowed(cls):
            raise Unencodable(f"{cls.__module__}.{cls.__qualname__} is not an allowed result type")
        fields: dict[str, Any] = {}
        for item in dataclasses.fields(value):
            field_value = getattr(value, item.name)
            if callable(field_value) and not isinstance(field_value, type):
                if item.default is dataclasses.MISSING:
                    raise Unencodable(f"field {item.name} holds a callable")
                continue
            fields[item.name] = self.value(field_value, depth + 1)
        return {"$dc": f"{cls.__module__}:{cls.__qualname__}", "f": fields}

    def value(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise Unencodable("nested too deeply")
        kind = type(value)
        if value is None or kind is bool or kind is str or kind is int:
            return value
        if kind is float:
            return value if math.isfinite(value) else {"$f": repr(value)}
        if kind is list:
            return [self.value(v, depth + 1) for v in value]
        if kind is tuple:
            return {"$t": [self.value(v, depth + 1) for v in value]}
        if kind is dict:
            return {"$d": [[self.value(k, depth + 1), self.value(v, depth + 1)]
                           for k, v in value.items()]}  # fmt: skip
        if kind is bytes:
            return {"$b": self.array(np.frombuffer(value, dtype=np.uint8))["$nd"]}
        return self.other(value, depth)

    def other(self, value: Any, depth: int) -> Any:
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, np.generic):
            return {"$np": value.dtype.str, "v": self.array(np.asarray([value]))}
        if isinstance(value, pd.DataFrame):
            return self.frame(value, depth)
        if isinstance(value, pd.Series):
            return self.series(value, depth)
        if isinstance(value, pd.Index):
            return self.index(value, depth)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.dataclass(value, depth)
        if value is pd.NA or value is pd.NaT:
            return {"$na": "NA" if value is pd.NA else "NaT"}
        if isinstance(value, pd.Timestamp):
            return {"$ts": value.isoformat()}
        raise Unencodable(f"type {type(value).__module__}.{type(value).__qualname__}")


def encode(value: Any) -> bytes:
    """The bytes of an ``.npz`` archive holding ``value`` (raises :class:`Unencodable`)."""
    encoder = _Encoder()
    document = json.dumps(encoder.value(value), ensure_ascii=False, allow_nan=False)
    arrays = dict(encoder.arrays)
    arrays[DOC] = np.frombuffer(document.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def array(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays or name == DOC:
            raise ValueError("unknown array")
        return self.arrays[name]

    def column(self, node: Any) -> Any:
        if "$nd" in node:
            return self.array(node["$nd"])
        values = [self.value(v) for v in node["v"]]
        dtype: Any = str(node["$col"])
        return pd.array(values, dtype=dtype)

    def index(self, node: Any) -> pd.Index:
        if "$range" in node:
            start, stop, step = (int(v) for v in node["$range"])
            return pd.RangeIndex(start, stop, step, name=self.value(node["name"]))
        if "$mi" in node:
            levels = [self.index(level) for level in node["$mi"]]
            names = [self.value(n) for n in node["names"]]
            return pd.MultiIndex.from_arrays(levels, names=names)
        index: pd.Index = pd.Index(
            self.column(node["$ix"]), name=self.value(node["name"]), tupleize_cols=False
        )
        return index

    def dataclass(self, node: Any) -> Any:
        module, _, qualname = str(node["$dc"]).partition(":")
        if not _MODULE.match(module) or not _QUALNAME.match(qualname):
            raise ValueError("bad class name")
        if not module.startswith(ALLOWED_PACKAGES):
            raise ValueError("class outside the allow-list")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if not isinstance(cls, type) or not _allowed(cls):
            raise ValueError("not an allowed dataclass")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        given = node["f"]
        if not isinstance(given, dict) or set(given) - set(fields):
            raise ValueError("fields do not match the class")
        instance: Any = object.__new__(cls)
        for name, item in fields.items():
            if name in given:
                field_value = self.value(given[name])
            elif item.default is not dataclasses.MISSING:
                field_value = item.default
            elif item.default_factory is not dataclasses.MISSING:
                field_value = item.default_factory()
            else:
                raise ValueError(f"field {name} missing")
            object.__setattr__(instance, name, field_value)
        return instance

    def value(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise ValueError("malformed entry")
        tag = next(iter(node))
        handler = self._handlers().get(tag)
        if handler is None:
            raise ValueError(f"unknown tag {tag!r}")
        return handler(node)

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "$f": lambda n: float(n["$f"]),
            "$t": lambda n: tuple(self.value(v) for v in n["$t"]),
            "$d": lambda n: {self.value(k): self.value(v) for k, v in n["$d"]},
            "$b": lambda n: self.array(n["$b"]).tobytes(),
            "$nd": lambda n: self.array(n["$nd"]),
            "$ndo": lambda n: _object_array([self.value(v) for v in n["v"]], n["$ndo"]),
            "$np": lambda n: self.array(n["v"]["$nd"]).astype(np.dtype(str(n["$np"])))[0],
            "$df": self._frame,
            "$sr": self._series,
            "$ix": self.index,
            "$range": self.index,
            "$mi": self.index,
            "$dc": self.dataclass,
            "$na": lambda n: pd.NA if n["$na"] == "NA" else pd.NaT,
            "$ts": lambda n: pd.Timestamp(str(n["$ts"])),
        }

    def _series(self, node: Any) -> pd.Series:
        index = self.index(node["index"])
        return pd.Series(self.column(node["$sr"]), index=index, name=self.value(node["name"]))

    def _frame(self, node: Any) -> pd.DataFrame:
        columns = self.index(node["columns"])
        index = self.index(node["index"])
        data = [self.column(c) for c in node["$df"]]
        if len(data) != len(columns):
            raise ValueError("column count")
        frame = pd.DataFrame(dict(enumerate(data)), index=index)
        frame.columns = columns
        frame.attrs = self.value(node["attrs"])
        return frame


def _object_array(items: list[Any], shape: Any) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(tuple(int(s) for s in shape))


def decode(payload: bytes) -> Any:
    """Rebuild a value from :func:`encode`'s bytes (raises ``ValueError`` on anything odd)."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    if DOC not in arrays:
        raise ValueError("no document")
    document = json.loads(arrays[DOC].tobytes().decode("utf-8"))
    try:
        return _Decoder(arrays).value(document)
    except (KeyError, TypeError, AttributeError, ImportError, RecursionError) as exc:
        raise ValueError(f"malformed entry: {exc}") from exc
