"""Extended two-way fixed effects of Wooldridge (2021), with ``emfx``-style aggregations.

The pooled regression (Wooldridge 2021, eq. 5.3; 6.33 with covariates)

    Y_it = sum_{(g,t)} tau_gt D_gt + sum_{(g,t)} D_gt (X_it - Xbar_g)'gamma_gt
           + sum_g 1{G_i = g} X_it'kappa_g + sum_s 1{t = s} X_it'pi_s + FE + e_it,

with ``D_gt = 1{G_i = g, t}`` over the treated cells ``t >= g`` (``control_group="not_yet"``:
not-yet- and never-treated observations identify the fixed effects) or over every cell
``t != g - 1`` (``"never"``: only never-treated units do), covariates demeaned within cohort as
R ``etwfe`` does, and cohort (``fe="cohort"``, as ``etwfe``/``jwdid``) or unit fixed effects plus
period effects. Standard errors are CRV1 (fixest's small-sample factor, clustered by unit).

Aggregations average the cell-level marginal effects ``tau_gt + (X_it - Xbar_g)'gamma_gt`` over
the treated observations (R ``etwfe::emfx``: simple, group, calendar, event) with delta-method
standard errors (the weights are the observation shares, held fixed).

Observation weights (``weights=`` or the Panel's weight) make the regression weighted least
squares, the within-cohort covariate means weighted means, and the aggregations weighted averages
over the treated observations (``emfx(..., wts=)``), decision record 0063.

Without covariates and with not-yet-treated controls, ``tau_gt`` equals the imputation estimate
of cell ``(g, t)`` exactly (Wooldridge 2021, Theorem 6.1; Borusyak et al. 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import ValidationError
from didstudy.estimation.robust._common import (
    EventStudySpec,
    PanelArrays,
    event_study_result,
    linear_combination,
    panel_arrays,
    robust_spec,
    with_spec,
)
from didstudy.estimation.robust._saturated import CellFit, cell_name, fit_cells
from didstudy.results.event_study import EventStudyResult, LinearCombination
from didstudy.results.spec import Baseline

__all__ = ["etwfe"]

FloatArray = npt.NDArray[np.float64]


def _cells(A: PanelArrays, control_group: str) -> list[tuple[int, int]]:
    out = []
    for g in A.cohorts():
        for t in A.periods:
            if control_group == "not_yet" and t < g:
                continue
            if control_group == "never" and t == g - 1:
                continue
            if ((A.cohort == g) & (A.period == t)).any():
                out.append((int(g), int(t)))
    return out


def _covariate_columns(
    A: PanelArrays, cells: list[tuple[int, int]]
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], FloatArray]:
    """Interactions ``D_gt x_dm``, controls ``x 1{G=g}`` and ``x 1{t=s}``, and ``x_dm``."""
    g_code = np.unique(np.where(np.isfinite(A.cohort), A.cohort, -1.0), return_inverse=True)[1]
    w = A.w
    counts = np.bincount(g_code, weights=w).astype(np.float64)
    x_dm = np.empty_like(A.X)
    for j in range(A.X.shape[1]):
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, np.bincount(g_code, weights=w * A.X[:, j]) / counts, 0.0)
        x_dm[:, j] = A.X[:, j] - means[g_code]
    inter: dict[str, FloatArray] = {}
    ctrl: dict[str, FloatArray] = {}
    for j, name in enumerate(A.controls):
        for g, t in cells:
            mask = (A.cohort == g) & (A.period == t)
            inter[f"{cell_name(g, t)}:{name}"] = np.where(mask, x_dm[:, j], 0.0)
        for level in range(int(g_code.max()) + 1):
            ctrl[f"{name}:cohort{level}"] = np.where(g_code == level, A.X[:, j], 0.0)
        for s in range(1, A.periods.size):
            ctrl[f"{name}:time{s}"] = np.where(A.time == s, A.X[:, j], 0.0)
    return inter, ctrl, x_dm


@dataclass(frozen=True)
class _CellIndex:
    """Cell of every row (-1 outside the cells) and each cell's term positions in the fit."""

    row_cell: npt.NDArray[np.intp]
    term: npt.NDArray[np.intp]
    inter: npt.NDArray[np.intp]

    @classmethod
    def build(cls, A: PanelArrays, fit: CellFit, cells: list[tuple[int, int]]) -> _CellIndex:
        row_cell = np.full(A.n, -1, dtype=np.intp)
        g_of = {int(g): i for i, g in enumerate(A.cohorts())}
        lookup = np.full((len(g_of) + 1, A.periods.size), -1, dtype=np.intp)
        for c, (g, t) in enumerate(cells):
            lookup[g_of[g], int(np.searchsorted(A.periods, t))] = c
        finite = np.isfinite(A.cohort)
        g_idx = np.searchsorted(A.cohorts(), A.cohort[finite])
        row_cell[finite] = lookup[g_idx, A.time[finite]]
        term = np.array([_pos(fit, cell_name(g, t)) for g, t in cells], dtype=np.intp)
        inter = np.array(
            [[_pos(fit, f"{cell_name(g, t)}:{x}") for x in A.controls] for g, t in cells],
            dtype=np.intp,
        ).reshape(len(cells), len(A.controls))
        return cls(row_cell, term, inter)


