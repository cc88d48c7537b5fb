"""Dagum (1997) Gini decomposition over time: G, Gw, Gnb, Gt and their shares of G.

Reads the ``components`` frame of ``dagum_panel`` (columns ``time, G, Gw, Gnb, Gt, share_w,
share_nb, share_t``); G = Gw + Gnb + Gt (Dagum 1997, eq. 4), so the shares add up to 100%.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.labels import text

__all__ = ["DAGUM_COLUMNS", "dagum_figure"]

DAGUM_COLUMNS: tuple[str, ...] = ("time", "G", "Gw", "Gnb", "Gt")
SHARE_COLUMNS: tuple[str, ...] = ("share_w", "share_nb", "share_t")
_SHARE_PART = {"share_w": "Gw", "share_nb": "Gnb", "share_t": "Gt"}
_MARKERS = {"G": "o", "Gw": "s", "Gnb": "^", "Gt": "D"}

# Shares given as fractions are at most 1 (plus rounding); above that they are percents.
_FRACTION_MAX = 1.0 + 1e-9


def _components(data: Any) -> pd.DataFrame:
    frame = getattr(data, "components", data)
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    missing = [c for c in DAGUM_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"the Dagum components lack the column(s) {', '.join(missing)}",
            column=missing[0],
            fix="pass dagum_panel(...).components (columns time, G, Gw, Gnb, Gt, share_w, "
            "share_nb, share_t)",
        )
    if frame["time"].duplicated().any():
        rows = frame.index[frame["time"].duplicated(keep=False)].tolist()
        raise DataError(
            "the Dagum components have several rows for one period",
            column="time",
            rows=rows,
            fix="pass one row per period (the overall decomposition, not per group)",
        )
    return frame.sort_values("time").reset_index(drop=True)


def _shares_percent(frame: pd.DataFrame) -> pd.DataFrame:
    if all(c in frame.columns for c in SHARE_COLUMNS):
        shares = frame[list(SHARE_COLUMNS)].astype(float)
        if float(np.nanmax(shares.to_numpy())) <= _FRACTION_MAX:
            shares = shares * 100.0
        return shares
    total = frame["G"].astype(float).to_numpy()
    return pd.DataFrame(
        {s: 100.0 * frame[_SHARE_PART[s]].astype(float).to_numpy() / total for s in SHARE_COLUMNS}
    )


def dagum_figure(
    components: pd.DataFrame | Any,
    *,
    lang: str = "en",
    kind: Literal["lines", "shares", "both"] = "both",
    title: str | None = None,
    time_label: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Any:
    """Plot the Dagum decomposition over time (``figsize`` default: 6.4 in wide, 4 in per
    panel; with ``kind="both"`` the panels are stacked).

    Parameters
    ----------
    components
        ``dagum_panel(...).components`` or the result itself (anything with ``.components``).
    lang
        ``"zh"`` or ``"en"`` (``"zh"`` falls back to English without a CJK font).
    kind
        ``"lines"``: G, Gw, Gnb and Gt over time; ``"shares"``: stacked contributions of Gw, Gnb
        and Gt to G in percent; ``"both"``: the two panels stacked.
    title, time_label
        Override the figure title and the time-axis label.
    figsize
        Figure size in inches (width, height); default 6.4 wide and 4 per panel.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot; save it with :func:`~didstudy.report.figures.save.save_figure`.

    Examples
    --------
    >>> import didstudy as ds
    >>> result = ds.dagum_panel(counties, value="light", group="city", time="year")
    ... # doctest: +SKIP
    >>> fig = ds.dagum_figure(result, kind="both")  # doctest: +SKIP
    """
    frame = _components(components)
    time = frame["time"].to_numpy()
    with figure_style(lang) as code:
        panels = 2 if kind == "both" else 1
        # panels stacked: a journal page is 7.5 in wide at most (double column)
        size = figsize if figsize is not None else (6.4, 4.0 * panels)
        fig = styled_figure(code, figsize=size)
        axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
        xlabel = time_label if time_label is not None else text("year", code)
        k = 0
        if kind in ("lines", "both"):
            ax = axes[k]
            k += 1
            for column in ("G", "Gw", "Gnb", "Gt"):
                ax.plot(
                    time,
                    frame[column].astype(float).to_numpy(),
                    marker=_MARKERS[column],
                    label=text(column, code),
                    linestyle="-" if column == "G" else "--",
                )
            ax.set_xlabel(xlabel)
            ax.set_ylabel(text("gini", code))
            ax.set_title(text("dagum_title", code))
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4)
        if kind in ("shares", "both"):
            ax = axes[k]
            shares = _shares_percent(frame)
            ax.stackplot(
                time,
                *(shares[s].to_numpy() for s in SHARE_COLUMNS),
                labels=[text(_SHARE_PART[s], code) for s in SHARE_COLUMNS],
                colors=["#0072B2", "#D55E00", "#BBBBBB"],
                alpha=0.9,
            )
            ax.set_ylim(0, max(100.0, float(np.nanmax(shares.sum(axis=1).to_numpy()))))
            ax.set_xlim(float(np.min(time)), float(np.max(time)))
            ax.set_xlabel(xlabel)
            ax.set_ylabel(text("share", code))
            ax.set_title(text("dagum_shares_title", code))
            ax.grid(False)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
        for ax in axes:
            ax.xaxis.get_major_locator().set_params(integer=True)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig
