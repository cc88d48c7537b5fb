"""The interaction-weighted event study of Sun & Abraham (2021).

1. Regress the outcome on cohort × relative-time indicators ``1{G_i = g} 1{t - g = e}`` for every
   treated cohort and every ``e != -1`` (the reference), with unit and period fixed effects, on
   the treated cohorts plus the control cohort: never-treated units (``control_group="never"``)
   or the last-treated cohort, observed only before it is treated (``"last"``) (eq. 20);
2. average the cohort-specific effects ``delta_{g,e}`` with the cohort shares among the
   observations at relative time ``e``: ``beta_e = sum_g Pr(G = g | e) delta_{g,e}`` (eq. 21).

Standard errors: CRV1 (fixest's factor) on ``delta``, delta method with the shares held fixed, as
fixest's ``sunab()``/``aggregate()`` and pyfixest's saturated ``aggregate()``. Stata's
``eventstudyinteract`` (Sun's own package) adds a second term for the estimation error of the
shares ``Pr(G = g | e)`` (SA 2021, Proposition 6); that term is omitted here, as in fixest
(decision records 0061, 0063): the two conventions agree when the ``delta_{g,e}`` are equal
across cohorts and differ by that term otherwise.

Observation weights (``weights=`` or the Panel's weight) make step 1 weighted least squares and
the shares weight sums: ``Pr(G = g | e) = sum of weights in (g, e) / sum of weights at e``.

The test of equal effects across cohorts is the joint Wald test of ``delta_{g,e} = delta_{g',e}``
for every ``e`` observed in several cohorts.

With never-treated controls on a balanced panel, ``delta_{g,e}`` equals the Callaway–Sant'Anna
``ATT(g, g+e)`` with never-treated controls and the universal base period ``g - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import ValidationError
from didstudy.estimation.event_study import _wald
from didstudy.estimation.robust._common import (
    EventStudySpec,
    PanelArrays,
    event_study_result,
    panel_arrays,
    robust_spec,
    with_spec,
)
from didstudy.estimation.robust._saturated import CellFit, cell_name, fit_cells
from didstudy.results.event_study import EventStudyResult, WaldTest
from didstudy.results.spec import Baseline

__all__ = ["cohort_homogeneity_test", "sun_abraham"]

FloatArray = npt.NDArray[np.float64]


def _sample(A: PanelArrays, control_group: str) -> tuple[PanelArrays, str]:
    if control_group == "never":
        if np.isfinite(A.cohort).all():
            raise ValidationError(
                "sun_abraham(control_group='never') needs never-treated units; every unit is "
                "treated.",
                fix="use control_group='last' (the last-treated cohort as control).",
            )
        return A, "never"
    if control_group != "last":
        raise ValidationError(
            f"control_group={control_group!r} is not known.", fix="use 'never' or 'last'."
        )
    last = float(A.cohorts().max())
    keep = A.period < last
    B = A.subset(keep)
    cohort = np.where(B.cohort == last, np.inf, B.cohort)
    return replace(B, cohort=cohort, treated=B.period >= cohort), "last"


def _cell_keys(A: PanelArrays) -> list[tuple[int, int]]:
    keys = []
    for g in A.cohorts():
        for t in A.periods:
            if t - g != -1 and ((A.cohort == g) & (A.period == t)).any():
                keys.append((int(g), int(t)))
    return keys


def cohort_homogeneity_test(
    fit: CellFit, keys: list[tuple[int, int]], df_t: float
) -> WaldTest | None:
    """Joint Wald test of equal cohort effects at every relative time (Sun & Abraham 2021).

    Parameters
    ----------
    fit
        The saturated regression.
    keys
        Its ``(g, t)`` cells.
    df_t
        Degrees of freedom of the F reference distribution.
    """
    by_e: dict[int, list[int]] = {}
    for g, t in keys:
        idx = fit.index(cell_name(g, t))
        if idx is not None:
            by_e.setdefault(t - g, []).append(idx)
    rows = []
    for idxs in by_e.values():
        for j in idxs[1:]:
            r = np.zeros(len(fit.terms))
            r[j], r[idxs[0]] = 1.0, -1.0
            rows.append(r)
    if not rows:
        return None
    R = np.array(rows)
    names = [f"contrast::{i}" for i in range(len(rows))]
    return _wald(names, R @ fit.coef, R @ fit.vcov @ R.T, list(range(len(rows))), df_t)


def sun_abraham(
    panel: object,
    y: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    control_group: Literal["never", "last"] = "never",
    window: tuple[int, int] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """Sun & Abraham (2021) interaction-weighted event study.

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel` (absorbing treatment).
    y, controls
        Outcome and controls (entered linearly).
    control_group
        ``"never"`` (never-treated units) or ``"last"`` (the last-treated cohort before it is
        treated).
    window
        Relative times reported (the regression stays saturated in all of them).
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none):
        weighted regression and weighted cohort shares.
    spec
        A :class:`didstudy.Baseline`; ``y``, ``controls``, ``cluster`` and ``weights`` given
        here (not ``None``) override its fields (decision records 0021, 0063).
    level
        Confidence level.

    Returns
    -------
    EventStudyResult
        ``estimator="sun_abraham"``, ``spec`` the resolved baseline, base ``-1``; ``cells`` hold
        ``delta_{g,e}`` with their shares; ``notes`` report the cohort-homogeneity test, also in
        ``aggregates``' neighbour :attr:`~EventStudyResult.pretrend` (leads only).

    Examples
    --------
    >>> res = sun_abraham(panel, "lemp", window=(-3, 3))  # doctest: +SKIP
    """
    rs = robust_spec(
        "sun_abraham", spec, panel, y=y, controls=controls, cluster=cluster, weights=weights
    )
    A0 = panel_arrays(
        panel, rs.y, rs.controls, rs.cluster, estimator="sun_abraham", weights=rs.weights
    )
    A, label = _sample(A0, control_group)
    keys = _cell_keys(A)
    ctrl = {name: A.X[:, j] for j, name in enumerate(A.controls)}
    fit = fit_cells(A, keys, ["unit", "time"], controls=ctrl)
    in_cell = {k: (A.cohort == k[0]) & (A.period == k[1]) for k in keys}
    counts = {k: int(in_cell[k].sum()) for k in keys}
    mass = {k: float(A.w[in_cell[k]].sum()) for k in keys}
    es = sorted({t - g for g, t in keys if fit.index(cell_name(g, t)) is not None})
    if window is not None:
        es = [e for e in es if window[0] <= e <= window[1]]
    W = np.zeros((len(es), len(fit.terms)))
    share = {}
    for i, e in enumerate(es):
        members = [(g, t) for g, t in keys if t - g == e and fit.index(cell_name(g, t)) is not None]
        total = sum(mass[k] for k in members)
        for k in members:
            share[k] = mass[k] / total
            W[i, fit.index(cell_name(*k))] = share[k]  # type: ignore[index]
    coef = W @ fit.coef
    vcov = W @ fit.vcov @ W.T
    homog = cohort_homogeneity_test(fit, keys, fit.df_t)
    cells = pd.DataFrame(
        {
            "cohort": [g for g, _ in keys],
            "period": [t for _, t in keys],
            "rel_time": [t - g for g, t in keys],
            "estimate": [_coef(fit, k) for k in keys],
            "std_error": [_se(fit, k) for k in keys],
            "n_treated": [counts[k] for k in keys],
            "share": [share.get(k, 0.0) for k in keys],
        }
    )
    note = "cohort homogeneity: not testable (one cohort per relative time)"
    if homog is not None:
        note = (
            f"cohort homogeneity Wald F({homog.df1}, {homog.df2:g}) = {homog.f:.3f}, "
            f"p = {homog.p_f:.4f}"
        )
    es_spec = EventStudySpec(
        estimator="sun_abraham",
        outcome=A.outcome,
        controls=A.controls,
        control_group=label,
        window=(min(es), max(es)) if window is None else window,
        base=-1,
        vcov_type="CRV1",
        notes=(
            "Interaction-weighted event study (Sun & Abraham 2021), "
            f"{'never-treated' if label == 'never' else 'last-treated'} controls, cohort "
            "shares held fixed in the delta method.",
            note,
        ),
    )
    res = event_study_result(
        es_spec,
        es,
        coef,
        vcov,
        df_t=fit.df_t,
        nobs=fit.nobs,
        n_clusters=fit.n_clusters,
        cells=cells,
        level=level,
    )
    return with_spec(res, rs)


def _coef(fit: CellFit, key: tuple[int, int]) -> float:
    idx = fit.index(cell_name(*key))
    return float(fit.coef[idx]) if idx is not None else float("nan")


def _se(fit: CellFit, key: tuple[int, int]) -> float:
    idx = fit.index(cell_name(*key))
    return float(np.sqrt(fit.vcov[idx, idx])) if idx is not None else float("nan")
