"""Dagum (1997) decomposition table of a :class:`DagumPanelResult` by period.

:func:`dagum_table` prints the overall Gini G, the within-group contribution Gw, the net
between-group contribution Gnb, the transvariation Gt, and their shares of G (reference-study.md
§1; methods-spec §1.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from didstudy.errors import DataError
from didstudy.report.tables.model import Cell, Row, Table

__all__ = ["dagum_table"]

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
    digits
        Decimal places of G, Gw, Gnb and Gt.
    caption, number, name
        Caption without its number (default: the built-in caption of ``lang``), the printed
        table number (``3`` or ``"5a"``) and the file-name key of the table
        (default ``"dagum"``).

    Returns
    -------
    Table
        One row per period: G, Gw, Gnb, Gt and the shares of Gw, Gnb and Gt in percent.

    Examples
    --------
    >>> import didstudy as ds
    >>> result = ds.dagum_panel(counties, value="light", group="city", time="year")
    ... # doctest: +SKIP
    >>> table = ds.dagum_table(result, lang="zh", number=8)  # doctest: +SKIP
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
