"""Callaway and Sant'Anna (2021) group-time average treatment effects.

Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-differences with multiple time
periods", Journal of Econometrics 225(2), 200–230. ATT(g,t) (their eq. 2.3) is identified by a
2×2 DiD of cohort ``g`` against never-treated or not-yet-treated units between a base period
and ``t`` (Theorem 1); each 2×2 is estimated by outcome regression, normalised IPW or the
doubly robust estimator of Sant'Anna and Zhao (2020). Inference uses the influence functions
(Theorem 2), analytically or by the multiplier bootstrap. Decision 0040 records the choices.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from didstudy.data.panel import Panel
from didstudy.data.seed import resolve_seed
from didstudy.errors import DidstudyWarning, EstimationError
from didstudy.estimation.robust.cs_cells import CellPlan, plan_cells
from didstudy.estimation.robust.cs_data import CSData, prepare
from didstudy.estimation.robust.cs_twobytwo import CellFailure, panel_twobytwo
from didstudy.estimation.robust.cs_twobytwo_rc import rc_twobytwo
from didstudy.results.group_time import (
    GroupTimeResult,
    Inference,
    _cell_inference,
    wald_test,
)
from didstudy.results.influence import MultiplierKind
from didstudy.results.influence_matrix import (
    BlockInfluence,
    DenseInfluence,
    FactorBlock,
    FactorInfluence,
    InfluenceMatrix,
)
from didstudy.results.spec import Baseline

__all__ = ["GroupTimeWarning", "callaway_santanna"]

FloatArray = NDArray[np.float64]
Method = Literal["dr", "dr_traditional", "ipw", "reg"]

METHODS = ("dr", "dr_traditional", "ipw", "reg")


class GroupTimeWarning(DidstudyWarning):
    """A group-time cell could not be estimated and is reported as missing."""


def _check_options(
    control_group: str, notyet_rule: str, method: str, base_period: str, anticipation: int,
    multiplier: str, reps: int, alpha: float,
) -> None:  # fmt: skip
    checks = [
        (control_group in ("never", "notyet"), "control_group", "'never' or 'notyet'"),
        (notyet_rule in ("did", "csdid"), "notyet_rule", "'did' or 'csdid'"),
        (method in METHODS, "method", "'dr', 'dr_traditional', 'ipw' or 'reg'"),
        (base_period in ("varying", "universal"), "base_period", "'varying' or 'universal'"),
        (isinstance(anticipation, int) and anticipation >= 0, "anticipation", "an integer ≥ 0"),
        (multiplier in ("mammen", "rademacher"), "multiplier", "'mammen' or 'rademacher'"),
        (isinstance(reps, int) and reps >= 2, "reps", "an integer ≥ 2"),
        (0.0 < alpha < 1.0, "alpha", "a number between 0 and 1"),
    ]
    for ok, name, allowed in checks:
        if not ok:
            raise EstimationError(f"invalid {name}.", fix=f"{name} must be {allowed}.")


def _controls(cohort: FloatArray, g: float, threshold: float) -> NDArray[np.bool_]:
    """Comparison units (never treated or cohort above ``threshold``), as a mask."""
    out: NDArray[np.bool_] = np.isinf(cohort) | ((cohort > threshold) & (cohort != g))
    return out


def _batches(data: CSData, plan: CellPlan) -> dict[tuple[float, float, int], list[int]]:
    """Cells that share treated units, comparison units and covariate period."""
    out: dict[tuple[float, float, int], list[int]] = {}
    for k in np.flatnonzero(~plan.reference):
        x_period = int(min(plan.current[k], plan.base[k])) if data.x_varies else -1
        key = (float(plan.group[k]), float(plan.threshold[k]), x_period)
        out.setdefault(key, []).append(int(k))
    return out


#: Cells one batch could not estimate, and why.
Failure = tuple[list[int], str]


def _warn_cells(data: CSData, plan: CellPlan, failures: list[Failure]) -> list[str]:
    """One warning (and one note) for all the cells an estimation could not estimate, grouped
    by reason, cells by cohort with their periods as ranges — a line per failing batch flooded
    the terminal (a 50-unit panel with two covariates gave 40 warnings)."""
    if not failures:
        return []
    by_reason: dict[str, dict[int, list[int]]] = {}
    for cells, reason in failures:
        groups = by_reason.setdefault(reason, {})
        for k in cells:
            groups.setdefault(int(plan.group[k]), []).append(int(data.periods[plan.current[k]]))
    parts = [
        ", ".join(f"ATT({g},{_spans(ts)})" for g, ts in groups.items()) + f" ({reason})"
        for reason, groups in by_reason.items()
    ]
    msg = f"cells {'; '.join(parts)} cannot be estimated; they are reported as missing."
    warnings.warn(msg, GroupTimeWarning, stacklevel=3)
    return [msg]


def _spans(periods: list[int]) -> str:
    """``2000..2003 2005`` for the sorted periods 2000, 2001, 2002, 2003, 2005 (one: ``2005``)."""
    ordered = sorted(set(periods))
    runs: list[list[int]] = []
    for t in ordered:
        if runs and t == runs[-1][-1] + 1:
            runs[-1].append(t)
        else:
            runs.append([t])
    return " ".join(f"{r[0]}..{r[-1]}" if len(r) > 2 else " ".join(map(str, r)) for r in runs)


def _blocks(cohort: FloatArray, g: float, threshold: float) -> tuple[slice, list[slice]]:
    """Units of cohort ``g`` and the comparison units, as blocks of the cohort-sorted units."""
    n = len(cohort)
    t0, t1 = (int(np.searchsorted(cohort, g, side=s)) for s in ("left", "right"))
    c0 = int(np.searchsorted(cohort, threshold, side="left" if np.isinf(threshold) else "right"))
    controls = [slice(c0, t0), slice(t1, n)] if c0 <= t0 else [slice(c0, n)]
    return slice(t0, t1), [b for b in controls if b.stop > b.start]


def _cohort_blocks(data: CSData, plan: CellPlan) -> tuple[list[int], list[NDArray[np.int64]]]:
    """First unit and non-zero cells of every cohort block (units sorted by cohort)."""
    levels = np.unique(data.cohort)
    starts = np.searchsorted(data.cohort, levels, side="left")
    g, thr = plan.group[None, :], plan.threshold[None, :]
    c = levels[:, None]
    active = ((c == g) | np.isinf(c) | ((c > thr) & (c != g))) & ~plan.reference[None, :]
    return [int(v) for v in starts], [np.flatnonzero(row).astype(np.int64) for row in active]


def _panel_cells(
    data: CSData, plan: CellPlan, method: str
) -> tuple[FloatArray, BlockInfluence, NDArray[np.int64], NDArray[np.int64], list[Failure]]:
    """Balanced panel: ATTs (C), unit influence in cohort blocks, counts, failed cells."""
    n, n_cells = data.n_units, len(plan.group)
    y_wide = data.wide(data.y)
    x_wide = None if data.x is None else data.wide(data.x)
    att = np.where(plan.reference, 0.0, np.nan)
    starts, active = _cohort_blocks(data, plan)
    values = [np.zeros((stop - start, len(cols))) for start, stop, cols in
              zip(starts, [*starts[1:], n], active, strict=True)]  # fmt: skip
    where = [np.searchsorted(cols, np.arange(n_cells)) for cols in active]
    n_treat = np.zeros(n_cells, dtype=np.int64)
    n_ctrl = np.zeros(n_cells, dtype=np.int64)
    failures: list[Failure] = []
    for (g, threshold, x_period), cells in _batches(data, plan).items():
        treated, controls = _blocks(data.cohort, g, threshold)
        sample = np.concatenate([np.arange(b.start, b.stop) for b in (treated, *controls)])
        n_t = treated.stop - treated.start
        d = np.zeros(len(sample))
        d[:n_t] = 1.0
        n_treat[cells], n_ctrl[cells] = n_t, len(sample) - n_t
        x = None
        if x_wide is not None:
            x = x_wide[sample, 0 if x_period < 0 else x_period, :]
        rows = y_wide[sample]
        dy = rows[:, plan.current[cells]] - rows[:, plan.base[cells]]
        try:
            fit = panel_twobytwo(dy, d, x, data.weight[sample], method)
        except CellFailure as exc:
            failures.append((list(cells), str(exc)))
            continue
        att[cells] = fit.att
        psi = fit.influence * (n / len(sample))
        offset = 0
        for unit in (treated, *controls):
            for b in range(np.searchsorted(starts, unit.start), len(starts)):
                stop = starts[b + 1] if b + 1 < len(starts) else n
                if starts[b] >= unit.stop:
                    break
                size = stop - starts[b]
                values[b][:, where[b][cells]] = psi[offset : offset + size]
                offset += size
    influence = BlockInfluence(n, n_cells, tuple(starts), tuple(active), tuple(values))
    return att, influence, n_treat, n_ctrl, failures


def _control_matrix(levels: FloatArray, plan: CellPlan) -> NDArray[np.bool_]:
    """``cells × cohorts``: whether a cohort is among a cell's comparison units."""
    c, g, thr = levels[None, :], plan.group[:, None], plan.threshold[:, None]
    out: NDArray[np.bool_] = (np.isinf(c) | ((c > thr) & (c != g))) & ~plan.reference[:, None]
    return out


