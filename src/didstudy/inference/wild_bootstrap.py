"""Wild cluster bootstrap of a linear hypothesis on a TWFE, stepwise or event-study coefficient.

Restricted (WCR, null imposed) and unrestricted (WCU) wild cluster bootstrap t tests
(Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017), computed with the "fast and wild"
algebra of Roodman, MacKinnon, Nielsen & Webb (2019) in :mod:`didstudy.inference.wild_kernel`:
one pass over the data, then O(G·k) per draw; all ``2^G`` sign vectors when that is at most
``reps`` (exact); confidence intervals by inverting the bootstrap test.

Results keep no data, so the bootstrap takes the data explicitly and re-builds the design from
the result's specification, then checks that it reproduces the result's coefficients and
standard errors (decision 0051).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as st

from didstudy.data.seed import resolve_seed
from didstudy.errors import DataError, EstimationError, PanelWarning, ValidationError
from didstudy.estimation.design import DemeanedDesign, prepare_twfe
from didstudy.estimation.event_study import _event_sample, _resolve, relative_time_design
from didstudy.inference.wild_kernel import (
    BootstrapDraws,
    FloatArray,
    VarianceTerm,
    WeightKind,
    WildDesign,
    draw_statistics,
    enumerate_signs,
)
from didstudy.inference.wild_linear import LinearEstimator, linear_draws
from didstudy.inference.wild_robust import LINEAR, SATURATED, linear_problem, saturated_problem
from didstudy.kernels.demean import demean
from didstudy.kernels.fixed_effects import is_nested
from didstudy.kernels.vcov import SmallSampleCorrection, resolve_ssc
from didstudy.results.bootstrap import WildBootstrapResult
from didstudy.results.event_study import EventStudyResult
from didstudy.results.regression import RegressionResult

__all__ = ["wild_bootstrap"]

PType = Literal["symmetric", "equal_tail"]
Hypothesis = str | Mapping[str, float]

#: The re-built design must reproduce the result's coefficients and standard errors to this
#: relative precision (both are the same least squares; differences are rounding).
REPRODUCE_RTOL = 1e-6
#: Levels of fixed effects not nested in the bootstrap clusters that enter as dummy columns.
MAX_DUMMY_LEVELS = 5000
#: Relative slack so that draws reproducing the observed statistic count as ties.
TIE_RTOL = 1e-10
#: Bisection steps of the test inversion (interval located to ~2^-60 of its bracket).
INVERSION_STEPS = 60


@dataclass(frozen=True)
class _Spec:
    """The regression behind a result, re-built from the data."""

    frame: pd.DataFrame
    y: str
    regressors: tuple[str, ...]
    fe: tuple[str, ...]
    clusters: tuple[str, ...]
    weights: str | None
    ssc: SmallSampleCorrection


def wild_bootstrap(
    result: RegressionResult | EventStudyResult,
    data: Any,
    hypothesis: Hypothesis,
    *,
    reps: int = 9999,
    weights: WeightKind = "rademacher",
    impose_null: bool = True,
    cluster: str | Sequence[str] | None = None,
    bootstrap_cluster: str | None = None,
    seed: int | None = None,
    alpha: float = 0.05,
    null: float = 0.0,
    p_type: PType = "symmetric",
    fe: Sequence[str] | None = None,
    regression_weights: str | None = None,
    ssc: str | Mapping[str, Any] | None = None,
    unit: str | None = None,
    time: str | None = None,
    cohort: str | None = None,
    treat: str | None = None,
    estimator_args: Mapping[str, Any] | None = None,
) -> WildBootstrapResult:
    """Wild cluster bootstrap p-value and confidence interval of a coefficient or combination.

    Parameters
    ----------
    result
        A TWFE or stepwise column (:class:`RegressionResult`) or an event study
        (:class:`EventStudyResult`): TWFE on relative-time dummies, or the linear robust
        estimators ``imputation``, ``did2s``, ``sun_abraham`` and ``etwfe`` (decision 0054).
    data
        The Panel or DataFrame the result was estimated on (a Panel for the robust estimators).
    hypothesis
        A term (``"policy"``, ``"rel_time::0"``), ``"post_average"`` (event study), an
        aggregate of a robust result (``"att"``, ``"simple"``, ``"cohort::2004"``) or a mapping
        ``{term: weight}`` for a linear combination.
    reps
        Draws; with Rademacher weights and ``2^G <= reps`` all sign vectors are enumerated.
    weights
        Bootstrap weights: ``"rademacher"``, ``"webb"`` (advised for G < 12), ``"mammen"``,
        ``"normal"``.
    impose_null
        WCR (True, advised) or WCU.
    cluster
        Variance clusters (default: the result's); two names for two-way clustering.
    bootstrap_cluster
        Cluster whose residuals share a weight (default: the variance cluster with the fewest
        clusters); a finer variable gives the subcluster bootstrap (MacKinnon & Webb 2018).
    seed
        Seed of the draws; None draws fresh entropy (the seed used is on the result).
    alpha, null, p_type
        Interval level ``1 - alpha``; the null value; ``"symmetric"`` (|t*| ≥ |t|) or
        ``"equal_tail"`` p-values.
    fe, regression_weights, ssc, unit, time, cohort, treat
        The result's fixed effects, analytic-weight column, small-sample convention and (event
        study on a DataFrame) column roles, when they cannot be read from the result or panel.
    estimator_args
        Robust estimators only: keyword arguments of the estimator call that the result does not
        record (``fe=`` of ``imputation``/``did2s``/``etwfe``, ``horizons=``, ``avg_effects_by=``,
        ``leave_out=``, ``window=``, ``base=``, ``control_group=``); the re-built estimator must
        reproduce the result's estimate and standard error.

    Returns
    -------
    WildBootstrapResult
        p-value, interval by test inversion, analytic counterparts and the bootstrap t draws.

    Notes
    -----
    Roodman, MacKinnon, Nielsen & Webb (2019), "Fast and wild", Stata Journal 19(1): eq. (16)
    for the restricted residuals, section 4 for the per-draw algebra, section 3.5 for the
    inversion. p = #{|t*| ≥ |t|} / B as boottest; with enumeration the observed sign vector is
    one of the ``2^G`` draws.

    Examples
    --------
    >>> res = ds.twfe(panel, y="y", treat="policy")  # doctest: +SKIP
    >>> wild_bootstrap(res, panel, "policy", reps=9999, seed=1).p_value  # doctest: +SKIP
    """
    if not 0.0 < alpha < 1.0:
        raise ValidationError(f"alpha must lie in (0, 1), got {alpha}")
    if reps < 1:
        raise ValidationError(f"reps must be positive, got {reps}")
    if weights not in ("rademacher", "webb", "mammen", "normal"):
        raise ValidationError(
            f"unknown bootstrap weights {weights!r}",
            fix="use 'rademacher', 'webb', 'mammen' or 'normal'",
        )
    if p_type not in ("symmetric", "equal_tail"):
        raise ValidationError(f"p_type must be 'symmetric' or 'equal_tail', not {p_type!r}")
    estimator = getattr(result, "estimator", "twfe")
    if estimator not in ("twfe", *LINEAR, *SATURATED):
        raise EstimationError(
            f"the wild cluster bootstrap re-estimates a linear regression estimator; a "
            f"{estimator} result is not one (TWFE, stepwise, its event study, imputation, "
            "did2s, sun_abraham and etwfe are)",
            fix="for Callaway-Sant'Anna use its multiplier bootstrap: "
            "callaway_santanna(..., bootstrap=True)"
            if estimator == "callaway_santanna"
            else "bootstrap one of the estimators named above",
        )
    name, terms, coefs = _hypothesis(result, hypothesis)
    if isinstance(result, EventStudyResult) and result.estimator in LINEAR + SATURATED:
        problem = _robust_problem(
            result, data, dict(zip(terms, coefs, strict=True)), cluster, bootstrap_cluster,
            estimator_args or {}, impose_null, weights, reps,
        )  # fmt: skip
    else:
        if estimator_args:
            raise ValidationError(
                "estimator_args applies to imputation, did2s, sun_abraham and etwfe results",
                fix="pass fe=/regression_weights=/ssc= for TWFE results",
            )
        problem = _regression_problem(
            result, data, terms, coefs, impose_null, weights, reps, cluster, bootstrap_cluster,
            (fe, regression_weights, ssc, unit, time, cohort, treat),
        )  # fmt: skip
    n_boot = problem.n_boot
    enumerated = weights == "rademacher" and n_boot < 63 and 2**n_boot <= reps
    used_seed: int | None = None
    if enumerated:
        draws = problem.kernel(enumerate_signs(n_boot), None)
    else:
        used_seed = resolve_seed(seed)
        draws = problem.kernel(None, np.random.default_rng(used_seed))
    _check_combination(problem, draws)
    low, high = _invert(draws, alpha, p_type)
    t_obs = draws.t_observed(null)
    crit = float(st.t.ppf(1.0 - alpha / 2.0, problem.df_t))
    return WildBootstrapResult(
        name=name,
        terms=terms,
        weights=coefs,
        null=float(null),
        estimate=draws.estimate,
        std_error=draws.se,
        statistic=t_obs,
        p_value=_p_value(draws, null, p_type),
        conf_low=low,
        conf_high=high,
        analytic_p_value=float(2.0 * st.t.sf(abs(t_obs), problem.df_t)),
        analytic_conf_low=draws.estimate - crit * draws.se,
        analytic_conf_high=draws.estimate + crit * draws.se,
        alpha=alpha,
        method="WCR" if impose_null else "WCU",
        weight_kind=weights,
        p_type=p_type,
        reps=int(draws.n0.size),
        enumerated=enumerated,
        clusters=problem.clusters,
        bootstrap_cluster=problem.boot_name,
        n_clusters=problem.n_clusters,
        n_boot_clusters=n_boot,
        seed=used_seed,
        t_draws=draws.t_stats(null),
    )


@dataclass(frozen=True)
class _Problem:
    """What the entry needs from either path: a draw kernel and the cluster bookkeeping."""

    kernel: Callable[[FloatArray | None, np.random.Generator | None], BootstrapDraws]
    n_boot: int
    df_t: float
    clusters: tuple[str, ...]
    boot_name: str
    n_clusters: tuple[int, ...]
    target: tuple[float, float] | None = None


def _regression_problem(
    result: RegressionResult | EventStudyResult,
    data: Any,
    terms: tuple[str, ...],
    coefs: tuple[float, ...],
    impose_null: bool,
    weights: WeightKind,
    reps: int,
    cluster: str | Sequence[str] | None,
    bootstrap_cluster: str | None,
    roles: tuple[Any, ...],
) -> _Problem:
    """TWFE, stepwise and TWFE event-study results: the regression re-built from the data."""
    spec = _spec(result, data, cluster, *roles)
    full = prepare_twfe(
        spec.frame,
        spec.y,
        (),
        spec.fe,
        list(spec.clusters),
        spec.weights,
        treat=list(spec.regressors),
        ssc=spec.ssc,
    )
    refit = full.fit(list(spec.regressors))
    _check_reproduces(result, refit, cluster is None)
    boot_name = bootstrap_cluster or _fewest(full, spec.clusters)
    boot_codes = full._cluster_codes_for([boot_name])[0]
    design = _wild_design(full, spec, refit, boot_codes)
    R = np.zeros(design.X.shape[1])
    for term, w in zip(terms, coefs, strict=True):
        R[spec.regressors.index(term)] = w
    return _Problem(
        kernel=_regression_kernel(design, R, impose_null, weights, reps),
        n_boot=design.n_boot_clusters,
        df_t=float(refit.df_t),
        clusters=spec.clusters,
        boot_name=boot_name,
        n_clusters=tuple(int(t.codes.max()) + 1 for t in design.terms[: len(spec.clusters)]),
    )


def _regression_kernel(
    design: WildDesign, R: FloatArray, impose_null: bool, weights: WeightKind, reps: int
) -> Callable[[FloatArray | None, np.random.Generator | None], BootstrapDraws]:
    def kernel(signs: FloatArray | None, rng: np.random.Generator | None) -> BootstrapDraws:
        return draw_statistics(
            design, R, signs, restricted=impose_null, rng=rng, reps=reps, kind=weights
        )

    return kernel


def _linear_kernel(
    est: LinearEstimator, codes: Any, impose_null: bool, weights: WeightKind, reps: int
) -> Callable[[FloatArray | None, np.random.Generator | None], BootstrapDraws]:
    def kernel(signs: FloatArray | None, rng: np.random.Generator | None) -> BootstrapDraws:
        return linear_draws(
            est, codes, signs, restricted=impose_null, rng=rng, reps=reps, kind=weights
        )

    return kernel


def _robust_problem(
    result: EventStudyResult,
    data: Any,
    combo: dict[str, float],
    cluster: str | Sequence[str] | None,
    bootstrap_cluster: str | None,
    args: Mapping[str, Any],
    impose_null: bool,
    weights: WeightKind,
    reps: int,
) -> _Problem:
    """Imputation, two-stage, Sun-Abraham and ETWFE event studies (decision 0054)."""
    if not (hasattr(data, "frame") and hasattr(data, "unit")):
        raise ValidationError(
            f"the {result.estimator} bootstrap re-builds the estimator from its Panel",
            fix="pass the didstudy.Panel the result was estimated on",
        )
    names = _names(cluster)
    if len(names) > 1:
        raise ValidationError(
            f"the {result.estimator} estimator clusters one way; two-way clustering is not "
            "available for its bootstrap",
            fix="pass one cluster column",
        )
    spec = getattr(result, "spec", None)
    weighted = spec.weights if spec is not None else None
    if weighted is not None and result.estimator in LINEAR:
        raise ValidationError(
            f"the {result.estimator} result is weighted ({weighted!r}); the wild bootstrap of "
            "imputation and two-stage estimates is unweighted for now (decision 0054)",
            fix="bootstrap the unweighted estimator, or use the analytic standard errors",
        )
    cl = names[0] if names else None
    recorded = tuple(spec.cluster or ()) if spec is not None else ()
    cl_name = cl or (recorded[0] if recorded else None) or getattr(data, "cluster", None)
    cl_name = cl_name or str(data.unit)
    if bootstrap_cluster not in (None, cl_name):
        raise ValidationError(
            f"the {result.estimator} bootstrap draws one weight per variance cluster "
            f"({cl_name!r}); a different bootstrap cluster is available for TWFE results",
            fix="leave bootstrap_cluster unset",
        )
    target = _target(result, combo)
    if target is not None and cl is not None:  # another cluster: only the estimate must agree
        target = (target[0], float("nan"))
    kernel: Callable[[FloatArray | None, np.random.Generator | None], BootstrapDraws]
    if result.estimator in LINEAR:
        est, codes = linear_problem(data, result, combo, args, cl_name)
        n_boot = int(codes.max()) + 1

        kernel = _linear_kernel(est, codes, impose_null, weights, reps)

    else:
        prob = saturated_problem(data, result, combo, args, cl_name, weighted)
        w_col = "_w" if weighted is not None else None
        spec = _Spec(prob.frame, "_y", prob.regressors, prob.fe, ("_cluster",), w_col,
                     resolve_ssc("fixest"))  # fmt: skip
        full = prepare_twfe(spec.frame, "_y", (), spec.fe, ["_cluster"], w_col,
                            treat=list(spec.regressors), ssc=spec.ssc)  # fmt: skip
        refit = full.fit(list(spec.regressors))
        codes = full._cluster_codes_for(["_cluster"])[0]
        design = _wild_design(full, spec, refit, codes)
        R = np.zeros(design.X.shape[1])
        R[: prob.R.size] = prob.R
        kernel = _regression_kernel(design, R, impose_null, weights, reps)
        n_boot = design.n_boot_clusters
    return _Problem(kernel, n_boot, float(result.df_t), (cl_name,), cl_name, (n_boot,), target)


def _target(result: EventStudyResult, combo: Mapping[str, float]) -> tuple[float, float] | None:
    """The result's own estimate and standard error of the combination, when it has them."""
    terms = list(result.terms)
    aggs = {a.name: a for a in result.aggregates}
    if all(k in terms for k in combo):
        r = np.zeros(len(terms))
        for k, w in combo.items():
            r[terms.index(k)] += w
        return float(r @ result.coef), float(np.sqrt(max(float(r @ result.vcov @ r), 0.0)))
    if len(combo) == 1:
        ((k, w),) = combo.items()
        if k in aggs:
            return w * aggs[k].estimate, abs(w) * aggs[k].std_error
    return None


