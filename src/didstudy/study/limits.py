"""Bounds on every study argument, by meaning, checked before anything runs.

A study file is input from anyone: ``reps = 1000000000000`` must not ask for 153 TiB, ``digits =
100000000`` must not write 1.7 GB, a 3,000-deep TOML table must not crash the parser. Three layers:

* the file: at most :data:`MAX_STUDY_BYTES`, tables nested at most :data:`MAX_NESTING` deep,
  ``[study] seed`` a whole number in range, ``encoding`` a real text encoding, every ``where``
  rule a valid, bounded expression (:mod:`didstudy.study.expr`);
* every step argument: its TOML type must match the function's annotation (``reps = 2.5``,
  ``reps = "10"``, ``seed = true`` are refused, not coerced) and named arguments lie in the range
  their meaning allows (:data:`BOUNDS`); text at most :data:`MAX_TEXT` characters, lists at most
  :data:`MAX_ITEMS` items;
* command-line overrides (``--reps``) get the same bounds.

Violations are :class:`~didstudy.errors.SpecError` naming the key, its line and the allowed range,
so ``didstudy validate`` reports them before any estimation (exit 2).
"""

from __future__ import annotations

import ast
import codecs
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from didstudy.errors import SpecError
from didstudy.report.labels import LANGUAGES

__all__ = [
    "BOUNDS",
    "MAX_ITEMS",
    "MAX_NESTING",
    "MAX_STUDY_BYTES",
    "MAX_TEXT",
    "Bound",
    "check_file",
    "check_step_arguments",
]

MAX_STUDY_BYTES = 1_000_000  # a study file is a page of settings, not data
MAX_NESTING = 16  # tables/arrays inside one another; real study files use at most 4
MAX_TEXT = 10_000  # characters of one string argument (titles, notes, labels)
MAX_ITEMS = 10_000  # items of one list argument (controls, periods, notes)
MAX_SEED = 2**63 - 1  # numpy's SeedSequence takes non-negative integers; 64-bit keeps it portable
NUMPY_BIN_RULES = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")


@dataclass(frozen=True)
class Bound:
    """The allowed values of one argument (by name, whatever the step kind).

    ``kind`` is ``int``, ``float``, ``int_pair``, ``float_pair``, ``int_list``, ``float_list``,
    ``text`` or ``never`` (cannot be set from a study file); ``low``/``high`` bound numbers
    (and each item of pairs and lists); ``open`` excludes the ends; ``words`` are strings also
    allowed (``bins = "auto"``).
    """

    kind: str
    low: float = -math.inf
    high: float = math.inf
    meaning: str = ""
    open: bool = False
    ordered: bool = False
    words: tuple[str, ...] = ()
    max_len: int = MAX_ITEMS


BOUNDS: dict[str, Bound] = {
    "reps": Bound("int", 1, 100_000, "placebo / bootstrap draws"),
    "seed": Bound("int", 0, MAX_SEED, "random seed"),
    "window": Bound("int_pair", -200, 200, "event-time window (periods)", ordered=True),
    "base": Bound("int", -200, 200, "reference event time"),
    "leads": Bound("int_list", -200, 200, "anticipation leads (periods)", max_len=200),
    "digits": Bound("int", 0, 10, "decimals shown"),
    "stat_digits": Bound("int", 0, 10, "decimals of statistics"),
    "bins": Bound("int", 1, 1_000, "histogram bins", words=NUMPY_BIN_RULES),
    "figsize": Bound("float_pair", 1, 50, "figure width and height (inches)"),
    "level": Bound("float", 0, 1, "confidence level", open=True),
    "ci_level": Bound("float", 0, 1, "confidence level", open=True),
    "p_threshold": Bound("float", 0, 1, "p-value threshold", open=True),
    "quantiles": Bound("float_list", 0, 1, "quantiles", max_len=100),
    "k": Bound("int", 1, 100, "matched neighbours"),
    "caliper": Bound("float", 0, 100, "matching caliper", open=True),
    "min_units": Bound("int", 1, 1_000_000, "units per group"),
    "max_unit_labels": Bound("int", 0, 10_000, "unit labels drawn"),
    "chunk_size": Bound("int", 1, 1_000_000, "draws per chunk"),
    "n_treated": Bound("int", 1, 10_000_000, "placebo treated units"),
    "cuts": Bound("float_pair", 0, 100, "winsorising percentiles", ordered=True),
    "timing_range": Bound("float_pair", -1e6, 1e6, "placebo timing range", ordered=True),
    "periods": Bound("int_list", -1e9, 1e9, "periods", max_len=1_000),
    "thousands": Bound("text", 0, 1, "thousands separator (one character)"),
    "progress": Bound("never", meaning="a progress callback (Python only)"),
}