def _pos(fit: CellFit, name: str) -> int:
    idx = fit.index(name)
    return -1 if idx is None else idx


def _marginal_weights(
    A: PanelArrays, fit: CellFit, rows: npt.NDArray[np.bool_], index: _CellIndex, x_dm: FloatArray
) -> FloatArray:
    """Weights on ``fit.terms`` of the average marginal effect over ``rows`` (emfx)."""
    n_cells = index.term.size
    sel = rows & (index.row_cell >= 0)
    cell = index.row_cell[sel]
    kept = index.term[cell] >= 0
    cell = cell[kept]
    w = np.zeros(len(fit.terms))
    rows_used = np.flatnonzero(sel)[kept]
    obs_w = A.w[rows_used]
    if cell.size == 0 or not obs_w.sum() > 0:
        return w
    counts = np.bincount(cell, weights=obs_w, minlength=n_cells).astype(np.float64)
    has = index.term >= 0
    np.add.at(w, index.term[has], counts[has])
    xs = x_dm[rows_used]
    for j in range(len(A.controls)):
        sums = np.bincount(cell, weights=obs_w * xs[:, j], minlength=n_cells)
        ok = index.inter[:, j] >= 0
        np.add.at(w, index.inter[ok, j], sums[ok])
    out: FloatArray = w / obs_w.sum()
    return out