def _check_combination(problem: _Problem, draws: BootstrapDraws) -> None:
    if problem.target is None:
        return
    est, se = problem.target
    for what, mine, theirs in (("estimate", draws.estimate, est), ("standard error", draws.se, se)):
        if np.isnan(theirs):
            continue
        if not abs(mine - theirs) <= REPRODUCE_RTOL * max(abs(theirs), 1e-12) + 1e-12:
            raise DataError(
                f"the data do not reproduce the result's {what} ({mine:.10g} vs {theirs:.10g})",
                fix="pass the Panel the result was estimated on, and estimator_args= with the "
                "estimator's arguments the result does not record (e.g. fe=, horizons=)",
            )


# ----- hypothesis ---------------------------------------------------------------------------
def _hypothesis(
    result: RegressionResult | EventStudyResult, hypothesis: Hypothesis
) -> tuple[str, tuple[str, ...], tuple[float, ...]]:
    terms = tuple(result.terms)
    if isinstance(result, EventStudyResult):
        terms += tuple(a.name for a in result.aggregates if a.name not in terms)
    if isinstance(hypothesis, str):
        if hypothesis == "post_average" and isinstance(result, EventStudyResult):
            if result.post_average is None:
                raise ValidationError("this event study has no post-period coefficient")
            pa = result.post_average
            return "post_average", tuple(pa.terms), tuple(float(w) for w in pa.weights)
        if hypothesis not in terms:
            raise ValidationError(
                f"no coefficient named {hypothesis!r}",
                fix=f"use one of {list(terms)}"
                + (" or 'post_average'" if isinstance(result, EventStudyResult) else ""),
            )
        return hypothesis, (hypothesis,), (1.0,)
    if not isinstance(hypothesis, Mapping) or not hypothesis:
        raise ValidationError(
            "hypothesis must be a term name or a non-empty mapping {term: weight}"
        )
    unknown = [t for t in hypothesis if t not in terms]
    if unknown:
        raise ValidationError(f"unknown terms {unknown}", fix=f"use terms of {list(terms)}")
    return "lincomb", tuple(hypothesis), tuple(float(w) for w in hypothesis.values())


