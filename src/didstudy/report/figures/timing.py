"""Treatment timing at a glance: one row per adoption cohort, never-treated units collapsed.

Left: a cohort × period heatmap (panelView-style, sorted by cohort, never-treated units in one
row) whose cells are treated / not yet treated; right: the number of units in each cohort as
bars with their counts. Replaces the unit-by-unit roll-out heatmap, which for 276 cities is a
2400-pixel-tall grey block (issue 15).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.overlap import place_clear
from didstudy.report.figures.rollout import rollout_matrix
from didstudy.report.labels import text

__all__ = ["cohort_timing", "treatment_timing_figure"]

_TREATED, _UNTREATED = "#0B3C8C", "#DCE3EC"
_ROW_IN = 0.32  # inches per cohort row
_FIXED_IN = 1.5  # title, axis labels and legend


def cohort_timing(
    data: pd.DataFrame | Any,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Cohort × period share of treated units and the number of units per cohort.

    Returns
    -------
    shares
        Index: cohorts (first treated period, earliest first) then ``inf`` for never treated;
        columns: periods; values: share of the cohort's observed units treated then.
    sizes
        Units per cohort, aligned with ``shares``.
    """
    matrix, cohort = rollout_matrix(data, unit, time, treat)
    key = cohort.fillna(np.inf)
    shares = matrix.groupby(key.to_numpy()).mean()
    sizes = key.value_counts().reindex(shares.index)
    return shares, sizes


def _cohort_name(value: float, lang: str) -> str:
    if np.isinf(value):
        return text("never_treated", lang)
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def treatment_timing_figure(
    data: pd.DataFrame | Any,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
    *,
    lang: str = "en",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Any:
    """Treatment timing: cohorts × periods heatmap and cohort sizes, never-treated collapsed.

    Parameters
    ----------
    data
        A long frame with unit, time and 0/1 treatment columns, or a Panel.
    lang
        ``"zh"`` or ``"en"``.
    title
        Title inside the image; ``""`` for none (journals put it in the caption).
    figsize
        Inches; default 6.4 wide and :data:`_ROW_IN` per cohort row.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the heatmap (``imshow``) and the horizontal bars of cohort sizes.

    Examples
    --------
    >>> df = pd.DataFrame({"unit": [1, 1, 2, 2], "time": [1, 2, 1, 2], "treat": [0, 1, 0, 0]})
    >>> [len(ax.images) for ax in treatment_timing_figure(df).axes]
    [1, 0]
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    shares, sizes = cohort_timing(data, unit, time, treat)
    n_rows, n_periods = shares.shape
    with figure_style(lang) as code:
        size = figsize or (6.4, float(np.clip(_FIXED_IN + _ROW_IN * n_rows, 2.6, 9.0)))
        fig = styled_figure(code, figsize=size)
        heat, bars = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3.2, 1.0]})
        values = np.ma.masked_invalid(shares.to_numpy(dtype=float))
        cmap = ListedColormap([_UNTREATED, _TREATED])
        heat.imshow(values >= 0.5, aspect="auto", interpolation="nearest", cmap=cmap)
        heat.grid(False)
        periods = [str(p) for p in shares.columns]
        step = max(1, int(np.ceil(n_periods / 10)))
        heat.set_xticks(range(0, n_periods, step), periods[::step])
        names = [_cohort_name(float(c), code) for c in shares.index]
        heat.set_yticks(range(n_rows), names)
        heat.set_xlabel(text("year", code))
        heat.set_ylabel(text("cohort_axis", code))
        for spine in heat.spines.values():
            spine.set_visible(False)
        counts = sizes.to_numpy(dtype=float)
        bars.barh(range(n_rows), counts, color="#7F8FA6", height=0.6)
        bars.set_xlim(0, float(counts.max()) * 1.45)
        for row, count in enumerate(counts):
            bars.text(count, row, f" {int(count)}", va="center", ha="left", fontsize=8)
        bars.set_xlabel(text("units_axis", code))
        bars.tick_params(axis="y", left=False)
        bars.grid(False)
        handles = [
            Patch(facecolor=_TREATED, label=text("treated", code)),
            Patch(facecolor=_UNTREATED, label=text("not_treated", code)),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False)
        if title is None:
            title = text("rollout_title", code)
        if title:
            fig.suptitle(title)
        fig.tight_layout(rect=(0.0, 0.07, 1.0, 1.0))
        place_clear(fig)
    return fig
