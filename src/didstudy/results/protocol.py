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


#: Rows of a result's tidy table shown in a notebook before eliding the middle.
HTML_MAX_ROWS = 60


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _stats_html(stats: Mapping[str, Any]) -> str:
    from html import escape

    if stats and all(isinstance(v, Mapping) for v in stats.values()):
        names = [k for k in next(iter(stats.values())) if _scalar(next(iter(stats.values()))[k])]
        head = "".join(f"<th>{escape(str(m))}</th>" for m in stats)
        rows = "".join(
            f"<tr><th>{escape(n)}</th>"
            + "".join(f"<td>{escape(_fmt(stats[m].get(n)))}</td>" for m in stats)
            + "</tr>"
            for n in names
        )
        return f"<table><tr><th></th>{head}</tr>{rows}</table>"
    cells = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>"
        for k, v in stats.items()
        if _scalar(v)
    )
    return f"<table>{cells}</table>"


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def result_html(result: Any) -> str:
    """HTML of a result for notebooks: its name, the tidy table and the scalar statistics.

    Every string (terms, column names, statistics) is HTML-escaped.

    Parameters
    ----------
    result
        Anything with ``tidy()`` and ``stats()`` (the results protocol).

    Returns
    -------
    str
        An HTML fragment.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> "<table" in result_html(ds.twfe(panel, y="l_homicide", treat="post"))
    True
    """
    from html import escape

    name = type(result).__name__
    outcome = getattr(result, "depvar", None) or getattr(result, "outcome", None)
    title = escape(name + (f": {outcome}" if isinstance(outcome, str) else ""))
    tidy = result.tidy()
    table = tidy.to_html(
        index=False, escape=True, max_rows=HTML_MAX_ROWS, float_format=lambda v: f"{v:.6g}",
        border=0,
    )  # fmt: skip
    stats = result.stats()
    return f"<div><strong>{title}</strong>{table}{_stats_html(stats)}</div>"


class HtmlRepr:
    """Mixin: Jupyter renders a result as HTML (:func:`result_html`) instead of its repr."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        """The notebook view of the result."""
        return result_html(self)
