"""Several event-study specifications in one figure, dodged, with error bars or CI bands.

The ``coefplot``/``iplot`` figure: each specification (TWFE, Sun–Abraham, CS, imputation, or
the same estimator with other controls) is one colour and marker, shifted by ``dodge`` along the
relative-time axis so the intervals do not hide each other; ``ci="band"`` draws shaded bands
and lines instead of error bars. Any result with ``figure_data()`` (``rel_time, estimate,
std_error, is_base``), ``df_t`` and ``base`` works (the event-study result protocol).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats as st

from didstudy.errors import DataError
from didstudy.report.figures._style import figure_style, styled_figure
from didstudy.report.figures.event_study import EVENT_STUDY_LABELS, pick_labels
from didstudy.report.figures.overlap import place_clear

__all__ = ["event_study_overlay_figure"]

_COLORS = ("#0B3C8C", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _items(results: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    pairs = list(results.items()) if isinstance(results, Mapping) else list(results)
    if not pairs:
        raise DataError("no event-study results to plot", fix="pass {name: result, ...}")
    return [(str(name), result) for name, result in pairs]


def event_study_overlay_figure(
    results: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    lang: str = "en",
    ci: Literal["bars", "band"] = "bars",
    level: float = 0.95,
    dodge: float | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
) -> Any:
    """Event-study coefficients of several specifications, dodged, with ``level`` intervals.

    Parameters
    ----------
    results
        ``{name: event-study result}`` (or pairs), drawn in order.
    ci
        ``"bars"``: error bars with caps; ``"band"``: a shaded band and a line per result.
    dodge
        Horizontal shift between specifications (default ``0.5 / n`` so they never overlap;
        0 with bands).
    title
        Title inside the image; ``""`` for none (journals put it in the caption).

    Returns
    -------
    matplotlib.figure.Figure
        One errorbar container (or line + band) per specification; the base period as a
        hollow marker at 0.
    """
    items = _items(results)
    n = len(items)
    shift = dodge if dodge is not None else (0.0 if ci == "band" else min(0.5 / n, 0.15))
    with figure_style(lang) as code:
        text = pick_labels(EVENT_STUDY_LABELS, code, labels)
        fig = styled_figure(code, figsize=figsize)
        ax = fig.subplots()
        ax.axhline(0.0, color="#555555", linewidth=0.8, zorder=1)
        bases = set()
        for i, (name, result) in enumerate(items):
            table = result.figure_data()
            est = table[~table["is_base"]]
            q = float(st.t.ppf(0.5 + level / 2.0, result.df_t))
            x = est["rel_time"].to_numpy(dtype=float) + (i - (n - 1) / 2.0) * shift
            y = est["estimate"].to_numpy(dtype=float)
            half = q * est["std_error"].to_numpy(dtype=float)
            color, marker = _COLORS[i % len(_COLORS)], _MARKERS[i % len(_MARKERS)]
            if ci == "band":
                ax.fill_between(x, y - half, y + half, color=color, alpha=0.18, linewidth=0)
                ax.plot(x, y, marker=marker, color=color, markersize=4, label=name, zorder=3)
            else:
                ax.errorbar(
                    x, y, yerr=half, fmt=marker, color=color, capsize=2.5, markersize=4,
                    elinewidth=1.0, label=name, zorder=3,
                )  # fmt: skip
            bases.add(int(result.base))
        for base in sorted(bases):
            ax.plot([base], [0.0], marker="o", markerfacecolor="white", markeredgecolor="#333333",
                    linestyle="none", zorder=4)  # fmt: skip
        if len(bases) == 1:
            ax.axvline(next(iter(bases)) + 0.5, color="#888888", linewidth=0.8, linestyle="--")
        periods = sorted({int(t) for _, r in items for t in r.figure_data()["rel_time"].to_numpy()})
        step = max(1, int(np.ceil(len(periods) / 16)))
        ax.set_xticks(periods[::step], [str(t) for t in periods[::step]])
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"])
        if title is None:
            title = text["title"]
        if title:
            ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        place_clear(fig)
    return fig


def dodged_positions(figure: Any) -> list[np.ndarray]:
    """x positions of each specification's points (for tests and captions)."""
    ax = figure.axes[0]
    out = []
    for container in ax.containers:
        out.append(np.asarray(container.lines[0].get_xdata(), dtype=float))
    return out
