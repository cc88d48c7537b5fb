"""Stacked difference-in-differences (Cengiz, Dube, Lindner & Zipperer 2019) with the corrective
weights of Wing, Freedman & Hollingsworth (2024).

For every treated cohort ``d`` a sub-experiment holds the units first treated at ``d`` and the
clean controls (never treated, or first treated after ``d + k_post``), observed in the event
window ``[d - k_pre, d + k_post]``. Cohorts whose window leaves the sample period, or without a
clean control, are left out with a warning naming them (WFH's inclusion criteria). The stack is
estimated by weighted least squares (WFH 2024, eq. 7)

    Y_sdt = a_0 + a_1 D_sd + sum_e lambda_e 1{t - d = e} + sum_{e != -1} delta_e D_sd 1{t - d = e},

with treated observations weighted 1 and controls of sub-experiment ``d`` weighted
``Q_d = (N^D_d / N^D) / (N^C_d / N^C)`` (unit counts), so that ``delta_e`` is the trimmed
aggregate ATT ``sum_d (N^D_d / N^D) DiD_d(e)``. Fixed effects ``D`` and ``e`` are absorbed;
standard errors are CRV1 clustered by the original unit (fixest's small-sample factor).

With observation weights ``w_it`` (``weights=`` or the Panel's weight) each stacked row is
weighted ``w_it`` (treated) or ``w_it Q_d`` (controls), and the unit counts in ``Q_d`` become
weight sums: each unit counts with the mean of its weights in the sub-experiment's window, so
that an integer weight equals duplicating the unit and constant weights change nothing
(decision record 0063).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import CollinearityWarning, EstimationError, PanelWarning, ValidationError
from didstudy.estimation.robust._common import (
    EventStudySpec,
    PanelArrays,
    event_study_result,
    no_controls,
    panel_arrays,
    robust_spec,
    with_spec,
)
from didstudy.estimation.twfe import fit_frame
from didstudy.results.event_study import EventStudyResult
from didstudy.results.spec import Baseline

__all__ = ["stack_panel", "stacked_did"]

IntArray = npt.NDArray[np.intp]


def _eligible(A: PanelArrays, k_pre: int, k_post: int) -> tuple[list[int], list[str]]:
    first, last = int(A.periods.min()), int(A.periods.max())
    ok, skipped = [], []
    for d in A.cohorts():
        if d - k_pre < first or d + k_post > last:
            skipped.append(f"{d} (window {d - k_pre}..{d + k_post} outside {first}..{last})")
        elif not (A.cohort > d + k_post).any():
            skipped.append(f"{d} (no clean control: no unit untreated through {d + k_post})")
        else:
            ok.append(int(d))
    return ok, skipped


def stack_panel(A: PanelArrays, k_pre: int, k_post: int) -> pd.DataFrame:
    """The stacked data: one block per eligible cohort with its clean controls and weights.

    Returns a frame with columns ``row`` (index into ``A``), ``subexp``, ``event``, ``treated``
    (0/1), ``weight``, ``unit`` (original unit code).

    Raises
    ------
    EstimationError
        No cohort has both a full window and a clean control (the message names each cohort).
    """
    cohorts, skipped = _eligible(A, k_pre, k_post)
    if skipped and cohorts:
        warnings.warn(
            "stacked_did leaves out cohorts: " + "; ".join(skipped), PanelWarning, stacklevel=3
        )
    if not cohorts:
        raise EstimationError(
            "no cohort can form a clean sub-experiment: " + "; ".join(skipped) + ".",
            fix="shorten the window (window=(-k_pre, k_post)) or add never-treated units.",
        )
    blocks = []
    for d in cohorts:
        in_window = (A.period >= d - k_pre) & (A.period <= d + k_post)
        treated = A.cohort == d
        clean = A.cohort > d + k_post
        rows = np.flatnonzero(in_window & (treated | clean))
        blocks.append(
            pd.DataFrame(
                {
                    "row": rows,
                    "subexp": d,
                    "event": A.period[rows] - d,
                    "treated": treated[rows].astype(np.int64),
                    "unit": A.unit[rows],
                }
            )
        )
    stack = pd.concat(blocks, ignore_index=True)
    obs_w = A.w[stack["row"].to_numpy()]
    units = stack.assign(_w=obs_w).groupby(["subexp", "unit"], sort=True)
    per_unit = units.agg(treated=("treated", "first"), mass=("_w", "mean"))
    n_treat = (per_unit["mass"] * per_unit["treated"]).groupby(level="subexp").sum()
    n_ctrl = (per_unit["mass"] * (1 - per_unit["treated"])).groupby(level="subexp").sum()
    empty = [int(d) for d in n_ctrl.index[n_ctrl.to_numpy() <= 0]]
    if empty:
        raise EstimationError(
            f"stacked_did: the clean controls of cohort(s) {empty} have zero total weight.",
            fix="give those controls positive weights, or drop weights=.",
        )
    q = (n_treat / n_treat.sum()) / (n_ctrl / n_ctrl.sum())
    corrective = np.where(stack["treated"] == 1, 1.0, stack["subexp"].map(q).to_numpy())
    stack["weight"] = corrective * obs_w
    stack.attrs["q"] = {int(str(d)): float(v) for d, v in q.items()}
    return stack


def stacked_did(
    panel: object,
    y: str | None = None,
    *,
    window: tuple[int, int] = (-3, 3),
    base: int = -1,
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
    level: float = 0.95,
) -> EventStudyResult:
    """Weighted stacked event study (Wing, Freedman & Hollingsworth 2024).

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel` (absorbing treatment).
    y
        Outcome.
    window
        ``(-k_pre, k_post)``: event window of every sub-experiment.
    base
        Omitted relative time.
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none);
        each stacked row is weighted by its observation weight times the corrective weight.
    spec
        A :class:`didstudy.Baseline`; ``y``, ``cluster`` and ``weights`` given here (not
        ``None``) override its fields (decision records 0021, 0063). The stacked regression
        takes no controls: a spec with controls raises (use ``spec.override(controls=())``).
    level
        Confidence level.

    Returns
    -------
    EventStudyResult
        ``estimator="stacked_did"``, ``spec`` the resolved baseline; ``cells`` hold the
        sub-experiments' sizes and control weights ``Q_d``.

    Examples
    --------
    >>> res = stacked_did(panel, "lemp", window=(-2, 2))  # doctest: +SKIP
    """
    k_pre, k_post = -int(window[0]), int(window[1])
    if k_pre < 1 or k_post < 0 or not (window[0] <= base <= window[1]) or base >= 0:
        raise ValidationError(
            f"window={window} with base={base} is not an event window.",
            fix="use e.g. window=(-3, 3) and base=-1 (a pre-period inside the window).",
        )
    rs = robust_spec("stacked_did", spec, panel, y=y, cluster=cluster, weights=weights)
    no_controls("stacked_did", rs)
    A = panel_arrays(panel, rs.y, (), rs.cluster, estimator="stacked_did", weights=rs.weights)
    stack = stack_panel(A, k_pre, k_post)
    es = [e for e in range(window[0], window[1] + 1) if e != base]
    terms = [f"rel_time::{e}" for e in es]
    data = {
        "_y": A.y[stack["row"].to_numpy()],
        "_D": stack["treated"].to_numpy(),
        "_e": stack["event"].to_numpy(),
        "_w": stack["weight"].to_numpy(),
        "_cluster": A.cluster[stack["row"].to_numpy()],
    }
    for e, name in zip(es, terms, strict=True):
        data[name] = ((stack["event"] == e) & (stack["treated"] == 1)).to_numpy(dtype=np.float64)
    frame = pd.DataFrame(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        model = Baseline(
            y="_y", treat=terms, fe=["_D", "_e"], cluster="_cluster", weights="_w", ssc="fixest"
        )
        fit = fit_frame(frame, model, drop_singletons=False, require_treatment=False)
    kept = [t for t in terms if t in fit.terms]
    idx = [fit.terms.index(t) for t in kept]
    coef = np.asarray(fit.params, dtype=np.float64)[idx]
    vcov = np.asarray(fit.cov, dtype=np.float64)[np.ix_(idx, idx)]
    sizes = (
        stack.drop_duplicates(["subexp", "unit"]).groupby("subexp")["treated"].agg(["sum", "count"])
    )
    cells = pd.DataFrame(
        {
            "cohort": sizes.index.astype(np.int64),
            "n_treated": sizes["sum"].astype(np.int64).to_numpy(),
            "n_control": (sizes["count"] - sizes["sum"]).astype(np.int64).to_numpy(),
            "control_weight": [q_of(stack, d) for d in sizes.index],
        }
    )
    es_spec = EventStudySpec(
        estimator="stacked_did",
        outcome=A.outcome,
        controls=(),
        control_group="clean (never or later than the window)",
        window=(int(window[0]), int(window[1])),
        base=base,
        vcov_type="CRV1",
        notes=(
            "Stacked DiD (Cengiz et al. 2019) with the corrective weights of Wing, Freedman & "
            f"Hollingsworth (2024); {len(cells)} sub-experiments, SE clustered by unit.",
        ),
    )
    stats = fit.stats()
    res = event_study_result(
        es_spec,
        [int(t.split("::")[1]) for t in kept],
        coef,
        vcov,
        df_t=float(fit.df_t),
        nobs=int(fit.nobs),
        n_clusters=int(stats.get("n_clusters") or 0),
        cells=cells,
        level=level,
    )
    return with_spec(res, rs)


def q_of(stack: pd.DataFrame, d: int) -> float:
    """The corrective control weight ``Q_d`` of sub-experiment ``d`` (the stack's ``Q``)."""
    return float(stack.attrs["q"][d])