# ----- the regression behind the result -----------------------------------------------------
def _spec(
    result: RegressionResult | EventStudyResult,
    data: Any,
    cluster: str | Sequence[str] | None,
    fe: Sequence[str] | None,
    regression_weights: str | None,
    ssc: str | Mapping[str, Any] | None,
    unit: str | None,
    time: str | None,
    cohort: str | None,
    treat: str | None,
) -> _Spec:
    is_panel = hasattr(data, "frame") and not isinstance(data, pd.DataFrame)
    panel_weight = getattr(data, "weight", None) if is_panel else None
    if isinstance(result, EventStudyResult):
        frame, fe_cols, cl, w = _event_frame(result, data, fe, cluster, unit, time, cohort, treat)
        regressors = tuple(result.terms)
        clusters = _names(cluster) or (cl,)
        return _Spec(
            frame, result.outcome, regressors, fe_cols, clusters, w, resolve_ssc(ssc or None)
        )
    if not isinstance(result, RegressionResult):
        raise ValidationError(
            f"wild_bootstrap takes a RegressionResult or an EventStudyResult, "
            f"not {type(result).__name__}"
        )
    frame = data.frame if is_panel else data
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"data must be a Panel or a DataFrame, not {type(data).__name__}")
    fe_names = tuple(fe) if fe is not None else tuple(result.fit_stats.get("fixed_effects", ()))
    clusters = _names(cluster) or tuple(result.clusters)
    if not clusters:
        raise ValidationError(
            "the wild cluster bootstrap needs cluster variables; the result is not clustered",
            fix="pass cluster='unit' (or the variable to cluster on)",
        )
    w = regression_weights or (panel_weight if result.fit_stats.get("weighted") else None)
    if result.fit_stats.get("weighted") and w is None:
        raise ValidationError(
            "the result is weighted but the weight column is unknown",
            fix="pass regression_weights='<column>'",
        )
    use_ssc = resolve_ssc(ssc) if ssc is not None else resolve_ssc(result.ssc)
    return _Spec(frame, result.depvar, tuple(result.terms), fe_names, clusters, w, use_ssc)


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split("+") if p.strip())
    return tuple(value)


