"""Helpers to assemble comparable regression results into one table (a ResultCollection).

Robustness, heterogeneity and mechanism operations each return a
:class:`~didstudy.results.regression.ResultCollection` keyed by column name; a paper table such
as the reference study's Table 5 is the concatenation of several of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import EstimationError
from didstudy.results.protocol import HtmlRepr
from didstudy.results.regression import RegressionResult, ResultCollection

__all__ = ["HeterogeneityResult", "as_regression", "combine"]


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


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class HeterogeneityResult(HtmlRepr):
    """Split-sample estimates by group and tests of the difference between paired groups.

    Attributes
    ----------
    models
        One regression per (dimension, group), named ``"<dimension>: <group>"``.
    differences
        One row per pair of groups of a dimension: ``dimension``, ``group_a``, ``group_b``,
        ``estimate_a``, ``estimate_b``, ``difference`` (a - b), then the interaction (Chow)
        test ``interaction_estimate``, ``interaction_std_error``, ``interaction_statistic``,
        ``interaction_p_value``, and the Fisher permutation test ``permutation_p_value``,
        ``permutation_reps`` (``None`` where not computed).
    term
        The treatment term whose coefficients are compared.
    seed
        Seed of the permutation test.
    """

    models: ResultCollection
    differences: pd.DataFrame = field(repr=False)
    term: str
    seed: int | None
    options: Mapping[str, Any] = field(default_factory=dict)

    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        """Tidy rows of every split-sample model, with a leading ``model`` column."""
        return self.models.tidy(alpha)

    def stats(self) -> dict[str, Any]:
        """Per-model statistics keyed by model name."""
        return self.models.stats()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping with stable keys."""
        return {
            "estimator": "heterogeneity",
            "term": self.term,
            "seed": self.seed,
            "options": {k: _py(v) for k, v in self.options.items()},
            **self.models.to_dict(),
            "differences": [
                {str(k): _py(v) for k, v in row.items()}
                for row in self.differences.to_dict(orient="records")
            ],
        }
