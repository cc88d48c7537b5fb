"""Bundled example data sets (real, published data) with their provenance.

=========  =====================================================================================
name       what it is
=========  =====================================================================================
castle     Cheng & Hoekstra (2013) castle-doctrine laws, 50 US states x 2000-2010 (550 rows).
           Unit ``state``, time ``year``, treatment ``post``, outcome ``l_homicide``.
           **Trap:** ``post`` is 1 for ``year >= effyear`` (the adoption year counts as treated);
           the Mixtape/causaldata copy uses ``year > effyear``. ``treatment_date`` is wrong for
           Alaska and Arizona (2005 instead of 2006): derive timing from ``post`` or ``effyear``,
           never from ``treatment_date``. Timing groups from ``post``: 2005:1, 2006:13, 2007:4,
           2008:2, 2009:1, never:29.
mpdta      Callaway & Sant'Anna (2021) minimum wage and teen employment, 500 counties x
           2003-2007. Unit ``countyreal``, time ``year``, cohort ``first.treat`` (0 = never),
           outcome ``lemp``. **Trap:** ``treat`` is the time-invariant ever-treated flag, not the
           post-treatment indicator; use ``cohort="first.treat"``.
divorce    Stevenson & Wolfers (2006) unilateral divorce and suicide, 51 states x 1964-1996 x
           2 sexes. Unit ``st``, time ``year``, cohort ``divyear`` (1950 = always treated,
           2000 = never in sample); filter ``sex == 2`` for the classic example.
=========  =====================================================================================
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pandas as pd

from didstudy.errors import DataError

__all__ = ["DATASETS", "dataset_info", "list_datasets", "load_dataset"]

# name -> the Panel roles that fit the data set (keyword arguments of didstudy.Panel)
DATASETS: dict[str, dict[str, Any]] = {
    "castle": {"unit": "state", "time": "year", "treat": "post", "outcome": "l_homicide"},
    "mpdta": {"unit": "countyreal", "time": "year", "cohort": "first.treat", "outcome": "lemp"},
    "divorce": {
        "unit": "st",
        "time": "year",
        "cohort": "divyear",
        "outcome": "suiciderate_elast_jag",
    },
}


def _resource(name: str, suffix: str) -> Any:
    key = name.strip().lower()
    if key not in DATASETS:
        raise DataError(
            f"unknown data set {name!r}.",
            fix=f"use one of {', '.join(sorted(DATASETS))}.",
        )
    return resources.files("didstudy.data").joinpath("datasets", f"{key}{suffix}")


def list_datasets() -> list[str]:
    """Names of the bundled data sets."""
    return sorted(DATASETS)


def dataset_info(name: str) -> str:
    """The provenance note (Markdown) of a bundled data set: source, licence, columns, traps.

    Parameters
    ----------
    name
        ``"castle"``, ``"mpdta"`` or ``"divorce"``.

    Returns
    -------
    str
        The note, as Markdown.

    Examples
    --------
    >>> dataset_info("castle").splitlines()[0].startswith("# castle.csv")
    True
    """
    text: str = _resource(name, ".md").read_text(encoding="utf-8")
    return text


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled data set as a new DataFrame.

    Parameters
    ----------
    name
        ``"castle"``, ``"mpdta"`` or ``"divorce"`` (see the module docstring for units, timing
        columns and traps; :func:`dataset_info` gives the full provenance note).

    Returns
    -------
    pandas.DataFrame
        The data exactly as distributed. ``attrs`` holds ``dataset`` (the name), ``source``
        and ``roles`` (suggested keyword arguments for :class:`didstudy.data.panel.Panel` plus
        the main ``outcome``).

    Notes
    -----
    castle: ``post`` equals 1 for ``year >= effyear``; the Mixtape copy of these data codes the
    adoption year as untreated, which changes TWFE and Bacon numbers. ``treatment_date`` is wrong
    for two states. mpdta: ``treat`` is *ever treated*, not the treatment indicator.

    Examples
    --------
    >>> df = load_dataset("castle")
    >>> roles = {k: v for k, v in df.attrs["roles"].items() if k != "outcome"}
    >>> panel = Panel(df, **roles)  # doctest: +SKIP
    """
    res = _resource(name, ".csv")
    with resources.as_file(res) as path:
        frame = pd.read_csv(path).copy()  # copy() consolidates the many column blocks
    key = name.strip().lower()
    frame.attrs["dataset"] = key
    frame.attrs["source"] = f"didstudy/data/datasets/{key}.csv"
    frame.attrs["roles"] = dict(DATASETS[key])
    return frame
