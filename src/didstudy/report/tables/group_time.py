"""Tables of group-time effects (ATT(g,t)) and of their aggregations, in Chinese or English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from didstudy.errors import DataError
from didstudy.report.labels import normalize_lang, title
from didstudy.report.tables.format import fmt_count, fmt_number
from didstudy.report.tables.model import Row, Table

__all__ = ["GROUP_TIME_LABELS", "aggregation_table", "group_time_table"]

GROUP_TIME_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "caption_cells": "Group-time average treatment effects ATT(g,t)",
        "caption_agg": "Aggregated treatment effects ({kind})",
        "group": "Cohort g", "time": "Period t", "rel_time": "Event time e",
        "estimate": "Estimate", "std_error": "Std. error", "ci": "95% CI",
        "band": "Uniform band", "n_treated": "Treated", "n_control": "Comparison",
        "overall": "Overall", "simple": "simple", "calendar": "calendar", "dynamic": "event study",
        "label_simple": "ATT",
        "note": "Note: Callaway and Sant'Anna (2021), method {method}, comparison units: "
        "{control}, base period: {base}. Standard errors: {se}; uniform (sup-t) band with "
        "critical value {crit}.",
        "pretrend": "Pre-trend Wald test over pre-period cells: chi2({df}) = {chi2}, p = {p}.",
        "pretrend_rank": "Their covariance is singular: the test uses the {df} non-redundant of "
        "{q} constraints.",
        "missing": "Cells without an estimate (no comparison units or no overlap): {n}.",
        "never": "never treated", "notyet": "not yet treated",
    },
    "zh": {
        "caption_cells": "组别—时期平均处理效应 ATT(g,t)",
        "caption_agg": "处理效应加总（{kind}）",
        "group": "处理组 g", "time": "时期 t", "rel_time": "相对时间 e",
        "estimate": "估计值", "std_error": "标准误", "ci": "95% 置信区间",
        "band": "一致置信带", "n_treated": "处理组个体数", "n_control": "对照组个体数",
        "overall": "总体", "simple": "简单加权", "calendar": "按日历时期", "dynamic": "事件研究",
        "label_simple": "ATT",
        "note": "注：Callaway 和 Sant'Anna（2021）方法，估计方法 {method}，对照组：{control}，"
        "基期：{base}。标准误：{se}；一致（sup-t）置信带临界值 {crit}。",
        "pretrend": "事前期 ATT(g,t) 联合 Wald 检验：chi2({df}) = {chi2}，p = {p}。",
        "pretrend_rank": "其协方差矩阵奇异：检验仅使用 {q} 个约束中 {df} 个非冗余约束。",
        "missing": "无法估计的组别—时期（无对照个体或无共同支撑）：{n} 个。",
        "never": "从未处理组", "notyet": "尚未处理组",
    },
}  # fmt: skip
GROUP_TIME_LABELS["en"]["group_kind"] = "by cohort"
GROUP_TIME_LABELS["zh"]["group_kind"] = "按处理组"


def _interval(low: float, high: float, digits: int) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"[{fmt_number(low, digits)}, {fmt_number(high, digits)}]"


def _note(result: Any, text: dict[str, str], digits: int) -> str:
    options = result.options
    se = "bootstrap" if result.inference.bootstrap else "influence function"
    return text["note"].format(
        method=options.get("method", ""),
        control=text.get(str(options.get("control_group", "")), options.get("control_group")),
        base=options.get("base_period", ""),
        se=se,
        crit=fmt_number(result.crit_value, digits),
    )


def _check(result: Any) -> None:
    if not hasattr(result, "aggregate") or not hasattr(result, "tidy"):
        raise DataError(
            f"expected a group-time result (callaway_santanna), got {type(result).__name__}",
            fix="pass the result of a callaway_santanna step",
        )


def group_time_table(
    result: Any,
    *,
    lang: str = "en",
    digits: int = 4,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "group_time",
    notes: Sequence[str] | None = None,
) -> Table:
    """One row per ATT(g,t): estimate, SE, pointwise CI, uniform band, unit counts.

    Parameters
    ----------
    result
        A :class:`~didstudy.results.group_time.GroupTimeResult`.
    lang, digits, caption, number, name, notes
        Language (``"zh"``/``"en"``), decimals and the table's caption, number, file name and
        notes (default: the specification, inference and pre-trend test).

    Returns
    -------
    Table

    Examples
    --------
    >>> res = callaway_santanna(panel, y="lemp", seed=1)  # doctest: +SKIP
    >>> group_time_table(res, lang="zh").title  # doctest: +SKIP
    '组别—时期平均处理效应 ATT(g,t)'
    """
    _check(result)
    code = normalize_lang(lang)
    text = GROUP_TIME_LABELS[code]
    header = Row.of([text[k] for k in ("group", "time", "estimate", "std_error", "ci", "band",
                                        "n_treated", "n_control")], "header")  # fmt: skip
    body = []
    for r in result.tidy().itertuples():
        body.append(Row.of([
            str(int(r.group)), str(int(r.time)), fmt_number(r.estimate, digits),
            fmt_number(r.std_error, digits), _interval(r.conf_low, r.conf_high, digits),
            _interval(r.conf_low_uniform, r.conf_high_uniform, digits),
            fmt_count(r.n_treated), fmt_count(r.n_control),
        ], "coef"))  # fmt: skip
    if notes is None:
        notes = [_note(result, text, digits)]
        if result.pretrend is not None:
            pre = result.pretrend
            notes.append(text["pretrend"].format(df=pre.df1, chi2=fmt_number(pre.chi2, 3),
                                                 p=fmt_number(pre.p_chi2, 3)))  # fmt: skip
            if pre.df1 < len(pre.terms):
                notes.append(text["pretrend_rank"].format(df=pre.df1, q=len(pre.terms)))
        missing = int((~result.valid).sum())
        if missing:
            notes.append(text["missing"].format(n=missing))
    caption = caption if caption is not None else text["caption_cells"]
    return Table(caption=caption, header=(header,), body=tuple(body), notes=tuple(notes),
                 number=None if number is None else str(number),
                 title=title(caption, code, number), name=name, lang=code)  # fmt: skip


def aggregation_table(
    result: Any,
    aggregation: str = "dynamic",
    *,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
    lang: str = "en",
    digits: int = 4,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "aggregation",
    notes: Sequence[str] | None = None,
) -> Table:
    """An aggregation of group-time effects with pointwise CIs, uniform bands and the overall.

    Parameters
    ----------
    result
        A group-time result (aggregated here with ``aggregation``, ``min_e``, ``max_e``,
        ``balance_e``) or an aggregate.
    aggregation
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    min_e, max_e
        Event-time window of the aggregation (``max_e`` also limits the other kinds' post
        cells); default unbounded.
    balance_e
        Dynamic only: keep the cohorts observed at least ``balance_e`` periods after
        treatment, and event times up to ``balance_e`` (default: no balancing).
    lang, digits, caption, number, name, notes
        Language, decimals and table metadata.

    Returns
    -------
    Table

    Examples
    --------
    >>> aggregation_table(res, "dynamic", min_e=-3, max_e=3, lang="en")  # doctest: +SKIP
    """
    agg = result if hasattr(result, "overall_estimate") else None
    if agg is None:
        _check(result)
        agg = result.aggregate(aggregation, min_e=min_e, max_e=max_e, balance_e=balance_e)
    code = normalize_lang(lang)
    text = GROUP_TIME_LABELS[code]
    label_key = {"group": "group", "calendar": "time", "dynamic": "rel_time"}.get(agg.kind, "")
    header = Row.of([text[label_key] if label_key else "", text["estimate"], text["std_error"],
                     text["ci"], text["band"]], "header")  # fmt: skip
    table = agg.tidy()
    body = []
    for i, r in enumerate(table.itertuples()):
        last = i == len(table) - 1 and agg.kind != "simple"
        stub = (
            text["overall"]
            if last
            else (text["label_simple"] if agg.kind == "simple" else str(agg.labels[i]))
        )
        body.append(Row.of([
            stub, fmt_number(r.estimate, digits), fmt_number(r.std_error, digits),
            _interval(r.conf_low, r.conf_high, digits),
            _interval(r.conf_low_uniform, r.conf_high_uniform, digits),
        ], "summary" if last else "coef", rule_above=last))  # fmt: skip
    kind_text = text["group_kind"] if agg.kind == "group" else text[agg.kind]
    if notes is None:
        notes = [_note(agg, text, digits)]
    caption = caption if caption is not None else text["caption_agg"].format(kind=kind_text)
    return Table(caption=caption, header=(header,), body=tuple(body), notes=tuple(notes),
                 number=None if number is None else str(number),
                 title=title(caption, code, number), name=name, lang=code)  # fmt: skip