def _event_frame(
    result: EventStudyResult,
    data: Any,
    fe: Sequence[str] | None,
    cluster: str | Sequence[str] | None,
    unit: str | None,
    time: str | None,
    cohort: str | None,
    treat: str | None,
) -> tuple[pd.DataFrame, tuple[str, ...], str, str | None]:
    """The event study's estimation frame with its relative-time dummies (as ``event_study``)."""
    one_cluster = cluster if isinstance(cluster, str) else None
    frame, unit_col, time_col, g_s, cl, w = _resolve(
        data, unit, time, cohort, treat, one_cluster, None
    )
    fe_cols = tuple(fe) if fe is not None else (unit_col, time_col)
    cols = list(dict.fromkeys([result.outcome, *result.controls, *fe_cols, cl]))
    with warnings.catch_warnings():  # the event study itself warned about these rows
        warnings.simplefilter("ignore", PanelWarning)
        rows, times, g, treated = _event_sample(
            frame,
            cols,
            w,
            g_s,
            unit_col,
            time_col,
            result.control_group,  # type: ignore[arg-type]
        )
    keep, dummies, rel = relative_time_design(
        times - g,
        treated,
        result.window,
        result.base,
        result.endpoints,  # type: ignore[arg-type]
        result.control_group,  # type: ignore[arg-type]
    )
    sub = frame.iloc[rows[keep]][list(dict.fromkeys(cols + ([w] if w else [])))]
    names = {f"rel_time::{k}": dummies[:, j] for j, k in enumerate(rel)}
    return sub.assign(**names), fe_cols, cl, w


