"""The two-stage difference-in-differences estimator of Gardner (2021).

First stage: ``Y_it = a_{f(i)} + lambda_t + X_it'delta + e_it`` on the untreated observations
(``f`` the unit or a coarser factor such as the state). Second stage: regress the residualised
outcome ``Y~_it = Y_it - a^_f - lambda^_t - X_it'delta^`` on the treatment variables over every
observation: the treatment indicator (static) or relative-time indicators of ever-treated
units, the reference period omitted (event study).

The variance is the GMM sandwich of Gardner (2021, section 3; Butts & Gardner 2022, eq. 6),
clustered: ``V = (X_2'X_2)^{-1} [sum_c psi_c psi_c'] (X_2'X_2)^{-1}`` with
``psi_c = X_2c'e_2c - X_2'X_1 (X_10'X_10)^{-1} X_10c'e_1c``, no small-sample factor (as R
``did2s`` and pyfixest). The correction term is computed from the adjoint of the first stage
(:meth:`UntreatedModel.adjoint`), never from dense fixed-effect dummies.

With observation weights ``w`` (``weights=`` or the Panel's weight) both stages are weighted
least squares and ``psi_c = X_2c'W_c e_2c - X_2'W X_1 (X_10'W X_10)^{-1} X_10c'W e_1c`` with bread
``(X_2'W X_2)^{-1}``, as R ``did2s(weights=)`` and pyfixest's ``did2s(weights=)`` (decision
record 0063).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import EstimationError, ValidationError
from didstudy.estimation.robust._common import (
    EventStudySpec,
    PanelArrays,
    RobustSpec,
    absorbed_factor,
    event_study_result,
    linear_combination,
    panel_arrays,
    robust_spec,
    with_spec,
)
from didstudy.estimation.robust._untreated import UntreatedModel, dense, indicator
from didstudy.results.event_study import EventStudyResult
from didstudy.results.spec import Baseline

__all__ = ["did2s", "two_stage_vcov"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def two_stage_vcov(
    model: UntreatedModel,
    X2: FloatArray,
    resid1: FloatArray,
    resid2: FloatArray,
    cluster: IntArray,
    n_clusters: int,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Gardner's GMM-corrected clustered variance of the second-stage coefficients.

    Parameters
    ----------
    model
        The first stage (fitted on its untreated rows).
    X2
        ``n x K`` second-stage regressors on every row.
    resid1
        First-stage residuals on the untreated rows (``model.rows0`` order).
    resid2
        Second-stage residuals on every row.
    cluster, n_clusters
        Cluster codes on every row and their count.
    weights
        Observation weights on every row (``None``: unweighted); the first stage ``model``
        must carry the same weights.

    Returns
    -------
    numpy.ndarray
        ``K x K`` covariance.
    """
    WX2 = X2 if weights is None else X2 * weights[:, None]
    sums = dense(indicator(cluster, n_clusters).T @ (WX2 * resid2[:, None]))
    sums -= model.adjoint_cluster_sums(WX2, resid1, cluster[model.rows0], n_clusters)
    bread = np.linalg.pinv(X2.T @ WX2)
    out: FloatArray = bread @ (sums.T @ sums) @ bread
    return 0.5 * (out + out.T)


def _spec(
    A: PanelArrays,
    rs: RobustSpec,
    fe_col: str,
    ks: list[int],
    window: tuple[int, int] | None,
    base: int,
    second_stage: str,
) -> EventStudySpec:
    return EventStudySpec(
        estimator="did2s",
        outcome=A.outcome,
        controls=A.controls,
        control_group="not_yet",
        window=(min(ks), max(ks)) if window is None else window,
        base=base,
        has_base=second_stage == "event",
        vcov_type="GMM (Gardner 2021)",
        notes=(
            "Two-stage DiD (Gardner 2021): first stage on untreated observations with "
            f"{fe_col} and period fixed effects"
            + (f", weighted by {rs.weights}." if rs.weights else "."),
            "GMM-corrected standard errors clustered by "
            f"{'unit' if rs.cluster is None else rs.cluster}, no small-sample factor.",
        ),
    )


def _event_design(
    A: PanelArrays, window: tuple[int, int] | None, base: int
) -> tuple[FloatArray, list[int]]:
    rel = A.rel_time
    ever = np.isfinite(rel)
    ks = sorted({int(k) for k in rel[ever]})
    if window is not None:
        ks = [k for k in ks if window[0] <= k <= window[1]]
    ks = [k for k in ks if k != base]
    if not ks:
        raise ValidationError(
            f"no relative time in the window {window} besides the base period {base}.",
            fix="widen window= (e.g. (-5, 5)).",
        )
    X2 = np.column_stack([(rel == k).astype(np.float64) for k in ks])
    return X2, ks


