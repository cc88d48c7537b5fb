"""The estimator-comparison table: one column per estimator, one row pair per relative period."""

from __future__ import annotations

from collections.abc import Sequence

from didstudy.report.figures.comparison import ESTIMATOR_LABELS
from didstudy.report.labels import normalize_lang, title
from didstudy.report.tables.format import fmt_number
from didstudy.report.tables.model import Row, Table
from didstudy.results.estimator_comparison import EstimatorComparison

__all__ = ["comparison_table"]

_TEXT = {
    "en": {
        "caption": "Event-study estimates by estimator",
        "rel_time": "Relative period",
        "base": "(base)",
        "note": "Note: standard errors in parentheses; each column is one estimator run on the "
        "same panel and window; '(base)' marks an estimator's reference period.",
        "skipped": "Not estimable here: {items}.",
        "pretrend": "Pre-trend test p",
    },
    "zh": {
        "caption": "不同估计量的事件研究估计结果",
        "rel_time": "相对期数",
        "base": "（基期）",
        "note": "注：括号内为标准误；每列为同一面板与窗口上的一种估计量；"
        "“（基期）”为该估计量的参照期。",
        "skipped": "无法估计：{items}。",
        "pretrend": "事前趋势检验 p 值",
    },
}


def comparison_table(
    result: EstimatorComparison,
    *,
    lang: str = "en",
    digits: int = 3,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "estimator_comparison",
    notes: Sequence[str] | None = None,
) -> Table:
    """Table of :func:`compare_estimators`: estimates with standard errors below them.

    Parameters
    ----------
    result
        The comparison.
    lang
        ``"en"`` or ``"zh"``.
    digits
        Decimals.

    Returns
    -------
    Table
    """
    code = normalize_lang(lang)
    words = _TEXT[code]
    table = result.tidy()
    names = result.names
    est_names = ESTIMATOR_LABELS[code]
    header = (Row.of([words["rel_time"], *[est_names.get(n, n) for n in names]], "header"),)
    body: list[Row] = []
    lo, hi = result.window
    for k in range(lo, hi + 1):
        coefs, ses = [str(k)], [""]
        for n in names:
            rows = table[(table["estimator"] == n) & (table["rel_time"] == k)]
            if rows.empty:
                coefs.append("")
                ses.append("")
            elif bool(rows["is_base"].iloc[0]):
                coefs.append(words["base"])
                ses.append("")
            else:
                coefs.append(fmt_number(rows["estimate"].iloc[0], digits))
                ses.append("(" + fmt_number(rows["std_error"].iloc[0], digits) + ")")
        body.append(Row.of(coefs, "coef"))
        body.append(Row.of(ses, "stat"))
    pre = [words["pretrend"]]
    for n in names:
        test = result[n].pretrend
        pre.append("" if test is None else fmt_number(test.p_chi2, digits))
    body.append(Row.of(pre, "summary", rule_above=True))
    out_notes = list(notes) if notes is not None else [words["note"]]
    if result.skipped and notes is None:
        items = "; ".join(f"{est_names.get(n, n)} ({r})" for n, r in result.skipped)
        out_notes.append(words["skipped"].format(items=items))
    cap = caption if caption is not None else words["caption"]
    return Table(
        caption=cap,
        header=header,
        body=tuple(body),
        notes=tuple(out_notes),
        number=None if number is None else str(number),
        title=title(cap, code, number),
        name=name,
        lang=code,
    )
