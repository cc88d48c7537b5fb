"""A safe subset of Python expressions for sample rules (``[sample] where = [...]``).

Allowed: column names, numbers, strings, ``True``/``False``, lists/tuples of constants,
comparisons (``== != < <= > >= in not in``, chained), ``and``/``or``/``not``, unary minus and
``+ - * / % **``. Nothing is passed to :func:`eval`: the tree is walked and evaluated on the
frame's columns, so calls, attributes, subscripts and names that are not columns are rejected.

An expression cannot hang or exhaust the machine: its text is at most
:data:`MAX_EXPRESSION_CHARS` characters and :data:`MAX_NODES` syntax nodes; a constant power may
have at most :data:`MAX_CONSTANT_BITS` bits (``9 ** 9 ** 9 ** 9`` is refused, not computed); a
repetition (``'x' * n``, ``[0] * n``, a text column times ``n``) may produce at most
:data:`MAX_REPEAT` items per value.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
from collections.abc import Callable
from typing import Any

import pandas as pd

from didstudy.errors import SpecError

__all__ = [
    "MAX_CONSTANT_BITS",
    "MAX_EXPRESSION_CHARS",
    "MAX_NODES",
    "MAX_REPEAT",
    "evaluate",
    "parse_expression",
]

# a sample rule is a line of a study file, not a program
MAX_EXPRESSION_CHARS = 1_000
MAX_NODES = 200
# 2**1024 ~ 1.8e308, the float range: larger constants cannot compare meaningfully with data
MAX_CONSTANT_BITS = 1_024
# repeated text/lists: far beyond any real category name, far below a memory problem
MAX_REPEAT = 10_000
_FIX = "write e.g. \"year >= 2005 and province != '西藏自治区'\""

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def parse_expression(text: str) -> ast.Expression:
    """Parse ``text`` and reject anything outside the safe subset (raises ``SpecError``)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise SpecError(
            f"sample expression of {len(text):,} characters is too long (allowed: at most "
            f"{MAX_EXPRESSION_CHARS:,})",
            fix="split it into several [sample] where rules (they are combined with 'and')",
        )
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        msg = exc.msg if isinstance(exc, SyntaxError) else "nested too deeply"
        raise SpecError(
            f"sample expression {text!r} is not valid: {msg}",
            fix=_FIX,
        ) from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise SpecError(
            f"sample expression {text!r} has {nodes} terms (allowed: at most {MAX_NODES})",
            fix="split it into several [sample] where rules (they are combined with 'and')",
        )
    allowed = (
        ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
        ast.Compare, ast.BinOp, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
        ast.In, ast.NotIn, *_COMPARE, *_BINARY,
    )  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            what = type(node).__name__
            hint = {"Call": "function calls", "Attribute": "attributes", "Subscript": "indexing"}
            raise SpecError(
                f"sample expression {text!r} uses {hint.get(what, what)}, which is not allowed",
                fix="use only column names, constants, comparisons, and/or/not, in [...] lists",
            )
    _fold(text, tree.body)
    return tree


_NOT_CONSTANT = object()