def did2s(
    panel: object,
    y: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    fe: str | Sequence[str] | None = None,
    second_stage: Literal["event", "static"] = "event",
    window: tuple[int, int] | None = None,
    base: int = -1,
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """Gardner (2021) two-stage DiD with the GMM-corrected clustered standard errors.

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel` (absorbing treatment).
    y, controls
        Outcome and first-stage controls.
    fe
        First-stage absorbed factor besides the period effects: ``"unit"`` or a coarser column
        (e.g. ``"state"``); ``"state+year"``/the spec's TWFE ``fe`` name it with the panel's
        time column left out (default: the spec's ``fe``, else the unit).
    second_stage
        ``"event"``: relative-time indicators of ever-treated units (``base`` omitted);
        ``"static"``: the treatment indicator (reported as relative time 0 and as the
        aggregate ``att``).
    window
        Relative times kept in the event study (others get no indicator).
    base
        Reference relative time of the event study.
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none):
        both stages weighted, GMM variance with the weights.
    spec
        A :class:`didstudy.Baseline`; ``y``, ``controls``, ``fe``, ``cluster`` and ``weights``
        given here (not ``None``) override its fields (decision records 0021, 0063).
    level
        Confidence level.

    Returns
    -------
    EventStudyResult
        ``estimator="did2s"``, ``spec`` the resolved baseline; ``aggregates`` holds the average
        of the post coefficients (event) or the static ATT.

    Raises
    ------
    ValidationError, EstimationError
        As :func:`~didstudy.estimation.robust.imputation.imputation`.

    Examples
    --------
    >>> res = did2s(panel, "lemp", fe="unit", window=(-3, 3))  # doctest: +SKIP
    """
    rs = robust_spec("did2s", spec, panel, y=y, controls=controls, cluster=cluster, weights=weights)
    fe_col = absorbed_factor("did2s", fe if fe is not None else rs.base.fe, panel)
    unit = str(getattr(panel, "unit", ""))
    factors = () if fe_col in ("unit", unit) else (fe_col,)
    A = panel_arrays(
        panel, rs.y, rs.controls, rs.cluster, estimator="did2s", factors=factors,
        weights=rs.weights,
    )  # fmt: skip
    absorb = A.unit if not factors else A.factors[0]
    model = UntreatedModel.build(absorb, A.time, A.X, ~A.treated, A.weight)
    if second_stage == "static":
        X2 = A.treated.astype(np.float64)[:, None]
        ks = [0]
    elif second_stage == "event":
        X2, ks = _event_design(A, window, base)
    else:
        raise ValidationError(
            f"second_stage={second_stage!r} is not known.", fix="use 'event' or 'static'."
        )
    needed = (X2.sum(axis=1) > 0) & A.treated & model.unidentified()
    if needed.any():
        raise EstimationError(
            f"{int(needed.sum())} treated observations (periods "
            f"{sorted({int(t) for t in A.period[needed]})}) have no untreated observation in "
            "their period or fixed-effect level, so the first stage cannot residualise them.",
            fix="narrow window= or drop the periods after the last cohort is treated.",
        )
    fit = model.fit(A.y)
    y_tilde = np.nan_to_num(A.y - model.predict(fit))
    counts = X2.sum(axis=0)
    mass = X2.T @ A.w
    if not (mass > 0).all():
        raise EstimationError(
            "did2s: the relative times "
            f"{[k for k, m in zip(ks, mass, strict=True) if not m > 0]} have zero total weight.",
            fix="narrow window= or give those observations positive weights.",
        )
    coef = (X2.T @ (A.w * y_tilde)) / mass
    resid2 = y_tilde - X2 @ coef
    V = two_stage_vcov(model, X2, fit.resid, resid2, A.cluster, A.n_clusters, A.weight)
    df_t = float(A.n_clusters - 1)
    names = [f"rel_time::{k}" for k in ks]
    post = [i for i, k in enumerate(ks) if k >= 0]
    w = np.zeros(len(ks))
    w[post] = 1.0 / len(post) if post else 0.0
    agg = linear_combination("att", names, w, coef, V, df_t, level)
    es_spec = _spec(A, rs, fe_col, ks, window, base, second_stage)
    cells = pd.DataFrame(
        {
            "rel_time": ks,
            "estimate": coef,
            "std_error": np.sqrt(np.diag(V)),
            "n_treated": counts.astype(np.int64),
        }
    )
    res = event_study_result(
        es_spec,
        ks,
        coef,
        V,
        df_t=df_t,
        nobs=A.n,
        n_clusters=A.n_clusters,
        cells=cells,
        aggregates=[agg],
        level=level,
    )
    return with_spec(res, rs)
