"""Treatment roll-out ("panelView"): which units are treated in which period, by cohort.

Rows are units sorted by adoption cohort (earliest first, never-treated last), columns are
periods; cells are treated, not treated, or missing (the unit is not observed then).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import DataError, DidstudyWarning
from didstudy.report.figures._style import figure_style, find_cjk_font, has_cjk, styled_figure
from didstudy.report.labels import text

__all__ = ["rollout_figure", "rollout_matrix"]

_COLORS = ("#E8E8E8", "#0B3C8C")  # not treated, treated; missing cells stay white


def _frame(data: Any, unit: str | None, time: str | None, treat: str | None) -> pd.DataFrame:
    if hasattr(data, "frame") and not isinstance(data, pd.DataFrame):
        unit = unit or data.unit
        time = time or data.time
        treat = treat or data.treat
        data = data.frame
    unit, time, treat = unit or "unit", time or "time", treat or "treat"
    missing = [c for c in (unit, time, treat) if c not in data.columns]
    if missing:
        raise DataError(
            f"the roll-out data lack the column(s) {', '.join(missing)}",
            column=missing[0],
            fix="name the unit, time and 0/1 treatment columns: rollout_figure(df, unit=, "
            "time=, treat=)",
        )
    frame = data[[unit, time, treat]].rename(columns={unit: "unit", time: "time", treat: "treat"})
    values = pd.to_numeric(frame["treat"], errors="coerce")
    bad = frame.index[values.notna() & ~values.isin([0, 1])].tolist()
    if bad:
        raise DataError(
            "the treatment column must be 0/1", column=treat, rows=bad, fix="recode it to 0/1"
        )
    duplicated = frame.duplicated(["unit", "time"], keep=False)
    if duplicated.any():
        raise DataError(
            "several rows share a unit and period",
            column=f"{unit}, {time}",
            rows=frame.index[duplicated].tolist(),
            fix="keep one row per unit and period",
        )
    result: pd.DataFrame = frame.assign(treat=values)
    return result


def rollout_matrix(
    data: pd.DataFrame | Any,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Units × periods treatment matrix (1, 0, NaN = unobserved) sorted by cohort.

    Returns
    -------
    matrix
        Index: units (earliest cohort first, never-treated last, then by unit); columns:
        periods in order.
    cohort
        First treated period of each unit (NaN for never-treated), aligned with ``matrix``.
    """
    frame = _frame(data, unit, time, treat)
    matrix = frame.pivot(index="unit", columns="time", values="treat").sort_index(axis=1)
    treated = matrix.where(matrix == 1)
    cohort = treated.apply(lambda row: row.first_valid_index(), axis=1).astype(float)
    order = pd.DataFrame(
        {"cohort": cohort.fillna(np.inf).to_numpy(), "unit": matrix.index.to_numpy()}
    )
    order = order.sort_values(["cohort", "unit"], kind="mergesort")
    return matrix.loc[order["unit"]], cohort.loc[order["unit"]]


def rollout_figure(
    data: pd.DataFrame | Any,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
    *,
    lang: str = "en",
    max_unit_labels: int = 60,
    title: str | None = None,
) -> Any:
    """Heatmap of treatment status, units × periods, grouped by adoption cohort.

    Parameters
    ----------
    data
        A long frame with unit, time and 0/1 treatment columns (default names ``unit``,
        ``time``, ``treat``), or a :class:`~didstudy.data.panel.Panel` (its roles are used).
    max_unit_labels
        Label every unit when there are at most this many; otherwise label the cohorts.
    unit, time, treat
        Unit, period and 0/1 treatment columns of a frame (default ``unit``, ``time``,
        ``treat``; for a Panel, its roles).
    lang
        ``"zh"`` or ``"en"``: title and axis labels.
    title
        Figure title (default: the built-in roll-out title of ``lang``).

    Returns
    -------
    matplotlib.figure.Figure
        The heatmap (treated cells dark), cohorts separated by lines.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> fig = ds.rollout_figure(panel, lang="en")
    >>> paths = ds.save_figure(fig, "out/rollout")
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    matrix, cohort = rollout_matrix(data, unit, time, treat)
    n_units, n_periods = matrix.shape
    values = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
    with figure_style(lang) as code:
        height = float(np.clip(1.6 + 0.14 * n_units, 3.0, 12.0))
        width = float(np.clip(2.5 + 0.28 * n_periods, 5.0, 11.0))
        fig = styled_figure(code, figsize=(width, height))
        ax = fig.subplots()
        ax.imshow(
            values,
            aspect="auto",
            interpolation="nearest",
            cmap=ListedColormap(list(_COLORS)),
            vmin=0,
            vmax=1,
        )
        ax.grid(False)
        periods = list(matrix.columns)
        step = max(1, int(np.ceil(n_periods / 25)))
        ax.set_xticks(range(0, n_periods, step), [str(p) for p in periods[::step]])
        longest = max((len(str(p)) for p in periods), default=1)
        ax.tick_params(axis="x", labelrotation=90 if len(periods[::step]) * longest > 30 else 0)
        keys = cohort.fillna(np.inf).to_numpy()
        codes = pd.factorize(keys)[0]  # inf - inf is NaN: compare cohort codes, not values
        boundaries = np.flatnonzero(np.diff(codes) != 0) + 0.5
        for y in boundaries:
            ax.axhline(y, color="white", linewidth=1.2)
        names = [str(u) for u in matrix.index]
        unreadable = find_cjk_font() is None and any(has_cjk(n) for n in names)
        if unreadable and n_units <= max_unit_labels:
            warnings.warn(
                "unit names contain Chinese characters but no CJK font is installed; the "
                "roll-out figure labels cohorts instead of units. Fix: apt-get install "
                "fonts-noto-cjk",
                DidstudyWarning,
                stacklevel=2,
            )
        if n_units <= max_unit_labels and not unreadable:
            ax.set_yticks(range(n_units), names)
            ax.set_ylabel(text("unit", code))
        else:
            starts = np.r_[0, np.ceil(boundaries).astype(int)]
            ends = np.r_[np.ceil(boundaries).astype(int), n_units]
            centres = (starts + ends - 1) / 2
            labels = [
                text("never_treated", code)
                if np.isinf(keys[s])
                else text("cohort", code, cohort=_period(keys[s]))
                for s in starts
            ]
            ax.set_yticks(
                centres,
                [f"{lab} (n={e - s})" for lab, s, e in zip(labels, starts, ends, strict=True)],
            )
        ax.set_xlabel(text("year", code))
        ax.set_title(title if title is not None else text("rollout_title", code))
        handles = [
            Patch(facecolor=_COLORS[1], label=text("treated", code)),
            Patch(facecolor=_COLORS[0], label=text("not_treated", code)),
        ]
        if bool(np.isnan(matrix.to_numpy(dtype=float)).any()):
            handles.append(
                Patch(facecolor="white", edgecolor="#999999", label=text("missing", code))
            )
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.tight_layout()
    return fig


def _period(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