def _plain(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _range_text(bound: Bound) -> str:
    low, high = _plain(bound.low), _plain(bound.high)
    text = f"between {low} and {high}" + (" (exclusive)" if bound.open else "")
    if bound.words:
        text += f", or one of {', '.join(repr(w) for w in bound.words)}"
    return text


# ---------------------------------------------------------------------------------- the file


def _depth(value: Any, path: tuple[str | int, ...] = ()) -> tuple[int, tuple[str | int, ...]]:
    """Deepest nesting of tables/arrays in ``value`` (iterative: no recursion to exhaust)."""
    deepest, where = 0, path
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, path)]
    while stack:
        node, depth, here = stack.pop()
        if depth > deepest:
            deepest, where = depth, here
        if depth > MAX_NESTING:
            break
        if isinstance(node, Mapping):
            stack += [(v, depth + 1, (*here, str(k))) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, depth + 1, (*here, i)) for i, v in enumerate(node)]
    return deepest, where


def check_text(text: str, name: str) -> None:
    """Refuse a study file too large to be one (before parsing)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_STUDY_BYTES:
        raise SpecError(
            f"study file of {size:,} bytes is too large (allowed: at most {MAX_STUDY_BYTES:,})",
            file=name,
            fix="a study file holds settings only; keep data in data files named by [data]",
        )


def check_file(raw: Mapping[str, Any], where: Callable[[Sequence[str | int]], str]) -> None:
    """Checks of a parsed study file that its schema cannot express.

    ``where(key)`` renders ``"file 'x.toml', line N"`` for a key path.
    """
    depth, path = _depth(raw)
    if depth > MAX_NESTING:
        raise SpecError(
            f"{_dotted(path[:3])}: tables and arrays are nested more than {MAX_NESTING} deep",
            file=where(path[:3]),
            fix="a study file needs a few levels of nesting at most; flatten this value",
        )
    study = raw.get("study")
    if isinstance(study, Mapping) and "seed" in study:
        _check_value(study["seed"], "seed", "int", BOUNDS["seed"], ("study", "seed"), where)
    for name, source in (raw.get("data") or {}).items():
        if isinstance(source, Mapping) and source.get("encoding") is not None:
            _check_encoding(source["encoding"], ("data", str(name), "encoding"), where)
    sample = raw.get("sample")
    if isinstance(sample, Mapping) and isinstance(sample.get("where"), list):
        from didstudy.study.expr import parse_expression

        for index, rule in enumerate(sample["where"]):
            if isinstance(rule, str):
                try:
                    parse_expression(rule)
                except SpecError as exc:
                    key = ("sample", "where", index)
                    raise SpecError(
                        f"{_dotted(key)}: {exc.message}", file=where(key), fix=exc.fix
                    ) from None


def _check_encoding(value: Any, key: tuple[str | int, ...], where: Any) -> None:
    try:
        info = codecs.lookup(str(value))
        text_encoding = getattr(info, "_is_text_encoding", True)
    except LookupError:
        text_encoding = False
    if not isinstance(value, str) or not text_encoding:
        raise SpecError(
            f"{_dotted(key)}: {value!r} is not a text encoding",
            file=where(key),
            fix='use e.g. encoding = "utf-8", "gbk", "gb18030", "latin-1" or "cp1252"',
        )


# ------------------------------------------------------------------------------- step arguments


def _atoms(annotation: str) -> list[str]:
    atoms, depth, current = [], 0, ""
    for char in annotation:
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            atoms.append(current.strip())
            current = ""
        else:
            current += char
    return [*atoms, current.strip()]


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


_ITEM_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": _is_number,
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: type(v) is bool,
}


def _atom_ok(value: Any, atom: str) -> bool | None:
    """Whether ``value`` (as TOML gives it) fits ``atom``; ``None`` when ``atom`` is unknown."""
    if atom in _ITEM_CHECKS:
        return _ITEM_CHECKS[atom](value)
    if atom == "None":
        return value is None
    if atom.startswith("Literal["):
        try:
            options = ast.literal_eval(f"({atom[8:-1]},)")
        except (ValueError, SyntaxError):
            return None
        return any(type(value) is type(o) and value == o for o in options)
    for prefix in ("Sequence[", "list[", "tuple["):
        if atom.startswith(prefix) and atom.endswith("]"):
            inner = [a.strip() for a in atom[len(prefix) : -1].split(",")]
            if not isinstance(value, list):
                return False
            if prefix == "tuple[" and inner[-1] != "..." and len(inner) != len(value):
                return False
            checks = [_ITEM_CHECKS.get(i) for i in inner if i != "..."]
            if any(c is None for c in checks):
                return None
            per_item = checks if len(checks) == len(value) else [checks[0]] * len(value)
            return all(c(v) for c, v in zip(per_item, value, strict=True) if c is not None)
    if atom == "Mapping[str, str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return None


def type_matches(value: Any, annotation: str) -> bool:
    """Whether a TOML value fits a parameter's annotation (unknown annotations fit)."""
    results = [_atom_ok(value, atom) for atom in _atoms(annotation)]
    return any(r is True for r in results) or any(r is None for r in results)