def _panel_cells_means(
    data: CSData, plan: CellPlan
) -> tuple[FloatArray, FactorInfluence, NDArray[np.int64], NDArray[np.int64], list[Failure]]:
    """Balanced panel without covariates: every cell from cohort sums of the outcome.

    ATT(g,t) = (S_g[t] − S_g[b]) / W_g − (Σ_c S_c[t] − S_c[b]) / Σ_c W_c over the comparison
    cohorts c, with S_c the weighted outcome sums and W_c the weights of cohort c; the
    influence function of unit i in cohort block r and cell k is
    ``± n w_i (ΔY_ik − η_k) / W_k`` (+ treated, − comparison), kept in factored form
    (:class:`FactorInfluence`: the block's outcomes times period contrasts).
    """
    n = data.n_units
    y_wide = data.wide(data.y)
    levels, starts, counts = np.unique(data.cohort, return_index=True, return_counts=True)
    sums = np.add.reduceat(y_wide * data.weight[:, None], starts, axis=0)  # cohorts × T
    mass = np.add.reduceat(data.weight, starts)
    controls = _control_matrix(levels, plan)
    treated = (levels[None, :] == plan.group[:, None]) & ~plan.reference[:, None]
    cur, base = plan.current, plan.base
    change = sums[:, cur] - sums[:, base]  # cohorts × cells
    w_treat, w_ctrl = treated.astype(float) @ mass, controls.astype(float) @ mass
    cells = np.arange(len(cur))
    eta1 = np.einsum("kc,ck->k", treated.astype(float), change) / np.maximum(w_treat, 1e-300)
    eta0 = np.einsum("kc,ck->k", controls.astype(float), change) / np.maximum(w_ctrl, 1e-300)
    ok = (w_treat > 0) & (w_ctrl > 0)
    failures: list[Failure] = []
    bad = np.flatnonzero(~ok & ~plan.reference)
    if len(bad):
        failures.append(([int(k) for k in bad], "no comparison units"))
    att = np.where(plan.reference, 0.0, np.where(ok, eta1 - eta0, np.nan))
    weighted = bool(np.any(data.weight != 1.0))
    blocks = []
    for r, start in enumerate(int(v) for v in starts):
        role_t, role_c = treated[:, r] & ok, controls[:, r] & ok
        cols = cells[role_t | role_c]
        coef = np.where(role_t, n / np.maximum(w_treat, 1e-300), -n / np.maximum(w_ctrl, 1e-300))
        contrasts = np.zeros((y_wide.shape[1], len(cols)))
        contrasts[cur[cols], np.arange(len(cols))] = 1.0
        contrasts[base[cols], np.arange(len(cols))] -= 1.0
        rows = slice(start, start + int(counts[r]))
        blocks.append(FactorBlock(
            start, cols.astype(np.int64), y_wide[rows], contrasts,
            np.where(role_t, eta1, eta0)[cols], coef[cols],
            data.weight[rows] if weighted else None,
        ))  # fmt: skip
    influence = FactorInfluence(n, len(cur), tuple(blocks))
    n_treat = (treated.astype(np.int64) @ counts).astype(np.int64)
    n_ctrl = (controls.astype(np.int64) @ counts).astype(np.int64)
    return att, influence, n_treat, n_ctrl, failures


