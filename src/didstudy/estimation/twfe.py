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
from typing import Any

from didstudy.errors import EstimationError
from didstudy.estimation.design import DemeanedDesign, prepare_twfe
from didstudy.kernels.vcov import SmallSampleCorrection
from didstudy.results.regression import RegressionResult, ResultCollection

__all__ = ["DemeanedDesign", "prepare_twfe", "stepwise", "twfe"]


def _treat_list(treat: str | Sequence[str]) -> list[str]:
    if isinstance(treat, str):
        return [treat]
    names = [str(t) for t in treat]
    if not names:
        raise EstimationError("at least one treatment column is required")
    return names


def twfe(
    data: Any,
    y: str,
    treat: str | Sequence[str],
    controls: Sequence[str] = (),
    fe: Sequence[str] | str | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    vcov: str | Mapping[str, Any] | None = None,
    ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
    *,
    drop_singletons: bool = True,
) -> RegressionResult:
    """Two-way fixed-effects regression of ``y`` on the treatment(s) and controls.

    Parameters
    ----------
    data
        A :class:`didstudy.Panel` (``fe`` defaults to unit and time, ``cluster`` to the panel's
        cluster column or the unit, ``weights`` to the panel's weight) or a DataFrame (``fe``
        required; ``cluster`` defaults to the first fixed effect, as in fixest).
    y
        Outcome column.
    treat
        Treatment column, or several (e.g. ``["policy", "policy_pre1"]``).
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
    drop_singletons
        Drop singleton observations (default True, as reghdfe; counted in ``stats()``).

    Returns
    -------
    RegressionResult
        Frozen result: ``coef``, ``se``, ``vcov``, ``tidy()``, ``stats()``, ``with_vcov()``.

    Examples
    --------
    >>> import didstudy as ds
    >>> castle = ds.load_dataset("castle")  # doctest: +SKIP
    >>> ds.twfe(castle, y="l_homicide", treat="post", fe=["state", "year"]).coef["post"]
    ... # doctest: +SKIP
    0.0818116169306475
    """
    names = _treat_list(treat)
    design = prepare_twfe(
        data,
        y,
        controls,
        fe,
        cluster,
        weights,
        treat=names,
        vcov=vcov,
        ssc=ssc,
        drop_singletons=drop_singletons,
    )
    return design.fit(names)


def stepwise(
    data: Any,
    y: str,
    treat: str | Sequence[str],
    controls: Sequence[str],
    fe: Sequence[str] | str | None = None,
    cluster: str | Sequence[str] | None = None,
    weights: str | None = None,
    vcov: str | Mapping[str, Any] | None = None,
    ssc: str | Mapping[str, Any] | SmallSampleCorrection | None = None,
    *,
    same_sample: bool = True,
    drop_singletons: bool = True,
) -> ResultCollection:
    """Add controls one at a time: column (1) without controls, then one more per column.

    With ``same_sample=True`` (default) every column uses the rows complete in all controls,
    so the columns differ only by the controls (as a published stepwise table should); with
    False each column drops only the rows its own variables need.
    """
    names = _treat_list(treat)
    controls = list(controls)
    items: list[tuple[str, RegressionResult]] = []
    if same_sample:
        design = prepare_twfe(
            data,
            y,
            controls,
            fe,
            cluster,
            weights,
            treat=names,
            vcov=vcov,
            ssc=ssc,
            drop_singletons=drop_singletons,
        )
        for m in range(len(controls) + 1):
            sub = _with_controls(design, m)
            items.append((f"({m + 1})", sub.fit(names)))
    else:
        for m in range(len(controls) + 1):
            res = twfe(
                data,
                y,
                names,
                controls[:m],
                fe,
                cluster,
                weights,
                vcov,
                ssc,
                drop_singletons=drop_singletons,
            )
            items.append((f"({m + 1})", res))
    return ResultCollection(tuple(items))


def _with_controls(design: DemeanedDesign, m: int) -> DemeanedDesign:
    from dataclasses import replace

    return replace(
        design,
        control_names=design.control_names[:m],
        controls=design.controls[:, :m],
        control_raw_ss=design.control_raw_ss[:m],
    )
