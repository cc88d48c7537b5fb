"""The estimator-comparison figure: event studies of several estimators, dodged, with CIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats as st

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.event_study import pick_labels
from didstudy.results.estimator_comparison import EstimatorComparison

__all__ = ["COMPARISON_LABELS", "ESTIMATOR_LABELS", "comparison_figure"]

COMPARISON_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Event studies by estimator",
        "xlabel": "Periods relative to adoption",
        "ylabel": "Estimate",
        "note": "{level}% confidence intervals",
    },
    "zh": {
        "title": "不同估计量的事件研究",
        "xlabel": "相对政策实施的年份",
        "ylabel": "估计系数",
        "note": "{level}% 置信区间",
    },
}

#: Display names of the estimators (en, zh).
ESTIMATOR_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "twfe": "TWFE", "sun_abraham": "Sun-Abraham", "imputation": "Imputation (BJS)",
        "did2s": "Two-stage (Gardner)", "etwfe": "ETWFE (Wooldridge)",
        "stacked_did": "Stacked (WFH)", "dcdh": "dCDH", "callaway_santanna": "Callaway-Sant'Anna",
    },
    "zh": {
        "twfe": "双向固定效应", "sun_abraham": "Sun-Abraham", "imputation": "插补估计 (BJS)",
        "did2s": "两阶段 (Gardner)", "etwfe": "扩展双向固定效应 (Wooldridge)",
        "stacked_did": "堆叠 DID (WFH)", "dcdh": "dCDH", "callaway_santanna": "Callaway-Sant'Anna",
    },
}  # fmt: skip

_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def comparison_figure(
    result: EstimatorComparison,
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    level: float = 0.95,
    width: float = 0.7,
    title: str | None = None,
    figsize: tuple[float, float] = (7.2, 4.8),
) -> Any:
    """Overlay the event studies of :func:`compare_estimators`, dodged horizontally.

    Parameters
    ----------
    result
        An :class:`~didstudy.results.estimator_comparison.EstimatorComparison`.
    lang
        ``"en"`` or ``"zh"`` (English with a warning when no CJK font exists).
    labels
        Overrides of :data:`COMPARISON_LABELS` keys and estimator names.
    level
        Confidence level of the bars (t quantile with each estimator's degrees of freedom).
    width
        Total horizontal spread of the markers of one relative period.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = result.tidy()
    if table.empty:
        raise DataError("the comparison has no coefficients to plot")
    names = result.names
    step = width / max(len(names), 1)
    with figure_style(lang) as code:
        text = pick_labels(COMPARISON_LABELS, code, labels)
        est_names = pick_labels(ESTIMATOR_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.axhline(0.0, color="#555555", linewidth=0.8, zorder=1)
        ax.axvline(-0.5, color="#888888", linewidth=0.8, linestyle="--", zorder=1)
        for i, name in enumerate(names):
            res = result[name]
            rows = table[(table["estimator"] == name)]
            offset = (i - (len(names) - 1) / 2.0) * step
            q = float(st.t.ppf(0.5 + level / 2.0, res.df_t))
            x = rows["rel_time"].to_numpy(dtype=float) + offset
            y = rows["estimate"].to_numpy(dtype=float)
            half = np.nan_to_num(q * rows["std_error"].to_numpy(dtype=float))
            ax.errorbar(
                x,
                y,
                yerr=half,
                fmt=_MARKERS[i % len(_MARKERS)],
                markersize=4,
                capsize=2,
                elinewidth=1.0,
                label=est_names.get(name, name),
                zorder=3,
            )
        lo, hi = result.window
        ax.set_xticks(np.arange(lo, hi + 1), [str(k) for k in range(lo, hi + 1)])
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"])
        ax.set_title(title if title is not None else text["title"])
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=4,
            fontsize=7,
            title=text["note"].format(level=round(level * 100)),
            title_fontsize=7,
            frameon=False,
        )
        fig.tight_layout()
    return fig