def _cross_section_cells(
    data: CSData, plan: CellPlan, method: str
) -> tuple[FloatArray, FloatArray, NDArray[np.int64], NDArray[np.int64], list[Failure]]:
    """Repeated cross-sections and unbalanced panels (R did's ``allow_unbalanced_panel``):
    one repeated-cross-section 2×2 per cell on the rows observed in its two periods,
    influence functions summed within units."""
    n_obs, n_cells = len(data.y), len(plan.group)
    cohort_row = data.cohort[data.unit]
    w_row = data.weight[data.unit]
    att = np.where(plan.reference, 0.0, np.nan)
    inf = np.zeros((data.n_units, n_cells))
    n_treat = np.zeros(n_cells, dtype=np.int64)
    n_ctrl = np.zeros(n_cells, dtype=np.int64)
    failures: list[Failure] = []
    for k in np.flatnonzero(~plan.reference):
        g = plan.group[k]
        in_periods = (data.period == plan.current[k]) | (data.period == plan.base[k])
        treated = cohort_row == g
        rows = np.flatnonzero(in_periods & (treated | _controls(cohort_row, g, plan.threshold[k])))
        post = (data.period[rows] == plan.current[k]).astype(float)
        d = treated[rows].astype(float)
        n_treat[k] = len(np.unique(data.unit[rows][d > 0]))
        n_ctrl[k] = len(np.unique(data.unit[rows][d == 0]))
        x = None if data.x is None else data.x[rows]  # each row's own values
        try:
            att[k], psi = rc_twobytwo(data.y[rows], post, d, x, w_row[rows], method)
        except CellFailure as exc:
            failures.append(([int(k)], str(exc)))
            continue
        scale = (n_obs if data.n_units == n_obs else data.n_units) / len(rows)
        np.add.at(inf[:, k], data.unit[rows], psi * scale)
    return att, inf, n_treat, n_ctrl, failures


