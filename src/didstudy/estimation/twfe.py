"""Two-way (and multi-way) fixed-effects regression: ``twfe`` and the stepwise table ``stepwise``.

The TWFE difference-in-differences regression

    y_it = beta' D_it + gamma' X_it + alpha_i + lambda_t + e_it

is estimated by absorbing the fixed effects (within transformation, see
:mod:`didstudy.kernels.demean`) and running least squares on the demeaned data
(Frisch–Waugh–Lovell). Standard errors follow :mod:`didstudy.kernels.vcov`; the default matches
fixest's clustered standard errors. Like fixest, no intercept is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from didstudy.data.panel import Panel, panel_for
from didstudy.errors import EstimationError
from didstudy.estimation.design import DemeanedDesign, prepare_twfe
from didstudy.kernels.vcov import SmallSampleCorrection
from didstudy.results.regression import RegressionResult, ResultCollection
from didstudy.results.spec import Baseline

__all__ = ["DemeanedDesign", "baseline_for", "fit_frame", "prepare_twfe", "stepwise", "twfe"]


def _treat_list(treat: str | Sequence[str]) -> list[str]:
    if isinstance(treat, str):
        return [treat]
    names = [str(t) for t in treat]
    if not names:
        raise EstimationError("at least one treatment column is required")
    return names


def baseline_for(
    caller: str,
    spec: Baseline | None,
    *,
    required: Sequence[str] = ("y", "treat"),
    **overrides: Any,
) -> Baseline:
    """The spec an estimator runs: ``spec`` (or an empty one) with explicit keywords on top.

    Keyword arguments left at ``None`` keep the spec's value; the fields in ``required``
    must be set one way or the other (decision record 0021).
    """
    base = (spec if spec is not None else Baseline()).override(**overrides)
    base.require(*required, caller=caller)
    return base


def single_treatment_model(
    caller: str, spec: Baseline | None, **overrides: Any
) -> tuple[str, str, list[str], tuple[str, ...] | None, tuple[str, ...] | None, Any, Any]:
    """``y, treat, controls, fe, cluster, vcov, ssc`` of :func:`baseline_for`'s spec for the
    estimators of one treatment regressor (robustness, heterogeneity, mechanisms)."""
    base = baseline_for(caller, spec, **overrides)
    y, treat, controls = base.y or "", (base.treat or ("",))[0], list(base.controls)
    return y, treat, controls, base.fe, base.cluster, base.vcov_arg, base.ssc_arg


def _absorbed_treatment(res: RegressionResult, names: Sequence[str]) -> None:
    """Raise when a treatment regressor was dropped (issue 9: never a silently missing row)."""
    lost = {n: res.dropped[n] for n in names if n in res.dropped}
    if lost:
        raise _not_estimable(*next(iter(lost.items())))


def _not_estimable(name: str, reason: str) -> EstimationError:
    return EstimationError(
        f"the treatment cannot be estimated: it is {reason} (for example a treatment without "
        "treated units, without comparison units, or adopted by every unit at once).",
        column=name,
        fix="check the treatment timing with didstudy.as_panel(...).require_estimable() or "
        "'didstudy panel'; drop the regressor it duplicates, or add never- or later-treated "
        "units.",
    )


def fit_frame(
    frame: pd.DataFrame | Panel,
    spec: Baseline,
    *,
    drop_singletons: bool = True,
    require_treatment: bool = True,
) -> RegressionResult:
    """Fit ``spec`` on an already validated sample (the frame level used inside estimators).

    A treatment regressor dropped as collinear raises :class:`EstimationError` unless
    ``require_treatment`` is False (event-study dummies, which the caller reports).
    """
    assert spec.y is not None and spec.treat is not None
    names = list(spec.treat)
    design = prepare_twfe(
        frame,
        spec.y,
        spec.controls,
        spec.fe,
        list(spec.cluster) if spec.cluster else None,
        spec.weights,
        treat=names,
        vcov=spec.vcov_arg,
        ssc=spec.ssc_arg,
        drop_singletons=drop_singletons,
    )
    try:
        res = design.fit(names)
    except EstimationError as exc:
        if require_treatment and "every regressor" in exc.message:
            raise _not_estimable(names[0], "collinear with the fixed effects") from None
        raise
    if require_treatment:
        _absorbed_treatment(res, names)
    return replace(res, spec=spec)


def twfe(
    data: Panel,
    y: str | None = None,
    treat: str | Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    fe: Sequence[str] | str | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    vcov: str | Mapping[str, Any] | None = None,
    ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
    *,
    spec: Baseline | None = None,
    unit: str | None = None,
    time: str | None = None,
    drop_singletons: bool = True,
) -> RegressionResult:
    """Two-way fixed-effects regression of ``y`` on the treatment(s) and controls.

    Parameters
    ----------
    data
        A :class:`didstudy.Panel` (``fe`` defaults to unit and time, ``cluster`` to the panel's
        cluster column or the unit, ``weights`` to the panel's weight). A DataFrame is
        accepted only with ``unit=`` and ``time=`` and goes through :func:`didstudy.as_panel`
        with the first treatment column as the treatment role (decision record 0020).
    y
        Outcome column (or ``spec.y``).
    treat
        Treatment column, or several (e.g. ``["policy", "policy_pre1"]``); or ``spec.treat``.
    controls
        Control columns (time-varying; columns collinear with the fixed effects are dropped
        with a :class:`~didstudy.errors.CollinearityWarning`).
    fe
        Absorbed fixed effects: column names or interactions ``"province^year"``.
    cluster
        Cluster column(s): ``"unit"``, ``"unit+year"`` or a list for two-way clustering.
    weights
        Analytic weights column.
    vcov
        ``None`` (CRV1 on ``cluster``), ``"iid"``, ``"hc1"``, ``"crv1"`` or
        ``{"crv1": "a+b"}``.
    ssc
        Small-sample convention: ``None``/``"fixest"`` (default), ``"stata"``/``"reghdfe"``,
        ``"none"`` or a mapping of :class:`~didstudy.kernels.vcov.SmallSampleCorrection`
        fields (see ``docs/decisions/0001-small-sample-corrections.md``).
    spec
        A :class:`didstudy.Baseline`; the keyword arguments above override its fields.
    unit, time
        Column roles of a DataFrame ``data``.
    drop_singletons
        Drop singleton observations (default True, as reghdfe; counted in ``stats()``).

    Returns
    -------
    RegressionResult
        Frozen result: ``coef``, ``se``, ``vcov``, ``tidy()``, ``stats()``, ``with_vcov()``;
        ``spec`` holds the resolved :class:`didstudy.Baseline`.

    Raises
    ------
    EstimationError
        A treatment regressor is collinear with the fixed effects or the other regressors.

    Examples
    --------
    >>> import didstudy as ds
    >>> castle = ds.as_panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> ds.twfe(castle, y="l_homicide", treat="post").coef["post"]  # doctest: +SKIP
    0.0818116169306475
    """
    base = baseline_for(
        "twfe", spec, y=y, treat=treat, controls=controls, fe=fe, cluster=cluster,
        weights=weights, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    assert base.treat is not None
    panel = panel_for("twfe", data, unit=unit, time=time, treat=_role(data, base.treat))
    return fit_frame(panel, base, drop_singletons=drop_singletons)


def _role(data: object, treat: Sequence[str]) -> str | None:
    """The treatment role of a DataFrame input: its first treatment column."""
    return treat[0] if isinstance(data, pd.DataFrame) else None


def stepwise(
    data: Panel,
    y: str | None = None,
    treat: str | Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    fe: Sequence[str] | str | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    vcov: str | Mapping[str, Any] | None = None,
    ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
    *,
    spec: Baseline | None = None,
    unit: str | None = None,
    time: str | None = None,
    same_sample: bool = True,
    drop_singletons: bool = True,
) -> ResultCollection:
    """Add controls one at a time: column (1) without controls, then one more per column.

    Parameters are those of :func:`twfe` (``controls`` are added in order). With
    ``same_sample=True`` (default) every column uses the rows complete in all controls,
    so the columns differ only by the controls (as a published stepwise table should); with
    False each column drops only the rows its own variables need.

    Parameters
    ----------
    data, y, treat, fe, cluster, weights, vcov, ssc, drop_singletons
        As :func:`twfe`.
    controls
        Controls in the order they enter: column ``k`` holds the first ``k - 1`` of them.
    same_sample
        Estimate every column on the rows complete in all controls.
    spec
        A :class:`didstudy.Baseline`; the keyword arguments above override its fields
        (decision record 0021). Each column's result carries its own control set.
    unit, time
        Column roles of a DataFrame ``data``.

    Returns
    -------
    ResultCollection
        ``len(controls) + 1`` models, named ``(1)``, ``(2)``, ...

    Examples
    --------
    >>> import didstudy as ds
    >>> df = ds.simulate_staggered(n_units=30, periods=range(1, 9), seed=0)
    >>> panel = ds.as_panel(df, unit="unit", time="time", treat="treat")
    >>> len(ds.stepwise(panel, y="y", treat="treat", controls=["x1", "x2"]))
    3
    """
    base = baseline_for(
        "stepwise", spec, y=y, treat=treat, controls=controls, fe=fe, cluster=cluster,
        weights=weights, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    assert base.treat is not None and base.y is not None
    panel = panel_for("stepwise", data, unit=unit, time=time, treat=_role(data, base.treat))
    names = list(base.treat)
    full = list(base.controls)
    if not same_sample:
        return ResultCollection(
            tuple(
                (f"({m + 1})", _column(panel, base, full[:m], drop_singletons))
                for m in range(len(full) + 1)
            )
        )
    design = prepare_twfe(
        panel,
        base.y,
        full,
        base.fe,
        list(base.cluster) if base.cluster else None,
        base.weights,
        treat=names,
        vcov=base.vcov_arg,
        ssc=base.ssc_arg,
        drop_singletons=drop_singletons,
    )
    items: list[tuple[str, RegressionResult]] = []
    for m in range(len(full) + 1):
        res = _with_controls(design, m).fit(names)
        _absorbed_treatment(res, names)
        items.append((f"({m + 1})", replace(res, spec=replace(base, controls=tuple(full[:m])))))
    return ResultCollection(tuple(items))


def _with_controls(design: DemeanedDesign, m: int) -> DemeanedDesign:
    from dataclasses import replace

    return replace(
        design,
        control_names=design.control_names[:m],
        controls=design.controls[:, :m],
        control_raw_ss=design.control_raw_ss[:m],
    )


def _column(
    panel: Panel, base: Baseline, controls: Sequence[str], drop_singletons: bool
) -> RegressionResult:
    return fit_frame(
        panel, replace(base, controls=tuple(controls)), drop_singletons=drop_singletons
    )