def _expected(annotation: str) -> str:
    names = {"int": "a whole number", "float": "a number", "str": "a text", "bool": "true/false"}
    parts = [names.get(a, a) for a in _atoms(annotation) if a != "None"]
    return " or ".join(parts)


def _number_ok(value: Any, bound: Bound) -> bool:
    if not _is_number(value) or not math.isfinite(value):
        return False
    if bound.open:
        return bool(bound.low < value < bound.high)
    return bool(bound.low <= value <= bound.high)


def _bound_ok(value: Any, bound: Bound) -> bool:
    if bound.kind == "never":
        return False
    if isinstance(value, str) and bound.words:
        return value in bound.words
    if bound.kind == "int":
        return _is_int(value) and _number_ok(value, bound)
    if bound.kind == "float":
        return _number_ok(value, bound)
    if bound.kind == "text":
        return isinstance(value, str) and len(value) <= bound.high
    items = list(value) if isinstance(value, list | tuple) else None
    if items is None:
        return False
    if bound.kind.endswith("_pair") and len(items) != 2:
        return False
    if len(items) > bound.max_len:
        return False
    item_ok = _is_int if bound.kind.startswith("int") else _is_number
    if not all(item_ok(v) and _number_ok(v, bound) for v in items):
        return False
    return not (bound.ordered and items != sorted(items))


def _bound_message(name: str, value: Any, bound: Bound) -> tuple[str, str]:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    if bound.kind == "never":
        return f"{name} = {shown}: {bound.meaning} cannot be set here", f"remove '{name}'"
    shape = {
        "int": "a whole number", "float": "a number", "text": "a text",
        "int_pair": "two whole numbers [first, last]", "float_pair": "two numbers [a, b]",
        "int_list": "a list of whole numbers", "float_list": "a list of numbers",
    }[bound.kind]  # fmt: skip
    limits = (
        f"at most {_plain(bound.high)} characters"
        if bound.kind == "text"
        else f"each {_range_text(bound)}"
    )
    if bound.kind in ("int", "float"):
        limits = _range_text(bound)
    extra = ", first <= last" if bound.ordered else ""
    extra += f", at most {bound.max_len:,} items" if bound.kind.endswith("_list") else ""
    message = f"{name} = {shown} is out of range: {bound.meaning} must be {shape}, {limits}{extra}"
    return message, f"write {name} as {shape} {limits}{extra}"


def _check_value(
    value: Any,
    name: str,
    annotation: str,
    bound: Bound | None,
    key: tuple[str | int, ...],
    where: Callable[[Sequence[str | int]], str],
) -> None:
    if not type_matches(value, annotation):
        raise SpecError(
            f"{_dotted(key)}: {name} = {value!r} is not {_expected(annotation)}",
            file=where(key),
            fix=f"write {name} as {_expected(annotation)}"
            + ("" if bound is None else f" ({_range_text(bound)})"),
        )
    if bound is not None and not _bound_ok(value, bound):
        message, fix = _bound_message(name, value, bound)
        raise SpecError(f"{_dotted(key)}: {message}", file=where(key), fix=fix)
    _check_size(value, name, key, where)


