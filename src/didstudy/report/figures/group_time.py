"""Event-study figure of a group-time result's dynamic aggregation: pointwise and uniform bands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.event_study import pick_labels

__all__ = ["CS_EVENT_STUDY_LABELS", "cs_event_study_figure"]

CS_EVENT_STUDY_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Event study (Callaway and Sant'Anna)",
        "xlabel": "Periods relative to adoption",
        "ylabel": "ATT",
        "estimate": "Estimate",
        "ci": "{level}% pointwise interval",
        "band": "{level}% uniform band",
    },
    "zh": {
        "title": "事件研究（Callaway–Sant'Anna）",
        "xlabel": "相对政策实施的年份",
        "ylabel": "平均处理效应",
        "estimate": "估计值",
        "ci": "{level}% 逐点置信区间",
        "band": "{level}% 一致置信带",
    },
}


def cs_event_study_figure(
    result: Any,
    *,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
) -> Any:
    """Dynamic aggregation θ(e) with pointwise intervals (bars) and the sup-t band (shaded).

    Parameters
    ----------
    result
        A :class:`~didstudy.results.group_time.GroupTimeResult` (aggregated here) or its
        dynamic :class:`~didstudy.results.group_time.GroupTimeAggregate`.
    min_e, max_e, balance_e
        Window and balancing of the dynamic aggregation.
    lang, labels, title, figsize
        Language, label overrides (keys of :data:`CS_EVENT_STUDY_LABELS`), title and size.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = cs_event_study_figure(res, min_e=-4, max_e=4, lang="zh")  # doctest: +SKIP
    >>> fig.savefig("event_study_cs.png")  # doctest: +SKIP
    """
    agg = result
    if not hasattr(result, "overall_estimate"):
        if not hasattr(result, "aggregate"):
            raise DataError(
                f"expected a group-time result, got {type(result).__name__}",
                fix="pass the result of a callaway_santanna step",
            )
        agg = result.aggregate("dynamic", min_e=min_e, max_e=max_e, balance_e=balance_e)
    if agg.kind != "dynamic":
        raise DataError("the figure needs the dynamic aggregation", fix="use kind='dynamic'")
    table = agg.tidy().iloc[:-1]
    e = np.asarray(agg.labels, dtype=float)
    est = table["estimate"].to_numpy(float)
    level = round(100 * (1 - agg.inference.alpha))
    with figure_style(lang) as code:
        text = pick_labels(CS_EVENT_STUDY_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.axhline(0.0, color="#555555", linewidth=0.8, zorder=1)
        ax.axvline(-0.5, color="#888888", linewidth=0.8, linestyle="--", zorder=1)
        ax.fill_between(e, table["conf_low_uniform"], table["conf_high_uniform"],
                        color="#0B3C8C", alpha=0.15, linewidth=0, step=None,
                        label=text["band"].format(level=level), zorder=2)  # fmt: skip
        half = np.vstack([est - table["conf_low"], table["conf_high"] - est])
        colors = np.where(e < 0, "#B22222", "#0B3C8C")
        for color in ("#B22222", "#0B3C8C"):
            pick = colors == color
            ax.errorbar(e[pick], est[pick], yerr=half[:, pick], fmt="o", color=color,
                        ecolor=color, elinewidth=1.2, capsize=3, markersize=5, zorder=3,
                        label=text["estimate"] + " (" + text["ci"].format(level=level) + ")"
                        if color == "#0B3C8C" else None)  # fmt: skip
        ax.set_xticks(e, [str(int(v)) for v in e])
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"])
        ax.set_title(title if title is not None else text["title"])
        ax.legend(loc="best")
        fig.tight_layout()
    return fig