def etwfe(
    panel: object,
    y: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    control_group: Literal["not_yet", "never"] = "not_yet",
    fe: Literal["cohort", "unit"] = "cohort",
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """Wooldridge's extended TWFE with R ``etwfe``/Stata ``jwdid`` conventions.

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel` (absorbing treatment).
    y, controls
        Outcome and covariates (interacted with cells, cohorts and periods).
    control_group
        ``"not_yet"`` (cells ``t >= g``) or ``"never"`` (cells ``t != g - 1``).
    fe
        ``"cohort"`` (etwfe's default) or ``"unit"`` fixed effects, plus period effects.
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none):
        weighted regression, weighted cohort means of the covariates, weighted aggregations.
    spec
        A :class:`didstudy.Baseline`; ``y``, ``controls``, ``cluster`` and ``weights`` given
        here (not ``None``) override its fields (decision records 0021, 0063). ``fe`` here is
        etwfe's own choice (cohort or unit effects), not the spec's ``fe``.
    level
        Confidence level.

    Returns
    -------
    EventStudyResult
        ``spec`` the resolved baseline; the ``event`` aggregation by relative time; ``aggregates``
        hold ``simple``, ``group::g`` and ``calendar::t``; ``cells`` the cell marginal effects.

    Examples
    --------
    >>> res = etwfe(panel, "lemp", ["lpop"])  # doctest: +SKIP
    """
    if control_group not in ("not_yet", "never"):
        raise ValidationError(
            f"control_group={control_group!r} is not known.", fix="use 'not_yet' or 'never'."
        )
    rs = robust_spec("etwfe", spec, panel, y=y, controls=controls, cluster=cluster, weights=weights)
    A = panel_arrays(panel, rs.y, rs.controls, rs.cluster, estimator="etwfe", weights=rs.weights)
    if control_group == "never" and np.isfinite(A.cohort).all():
        raise ValidationError(
            "etwfe(control_group='never') needs never-treated units; every unit is treated.",
            fix="use control_group='not_yet'.",
        )
    cells = _cells(A, control_group)
    inter, ctrl, x_dm = _covariate_columns(A, cells) if rs.controls else ({}, {}, A.X)
    fit = fit_cells(A, cells, [fe, "time"], inter, ctrl)
    return with_spec(_aggregate(A, fit, cells, x_dm, control_group, fe, level), rs)


def _aggregate(
    A: PanelArrays,
    fit: CellFit,
    cells: list[tuple[int, int]],
    x_dm: FloatArray,
    control_group: str,
    fe: str,
    level: float,
) -> EventStudyResult:
    rel = A.rel_time
    treated = A.treated
    post = treated if control_group == "not_yet" else np.isfinite(rel)

    index = _CellIndex.build(A, fit, cells)

    def combo(name: str, rows: npt.NDArray[np.bool_]) -> LinearCombination:
        w = _marginal_weights(A, fit, rows, index, x_dm)
        return linear_combination(name, fit.terms, w, fit.coef, fit.vcov, fit.df_t, level)

    ks = sorted({int(k) for k in rel[post & np.isfinite(rel)]} - {-1})
    events = [combo(f"rel_time::{k}", post & (rel == k)) for k in ks]
    keep = [i for i, c in enumerate(events) if any(c.weights)]
    ks = [ks[i] for i in keep]
    W = np.array([events[i].weights for i in keep])
    coef = W @ fit.coef
    vcov = W @ fit.vcov @ W.T
    aggregates = [combo("simple", treated)]
    aggregates += [combo(f"group::{g}", treated & (A.cohort == g)) for g in A.cohorts()]
    aggregates += [
        combo(f"calendar::{t}", treated & (A.period == t))
        for t in A.periods
        if (treated & (A.period == t)).any()
    ]
    cell_rows = [combo(cell_name(g, t), index.row_cell == c) for c, (g, t) in enumerate(cells)]
    cells_df = pd.DataFrame(
        {
            "cohort": [g for g, _ in cells],
            "period": [t for _, t in cells],
            "rel_time": [t - g for g, t in cells],
            "estimate": [c.estimate for c in cell_rows],
            "std_error": [c.std_error for c in cell_rows],
            "n_treated": np.bincount(index.row_cell[index.row_cell >= 0], minlength=len(cells)),
        }
    )
    spec = EventStudySpec(
        estimator="etwfe",
        outcome=A.outcome,
        controls=A.controls,
        control_group=control_group,
        window=(min(ks), max(ks)),
        has_base=control_group == "never",
        vcov_type="CRV1",
        notes=(
            f"Extended TWFE (Wooldridge 2021), {fe} and period fixed effects, "
            f"{control_group.replace('_', '-')}-treated controls; emfx-style averages.",
        ),
    )
    return event_study_result(
        spec,
        ks,
        coef,
        vcov,
        df_t=fit.df_t,
        nobs=fit.nobs,
        n_clusters=fit.n_clusters,
        cells=cells_df,
        aggregates=aggregates,
        level=level,
    )
