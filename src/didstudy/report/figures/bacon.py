"""Goodman-Bacon decomposition plot: every 2×2 estimate against its weight, by comparison type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.event_study import pick_labels
from didstudy.report.figures.overlap import place_clear
from didstudy.report.figures.save import save_figure
from didstudy.report.labels import text as label_text
from didstudy.report.statistics import format_statistic, statistic_label
from didstudy.report.tables.bacon import bacon_type_key
from didstudy.results.bacon import (
    BETWEEN_TIMING,
    EARLIER_VS_LATER,
    LATER_VS_ALWAYS,
    LATER_VS_EARLIER,
    TREATED_VS_NEVER,
    BaconResult,
)

__all__ = ["BACON_LABELS", "bacon_figure", "save_figure"]

BACON_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Goodman-Bacon decomposition",
        "xlabel": "Weight",
        "ylabel": "2×2 DiD estimate",
        "twfe": statistic_label("twfe_estimate", "en") + " = {value}",
        "within": "Within term: estimate {estimate:.4f}, weight {weight:.3f}",
    },
    "zh": {
        "title": "Goodman-Bacon 分解",
        "xlabel": "权重",
        "ylabel": "2×2 双重差分估计值",
        "twfe": statistic_label("twfe_estimate", "zh") + " = {value}",
        "within": "组内项：估计值 {estimate:.4f}，权重 {weight:.3f}",
    },
}
# the comparison types carry the Bacon table's names (one term in table and figure)
for _lang, _labels in BACON_LABELS.items():
    for _kind in (
        EARLIER_VS_LATER,
        LATER_VS_EARLIER,
        TREATED_VS_NEVER,
        LATER_VS_ALWAYS,
        BETWEEN_TIMING,
    ):
        _labels[_kind] = label_text(f"bacon_{bacon_type_key(_kind)}", _lang)

_STYLE: dict[str, tuple[str, str]] = {
    EARLIER_VS_LATER: ("o", "#0072B2"),
    LATER_VS_EARLIER: ("^", "#D55E00"),
    TREATED_VS_NEVER: ("s", "#000000"),
    LATER_VS_ALWAYS: ("D", "#009E73"),
    BETWEEN_TIMING: ("o", "#0072B2"),
}


def bacon_figure(
    result: BaconResult,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.2),
) -> Any:
    """Scatter of the 2×2 estimates (y) against their weights (x), one marker per type, with a
    horizontal line at the TWFE estimate (Goodman-Bacon 2021, Figure 6).

    With controls the between-group 2×2s are plotted and the within term is stated in a note.

    Parameters
    ----------
    result
        A :class:`~didstudy.results.bacon.BaconResult` (:func:`didstudy.bacon`).
    lang, labels
        Language of the labels (``"zh"`` or ``"en"``) and label overrides.
    title, figsize
        Figure title and size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter collection per comparison type present; points = comparisons.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> fig = ds.bacon_figure(ds.bacon(panel, "y", "treat"))
    >>> paths = ds.save_figure(fig, "out/bacon")
    """
    frame = result.comparisons_frame()
    if frame.empty:
        raise DataError("the decomposition has no 2×2 comparisons to plot")
    with figure_style(lang) as code:
        text = pick_labels(BACON_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        for kind, part in frame.groupby("type", sort=False):
            marker, color = _STYLE.get(str(kind), ("o", "#555555"))
            ax.scatter(
                part["weight"],
                part["estimate"],
                marker=marker,
                s=36,
                edgecolors=color,
                facecolors="none" if marker in ("o", "D") else color,
                label=text.get(str(kind), str(kind)),
                zorder=3,
            )
        ax.axhline(
            result.estimate,
            color="#D55E00",
            linestyle="--",
            linewidth=1.2,
            label=text["twfe"].format(value=format_statistic("twfe_estimate", result.estimate)),
            zorder=2,
        )
        ax.axhline(0.0, color="#888888", linewidth=0.6, zorder=1)
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"])
        ax.set_xlim(left=0.0)
        ax.set_title(title if title is not None else text["title"])
        if result.within_estimate is not None and result.within_weight is not None:
            ax.text(
                0.98,
                0.03,
                text["within"].format(estimate=result.within_estimate, weight=result.within_weight),
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
            )
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        place_clear(fig)  # legend and notes where nothing is drawn
    return fig