def _check_reproduces(
    result: RegressionResult | EventStudyResult, refit: RegressionResult, same_vcov: bool
) -> None:
    mine = refit.coef.reindex(list(result.terms)).to_numpy()
    theirs = np.asarray(result.coef if isinstance(result, EventStudyResult) else result.params)
    scale = np.maximum(np.abs(theirs), 1e-12)
    bad = ~(np.abs(mine - theirs) <= REPRODUCE_RTOL * scale + 1e-12)
    if not bad.any() and same_vcov:
        se_mine = refit.se.reindex(list(result.terms)).to_numpy()
        se_theirs = np.sqrt(
            np.diag(np.asarray(result.vcov if isinstance(result, EventStudyResult) else result.cov))
        )
        bad = ~(np.abs(se_mine - se_theirs) <= REPRODUCE_RTOL * se_theirs)
        what = "standard errors"
    else:
        what = "coefficients"
    if bad.any():
        term = list(result.terms)[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"the data do not reproduce the result's {what} (first: {term})",
            column=term,
            fix="pass the data the result was estimated on, and fe=/regression_weights=/ssc= "
            "if they differ from the defaults",
        )


def _fewest(design: DemeanedDesign, clusters: tuple[str, ...]) -> str:
    sizes = [int(c.max()) + 1 for c in design._cluster_codes_for(list(clusters))]
    return clusters[int(np.argmin(sizes))]


