"""Figure 1: event-study coefficients with confidence intervals by relative period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from didstudy.errors import DataError
from didstudy.kernels.distributions import t_ppf
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.overlap import place_clear
from didstudy.report.figures.save import save_figure
from didstudy.report.statistics import format_statistic
from didstudy.results.event_study import EventStudyResult

__all__ = ["EVENT_STUDY_LABELS", "event_study_figure", "pick_labels", "save_figure"]

EVENT_STUDY_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Event study",
        "xlabel": "Periods relative to adoption",
        "ylabel": "Estimate",
        "estimate": "Estimate",
        "ci": "{level}% confidence interval",
        "base": "Base period",
        "pretrend": "Pre-trend test: F = {f}, p = {p}",
    },
    "zh": {
        "title": "平行趋势检验",
        "xlabel": "相对政策实施的年份",
        "ylabel": "估计系数",
        "estimate": "估计系数",
        "ci": "{level}% 置信区间",
        "base": "基期",
        "pretrend": "事前趋势联合检验：F = {f}，p = {p}",
    },
}


def pick_labels(
    defaults: Mapping[str, Mapping[str, str]], lang: str, overrides: Mapping[str, str] | None
) -> dict[str, str]:
    """Labels of ``lang`` (the resolved language) updated with the caller's ``overrides``."""
    out = dict(defaults.get(lang, defaults["en"]))
    if overrides:
        out.update(overrides)
    return out


def event_study_figure(
    result: EventStudyResult,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    level: float = 0.95,
    vline: str | float | None = "between",
    show_pretrend: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
    power: Any = None,
) -> Any:
    """Coefficients on the relative-time dummies with ``level`` confidence intervals.

    Parameters
    ----------
    result
        An :class:`~didstudy.results.event_study.EventStudyResult`.
    lang
        ``"en"`` or ``"zh"`` (falls back to English with a warning when no CJK font exists).
    labels
        Overrides of :data:`EVENT_STUDY_LABELS` keys (``title``, ``xlabel``, ``ylabel``, ...).
    level
        Confidence level of the bars (t quantile with the result's degrees of freedom).
    vline
        ``"between"``: dashed line between the base period and the next (at −0.5 for base −1);
        ``"base"``: at the base period; a number; or ``None``.
    show_pretrend
        Print the joint pre-trend F test in the corner.
    power
        A pre-trend power analysis (:class:`~didstudy.results.pretrends.PretrendPower`); its
        note (Roth 2022: slopes detected with 50%/80% power, bias after passing) is printed
        under the figure.
    title
        Figure title (default: the ``title`` label of ``lang``).
    figsize
        Figure size in inches (width, height).

    Returns
    -------
    matplotlib.figure.Figure
        One errorbar point per estimated coefficient, plus a hollow marker at the base
        period (normalised to 0).

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> fig = ds.event_study_figure(ds.event_study(panel, "y", window=(-4, 4)))
    >>> paths = ds.save_figure(fig, "out/figure1")
    """
    table = result.figure_data()
    est = table[~table["is_base"]]
    if est.empty:
        raise DataError("the event study has no coefficients to plot")
    q = t_ppf(0.5 + level / 2.0, result.df_t)
    rel = est["rel_time"].to_numpy(dtype=float)
    coef = est["estimate"].to_numpy(dtype=float)
    half = q * est["std_error"].to_numpy(dtype=float)
    with figure_style(lang) as code:
        text = pick_labels(EVENT_STUDY_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.axhline(0.0, color="#555555", linewidth=0.8, zorder=1)
        if vline is not None:
            x = (
                result.base + 0.5
                if vline == "between"
                else float(result.base)
                if vline == "base"
                else float(vline)
            )
            ax.axvline(x, color="#888888", linewidth=0.8, linestyle="--", zorder=1)
        ax.errorbar(
            rel,
            coef,
            yerr=half,
            fmt="o",
            color="#0B3C8C",
            ecolor="#0B3C8C",
            elinewidth=1.2,
            capsize=3,
            markersize=5,
            label=text["estimate"] + " (" + text["ci"].format(level=round(level * 100)) + ")",
            zorder=3,
        )
        if result.has_base:
            ax.plot(
                [result.base],
                [0.0],
                marker="o",
                markerfacecolor="white",
                markeredgecolor="#0B3C8C",
                linestyle="none",
                label=text["base"],
                zorder=3,
            )
        ticks = np.arange(int(min(rel.min(), result.base)), int(max(rel.max(), result.base)) + 1)
        names = [str(int(t)) for t in ticks]
        if result.endpoints == "bin" and result.control_group == "never":
            lo, hi = result.window
            names = [f"≤{t}" if t == lo else f"≥{t}" if t == hi else str(int(t)) for t in ticks]
        elif result.endpoints == "bin":
            names = [f"≥{t}" if t == result.window[1] else str(int(t)) for t in ticks]
        ax.set_xticks(ticks, names)
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"])
        ax.set_title(title if title is not None else text["title"])
        if show_pretrend and result.pretrend is not None:
            ax.text(
                0.02,
                0.97,
                text["pretrend"].format(
                    f=format_statistic("pretrend_f", result.pretrend.f),
                    p=format_statistic("pretrend_p_f", result.pretrend.p_f),
                ),
                transform=ax.transAxes,
                va="top",
                ha="left",
                fontsize=8,
            )
        ax.legend(loc="best")
        if power is not None:
            fig.text(0.01, 0.005, power.note(code), fontsize=7, ha="left", va="bottom", wrap=True)
            fig.tight_layout(rect=(0.0, 0.06, 1.0, 1.0))
        else:
            fig.tight_layout()
        place_clear(fig)  # legend and notes where nothing is drawn
    return fig