def _cluster_sum(
    inf: InfluenceMatrix, cluster: NDArray[np.int64], n_clusters: int
) -> InfluenceMatrix:
    """Sum unit influence functions within clusters (unchanged when clusters are units)."""
    if n_clusters == inf.shape[0] and np.array_equal(cluster, np.arange(n_clusters)):
        return inf
    indicator = sp.csr_matrix(
        (np.ones(len(cluster)), (cluster, np.arange(len(cluster)))),
        shape=(n_clusters, len(cluster)),
    )
    return DenseInfluence(np.asarray(indicator @ inf.dense()))


def _cohort_mass(data: CSData, levels: FloatArray) -> tuple[FloatArray, FloatArray]:
    cols = np.searchsorted(levels, data.cohort)
    member = (cols < len(levels)) & (levels[np.minimum(cols, len(levels) - 1)] == data.cohort)
    mass = np.zeros((data.n_clusters, len(levels)))
    np.add.at(mass, (data.cluster[member], cols[member]), data.weight[member])
    count = np.bincount(data.cluster, minlength=data.n_clusters).astype(float)
    return mass, count


def _resolve_spec(
    spec: Baseline | None, y: str | None, weights: str | None, cluster: str | None
) -> tuple[str, str | None, str | None]:
    """Outcome, weights and cluster: explicit keywords over ``spec`` (decision 0021)."""
    base = (spec if spec is not None else Baseline()).override(
        y=y, weights=weights, cluster=cluster
    )
    base.require("y", caller="callaway_santanna")
    assert base.y is not None
    if base.cluster and len(base.cluster) > 1:
        raise EstimationError(
            f"callaway_santanna clusters on one column; the spec has {list(base.cluster)}.",
            fix="pass cluster='<one column>' (the coarser of the two).",
        )
    return base.y, base.weights, base.cluster[0] if base.cluster else None


