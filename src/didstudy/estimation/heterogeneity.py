"""Heterogeneity: split-sample TWFE estimates and tests of the difference between groups.

The reference study's Table 6 estimates the baseline regression separately for groups of cities
(population below/above 5 million, resource-based or not, inside the five major urban
agglomerations or not, in the key old revolutionary areas or not). Reviewers ask whether the
paired coefficients differ; two tests are provided for every pair of groups ``a``, ``b``:

**Interaction (Chow) test** (``interact="full"``, default). On the pooled sample of the two
groups, with ``G = 1[group a]``::

    y_it = b_b D_it + d (D_it x G_i) + g_a' X_it G_i + g_b' X_it (1 - G_i)
           + mu_{i,G} + lambda_{t,G} + e_it

Unit and time fixed effects and the controls are all interacted with the group, so the model is
the two split-sample regressions stacked: ``d`` equals ``b_a - b_b`` exactly and ``b_b`` equals
group b's split-sample estimate. Its standard error is cluster-robust on the stacked model
(clusters nested in groups make the covariance of the two split estimates zero), i.e. the
SUR/``suest``-type test of ``b_a = b_b``. ``interact="treatment"`` interacts only the treatment
(common controls and fixed effects), the shortcut common in applied work; its ``d`` is then not
the difference of the split-sample estimates.

**Fisher permutation test** (``bdiff``; Lian Yujun's Stata command, after Efron and Tibshirani
1993). Group labels are permuted across units (group sizes kept), both split-sample regressions
are re-estimated, and ``p = (1 + #{|d_perm| >= |d_obs|}) / (1 + R)`` over the ``R``
permutations where both regressions are identified (the observed split counts as a draw, as
in the placebo test, so ``p >= 1 / (1 + R)``). For balanced panels without weights the ``R``
re-estimations are done at once in closed form (see :func:`split_coefficients`); otherwise one
by one with the fixed-effects kernel.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.seed import resolve_seed
from didstudy.errors import DidstudyWarning, EstimationError, ValidationError
from didstudy.estimation._inputs import (
    PanelInput,
    fit_twfe,
    frame_twfe,
    panel_input,
    require_columns,
)
from didstudy.estimation.twfe import single_treatment_model
from didstudy.kernels.resample import DrawGenerator, run_chunks
from didstudy.kernels.threads import kernel_threads
from didstudy.results.comparison import HeterogeneityResult
from didstudy.results.regression import RegressionResult, ResultCollection
from didstudy.results.spec import Baseline

__all__ = [
    "heterogeneity",
    "interaction_test",
    "permutation_test",
    "split_coefficients",
    "split_coefficients_loop",
]

FloatArray = NDArray[np.float64]
Test = Literal["interaction", "permutation", "both", "none"]
Interact = Literal["full", "treatment"]

# permutations estimated together in the closed-form kernel (memory: chunk x T x p doubles)
_CHUNK = 256
# a treatment with within-group variance below this share of its total is not identified
_DEGENERATE = 1e-12


def split_coefficients(Z: FloatArray, members: NDArray[np.bool_]) -> FloatArray:
    r"""Treatment coefficients of two-way FE regressions on many unit subsets at once.

    Parameters
    ----------
    Z
        ``(n_units, T, p)`` balanced panel: column 0 the outcome, column 1 the treatment,
        columns 2.. the controls.
    members
        ``(n_units, R)``: subset ``r`` is the units with ``members[:, r]``.

    Returns
    -------
    numpy.ndarray
        ``(R,)`` coefficients on the treatment (NaN where it has no within variation).

    Notes
    -----
    With unit-demeaned data :math:`\tilde z_{it} = z_{it} - \bar z_i`, the two-way within
    transform on a balanced subset :math:`A` is :math:`\tilde z_{it} - s_{At}` with
    :math:`s_{At} = n_A^{-1}\sum_{j \in A} \tilde z_{jt}`; hence the cross-product matrix is
    :math:`\sum_{i\in A} C_i - n_A \sum_t s_{At} s_{At}'`, :math:`C_i = \sum_t \tilde z_{it}
    \tilde z_{it}'`, computed for all subsets by two matrix products (Frisch–Waugh–Lovell).
    """
    n, T, p = Z.shape
    Zt = Z - Z.mean(axis=1, keepdims=True)
    C = np.einsum("itp,itq->ipq", Zt, Zt)
    flat = Zt.reshape(n, T * p)
    with kernel_threads(n * T * p):
        parts = run_chunks(_split_chunk, (C, flat, members, T, p), members.shape[1], _CHUNK)
    return np.concatenate(parts) if parts else np.empty(0)


def _split_chunk(
    shared: tuple[FloatArray, FloatArray, NDArray[np.bool_], int, int], span: tuple[int, int]
) -> FloatArray:
    """:func:`split_coefficients` for the subsets ``span[0]..span[1]-1``."""
    C, flat, members, T, p = shared
    M = members[:, span[0] : span[1]].astype(np.float64)
    n_a = M.sum(axis=0)
    S = (M.T @ flat).reshape(-1, T, p) / np.maximum(n_a, 1.0)[:, None, None]
    xtx = np.einsum("ir,ipq->rpq", M, C) - n_a[:, None, None] * np.einsum("rtp,rtq->rpq", S, S)
    A = xtx[:, 1:, 1:]
    b = xtx[:, 1:, 0]
    beta: FloatArray = np.einsum("rij,rj->ri", np.linalg.pinv(A), b)[:, 0]
    scale = np.einsum("ir,i->r", M, C[:, 1, 1]) + 1e-300
    beta[(xtx[:, 1, 1] <= _DEGENERATE * scale) | (n_a < 2)] = np.nan
    return beta


def split_coefficients_loop(
    Z: FloatArray,
    unit_codes: NDArray[np.int64],
    time_codes: NDArray[np.int64],
    members: NDArray[np.bool_],
    weights: FloatArray | None = None,
) -> FloatArray:
    """The same as :func:`split_coefficients` for long (possibly unbalanced, weighted) data.

    Parameters
    ----------
    Z
        ``(n_obs, p)``: outcome, treatment, controls.
    unit_codes, time_codes
        ``(n_obs,)`` integer codes; ``unit_codes`` index the rows of ``members``.
    members
        ``(n_units, R)`` subsets of units.
    weights
        Optional analytic weights.
    """
    from didstudy.kernels.demean import demean

    out = np.full(members.shape[1], np.nan)
    for r in range(members.shape[1]):
        rows = members[unit_codes, r]
        if rows.sum() < 3:
            continue
        u = np.unique(unit_codes[rows], return_inverse=True)[1]
        t = np.unique(time_codes[rows], return_inverse=True)[1]
        w = None if weights is None else weights[rows]
        zd = demean(Z[rows], [u, t], w)
        sw = np.ones(int(rows.sum())) if w is None else np.sqrt(w)
        X, yv = zd[:, 1:] * sw[:, None], zd[:, 0] * sw
        if X[:, 0] @ X[:, 0] <= _DEGENERATE * (Z[rows, 1] @ Z[rows, 1] + 1e-300):
            continue
        out[r] = np.linalg.lstsq(X, yv, rcond=None)[0][0]
    return out


def _codes(values: pd.Series) -> NDArray[np.int64]:
    return np.asarray(pd.factorize(values, sort=True)[0], dtype=np.int64)


def permutation_test(
    frame: pd.DataFrame,
    y: str,
    treat: str,
    controls: Sequence[str],
    unit: str,
    time: str,
    is_a: pd.Series,
    *,
    reps: int = 1000,
    seed: int | None = None,
    weights: str | None = None,
) -> tuple[float, float, int]:
    """Fisher permutation test of ``b_a = b_b`` (Stata ``bdiff``), permuting units' groups.

    Parameters
    ----------
    frame
        Observations of the two groups (no missing values in the used columns).
    is_a
        Per row: does the row's unit belong to group a (constant within unit).

    Returns
    -------
    (difference, p_value, valid_reps)
        Observed ``b_a - b_b``, ``(1 + #{|d| >= |d_obs|}) / (1 + R)`` and the
        number of permutations where both groups' coefficients were identified.
    """
    unit_codes = _codes(frame[unit])
    time_codes = _codes(frame[time])
    n_units = int(unit_codes.max()) + 1
    label = np.zeros(n_units, dtype=bool)
    label[unit_codes] = is_a.to_numpy(dtype=bool)
    perms = DrawGenerator(resolve_seed(seed)).permutations(label, reps)
    members = np.concatenate([label[:, None], perms], axis=1)
    Zl = frame[[y, treat, *controls]].to_numpy(dtype=np.float64)
    counts = np.bincount(unit_codes, minlength=n_units)
    T = int(time_codes.max()) + 1
    balanced = weights is None and len(frame) == n_units * T and bool(np.all(counts == T))
    if balanced:
        Z = np.empty((n_units, T, Zl.shape[1]))
        Z[unit_codes, time_codes] = Zl
        b_a = split_coefficients(Z, members)
        b_b = split_coefficients(Z, ~members)
    else:
        w = None if weights is None else frame[weights].to_numpy(dtype=np.float64)
        b_a = split_coefficients_loop(Zl, unit_codes, time_codes, members, w)
        b_b = split_coefficients_loop(Zl, unit_codes, time_codes, ~members, w)
    d = b_a - b_b
    d_obs, d_perm = float(d[0]), d[1:]
    ok = np.isfinite(d_perm)
    if not np.isfinite(d_obs) or not ok.any():
        return d_obs, float("nan"), int(ok.sum())
    # relative slack so that permutations reproducing the observed split count as ties
    hit = np.abs(d_perm[ok]) >= np.abs(d_obs) * (1.0 - 1e-12)
    # the observed split counts as one draw (Phipson & Smyth 2010): p is never exactly zero
    return d_obs, float((1 + hit.sum()) / (1 + hit.size)), int(ok.sum())


def interaction_test(
    inp: PanelInput,
    frame: pd.DataFrame,
    y: str,
    treat: str,
    controls: Sequence[str],
    is_a: pd.Series,
    *,
    interact: Interact = "full",
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> RegressionResult:
    """The pooled regression with ``treat x 1[group a]``; its coefficient is the difference.

    Returns the fitted regression; the difference term is named ``"<treat>×group_a"``.
    """
    sub = frame.copy()
    g = is_a.to_numpy(dtype=np.float64)
    term = f"{treat}×group_a"
    sub["_group_a"] = g
    sub[term] = pd.to_numeric(sub[treat]).to_numpy(dtype=np.float64) * g
    if interact == "full":
        ctrl: list[str] = []
        for c in controls:
            x = pd.to_numeric(sub[c]).to_numpy(dtype=np.float64)
            sub[f"{c}×group_a"] = x * g
            sub[f"{c}×group_b"] = x * (1.0 - g)
            ctrl += [f"{c}×group_a", f"{c}×group_b"]
        fe = [f"{inp.unit}^_group_a", f"{inp.time}^_group_a"]
    elif interact == "treatment":
        ctrl = list(controls)
        varies = sub.groupby(inp.unit)["_group_a"].nunique().gt(1).any()
        if varies:
            ctrl.append("_group_a")
        fe = inp.default_fe()
    else:
        raise ValidationError(f"unknown interact {interact!r}", fix="'full' or 'treatment'")
    return frame_twfe(
        sub,
        y,
        [treat, term],
        controls=ctrl,
        fe=fe,
        cluster=cluster if cluster is not None else inp.default_cluster(),
        weights=inp.weight,
        vcov=vcov,
        ssc=ssc,
    )


def _dimensions(inp: PanelInput, by: Any) -> list[tuple[str, pd.Series]]:
    frame = inp.frame
    if isinstance(by, str):
        require_columns(frame, [by])
        return [(by, frame[by])]
    if not isinstance(by, Mapping) or not by:
        raise ValidationError(
            "by must be a column name or a mapping {dimension: column or {unit: group}}"
        )
    out = []
    for dim, spec in by.items():
        if isinstance(spec, str):
            require_columns(frame, [spec])
            out.append((str(dim), frame[spec]))
        elif isinstance(spec, Mapping):
            mapped = frame[inp.unit].map(dict(spec))
            if mapped.isna().all():
                raise ValidationError(
                    f"the group mapping for {dim!r} matches no unit", column=inp.unit
                )
            out.append((str(dim), mapped))
        else:
            raise ValidationError(f"by[{dim!r}] must be a column name or a {{unit: group}} map")
    return out


def heterogeneity(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    by: str | Mapping[str, str | Mapping[Any, Any]] | None = None,
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    test: Test = "both",
    interact: Interact = "full",
    reps: int = 1000,
    seed: int | None = None,
    unit: str | None = None,
    time: str | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> HeterogeneityResult:
    """Split-sample baseline TWFE by group, and tests of the paired differences (Table 6).

    Parameters
    ----------
    data
        A Panel, or a DataFrame with ``unit`` and ``time`` named.
    y, treat, controls
        The baseline specification.
    by
        A column of group labels, or ``{dimension: column or {unit: group}}`` for several
        groupings (e.g. ``{"size": "large_city", "resource": "resource_based"}``). Rows with a
        missing group are left out of that dimension.
    test
        ``"interaction"``, ``"permutation"``, ``"both"`` (default) or ``"none"``.
    interact
        Interaction test with everything interacted (``"full"``, equals the split-sample
        difference) or only the treatment (``"treatment"``).
    reps, seed
        Permutations of the Fisher test and the seed of ``numpy.random.default_rng``
        (``None``: a fresh seed, recorded as ``result.seed``; decision record 0022).
    unit, time
        Column roles when ``data`` is a DataFrame (a Panel carries its own).
    fe, cluster, vcov, ssc
        For the split-sample regressions (defaults: unit and time FE, clustered by unit). The
        difference tests always use unit and time fixed effects (interacted with the group in
        the full interaction test); ``cluster``, ``vcov`` and ``ssc`` also apply to the
        interaction test.
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    HeterogeneityResult
        ``.models`` (``"<dimension>: <group>"``) and ``.differences`` (one row per pair).

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> res = ds.heterogeneity(panel, y="l_homicide", treat="post", by="south", reps=20, seed=1)
    >>> len(res.tidy())
    2
    """
    y, treat, controls, fe, cluster, vcov, ssc = single_treatment_model(
        "heterogeneity", spec, y=y, treat=treat, controls=controls,
        fe=fe, cluster=cluster, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    if by is None:
        raise ValidationError("heterogeneity needs the grouping 'by'", fix="pass by='<column>'")
    inp = panel_input("heterogeneity", data, unit, time, treat)
    require_columns(inp.frame, [y, treat, *controls])
    if test not in ("interaction", "permutation", "both", "none"):
        raise ValidationError(f"unknown test {test!r}")
    permute = test in ("permutation", "both")
    if reps < 1 and permute:
        raise ValidationError(f"reps must be positive, got {reps}")
    setup = _Setup(
        inp, y, treat, tuple(controls), test, interact, reps,
        resolve_seed(seed) if permute else seed, fe, cluster, vcov, ssc,
    )  # fmt: skip
    models: list[tuple[str, RegressionResult]] = []
    rows: list[dict[str, Any]] = []
    for dim, labels in _dimensions(inp, by):
        groups = sorted(pd.unique(labels.dropna()), key=lambda v: (str(type(v)), v))
        if len(groups) < 2:
            raise ValidationError(f"grouping {dim!r} has fewer than two groups: {groups}")
        fits = {g: _group_fit(setup, dim, g, labels) for g in groups}
        models += [(f"{dim}: {g}", fits[g]) for g in groups]
        invariant = bool(labels.groupby(inp.frame[inp.unit]).nunique(dropna=False).le(1).all())
        for a, b in itertools.combinations(groups, 2):
            rows.append(_pair_row(setup, dim, a, b, labels, fits, invariant))
    if not rows:
        raise EstimationError("heterogeneity: no pair of groups to compare")
    return HeterogeneityResult(
        models=ResultCollection(tuple(models)),
        differences=pd.DataFrame(rows),
        term=treat,
        seed=setup.seed if permute else None,
        options={"test": test, "interact": interact, "reps": reps},
    )


@dataclass(frozen=True)
class _Setup:
    """The arguments of one :func:`heterogeneity` call, shared by its helpers."""

    inp: PanelInput
    y: str
    treat: str
    controls: tuple[str, ...]
    test: str
    interact: Interact
    reps: int
    seed: int | None
    fe: Sequence[str] | None
    cluster: str | Sequence[str] | None
    vcov: Any
    ssc: Any


def _group_fit(setup: _Setup, dim: str, group: Any, labels: pd.Series) -> RegressionResult:
    """The baseline TWFE on one group; a group whose treatment cannot be estimated raises."""
    frame = setup.inp.frame.loc[(labels == group).to_numpy()]
    try:
        return fit_twfe(
            setup.inp, frame, setup.y, setup.treat, setup.controls, fe=setup.fe,
            cluster=setup.cluster, vcov=setup.vcov, ssc=setup.ssc,
        )  # fmt: skip
    except EstimationError as exc:
        raise EstimationError(
            f"heterogeneity: group {group!r} of {dim!r}: {exc.message}",
            column=exc.column,
            fix=f"merge group {group!r} with another one (it needs treated and comparison "
            "units), or drop it from the grouping",
        ) from None


def _pair_row(
    setup: _Setup,
    dim: str,
    a: Any,
    b: Any,
    labels: pd.Series,
    fits: dict[Any, RegressionResult],
    invariant: bool,
) -> dict[str, Any]:
    """One row of ``differences``: split estimates, interaction and permutation tests."""
    ea, eb = fits[a].term(setup.treat).estimate, fits[b].term(setup.treat).estimate
    row: dict[str, Any] = {
        "dimension": dim,
        "group_a": str(a),
        "group_b": str(b),
        "estimate_a": ea,
        "estimate_b": eb,
        "difference": ea - eb,
        "interaction_estimate": None,
        "interaction_std_error": None,
        "interaction_statistic": None,
        "interaction_p_value": None,
        "permutation_p_value": None,
        "permutation_reps": None,
    }
    needed = [setup.y, setup.treat, *setup.controls]
    pair = setup.inp.frame.loc[labels.isin([a, b]).to_numpy()]
    pair = pair.loc[pair[needed].notna().all(axis=1).to_numpy()]
    is_a = (labels.loc[pair.index] == a).astype(bool)
    if setup.test in ("interaction", "both"):
        fit = interaction_test(
            setup.inp, pair, setup.y, setup.treat, setup.controls, is_a,
            interact=setup.interact, cluster=setup.cluster, vcov=setup.vcov, ssc=setup.ssc,
        )  # fmt: skip
        est = fit.term(f"{setup.treat}×group_a")
        row.update(
            interaction_estimate=est.estimate,
            interaction_std_error=est.std_error,
            interaction_statistic=est.statistic,
            interaction_p_value=est.p_value,
        )
    if setup.test in ("permutation", "both"):
        row.update(_permutation(setup, dim, pair, is_a, invariant))
    return row


def _permutation(
    setup: _Setup, dim: str, pair: pd.DataFrame, is_a: pd.Series, invariant: bool
) -> dict[str, Any]:
    if not invariant:
        raise ValidationError(
            f"grouping {dim!r} changes within units; the permutation test permutes units' groups",
            fix="define the group from one base year, or use test='interaction'",
        )
    if setup.fe is not None:
        warnings.warn(
            "heterogeneity: the permutation test uses unit and time fixed effects",
            DidstudyWarning,
            stacklevel=4,
        )
    _, p, valid = permutation_test(
        pair, setup.y, setup.treat, setup.controls, setup.inp.unit, setup.inp.time, is_a,
        reps=setup.reps, seed=setup.seed, weights=setup.inp.weight,
    )  # fmt: skip
    return {"permutation_p_value": p, "permutation_reps": valid}
