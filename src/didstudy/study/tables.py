"""Study-level tables built from results with the report package's table model.

:func:`dagum_table` prints the Dagum (1997) decomposition of a :class:`DagumPanelResult` by
period: the overall Gini G, the within-group contribution Gw, the net between-group contribution
Gnb, the transvariation Gt, and their shares of G (reference-study.md §1; methods-spec §1.2).

:func:`balance_table` is the study's ``balance_table`` step: the report's balance table of a
frame, or of a PSM-DID result (its pooled standardised differences before and after matching,
optionally followed by one block per matching year).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from didstudy.errors import DataError
from didstudy.report.tables import Cell, Row, Table
from didstudy.report.tables import balance_table as _report_balance_table

__all__ = ["balance_table", "dagum_table"]

_HEADERS = {
    "zh": ("年份", "总体 G", "组内 Gw", "组间净差异 Gnb", "超变密度 Gt", "贡献率（%）"),
    "en": ("Year", "Overall G", "Within Gw", "Net between Gnb", "Transvariation Gt", "Shares (%)"),
}
_CAPTION = {"zh": "Dagum 基尼系数及其分解", "en": "Dagum Gini decomposition"}
_NOTE = {
    "zh": "注：G = Gw + Gnb + Gt；贡献率依次为 Gw、Gnb、Gt 占 G 的百分比；组为城市，单位为县区。",
    "en": "Note: G = Gw + Gnb + Gt; the shares are Gw, Gnb and Gt in percent of G; groups are "
    "cities, units are counties.",
}


def dagum_table(
    result: Any,
    *,
    lang: str = "en",
    periods: Sequence[int] | None = None,
    digits: int = 4,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "dagum",
) -> Table:
    """Table of the Dagum decomposition by period.

    Parameters
    ----------
    result
        A ``DagumPanelResult`` (its ``components``) or a frame with columns ``time, G, Gw, Gnb,
        Gt, share_w, share_nb, share_t``.
    lang
        ``"zh"`` or ``"en"``.
    periods
        Periods to print (default: all).
    """
    frame = getattr(result, "components", result)
    needed = ["time", "G", "Gw", "Gnb", "Gt", "share_w", "share_nb", "share_t"]
    missing = [c for c in needed if c not in getattr(frame, "columns", [])]
    if missing:
        raise DataError(
            f"the Dagum components lack the column(s) {', '.join(missing)}",
            fix="pass the result of dagum_panel (or its .components)",
        )
    code = "zh" if lang == "zh" else "en"
    if periods is not None:
        frame = frame.loc[frame["time"].isin(list(periods))]
    head = _HEADERS[code]
    header = (
        Row((*(Cell(h, align="left" if i == 0 else "center") for i, h in enumerate(head[:5])),
             Cell(head[5], colspan=3)), "header"),
        Row.of(["", "", "", "", "", "Gw", "Gnb", "Gt"], "header"),
    )  # fmt: skip
    body = tuple(
        Row.of(
            [str(int(r.time))]
            + [f"{float(getattr(r, k)):.{digits}f}" for k in ("G", "Gw", "Gnb", "Gt")]
            + [f"{float(getattr(r, k)):.2f}" for k in ("share_w", "share_nb", "share_t")]
        )
        for r in frame.itertuples(index=False)
    )
    title_number = "" if number is None else str(number)
    caption_text = caption or _CAPTION[code]
    if title_number:
        title = (
            f"表{title_number} {caption_text}"
            if code == "zh"
            else f"Table {title_number} {caption_text}"
        )
    else:
        title = caption_text
    return Table(
        caption=caption_text,
        header=header,
        body=body,
        notes=(_NOTE[code],),
        number=title_number or None,
        title=title,
        name=name,
        lang=code,
    )


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


def balance_table(
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

    Returns
    -------
    Table
        Rows are covariates; columns treated mean, control mean and standardised difference,
        before and after matching. With ``per_year`` the pooled block comes first, then each
        year's block under a spanning year label.
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
