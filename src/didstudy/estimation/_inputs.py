"""Shared input handling of the robustness, heterogeneity, mechanism and PSM-DID operations.

Each operation accepts a :class:`didstudy.data.panel.Panel` or a plain DataFrame with ``unit=``
and ``time=`` named, works on a private copy of the frame, and re-estimates the baseline
two-way fixed-effects regression through :func:`didstudy.estimation.twfe.twfe` with the fixed
effects and cluster variable spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import DataError, ValidationError
from didstudy.results.regression import RegressionResult

__all__ = ["PanelInput", "first_treated_period", "fit_twfe", "panel_input", "require_columns"]


@dataclass(frozen=True)
class PanelInput:
    """A private copy of the data with its column roles."""

    frame: pd.DataFrame
    unit: str
    time: str
    cluster: str | None
    weight: str | None

    def default_fe(self) -> list[str]:
        """Unit and time fixed effects."""
        return [self.unit, self.time]

    def default_cluster(self) -> str:
        """The panel's cluster variable, else the unit."""
        return self.cluster or self.unit


def panel_input(data: Any, unit: str | None = None, time: str | None = None) -> PanelInput:
    """Normalise a Panel or a DataFrame (with ``unit``/``time`` named) to :class:`PanelInput`."""
    if isinstance(data, pd.DataFrame):
        if unit is None or time is None:
            raise ValidationError(
                "a DataFrame was given without its unit and time columns",
                fix="pass unit='city', time='year' (your column names), or a didstudy.Panel",
            )
        require_columns(data, [unit, time])
        return PanelInput(data.reset_index(drop=True), unit, time, None, None)
    frame = getattr(data, "frame", None)
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"expected a didstudy.Panel or a pandas DataFrame, got {type(data).__name__}"
        )
    return PanelInput(
        frame.reset_index(drop=True),
        str(data.unit) if unit is None else unit,
        str(data.time) if time is None else time,
        getattr(data, "cluster", None),
        getattr(data, "weight", None),
    )


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise :class:`DataError` naming the first missing column."""
    for col in columns:
        if col not in frame.columns:
            raise DataError(
                f"column not found; available columns: {', '.join(map(str, frame.columns))}",
                column=str(col),
                fix="check the spelling of the column name",
            )


def first_treated_period(frame: pd.DataFrame, unit: str, time: str, treat: str) -> pd.Series:
    """Per row: the first period in which the row's unit has ``treat == 1`` (``inf`` if never)."""
    require_columns(frame, [unit, time, treat])
    t = pd.to_numeric(frame[time]).astype(float)
    on = pd.to_numeric(frame[treat]).fillna(0).to_numpy() == 1
    first = t.where(on).groupby(frame[unit]).transform("min")
    return first.fillna(np.inf).astype(float)


def fit_twfe(
    inp: PanelInput,
    frame: pd.DataFrame,
    y: str,
    treat: str,
    controls: Sequence[str],
    *,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> RegressionResult:
    """The baseline TWFE on ``frame`` with the input's default fixed effects and clusters."""
    from didstudy.estimation.twfe import twfe

    return twfe(
        frame,
        y,
        treat,
        controls=list(controls),
        fe=list(fe) if fe is not None else inp.default_fe(),
        cluster=cluster if cluster is not None else inp.default_cluster(),
        weights=weights if weights is not None else inp.weight,
        vcov=vcov,
        ssc=ssc,
    )
