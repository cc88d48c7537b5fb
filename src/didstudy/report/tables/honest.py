"""HonestDiD sensitivity table: the original and robust intervals by M̄ (or M)."""

from __future__ import annotations

from collections.abc import Sequence

from didstudy.report.labels import normalize_lang, title
from didstudy.report.tables.format import fmt_number
from didstudy.report.tables.model import Row, Table
from didstudy.results.honest import HonestDidResult

__all__ = ["honest_table"]

_TEXT = {
    "en": {
        "caption": "Sensitivity to violations of parallel trends (HonestDiD)",
        "original": "Original",
        "low": "Lower bound",
        "high": "Upper bound",
        "excl": "Excludes 0",
        "yes": "Yes",
        "no": "No",
        "note": (
            "Note: {level}% confidence intervals for {target} robust to violations of parallel "
            "trends (Rambachan & Roth 2023): {restriction}; {inference}. Breakdown value "
            "(largest {param} whose interval excludes zero): {breakdown}."
        ),
        "relative_magnitude": "post-period changes at most M̄ times the largest pre-period change",
        "smoothness": "the slope of the trend difference changes by at most M per period",
        "combined": "second differences at most M̄ times the largest pre-period one",
        "C-LF": "conditional-least-favourable hybrid test",
        "C": "conditional test",
        "FLCI": "optimal fixed-length interval",
        "first": "the first post-period effect",
        "average": "the average post-period effect",
        "custom": "a weighted post-period effect",
    },
    "zh": {
        "caption": "平行趋势偏离的敏感性分析（HonestDiD）",
        "original": "原始区间",
        "low": "下界",
        "high": "上界",
        "excl": "不含 0",
        "yes": "是",
        "no": "否",
        "note": (
            "注：{target}在平行趋势假设被违背时仍然有效的 {level}% 置信区间"
            "（Rambachan and Roth, 2023）：{restriction}；{inference}。"
            "临界值（区间仍不含 0 的最大 {param}）：{breakdown}。"
        ),
        "relative_magnitude": "事后趋势变化不超过事前最大变化的 M̄ 倍",
        "smoothness": "趋势差异的斜率每期变化不超过 M",
        "combined": "二阶差分不超过事前最大二阶差分的 M̄ 倍",
        "C-LF": "条件-最不利混合检验",
        "C": "条件检验",
        "FLCI": "最优固定长度区间",
        "first": "首个处理后时期的效应",
        "average": "处理后各期平均效应",
        "custom": "处理后各期加权效应",
    },
}


def _target(result: HonestDidResult) -> str:
    n = len(result.l_vec)
    if n and result.l_vec[0] == 1.0 and all(v == 0.0 for v in result.l_vec[1:]):
        return "first"
    if n and all(abs(v - 1.0 / n) < 1e-12 for v in result.l_vec):
        return "average"
    return "custom"


def honest_table(
    result: HonestDidResult,
    *,
    lang: str = "en",
    digits: int = 3,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "honest",
    notes: Sequence[str] = (),
) -> Table:
    """One row per ``M̄``/``M`` (and the original interval first): bounds and whether 0 is out.

    Parameters
    ----------
    result
        A :class:`~didstudy.results.honest.HonestDidResult`.
    lang, digits, caption, number, name, notes
        Language, decimals and table metadata.

    Returns
    -------
    Table
        Columns: M̄ (or M), lower bound, upper bound, excludes zero.
    """
    code = normalize_lang(lang)
    t = _TEXT[code]
    param = "M" if result.parameter == "M" else "M̄"
    header = (Row.of([param, t["low"], t["high"], t["excl"]], "header"),)
    orig_excl = result.original_low > 0 or result.original_high < 0
    rows = [
        Row.of(
            [
                t["original"],
                fmt_number(result.original_low, digits),
                fmt_number(result.original_high, digits),
                t["yes"] if orig_excl else t["no"],
            ],
        )
    ]
    for iv in result.intervals:
        rows.append(
            Row.of(
                [
                    f"{iv.m:g}",
                    fmt_number(iv.conf_low, digits),
                    fmt_number(iv.conf_high, digits),
                    t["yes"] if iv.excludes_zero else t["no"],
                ],
            )
        )
    breakdown = f"{result.breakdown:.3g}" + ("+" if result.breakdown_censored else "")
    note = t["note"].format(
        level=round(100 * (1 - result.alpha)),
        target=t[_target(result)],
        restriction=t[result.method],
        inference=t[result.inference],
        param=param,
        breakdown=breakdown,
    )
    cap = caption or t["caption"]
    return Table(
        caption=cap,
        header=header,
        body=tuple(rows),
        notes=(note, *notes),
        number=None if number is None else str(number),
        title=title(cap, code, number),
        name=name,
        lang=code,
    )
