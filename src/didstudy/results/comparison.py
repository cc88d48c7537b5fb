"""Helpers to assemble comparable regression results into one table (a ResultCollection).

Robustness, heterogeneity and mechanism operations each return a
:class:`~didstudy.results.regression.ResultCollection` keyed by column name; a paper table such
as the reference study's Table 5 is the concatenation of several of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from didstudy.errors import EstimationError
from didstudy.results.regression import RegressionResult, ResultCollection

__all__ = ["as_regression", "combine"]


def as_regression(result: Any) -> RegressionResult:
    """The regression inside a result: itself, or ``result.regression`` (e.g. PSM-DID)."""
    if isinstance(result, RegressionResult):
        return result
    inner = getattr(result, "regression", None)
    if isinstance(inner, RegressionResult):
        return inner
    raise EstimationError(
        f"cannot put a {type(result).__name__} in a regression table",
        fix="pass RegressionResult objects, ResultCollections or results with .regression",
    )


def combine(*parts: ResultCollection | Mapping[str, Any] | tuple[str, Any]) -> ResultCollection:
    """Concatenate collections, mappings ``{name: result}`` and ``(name, result)`` pairs.

    Column names must be unique; a result with a ``.regression`` (such as
    :class:`~didstudy.results.psm.PSMDIDResult`) contributes that regression.

    Examples
    --------
    >>> table5 = combine({"PSM-DID": psm}, winsorized, dropped, anticipation, concurrent)
    ... # doctest: +SKIP
    """
    items: list[tuple[str, RegressionResult]] = []
    for part in parts:
        pairs: Iterable[tuple[str, Any]]
        if isinstance(part, ResultCollection):
            pairs = part.items
        elif isinstance(part, Mapping):
            pairs = part.items()
        elif isinstance(part, tuple) and len(part) == 2 and isinstance(part[0], str):
            pairs = [part]
        else:
            raise EstimationError(f"cannot combine a {type(part).__name__}")
        for name, result in pairs:
            items.append((str(name), as_regression(result)))
    names = [n for n, _ in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise EstimationError(
            f"duplicate column names in a comparison: {', '.join(dupes)}",
            fix="rename the models (mapping keys) so that every column is unique",
        )
    return ResultCollection(tuple(items))