# ----- the design the kernel works on -------------------------------------------------------
def _wild_design(
    full: DemeanedDesign, spec: _Spec, refit: RegressionResult, boot_codes: Any
) -> WildDesign:
    """Partial out the fixed effects nested in the bootstrap clusters; others become dummies."""
    sample_frame = spec.frame.loc[full.sample] if not full.sample.all() else spec.frame
    nested = [f for f in full.fe if is_nested(f.codes, boot_codes)]
    others = [f for f in full.fe if not is_nested(f.codes, boot_codes)]
    raw = np.column_stack(
        [sample_frame[c].to_numpy(dtype=np.float64) for c in (spec.y, *spec.regressors)]
    )
    dummies = _dummies(others, full.nobs, intercept=not nested)
    mat = np.column_stack([raw, dummies]) if dummies.size else raw
    if nested:
        mat = demean(np.asfortranarray(mat), nested, full.weights)
    y, X = mat[:, 0], mat[:, 1:]
    X = _drop_collinear_dummies(X, len(spec.regressors))
    if full.weights is not None:
        sw = np.sqrt(full.weights)
        X, y = X * sw[:, np.newaxis], y * sw
    codes = full._cluster_codes_for(list(spec.clusters))
    n = full.nobs
    k_total = int(refit.fit_stats["k"]) + int(refit.fit_stats["k_fe"])
    adj = (n - 1) / (n - k_total) if spec.ssc.adj else 1.0
    return WildDesign(np.ascontiguousarray(X), y, boot_codes, _variance_terms(codes, spec.ssc), adj)