def callaway_santanna(
    panel: Panel,
    y: str | None = None,
    covariates: Sequence[str] = (),
    *,
    spec: Baseline | None = None,
    control_group: Literal["never", "notyet"] = "never",
    notyet_rule: Literal["did", "csdid"] = "did",
    method: Method = "dr",
    base_period: Literal["varying", "universal"] = "varying",
    anticipation: int = 0,
    weights: str | None = None,
    cluster: str | None = None,
    repeated_cross_section: bool = False,
    bootstrap: bool = False,
    reps: int = 999,
    multiplier: MultiplierKind = "mammen",
    seed: int | None = None,
    alpha: float = 0.05,
) -> GroupTimeResult:
    """Group-time average treatment effects ATT(g,t) of Callaway and Sant'Anna (2021).

    Parameters
    ----------
    panel
        The validated panel (cohorts derived from its treatment or cohort column).
    y
        Outcome column (or ``spec.y``).
    covariates
        Covariates of the propensity score and outcome regression. Time-varying ones take
        their value in the earlier of each cell's two periods (with a warning), as R ``did``.
    spec
        A :class:`~didstudy.Baseline`: its ``y``, ``weights`` and ``cluster`` are used unless
        given here. Its ``controls``, ``treat``, ``fe``, ``vcov`` and ``ssc`` do not apply: the
        estimator conditions on ``covariates`` (pre-treatment covariates, unlike the regression's
        time-varying controls), reads the treatment timing from the panel's cohorts and uses
        influence-function variances.
    control_group
        ``"never"`` (never-treated units) or ``"notyet"`` (also units not yet treated).
    notyet_rule
        ``"did"``: comparison cohorts ``G > max(t, base) + anticipation`` (R ``did``);
        ``"csdid"``: ``G > max(t, g − 1) + anticipation`` (Stata ``csdid``).
    method
        ``"dr"``: improved doubly robust (Sant'Anna and Zhao 2020, eq. 3.4; DRDID
        ``drdid_imp_panel``; for repeated cross-sections and unbalanced panels the improved,
        locally efficient eq. 3.10, DRDID ``drdid_imp_rc``); ``"dr_traditional"`` (their
        eq. 3.1, or 3.9 for cross-sections; R ``did``'s default);
        ``"ipw"`` (normalised, Hájek); ``"reg"`` (outcome regression).
    base_period
        ``"varying"`` (pre-period cells compare ``t`` with ``t − 1``) or ``"universal"``
        (every cell compares with ``g − anticipation − 1``).
    anticipation
        Periods before ``g`` in which units may already react (the base moves back).
    weights, cluster
        Columns of unit weights (constant within unit; normalised to mean one) and of a
        cluster at least as coarse as the unit; default: the panel's, else none and the unit.
    repeated_cross_section
        Treat rows as independent draws (each row its own unit). Unbalanced panels are
        handled like this with influence functions summed within units (R ``did``'s
        ``allow_unbalanced_panel``).
    bootstrap, reps, multiplier, seed, alpha
        Multiplier-bootstrap SEs (else analytic), its draws and weights, the seed (None: fresh
        entropy; the seed used is on the result) and one minus the band coverage. Uniform
        bands always use ``reps`` draws.

    Returns
    -------
    GroupTimeResult
        One row per (g, t); ``.aggregate(kind)`` gives the simple, group, calendar and
        dynamic aggregations.

    Raises
    ------
    EstimationError
        ``control_group="never"`` without never-treated units (use ``"notyet"``), invalid
        options, a two-way cluster in ``spec``.
    ValidationError
        No outcome (neither ``y`` nor ``spec.y``); unknown columns; outcome, covariate or
        weight with missing or non-numeric values (naming the rows); negative or all-zero
        weights; a constant covariate; weights or clusters that change within a unit.

    Warns
    -----
    GroupTimeWarning
        A cell without comparison units or without overlap (reported as missing).

    Examples
    --------
    >>> import didstudy as ds
    >>> df = ds.load_dataset("mpdta")  # doctest: +SKIP
    >>> panel = ds.Panel(df, unit="countyreal", time="year", cohort="first.treat")  # doctest: +SKIP
    >>> res = callaway_santanna(panel, y="lemp")  # doctest: +SKIP
    >>> res.aggregate("dynamic").tidy()  # doctest: +SKIP
    """
    _check_options(control_group, notyet_rule, method, base_period, anticipation, multiplier,
                   reps, alpha)  # fmt: skip
    y, weights, cluster = _resolve_spec(spec, y, weights, cluster)
    data = prepare(panel, y, tuple(covariates), weights, cluster, control_group, anticipation,
                   repeated_cross_section)  # fmt: skip
    rule = "never" if control_group == "never" else f"notyet{'_csdid' * (notyet_rule == 'csdid')}"
    cohorts = np.unique(data.cohort[np.isfinite(data.cohort)])
    plan = plan_cells(data.periods, cohorts, rule, base_period, anticipation)
    notes = list(data.notes)
    for g, why in plan.skipped:
        notes.append(_warn_cell_group(g, why))
    if len(plan.group) == 0:
        raise EstimationError("no group-time cell can be estimated.", fix="check the cohorts.")
    inf: InfluenceMatrix | FloatArray
    if data.balanced and data.x is None:
        att, inf, n_treat, n_ctrl, cell_failures = _panel_cells_means(data, plan)
    elif data.balanced:
        att, inf, n_treat, n_ctrl, cell_failures = _panel_cells(data, plan, method)
    else:
        att, inf, n_treat, n_ctrl, cell_failures = _cross_section_cells(data, plan, method)
    notes += _warn_cells(data, plan, cell_failures)
    influence = _cluster_sum(
        inf
        if isinstance(inf, (BlockInfluence, DenseInfluence, FactorInfluence))
        else DenseInfluence(inf),
        data.cluster,
        data.n_clusters,
    )
    inference = Inference(bootstrap, reps, resolve_seed(seed),
                          multiplier, alpha)  # fmt: skip
    return _assemble(data, plan, att, influence, n_treat, n_ctrl, inference, notes, {
        "outcome": y, "covariates": tuple(covariates), "control_group": control_group,
        "notyet_rule": notyet_rule, "method": method, "base_period": base_period,
        "anticipation": anticipation, "repeated_cross_section": repeated_cross_section,
        "balanced": data.balanced,
    })  # fmt: skip


