"""Shared input handling of the robustness, heterogeneity, mechanism and PSM-DID operations.

Each operation takes a :class:`didstudy.data.panel.Panel`; a plain DataFrame is accepted only
with ``unit=`` and ``time=`` named and goes through :func:`didstudy.data.panel.panel_for` (the
single role resolver, decision record 0020). The operation works on the panel's validated frame
and re-estimates the baseline two-way fixed-effects regression at the frame level
(:func:`didstudy.estimation.twfe.fit_frame`) with the fixed effects and cluster spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from didstudy.data.panel import panel_for
from didstudy.errors import DataError
from didstudy.results.regression import RegressionResult
from didstudy.results.spec import Baseline

__all__ = [
    "PanelInput",
    "first_treated_period",
    "fit_twfe",
    "frame_twfe",
    "panel_input",
    "require_columns",
]


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


def panel_input(
    caller: str,
    data: Any,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
) -> PanelInput:
    """Resolve ``data`` to a validated Panel (:func:`panel_for`) and keep its roles.

    ``treat`` is the treatment role of a DataFrame input; a Panel keeps its own.
    """
    panel = panel_for(
        caller,
        data,
        unit=unit,
        time=time,
        treat=treat if isinstance(data, pd.DataFrame) else None,
    )
    return PanelInput(panel.frame, panel.unit, panel.time, panel.cluster, panel.weight)


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
    return frame_twfe(
        frame,
        y,
        treat,
        controls,
        fe=list(fe) if fe is not None else inp.default_fe(),
        cluster=cluster if cluster is not None else inp.default_cluster(),
        weights=weights if weights is not None else inp.weight,
        vcov=vcov,
        ssc=ssc,
    )


def frame_twfe(
    frame: pd.DataFrame,
    y: str,
    treat: str | Sequence[str],
    controls: Sequence[str] = (),
    *,
    fe: Sequence[str] | str,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    vcov: Any = None,
    ssc: Any = None,
    drop_singletons: bool = True,
) -> RegressionResult:
    """TWFE on a sample of an already validated panel (fixed effects spelled out).

    A treatment regressor absorbed by the fixed effects raises
    :class:`~didstudy.errors.EstimationError` (:func:`didstudy.estimation.twfe.fit_frame`).
    """
    from didstudy.estimation.twfe import fit_frame

    spec = Baseline(
        y=y,
        treat=treat,
        controls=tuple(controls),
        fe=fe,
        cluster=cluster,
        vcov=vcov,
        ssc=ssc,
        weights=weights,
    )
    return fit_frame(frame, spec, drop_singletons=drop_singletons)
