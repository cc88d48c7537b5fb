"""A safe subset of Python expressions for sample rules (``[sample] where = [...]``).

Allowed: column names, numbers, strings, ``True``/``False``, lists/tuples of constants,
comparisons (``== != < <= > >= in not in``, chained), ``and``/``or``/``not``, unary minus and
``+ - * / % **``. Nothing is passed to :func:`eval`: the tree is walked and evaluated on the
frame's columns, so calls, attributes, subscripts and names that are not columns are rejected.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable
from typing import Any

import pandas as pd

from didstudy.errors import SpecError

__all__ = ["evaluate", "parse_expression"]

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
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise SpecError(
            f"sample expression {text!r} is not valid: {exc.msg}",
            fix="write e.g. \"year >= 2005 and province != '西藏自治区'\"",
        ) from None
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
    return tree


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
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
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
    except (TypeError, ValueError) as exc:
        raise SpecError(
            f"sample expression {text!r} cannot be evaluated: {exc}",
            fix="compare columns with values of the same type (numbers with numbers)",
        ) from None
    if not isinstance(value, pd.Series):
        raise SpecError(
            f"sample expression {text!r} does not depend on any column",
            fix="compare a column with a value, e.g. year >= 2005",
        )
    return value.fillna(False).astype(bool)
