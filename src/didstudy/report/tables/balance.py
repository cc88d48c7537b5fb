"""Covariate balance before and after propensity-score matching (PSM-DID diagnostics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from didstudy.errors import DataError
from didstudy.report.labels import normalize_lang, text, title, variable_label
from didstudy.report.tables._common import require_columns
from didstudy.report.tables.format import fmt_number
from didstudy.report.tables.model import Cell, Row, Table

__all__ = ["BALANCE_MEASURES", "balance_table"]

# measure key -> header label key
BALANCE_MEASURES: dict[str, str] = {
    "mean_treated": "mean_treated",
    "mean_control": "mean_control",
    "std_diff": "std_diff",
    "t": "t_stat",
    "p_value": "p_value",
}
_PHASES = ("before", "after")


def _measure_label(measure: str, lang: str, percent: bool) -> str:
    if measure == "std_diff" and not percent:
        return text("std_diff_fraction", lang)
    return text(BALANCE_MEASURES[measure], lang)


def _layout(frame: pd.DataFrame) -> list[tuple[str | None, str, str]]:
    """(phase or None, measure, column) for the columns present, in print order."""
    found: list[tuple[str | None, str, str]] = []
    for measure in BALANCE_MEASURES:
        if measure in frame.columns:
            found.append((None, measure, measure))
    for phase in _PHASES:
        for measure in BALANCE_MEASURES:
            column = f"{measure}_{phase}"
            if column in frame.columns:
                found.append((phase, measure, column))
    return found


def balance_table(
    balance: pd.DataFrame,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    digits: int = 3,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "balance",
    notes: Sequence[str] | None = None,
    percent: bool = True,
) -> Table:
    """Balance table: treated and control means and standardised differences by variable.

    Parameters
    ----------
    balance
        One row per covariate with a ``variable`` column and any of ``mean_treated``,
        ``mean_control``, ``std_diff``, ``t``, ``p_value`` -- either plain (one phase) or
        suffixed ``_before`` / ``_after`` (grouped under ``匹配前`` / ``匹配后`` headers).
        ``std_diff`` is printed as given.
    percent
        Whether ``std_diff`` is in percent (Stata ``pstest``; header ``标准化偏差（%）``) or a
        fraction (header without ``%``).
    lang
        ``"zh"`` or ``"en"``: caption, headers and note.
    labels
        ``{column: label}`` for the covariate names; wins over built-in labels.
    digits
        Decimal places of the means, differences and tests.
    caption, number, name
        Caption without its number (default: the built-in caption of ``lang``), the printed
        table number (``3`` or ``"5a"``) and the file-name key of the table
        (default ``"balance"``).
    notes
        Lines under the table (default: the built-in note on the standardised difference when
        the frame has one, else none).

    Returns
    -------
    Table
        Rows are covariates; columns treated mean, control mean and standardised difference,
        before and after matching.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> psm = ds.psm_did(panel, "y", "treat", covariates=["x1", "x2"], seed=1)
    >>> table = ds.balance_table(psm.balance_frame("pooled", percent=True))
    """
    code = normalize_lang(lang)
    require_columns(balance, ["variable"], "the balance frame")
    layout = _layout(balance)
    if not layout:
        raise DataError(
            "the balance frame has no mean_treated/mean_control/std_diff columns "
            "(optionally suffixed _before/_after)",
            fix="pass e.g. variable, mean_treated_before, mean_control_before, std_diff_before, "
            "std_diff_after",
        )
    header: list[Row] = []
    phases = [phase for phase, _, _ in layout]
    if any(p is not None for p in phases):
        cells = [Cell("", align="left")]
        i = 0
        while i < len(phases):
            j = i
            while j < len(phases) and phases[j] == phases[i]:
                j += 1
            label = "" if phases[i] is None else text(str(phases[i]), code)
            cells.append(Cell(label, j - i))
            i = j
        header.append(Row(tuple(cells), "group"))
    header.append(
        Row.of(
            [text("variable", code), *(_measure_label(m, code, percent) for _, m, _ in layout)],
            "header",
        )
    )
    body = []
    for _, record in balance.iterrows():
        texts = [variable_label(str(record["variable"]), code, labels)]
        for _, _, column in layout:
            texts.append(fmt_number(pd.to_numeric(record[column], errors="coerce"), digits))
        body.append(Row.of(texts, "summary"))
    caption = caption if caption is not None else text("caption_balance", code)
    if notes is None:
        has_std = any(m == "std_diff" for _, m, _ in layout)
        key = "note_balance" if percent else "note_balance_fraction"
        notes = (text("note_prefix", code) + text(key, code),) if has_std else ()
    return Table(
        caption=caption,
        header=tuple(header),
        body=tuple(body),
        notes=tuple(notes),
        number=None if number is None else str(number),
        title=title(caption, code, number),
        name=name,
        lang=code,
    )
