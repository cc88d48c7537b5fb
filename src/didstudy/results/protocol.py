"""The results protocol: what tables, figures and ``results.json`` consume.

Every estimator result is immutable and exposes

* ``tidy()`` -> DataFrame with columns :data:`TIDY_COLUMNS`, one row per reported term;
* ``stats()`` -> ``dict[str, float | int | str]`` with at least ``nobs`` and, where defined,
  ``r2``, ``r2_within``, ``n_clusters``, ``df_resid``, ``vcov``;
* ``to_dict()`` -> a JSON-serialisable mapping with stable keys (used for ``results.json``).

Reporting code depends on this protocol only, never on estimator internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import pandas as pd

TIDY_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)


@runtime_checkable
class Result(Protocol):
    """An estimation result that can be tabulated and serialised."""

    def tidy(self) -> pd.DataFrame: ...

    def stats(self) -> Mapping[str, Any]: ...

    def to_dict(self) -> dict[str, Any]: ...
