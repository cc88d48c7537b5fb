"""The saturated cohort × period regression shared by ETWFE and Sun–Abraham.

``Y_it = sum_{(g,t) in C} tau_gt 1{G_i = g, t} [+ interactions] + FE + e_it``, one indicator per
cohort × period cell in ``C``, estimated by :func:`didstudy.estimation.twfe.twfe` (fixed effects
absorbed by the within transformation, CRV1 with fixest's small-sample factor; weighted least
squares with the sample's observation weights ``A.weight`` when given): ETWFE
(Wooldridge 2021, eq. 5.3) with cells ``t >= g`` (not-yet-treated controls) or ``t != g - 1``
(never-treated controls); Sun & Abraham (2021, eq. 20) with cells ``e = t - g != -1``, which is
the same regression indexed by relative time.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import CollinearityWarning, EstimationError
from didstudy.estimation.robust._common import PanelArrays
from didstudy.estimation.twfe import fit_frame
from didstudy.results.spec import Baseline

__all__ = ["CellFit", "cell_frame", "fit_cells"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CellFit:
    """Coefficients of the cell indicators (and their interactions) with their covariance.

    Attributes
    ----------
    terms
        Kept coefficient names (cells ``cell::g:t`` first, then interactions, then controls).
    coef, vcov
        Estimates and CRV1 covariance over :attr:`terms`.
    df_t
        t degrees of freedom (clusters − 1).
    nobs, n_clusters
        Sample size and clusters.
    """

    terms: tuple[str, ...]
    coef: FloatArray
    vcov: FloatArray
    df_t: float
    nobs: int
    n_clusters: int

    def index(self, name: str) -> int | None:
        try:
            return self.terms.index(name)
        except ValueError:
            return None


def cell_name(g: int, t: int) -> str:
    return f"cell::{g}:{t}"


def cell_frame(
    A: PanelArrays,
    cells: Sequence[tuple[int, int]],
    interactions: Mapping[str, FloatArray] | None = None,
    controls: Mapping[str, FloatArray] | None = None,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The saturated regression's frame (``_y``, ``unit``, ``time``, ``cohort``, ``_cluster``,
    cell indicators, extra columns), the cell names and the extra names (the wild bootstrap
    re-uses it, decision 0054)."""
    data: dict[str, FloatArray | npt.NDArray[np.intp]] = {
        "_y": A.y,
        "unit": A.unit,
        "time": A.time,
        "cohort": np.unique(np.where(np.isfinite(A.cohort), A.cohort, -1.0), return_inverse=True)[
            1
        ],
        "_cluster": A.cluster,
    }
    if A.weight is not None:
        data["_w"] = A.weight
    names = []
    for g, t in cells:
        name = cell_name(g, t)
        data[name] = ((A.cohort == g) & (A.period == t)).astype(np.float64)
        names.append(name)
    extra = {**(interactions or {}), **(controls or {})}
    data.update(extra)
    return pd.DataFrame(data), names, list(extra)


def fit_cells(
    A: PanelArrays,
    cells: Sequence[tuple[int, int]],
    fe: Sequence[str],
    interactions: Mapping[str, FloatArray] | None = None,
    controls: Mapping[str, FloatArray] | None = None,
) -> CellFit:
    """Regress the outcome on cell indicators, interactions and controls with absorbed effects.

    Parameters
    ----------
    A
        The estimation sample.
    cells
        ``(g, t)`` cells, one indicator each.
    fe
        Absorbed factors among ``"unit"``, ``"time"``, ``"cohort"``.
    interactions, controls
        Extra named columns on every row (interactions are reported, controls too).

    Returns
    -------
    CellFit
    """
    frame, names, extra = cell_frame(A, cells, interactions, controls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        model = Baseline(
            y="_y", treat=names, controls=list(extra), fe=list(fe), cluster="_cluster",
            ssc="fixest", weights="_w" if A.weight is not None else None,
        )  # fmt: skip
        fit = fit_frame(frame, model, drop_singletons=False, require_treatment=False)
    kept = [t for t in fit.terms]
    if not any(t.startswith("cell::") for t in kept):
        raise EstimationError(
            "every cohort x period indicator is collinear with the fixed effects.",
            fix="check that the panel has untreated comparison observations.",
        )
    stats = fit.stats()
    return CellFit(
        terms=tuple(kept),
        coef=np.asarray(fit.params, dtype=np.float64),
        vcov=np.asarray(fit.cov, dtype=np.float64),
        df_t=float(fit.df_t),
        nobs=int(fit.nobs),
        n_clusters=int(stats.get("n_clusters") or 0),
    )