def _warn_cell_group(g: int, why: str) -> str:
    msg = f"cohort {g} is not estimated: {why}."
    warnings.warn(msg, GroupTimeWarning, stacklevel=3)
    return msg


def _assemble(
    data: CSData,
    plan: CellPlan,
    att: FloatArray,
    influence: InfluenceMatrix,
    n_treat: NDArray[np.int64],
    n_ctrl: NDArray[np.int64],
    inference: Inference,
    notes: list[str],
    options: dict[str, object],
) -> GroupTimeResult:
    # missing cells were never written: their influence columns are zero
    se, crit = _cell_inference(influence, data.n_units, att, inference, plan.reference)
    time = data.periods[plan.current]
    pre = np.flatnonzero(np.isfinite(att) & (time < plan.group) & (np.nan_to_num(se) > 1e-12))
    cells = tuple(f"ATT({int(plan.group[k])},{int(time[k])})" for k in pre)
    pretrend = wald_test(att[pre], influence.gram(pre), data.n_units, data.n_clusters, cells)
    if pretrend is not None and pretrend.df1 < len(cells):
        notes = [*notes, f"the pre-trend test uses {pretrend.df1} non-redundant of {len(cells)} "
                 "constraints (singular covariance of the pre-period cells)"]  # fmt: skip
    levels = np.unique(plan.group)
    mass, count = _cohort_mass(data, levels)
    return GroupTimeResult(
        estimator="callaway_santanna", outcome=str(options["outcome"]), group=plan.group,
        time=time.astype(np.int64), base_time=data.periods[plan.base].astype(np.int64),
        estimate=att, std_error=se, influence=influence, n_treated=n_treat, n_control=n_ctrl,
        reference=plan.reference, bootstrap_crit=crit, cohort_levels=levels, cohort_mass=mass,
        cluster_size=count, n_units=data.n_units, nobs=len(data.y), inference=inference,
        pretrend=pretrend, options=options, notes=tuple(notes),
    )  # fmt: skip