def _dummies(fes: Sequence[Any], n: int, *, intercept: bool) -> np.ndarray[Any, Any]:
    levels = sum(f.n_levels for f in fes)
    if levels > MAX_DUMMY_LEVELS:
        raise EstimationError(
            f"{levels} fixed-effect levels are not nested in the bootstrap clusters",
            fix="bootstrap on a cluster variable in which the large fixed effect is nested",
        )
    cols = [np.ones(n)] if intercept else []
    for f in fes:
        onehot = np.zeros((n, f.n_levels))
        onehot[np.arange(n), f.codes] = 1.0
        cols.append(onehot[:, 1:])
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def _drop_collinear_dummies(X: np.ndarray[Any, Any], n_keep: int) -> np.ndarray[Any, Any]:
    """Drop dummy columns (after the first ``n_keep``) collinear with earlier columns."""
    if X.shape[1] == n_keep:
        return X
    from didstudy.kernels.ols import screen_collinear

    kept, _, _ = screen_collinear(X.T @ X)
    if any(j not in kept for j in range(n_keep)):
        raise EstimationError("a tested regressor is collinear with the fixed-effect dummies")
    out: np.ndarray[Any, Any] = X[:, kept]
    return out


def _variance_terms(codes: Sequence[Any], ssc: SmallSampleCorrection) -> tuple[VarianceTerm, ...]:
    """CRV1 meat terms with their signed ``G/(G-1)`` factors (Cameron, Gelbach & Miller 2011)."""
    g_min = min(int(c.max()) + 1 for c in codes)
    terms = []
    for size in range(1, len(codes) + 1):
        sign = 1.0 if size % 2 else -1.0
        for subset in combinations(range(len(codes)), size):
            combined = np.zeros(codes[0].shape[0], dtype=np.int64)
            for i in subset:
                combined = combined * (int(codes[i].max()) + 1) + codes[i]
            cc = np.unique(combined, return_inverse=True)[1].reshape(-1).astype(np.intp)
            g = int(cc.max()) + 1
            if not ssc.cluster_adj:
                gfac = 1.0
            elif ssc.cluster_df == "min":
                gfac = g_min / (g_min - 1)
            else:
                gfac = g / (g - 1) if g > 1 else 1.0
            terms.append(VarianceTerm(cc, sign * gfac))
    return tuple(terms)


# ----- p-values and test inversion ----------------------------------------------------------
def _p_value(draws: BootstrapDraws, null: float, p_type: PType) -> float:
    t_star = draws.t_stats(null)
    t = draws.t_observed(null)
    slack = TIE_RTOL * max(abs(t), 1.0)
    valid = np.isfinite(t_star)
    t_star = t_star[valid]
    if t_star.size == 0:
        return float("nan")
    if p_type == "symmetric":
        return float(np.mean(np.abs(t_star) >= abs(t) - slack))
    low = float(np.mean(t_star <= t + slack))
    high = float(np.mean(t_star >= t - slack))
    return min(1.0, 2.0 * min(low, high))


def _invert(draws: BootstrapDraws, alpha: float, p_type: PType) -> tuple[float, float]:
    """Interval ``{r : p(r) > alpha}`` by bisection on each side of the estimate."""
    est, se = draws.estimate, draws.se
    if not (np.isfinite(se) and se > 0):
        return float("nan"), float("nan")
    bounds = []
    for direction in (-1.0, 1.0):
        inner, outer = est, est + direction * 2.0 * se
        for _ in range(60):
            if _p_value(draws, outer, p_type) <= alpha:
                break
            inner, outer = outer, est + 2.0 * (outer - est)
        else:
            bounds.append(direction * float("inf"))
            continue
        for _ in range(INVERSION_STEPS):
            mid = 0.5 * (inner + outer)
            if _p_value(draws, mid, p_type) > alpha:
                inner = mid
            else:
                outer = mid
        bounds.append(0.5 * (inner + outer))
    return bounds[0], bounds[1]
