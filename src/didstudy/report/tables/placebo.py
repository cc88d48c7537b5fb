"""Placebo (randomisation) test summary: the distribution of placebo estimates vs the actual one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import DataError
from didstudy.report.labels import normalize_lang, text, title
from didstudy.report.statistics import format_statistic, statistic_label
from didstudy.report.tables.format import fmt_count, fmt_number
from didstudy.report.tables.model import Row, Table
from didstudy.results.placebo import randomization_p_values

__all__ = ["placebo_table"]

PLACEBO_QUANTILES: tuple[float, ...] = (1.0, 5.0, 50.0, 95.0, 99.0)


def _draws(draws: Any) -> tuple[np.ndarray, np.ndarray | None]:
    p_values = None
    if hasattr(draws, "draws") and not isinstance(draws, pd.DataFrame):
        draws = draws.draws() if callable(draws.draws) else draws.draws
    if isinstance(draws, pd.DataFrame):
        if "estimate" not in draws.columns:
            raise DataError(
                "the placebo draws have no 'estimate' column",
                column="estimate",
                fix="pass a frame with one row per draw and an 'estimate' column "
                "(optionally 'p_value'), or an array of estimates",
            )
        if "p_value" in draws.columns:
            p_values = pd.to_numeric(draws["p_value"], errors="coerce").to_numpy(dtype=float)
        draws = draws["estimate"]
    estimates = np.asarray(pd.to_numeric(pd.Series(np.asarray(draws).ravel())), dtype=float)
    keep = ~np.isnan(estimates)
    if not keep.any():
        raise DataError("there are no placebo estimates", fix="run the placebo test first")
    return estimates[keep], None if p_values is None else p_values[keep]


def placebo_table(
    draws: Any,
    actual: float | None = None,
    *,
    lang: str = "en",
    digits: int = 4,
    quantiles: Sequence[float] = PLACEBO_QUANTILES,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "placebo",
    notes: Sequence[str] | None = None,
) -> Table:
    """Summary of a placebo test (reference study Figure 2 in numbers).

    Rows: number of draws, mean and SD of the placebo estimates, their quantiles, the actual
    estimate, the two-sided randomisation p-value ``(k+1)/(R+1)``, the plain share ``k/R`` of
    draws with ``|placebo| >= |actual|``, the share with ``placebo <= actual`` and, if p-values
    are given, the share of placebo p-values below 0.10. The p-value and shares are named and
    printed as :mod:`didstudy.report.statistics` defines them (the placebo figure uses the
    same definitions).

    Parameters
    ----------
    draws
        Placebo estimates: an array, or a frame with ``estimate`` (and optional ``p_value``).
        A placebo result with ``draws()`` and ``estimate`` works too.
    actual
        The estimate on the real treatment assignment (default: ``draws.estimate``).
    quantiles
        Percentiles of the placebo estimates shown as rows.
    lang
        ``"zh"`` or ``"en"``: caption, row labels and note.
    digits
        Decimal places of the estimates, p-value and shares.
    caption, number, name
        Caption without its number (default: the built-in caption of ``lang``), the printed
        table number (``3`` or ``"5a"``) and the file-name key of the table
        (default ``"placebo"``).
    notes
        Lines under the table (default: the built-in note on the randomisation p-value).

    Returns
    -------
    Table
        Quantiles of the placebo coefficients, the actual estimate and the randomisation
        p-values.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> table = ds.placebo_table(ds.placebo(panel, "y", reps=500, seed=1))
    """
    code = normalize_lang(lang)
    if actual is None:
        actual = getattr(draws, "estimate", None)
        if actual is None or isinstance(draws, pd.DataFrame):
            raise DataError(
                "placebo_table needs the actual estimate",
                fix="pass actual=<the baseline coefficient>",
            )
    estimates, p_values = _draws(draws)
    actual = float(actual)
    rows = [
        (text("placebo_reps", code), fmt_count(estimates.size)),
        (text("placebo_mean", code), fmt_number(estimates.mean(), digits)),
        (
            text("placebo_sd", code),
            fmt_number(estimates.std(ddof=1) if estimates.size > 1 else np.nan, digits),
        ),
    ]
    for q in quantiles:
        rows.append(
            (text("placebo_q", code, q=f"{q:g}"), fmt_number(np.percentile(estimates, q), digits))
        )
    rows.append((text("placebo_actual", code), fmt_number(actual, digits)))
    p = randomization_p_values(estimates, actual)
    for key in ("p_two_sided", "share_beyond", "share_below"):
        rows.append((statistic_label(key, code), format_statistic(key, p[key])))
    if p_values is not None:
        rows.append((text("placebo_share_p10", code), fmt_number(np.mean(p_values < 0.10), digits)))
    body = tuple(
        Row.of([label, value], "summary", rule_above=(label == text("placebo_actual", code)))
        for label, value in rows
    )
    caption = caption if caption is not None else text("caption_placebo", code)
    if notes is None:
        notes = (text("note_prefix", code) + text("note_placebo", code),)
    return Table(
        caption=caption,
        header=(Row.of([text("statistic", code), text("value", code)], "header"),),
        body=body,
        notes=tuple(notes),
        number=None if number is None else str(number),
        title=title(caption, code, number),
        name=name,
        lang=code,
    )