def _check_size(value: Any, name: str, key: tuple[str | int, ...], where: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise SpecError(
            f"{_dotted(key)}: {name} has {len(value):,} characters (allowed: at most {MAX_TEXT:,})",
            file=where(key),
            fix="shorten the text",
        )
    if isinstance(value, list | dict) and len(value) > MAX_ITEMS:
        raise SpecError(
            f"{_dotted(key)}: {name} has {len(value):,} items (allowed: at most {MAX_ITEMS:,})",
            file=where(key),
            fix="shorten the list",
        )
    if isinstance(value, list):
        for item in value:
            _check_size(item, name, key, where)
    elif isinstance(value, dict):
        for item in value.values():
            _check_size(item, name, key, where)


def check_step_arguments(
    arguments: Mapping[str, Any],
    annotations: Mapping[str, str],
    key: Callable[[str], tuple[str | int, ...]],
    where: Callable[[Sequence[str | int]], str],
) -> None:
    """Check every argument of one step: type by annotation, range by meaning, size.

    Parameters
    ----------
    arguments
        The step's keyword arguments as the study file (or an override) gives them.
    annotations
        The annotation text of each parameter of the step's function.
    key
        The key path of an argument in the study file (for the message).
    where
        Renders the file and line of a key path.

    Examples
    --------
    >>> check_step_arguments({"reps": 50}, {"reps": "int"}, lambda n: ("steps", 0, n),
    ...                      lambda k: "study.toml")
    """
    for name, value in arguments.items():
        annotation, bound = annotations.get(name, ""), BOUNDS.get(name)
        if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
            # given per language ({ zh = ..., en = ... }, decision 0006): each must fit alone
            for lang, text in value.items():
                _check_value(text, name, annotation, bound, (*key(name), lang), where)
            continue
        _check_value(value, name, annotation, bound, key(name), where)


def check_overrides(overrides: Mapping[str, Any]) -> None:
    """Command-line overrides (``--reps``) get the bounds of the arguments they replace."""
    for name, value in overrides.items():
        bound = BOUNDS.get(name)
        if bound is not None and not (type_matches(value, "int") and _bound_ok(value, bound)):
            message, fix = _bound_message(name, value, bound)
            raise SpecError(f"--{name} {value}: {message}", fix=fix.replace("write ", "give "))


def coerce_stars(value: Any, key: tuple[str | int, ...], where: Any) -> Any:
    """``stars`` from a study file: ``[[0.01, "***"], ...]`` or ``{ "***" = 0.01, ... }``."""
    from didstudy.errors import DidstudyError
    from didstudy.report.tables.format import Stars

    pairs: list[Any] = []
    if isinstance(value, dict):
        pairs = [[threshold, symbol] for symbol, threshold in value.items()]
    elif isinstance(value, list):
        pairs = list(value)
    fix = 'write stars = [[0.01, "***"], [0.05, "**"], [0.10, "*"]] (or [] for none)'
    good = all(
        isinstance(p, list) and len(p) == 2 and _is_number(p[0]) and isinstance(p[1], str)
        for p in pairs
    )
    if not isinstance(value, dict | list) or not good:
        raise SpecError(
            f"{_dotted(key)}: stars = {value!r} is not a list of [threshold, symbol] pairs",
            file=where(key),
            fix=fix,
        )
    try:
        return Stars(tuple((float(t), str(s)) for t, s in sorted(pairs, key=lambda p: p[0])))
    except DidstudyError as exc:
        raise SpecError(f"{_dotted(key)}: {exc.message}", file=where(key), fix=fix) from None


def annotations_of(function: Callable[..., Any]) -> dict[str, str]:
    """Annotation text of each parameter (strings under ``from __future__ import annotations``)."""
    import inspect

    out: dict[str, str] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        annotation = parameter.annotation
        if annotation is inspect.Parameter.empty:
            continue
        out[name] = (
            annotation
            if isinstance(annotation, str)
            else getattr(annotation, "__name__", str(annotation))
        )
    return out


def _dotted(key: Sequence[str | int]) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def study_path_name(path: Path | None) -> str:
    """How a study file is named in messages."""
    return str(path) if path is not None else "<study>"