def _fold(text: str, node: ast.AST) -> Any:
    """The value of a constant sub-expression (checked for size), else ``_NOT_CONSTANT``; so
    ``validate`` refuses ``9 ** 9 ** 9 ** 9`` without reading data or computing it."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        left, right = _fold(text, node.left), _fold(text, node.right)
        if left is _NOT_CONSTANT or right is _NOT_CONSTANT:
            return _NOT_CONSTANT
        _check_size(text, node.op, left, right)
        try:
            return _BINARY[type(node.op)](left, right)
        except (TypeError, ValueError, ArithmeticError) as exc:
            message = f"sample expression {text!r} cannot be evaluated: {exc}"
            raise SpecError(message, fix=_FIX) from None
    if isinstance(node, ast.UnaryOp):
        value = _fold(text, node.operand)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _NOT_CONSTANT
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List | ast.Tuple):
        items = [_fold(text, element) for element in node.elts]
        return _NOT_CONSTANT if any(i is _NOT_CONSTANT for i in items) else items
    for child in ast.iter_child_nodes(node):
        _fold(text, child)
    return _NOT_CONSTANT


def _bits(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
        return 1.0
    magnitude = abs(value)
    return math.log2(magnitude) if math.isfinite(magnitude) else math.inf


def _repeat_count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _check_size(text: str, op: ast.operator, left: Any, right: Any) -> None:
    """Refuse constant powers and repetitions whose result would be huge (before computing)."""
    constant_power = (
        isinstance(op, ast.Pow)
        and isinstance(right, int | float)
        and not isinstance(left, pd.Series)
    )
    if constant_power and abs(right) * max(_bits(left), 1.0) > MAX_CONSTANT_BITS:
        raise SpecError(
            f"sample expression {text!r}: a power in it is too large (more than "
            f"{MAX_CONSTANT_BITS} bits, beyond any number in data)",
            fix="write the number itself, e.g. year < 3000",
        )
    if isinstance(op, ast.Mult):
        for items, count in ((left, _repeat_count(right)), (right, _repeat_count(left))):
            repeated = isinstance(items, str | list | tuple) or (
                isinstance(items, pd.Series) and items.dtype.kind not in "biufcmM"
            )
            if repeated and count is not None:
                width = max(len(items), 1) if isinstance(items, str | list | tuple) else 1
                if abs(count) * width > MAX_REPEAT:
                    raise SpecError(
                        f"sample expression {text!r}: repeating a text or list {count:,} times "
                        f"is too large (allowed: at most {MAX_REPEAT:,} items)",
                        fix="write the value itself instead of repeating it",
                    )


def evaluate(text: str, frame: pd.DataFrame) -> pd.Series:
    """Evaluate a safe expression on ``frame``; return a boolean Series aligned with it."""
    tree = parse_expression(text)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in frame.columns:
                near = difflib.get_close_matches(node.id, [str(c) for c in frame.columns], n=1)
                raise SpecError(
                    f"sample expression {text!r} names column '{node.id}', which does not exist",
                    column=node.id,
                    fix=f"did you mean '{near[0]}'?" if near else "use a column of the panel data",
                )
            return frame[node.id]
        if isinstance(node, ast.List | ast.Tuple):
            values = [walk(e) for e in node.elts]
            if any(isinstance(v, pd.Series) for v in values):
                raise SpecError(
                    f"sample expression {text!r}: lists may hold only constants",
                    fix="write e.g. province in ['北京市', '上海市']",
                )
            return values
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand)
            if isinstance(node.op, ast.Not):
                return ~value if isinstance(value, pd.Series) else not value
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            _check_size(text, node.op, left, right)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.Compare):
            left = walk(node.left)
            result: Any = True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = walk(right_node)
                if isinstance(op, ast.In | ast.NotIn):
                    if not isinstance(left, pd.Series) or not isinstance(right, list):
                        raise SpecError(
                            f"sample expression {text!r}: 'in' needs a column on the left and a "
                            "list on the right",
                            fix="write e.g. name in ['重庆市']",
                        )
                    value = left.isin(right)
                    value = ~value if isinstance(op, ast.NotIn) else value
                else:
                    value = _COMPARE[type(op)](left, right)
                result = value if result is True else (result & value)
                left = right
            return result
        raise SpecError(f"sample expression {text!r} is not supported")  # pragma: no cover

    try:
        value = walk(tree)
    except SpecError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise SpecError(
            f"sample expression {text!r} cannot be evaluated: {exc}",
            fix="compare columns with values of the same type (numbers with numbers)",
        ) from None
    if not isinstance(value, pd.Series):
        raise SpecError(
            f"sample expression {text!r} does not depend on any column",
            fix="compare a column with a value, e.g. year >= 2005",
        )
    return value.astype(object).fillna(False).astype(bool)
