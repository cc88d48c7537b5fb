"""Covariate balance of a PSM-DID result, pooled and per matching year.

:func:`psm_balance_table` is the study's ``balance_table`` step: the balance table of a frame
(:func:`didstudy.report.tables.balance_table`), or of a PSM-DID result (its pooled standardised
differences before and after matching, optionally followed by one block per matching year).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from didstudy.errors import DataError
from didstudy.report.tables.balance import balance_table as _report_balance_table
from didstudy.report.tables.model import Cell, Row, Table

__all__ = ["psm_balance_table"]

_PSM_CAPTION = {
    "zh": "PSM 匹配前后协变量平衡性检验",
    "en": "PSM: covariate balance before and after matching",
}
_POOLED = {"zh": "全部匹配年份（合并）", "en": "All matching years (pooled)"}
_YEAR = {"zh": "{year} 年", "en": "{year}"}


def _year_text(value: Any) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.notna(number) and float(number).is_integer():
        return str(int(number))
    return str(value)


def psm_balance_table(
    balance: Any,
    *,
    per_year: bool | Sequence[Any] = False,
    percent: bool = True,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    digits: int = 3,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "balance",
    notes: Sequence[str] | None = None,
) -> Table:
    """Covariate balance table of a balance frame or of a PSM-DID result.

    Parameters
    ----------
    balance
        A :class:`~didstudy.results.psm.PSMDIDResult` (anything with ``balance_frame`` and a
        ``balance`` frame with ``scope`` and ``time``), or a frame in the layout of
        :func:`didstudy.report.tables.balance_table`, which is then used as is.
    per_year
        For a PSM result: ``False`` prints the pooled balance only; ``True`` adds one block per
        matching year; a list of years adds those years' blocks.
    percent
        Print standardised differences in percent (Stata ``pstest``) rather than as fractions.
        The values and the header always agree: the PSM result's fractions are scaled here.
    lang, labels, digits, caption, number, name, notes
        As :func:`didstudy.report.tables.balance_table`; for a PSM result the default caption
        is the PSM balance caption of ``lang``.

    Returns
    -------
    Table
        Rows are covariates; columns treated mean, control mean and standardised difference,
        before and after matching. With ``per_year`` the pooled block comes first, then each
        year's block under a spanning year label.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> psm = ds.psm_did(panel, "y", "treat", covariates=["x1", "x2"], seed=1)
    >>> table = ds.psm_balance_table(psm, per_year=True, lang="en", number="5a")
    """
    code = "zh" if lang == "zh" else "en"
    if not hasattr(balance, "balance_frame"):
        return _report_balance_table(
            balance, lang=code, labels=labels, digits=digits, caption=caption, number=number,
            name=name, notes=notes, percent=percent,
        )  # fmt: skip
    caption = caption if caption is not None else _PSM_CAPTION[code]

    def block(scope: Any) -> Table:
        frame = balance.balance_frame(scope, percent=percent)
        return _report_balance_table(
            frame, lang=code, labels=labels, digits=digits, caption=caption, number=number,
            name=name, notes=notes, percent=percent,
        )  # fmt: skip

    pooled = block("pooled")
    if per_year is False:
        return pooled
    raw = balance.balance
    available = list(dict.fromkeys(raw.loc[raw["scope"] != "pooled", "time"].tolist()))
    if per_year is True:
        years = available
    else:
        wanted = {_year_text(y) for y in per_year}
        unknown = sorted(wanted - {_year_text(y) for y in available})
        if unknown:
            raise DataError(
                f"the PSM result has no balance for the year(s) {', '.join(unknown)}",
                fix="choose among the matching years: "
                + ", ".join(_year_text(y) for y in available),
            )
        years = [y for y in available if _year_text(y) in wanted]
    width = pooled.n_cols

    def label_row(label: str) -> Row:
        return Row((Cell(label, colspan=width, align="left"),), "body", rule_above=True)

    body = [label_row(_POOLED[code]), *pooled.body]
    for year in years:
        body.append(label_row(_YEAR[code].format(year=_year_text(year))))
        body.extend(block(year).body)
    return replace(pooled, body=tuple(body))
