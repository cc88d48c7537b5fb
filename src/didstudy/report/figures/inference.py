"""Sensitivity (HonestDiD) and wild-bootstrap figures.

``honest_figure``: the original confidence interval and the robust intervals by ``M̄``/``M``
(Rambachan & Roth 2023, Figure 5 style). ``wild_bootstrap_figure``: the bootstrap distribution
of the t statistic with the observed one marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.event_study import pick_labels
from didstudy.results.bootstrap import WildBootstrapResult
from didstudy.results.honest import HonestDidResult

__all__ = ["HONEST_LABELS", "WILD_LABELS", "honest_figure", "wild_bootstrap_figure"]

HONEST_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sensitivity to violations of parallel trends",
        "ylabel": "{level}% confidence interval",
        "Mbar": "M̄ (relative magnitude)",
        "M": "M (smoothness)",
        "original": "Original",
        "robust": "Robust ({inference})",
        "breakdown": "Breakdown value: {value:.3g}",
    },
    "zh": {
        "title": "平行趋势偏离的敏感性分析",
        "ylabel": "{level}% 置信区间",
        "Mbar": "M̄（相对幅度）",
        "M": "M（平滑度）",
        "original": "原始区间",
        "robust": "稳健区间（{inference}）",
        "breakdown": "临界值（breakdown）：{value:.3g}",
    },
}

WILD_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Wild cluster bootstrap ({method}, {reps} draws)",
        "xlabel": "Bootstrap t statistic",
        "density": "Density",
        "observed": "Observed t = {t:.3f}",
        "note": "Bootstrap p = {p:.3f}",
    },
    "zh": {
        "title": "野聚类自助法（{method}，{reps} 次）",
        "xlabel": "自助法 t 统计量",
        "density": "密度",
        "observed": "实际 t = {t:.3f}",
        "note": "自助法 p 值 = {p:.3f}",
    },
}


def honest_figure(
    result: HonestDidResult,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
) -> Any:
    """Original interval and robust intervals by ``M̄``/``M`` (one error bar each).

    Returns
    -------
    matplotlib.figure.Figure
        The original interval at the left, then one bar per value; a line at zero.
    """
    if not result.intervals:
        raise DataError("the sensitivity analysis has no robust intervals to plot")
    table = result.tidy()
    m = table["m"].to_numpy(dtype=float)
    lows = table["conf_low"].to_numpy(dtype=float)
    highs = table["conf_high"].to_numpy(dtype=float)
    step = float(np.min(np.diff(m))) if m.size > 1 else 1.0
    x_orig = m[0] - max(step, 1e-12)
    with figure_style(lang) as code:
        text = pick_labels(HONEST_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.axhline(0.0, color="#555555", linewidth=0.8, zorder=1)
        ax.vlines(
            [x_orig], [result.original_low], [result.original_high], color="#D55E00",
            linewidth=2.0, label=text["original"], zorder=2,
        )  # fmt: skip
        ax.vlines(
            m, lows, highs, color="#0B3C8C", linewidth=2.0,
            label=text["robust"].format(inference=result.inference), zorder=2,
        )  # fmt: skip
        ax.set_xlabel(text[result.parameter])
        ax.set_ylabel(text["ylabel"].format(level=round(100 * (1 - result.alpha))))
        ax.set_title(title if title is not None else text["title"])
        ax.text(
            0.02, 0.97, text["breakdown"].format(value=result.breakdown),
            transform=ax.transAxes, va="top", ha="left", fontsize=8,
        )  # fmt: skip
        ax.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
    return fig


def wild_bootstrap_figure(
    result: WildBootstrapResult,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    bins: int | str = "auto",
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
) -> Any:
    """Histogram of the bootstrap t statistics with the observed t marked.

    Parameters
    ----------
    result
        A :class:`~didstudy.results.bootstrap.WildBootstrapResult` (its draws).
    lang, labels
        ``"zh"`` or ``"en"``; overrides of :data:`WILD_LABELS` keys.
    bins
        Histogram bins: a number or a numpy rule such as ``"auto"`` (default).
    title, figsize
        Figure title (default from the method and the number of draws) and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Bars of the bootstrap distribution; a dashed line at the observed statistic.
    """
    draws = result.t_draws[np.isfinite(result.t_draws)]
    if draws.size < 2:
        raise DataError("the bootstrap has fewer than two finite draws to plot")
    with figure_style(lang) as code:
        text = pick_labels(WILD_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.hist(draws, bins=bins, density=True, color="#BFD3E6", edgecolor="white", zorder=1)
        ax.axvline(
            result.statistic, color="#D55E00", linestyle="--", linewidth=1.4,
            label=text["observed"].format(t=result.statistic), zorder=3,
        )  # fmt: skip
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["density"])
        heading = text["title"].format(method=result.method, reps=result.reps)
        ax.set_title(title if title is not None else heading)
        ax.text(
            0.98, 0.97, text["note"].format(p=result.p_value), transform=ax.transAxes,
            ha="right", va="top", fontsize=8,
        )  # fmt: skip
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
    return fig
