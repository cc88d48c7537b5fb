"""Robustness battery of the baseline two-way fixed-effects estimate (reference study, Table 5).

Every operation re-estimates the baseline ``y_it = a + b Policy_it + g'X_it + mu_i + lambda_t +
e_it`` under one perturbation and returns a
:class:`~didstudy.results.regression.ResultCollection` keyed by column name, so that the
columns of a robustness table are concatenated with :func:`didstudy.results.comparison.combine`:

* :func:`robustness_winsorized` -- continuous variables winsorised (1 % / 99 % by default);
* :func:`robustness_drop` -- named subsamples dropped (e.g. the four municipalities);
* :func:`anticipation` -- ``Policy x pre_k`` lead dummies added (pre_k = 1 in the k-th year
  before adoption, for eventually treated units);
* :func:`concurrent_policies` -- dummies of concurrent regional policies added, each alone and
  all together.

PSM-DID, column (1), is :func:`didstudy.estimation.psm.psm_did`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from didstudy.errors import DidstudyWarning, EstimationError, ValidationError
from didstudy.estimation._inputs import (
    first_treated_period,
    fit_twfe,
    frame_twfe,
    panel_input,
    require_columns,
)
from didstudy.estimation.twfe import single_treatment_model
from didstudy.results.regression import ResultCollection
from didstudy.results.spec import Baseline

__all__ = [
    "anticipation",
    "concurrent_policies",
    "lead_term",
    "robustness_drop",
    "robustness_winsorized",
]

ConcurrentMode = Literal["each", "all", "each_and_all"]


def _is_binary(values: pd.Series) -> bool:
    v = pd.to_numeric(values, errors="coerce").dropna().unique()
    return bool(len(v) <= 2 and set(np.asarray(v, dtype=float)) <= {0.0, 1.0})


def _winsorized_frame(
    frame: pd.DataFrame, columns: Sequence[str], cuts: tuple[float, float], by: str | None
) -> pd.DataFrame:
    from didstudy.measure.transform import winsorize

    # replace=True: the regression must see the winsorised values under the original names
    return winsorize(frame, list(columns), cuts=cuts, by=by, replace=True).frame


def robustness_winsorized(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    columns: Sequence[str] | None = None,
    cuts: tuple[float, float] = (1.0, 99.0),
    by: str | None = None,
    name: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> ResultCollection:
    """Baseline TWFE with continuous variables winsorised (Table 5, column 2).

    Parameters
    ----------
    data
        A Panel, or a DataFrame with ``unit`` and ``time`` named.
    y, treat, controls
        The baseline specification.
    columns
        Variables to winsorise; default: ``y`` and every control that is not a 0/1 dummy.
    cuts
        Lower and upper percentiles (:func:`didstudy.measure.transform.winsorize`).
    by
        Winsorise within groups of this column (e.g. the year); default: whole sample.
    name
        Column name of the result; default ``"winsorized p1/p99"``.
    unit, time
        Column roles when ``data`` is a DataFrame (a Panel carries its own).
    fe, cluster, vcov, ssc
        As :func:`didstudy.twfe` (defaults: unit and time fixed effects, clustered by unit).
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    ResultCollection
        One model.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> res = ds.robustness_winsorized(panel, y="l_homicide", treat="post", controls=["l_police"])
    >>> res.tidy()["term"].iloc[0]
    'post'
    """
    y, treat, controls, fe, cluster, vcov, ssc = single_treatment_model(
        "robustness_winsorized", spec, y=y, treat=treat, controls=controls,
        fe=fe, cluster=cluster, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    inp = panel_input("robustness_winsorized", data, unit, time, treat)
    require_columns(inp.frame, [y, treat, *controls])
    if columns is None:
        columns = [c for c in [y, *controls] if not _is_binary(inp.frame[c])]
    require_columns(inp.frame, list(columns))
    frame = _winsorized_frame(inp.frame, columns, cuts, by)
    res = fit_twfe(inp, frame, y, treat, controls, fe=fe, cluster=cluster, vcov=vcov, ssc=ssc)
    label = name or f"winsorized p{cuts[0]:g}/p{cuts[1]:g}"
    return ResultCollection(((label, res),))


def robustness_drop(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    drop: Mapping[str, Sequence[Any]],
    column: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> ResultCollection:
    """Baseline TWFE without named subsamples (Table 5, column 3: the municipalities).

    Parameters
    ----------
    data
        A Panel, or a DataFrame with ``unit`` and ``time`` named.
    y, treat, controls
        The baseline specification.
    unit, time
        Column roles when ``data`` is a DataFrame (a Panel carries its own).
    fe, cluster, vcov, ssc
        As :func:`didstudy.twfe` (defaults: unit and time fixed effects, clustered by unit).
    drop
        ``{label: [codes, ...]}``: each entry is one model that drops the rows whose ``column``
        (default: the unit identifier) is among the codes; the model is named
        ``"drop <label>"``.
    column
        Column the codes refer to; default the unit column.
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    ResultCollection
        One model per entry of ``drop``.

    Raises
    ------
    ValidationError
        None of the codes of an entry occurs in the data (a typo or a code-system mismatch).

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> res = ds.robustness_drop(panel, y="l_homicide", treat="post", drop={"Texas": ["Texas"]})
    >>> [name for name, _ in res]
    ['drop Texas']
    """
    y, treat, controls, fe, cluster, vcov, ssc = single_treatment_model(
        "robustness_drop", spec, y=y, treat=treat, controls=controls,
        fe=fe, cluster=cluster, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    inp = panel_input("robustness_drop", data, unit, time, treat)
    col = column or inp.unit
    require_columns(inp.frame, [y, treat, *controls, col])
    if not drop:
        raise ValidationError("drop is empty", fix="pass drop={'municipalities': [codes...]}")
    present = set(inp.frame[col].dropna().tolist())
    items = []
    for label, codes in drop.items():
        codes = list(codes)
        found = [c for c in codes if c in present]
        if not found:
            raise ValidationError(
                f"none of the codes to drop for {label!r} occurs in the data: "
                f"{', '.join(map(str, codes[:10]))}",
                column=col,
                fix="check the codes (and their type: 110000 vs '110000') against the column",
            )
        missing = [c for c in codes if c not in present]
        if missing:
            warnings.warn(
                f"robustness_drop[{label!r}]: codes not in column {col!r}: "
                f"{', '.join(map(str, missing[:10]))}",
                DidstudyWarning,
                stacklevel=2,
            )
        frame = inp.frame.loc[~inp.frame[col].isin(found).to_numpy()]
        res = fit_twfe(inp, frame, y, treat, controls, fe=fe, cluster=cluster, vcov=vcov, ssc=ssc)
        items.append((f"drop {label}", res))
    return ResultCollection(tuple(items))


def lead_term(treat: str, k: int) -> str:
    """Name of the anticipation dummy ``Policy x pre_k`` (the paper prints ``Policy×pre1``)."""
    return f"{treat}×pre{k}"


def anticipation(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    leads: Sequence[int] = (1,),
    name: str = "anticipation",
    unit: str | None = None,
    time: str | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> ResultCollection:
    """Baseline TWFE plus ``Policy x pre_k`` anticipation dummies (Table 5, column 4).

    ``pre_k`` is 1 in period ``g - k`` for a unit first treated in period ``g`` and 0 otherwise
    (never-treated units: always 0); the adoption period ``g`` is the first period with
    ``treat == 1``. Under no anticipation the coefficients on ``pre_k`` are zero.

    Parameters
    ----------
    data
        A Panel, or a DataFrame with ``unit`` and ``time`` named.
    y, treat, controls
        The baseline specification.
    unit, time
        Column roles when ``data`` is a DataFrame (a Panel carries its own).
    fe, cluster, vcov, ssc
        As :func:`didstudy.twfe` (defaults: unit and time fixed effects, clustered by unit).
    leads
        The ``k`` of the ``pre_k`` dummies (positive integers; default one period before).
    name
        Name of the model in the returned collection.
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    ResultCollection
        One model whose terms include ``treat`` and ``lead_term(treat, k)`` for each ``k``.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> [name for name, _ in ds.anticipation(panel, y="l_homicide", treat="post")]
    ['anticipation']
    """
    y, treat, controls, fe, cluster, vcov, ssc = single_treatment_model(
        "anticipation", spec, y=y, treat=treat, controls=controls,
        fe=fe, cluster=cluster, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    inp = panel_input("anticipation", data, unit, time, treat)
    require_columns(inp.frame, [y, treat, *controls])
    leads = [int(k) for k in leads]
    if not leads or min(leads) < 1:
        raise ValidationError(f"leads must be positive integers, got {leads}")
    frame = inp.frame.copy()
    cohort = first_treated_period(frame, inp.unit, inp.time, treat).to_numpy()
    t = pd.to_numeric(frame[inp.time]).to_numpy(dtype=float)
    names = []
    for k in leads:
        col = lead_term(treat, k)
        frame[col] = (t == cohort - k).astype(float)
        if frame[col].sum() == 0:
            raise EstimationError(
                f"no observation lies {k} period(s) before adoption",
                column=treat,
                fix="drop this lead, or check that adopting units are observed before adoption",
            )
        names.append(col)
    res = frame_twfe(
        frame,
        y,
        [treat, *names],
        controls=list(controls),
        fe=list(fe) if fe is not None else inp.default_fe(),
        cluster=cluster if cluster is not None else inp.default_cluster(),
        weights=inp.weight,
        vcov=vcov,
        ssc=ssc,
    )
    return ResultCollection(((name, res),))


def concurrent_policies(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    policies: Mapping[str, str],
    mode: ConcurrentMode = "each_and_all",
    all_name: str = "all concurrent policies",
    unit: str | None = None,
    time: str | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> ResultCollection:
    """Baseline TWFE plus dummies of concurrent policies (Table 5, columns 5-8).

    Parameters
    ----------
    data
        A Panel, or a DataFrame with ``unit`` and ``time`` named.
    y, treat, controls
        The baseline specification.
    unit, time
        Column roles when ``data`` is a DataFrame (a Panel carries its own).
    fe, cluster, vcov, ssc
        As :func:`didstudy.twfe` (defaults: unit and time fixed effects, clustered by unit).
    policies
        ``{label: column}``: 0/1 columns of other policies in force (e.g. the Rise of Central
        China from 2004 for its provinces' cities).
    mode
        ``"each"``: one model per policy (named by its label); ``"all"``: one model with every
        policy dummy; ``"each_and_all"`` (default): both.
    all_name
        Name of the model with every policy dummy.
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    ResultCollection
        Models named by the policy labels and ``all_name``; the policy dummies enter as
        additional regressors next to ``treat`` and are reported.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> res = ds.concurrent_policies(panel, y="l_homicide", treat="post",
    ...                              policies={"civil": "civil"}, mode="each")
    >>> [name for name, _ in res]
    ['civil']
    """
    y, treat, controls, fe, cluster, vcov, ssc = single_treatment_model(
        "concurrent_policies", spec, y=y, treat=treat, controls=controls,
        fe=fe, cluster=cluster, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    inp = panel_input("concurrent_policies", data, unit, time, treat)
    if not policies:
        raise ValidationError("policies is empty", fix="pass policies={'label': 'column'}")
    require_columns(inp.frame, [y, treat, *controls, *policies.values()])
    for label, col in policies.items():
        if not _is_binary(inp.frame[col]):
            raise ValidationError(
                f"the concurrent-policy dummy for {label!r} is not 0/1", column=col
            )
    if mode not in ("each", "all", "each_and_all"):
        raise ValidationError(f"unknown mode {mode!r}", fix="'each', 'all' or 'each_and_all'")

    def fit(cols: list[str]) -> Any:
        return frame_twfe(
            inp.frame,
            y,
            [treat, *cols],
            controls=list(controls),
            fe=list(fe) if fe is not None else inp.default_fe(),
            cluster=cluster if cluster is not None else inp.default_cluster(),
            weights=inp.weight,
            vcov=vcov,
            ssc=ssc,
        )

    items = []
    if mode in ("each", "each_and_all"):
        items += [(label, fit([col])) for label, col in policies.items()]
    if mode in ("all", "each_and_all"):
        items.append((all_name, fit(list(policies.values()))))
    return ResultCollection(tuple(items))
