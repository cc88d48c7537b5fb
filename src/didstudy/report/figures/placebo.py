"""Figure 2: distribution of placebo estimates and their p-values, the real estimate marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.event_study import pick_labels
from didstudy.report.figures.overlap import place_clear
from didstudy.report.figures.save import save_figure
from didstudy.report.statistics import format_statistic, statistic_label
from didstudy.results.placebo import PlaceboResult

__all__ = ["PLACEBO_LABELS", "placebo_figure", "save_figure"]

PLACEBO_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Placebo test ({reps} draws)",
        "xlabel": "Placebo estimate",
        "density": "Density",
        "pvalue": "p-value",
        "kde": "Kernel density",
        "histogram": "Histogram",
        "points": "p-value of each draw",
        "actual": statistic_label("estimate", "en") + " = {value}",
        "threshold": "p = {p:g}",
        "note": statistic_label("p_two_sided", "en") + " = {p}",
    },
    "zh": {
        "title": "安慰剂检验（{reps} 次抽样）",
        "xlabel": "安慰剂估计系数",
        "density": "核密度",
        "pvalue": "p 值",
        "kde": "核密度曲线",
        "histogram": "直方图",
        "points": "各次抽样的 p 值",
        "actual": statistic_label("estimate", "zh") + " = {value}",
        "threshold": "p = {p:g}",
        "note": statistic_label("p_two_sided", "zh") + " = {p}",
    },
}


def placebo_figure(
    result: PlaceboResult,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    bins: int | str = "auto",
    p_threshold: float | None = 0.1,
    show_pvalues: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.2),
) -> Any:
    """Kernel density and histogram of the placebo estimates, their p-values on a second axis.

    The density is :class:`scipy.stats.gaussian_kde` (Scott's bandwidth) over the valid draws;
    the real estimate is a vertical dashed line; with ``show_pvalues`` every draw is a point
    (estimate, conventional p-value) against the right axis, with a dotted line at
    ``p_threshold``.

    Parameters
    ----------
    result
        A :class:`~didstudy.results.placebo.PlaceboResult` (:func:`didstudy.placebo`).
    lang, labels
        Language of the axis labels (``"zh"`` or ``"en"``) and label overrides.
    bins
        Histogram bins (as :func:`numpy.histogram_bin_edges`).
    p_threshold, show_pvalues
        Dotted line at this p-value; plot each draw's p-value on a second axis.
    title, figsize
        Figure title and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Left axis: histogram bars and the KDE line; right axis (twin): one scatter point per
        valid draw.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> fig = ds.placebo_figure(ds.placebo(panel, "y", reps=500, seed=1), lang="zh")
    >>> paths = ds.save_figure(fig, "out/figure2", formats=("png",))
    """
    coef = result.coef
    ok = np.isfinite(coef)
    draws = coef[ok]
    if draws.size < 2:
        raise DataError("the placebo test has fewer than two valid draws to plot")
    pvals = result.p_value[ok]
    with figure_style(lang) as code:
        text = pick_labels(PLACEBO_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.hist(
            draws,
            bins=bins,
            density=True,
            color="#BFD3E6",
            edgecolor="white",
            label=text["histogram"],
            zorder=1,
        )
        lo = float(min(draws.min(), result.estimate))
        hi = float(max(draws.max(), result.estimate))
        pad = 0.05 * (hi - lo if hi > lo else 1.0)
        grid = np.linspace(lo - pad, hi + pad, 400)
        if float(np.std(draws)) > 0:
            from scipy import stats as st

            kde = st.gaussian_kde(draws)
            ax.plot(grid, kde(grid), color="#0B3C8C", linewidth=1.6, label=text["kde"], zorder=2)
        ax.axvline(
            result.estimate,
            color="#D55E00",
            linestyle="--",
            linewidth=1.4,
            label=text["actual"].format(value=format_statistic("estimate", result.estimate)),
            zorder=3,
        )
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["density"])
        ax.set_xlim(lo - pad, hi + pad)
        handles, names = ax.get_legend_handles_labels()
        if show_pvalues:
            ax2 = ax.twinx()
            ax2.scatter(
                draws,
                pvals,
                s=8,
                color="#555555",
                alpha=0.6,
                linewidths=0,
                label=text["points"],
                zorder=2,
            )
            if p_threshold is not None:
                ax2.axhline(
                    p_threshold,
                    color="#888888",
                    linestyle=":",
                    linewidth=1.0,
                    label=text["threshold"].format(p=p_threshold),
                )
            ax2.set_ylim(0.0, 1.0)
            ax2.set_ylabel(text["pvalue"])
            ax2.grid(False)
            ax2.spines["right"].set_visible(True)
            more, more_names = ax2.get_legend_handles_labels()
            handles += more
            names += more_names
        ax.legend(handles, names, loc="upper left", fontsize=8)
        ax.set_title(title if title is not None else text["title"].format(reps=result.reps))
        ax.text(
            0.98,
            0.97,
            text["note"].format(p=format_statistic("p_two_sided", result.p_two_sided)),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
        fig.tight_layout()
        place_clear(fig)  # legend and notes where nothing is drawn
    return fig
