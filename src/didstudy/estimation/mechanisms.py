"""Mechanism analysis: the policy's effect on each mediator and the moderated outcome equation.

The reference study's Table 7 (after Xu Wenli et al.), for each mechanism variable ``M``
(InnoAp, ISA, EMP)::

    (a)  M_it = a + b Policy_it + g'X_it + mu_i + lambda_t + e_it                        (eq. 5)
    (b)  y_it = a + b Policy_it + c M_it + d (M_it x Policy_it) + g'X_it + mu_i + lambda_t + e_it
                                                                                         (eq. 6)

Column (a) asks whether the policy moves the mediator, column (b) whether the mediator changes
the policy's association with the outcome (the coefficient ``d`` on ``M×Policy``). Neither is a
causal mediation analysis (no sequential ignorability is assumed); the docstring of
:func:`mechanisms` says what each coefficient means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from didstudy.errors import ValidationError
from didstudy.estimation._inputs import frame_twfe, panel_input, require_columns
from didstudy.estimation.twfe import single_treatment_model
from didstudy.results.regression import RegressionResult, ResultCollection
from didstudy.results.spec import Baseline

__all__ = ["interaction_term", "mechanisms"]


def interaction_term(mediator: str, treat: str) -> str:
    """Name of the ``M x Policy`` regressor (the paper prints ``ISA×Policy``)."""
    return f"{mediator}×{treat}"


def mechanisms(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    mediators: Sequence[str] = (),
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    center: bool = False,
    unit: str | None = None,
    time: str | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
) -> ResultCollection:
    """For each mediator ``M``: (a) ``M`` on the policy; (b) ``y`` on the policy, ``M`` and
    ``M×Policy`` (Table 7 layout).

    Parameters
    ----------
    data
        A Panel, or a DataFrame with ``unit`` and ``time`` named.
    y, treat, controls
        The baseline specification.
    mediators
        Mechanism variables, in table order.
    center
        Centre ``M`` at its sample mean before forming ``M×Policy`` (then the ``Policy``
        coefficient in (b) is the effect at the mean of ``M``); default ``False`` as the paper.
    unit, time
        Column roles when ``data`` is a DataFrame (a Panel carries its own).
    fe, cluster, vcov, ssc
        As :func:`didstudy.twfe` (defaults: unit and time FE, clustered by unit).
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    ResultCollection
        Models ``"<M> (a)"`` and ``"<y> (b: <M>)"`` for each mediator, alternating as the
        paper's columns (1)-(6). In (b) the reported terms start with ``treat``, ``M`` and
        ``interaction_term(M, treat)``.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
    >>> res = ds.mechanisms(panel, y="l_homicide", treat="post", mediators=["l_police"])
    >>> [name for name, _ in res]
    ['l_police (a)', 'l_homicide (b: l_police)']
    """
    y, treat, controls, fe, cluster, vcov, ssc = single_treatment_model(
        "mechanisms", spec, y=y, treat=treat, controls=controls,
        fe=fe, cluster=cluster, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    inp = panel_input("mechanisms", data, unit, time, treat)
    mediators = list(mediators)
    if not mediators:
        raise ValidationError("mechanisms needs at least one mediator")
    require_columns(inp.frame, [y, treat, *controls, *mediators])
    clash = [m for m in mediators if m in (y, treat) or m in controls]
    if clash:
        raise ValidationError(
            f"mediator {clash[0]!r} is also the outcome, the treatment or a control",
            column=clash[0],
        )
    fe_list = list(fe) if fe is not None else inp.default_fe()
    clus = cluster if cluster is not None else inp.default_cluster()
    items: list[tuple[str, RegressionResult]] = []
    for m in mediators:
        res_a = frame_twfe(
            inp.frame,
            m,
            treat,
            controls=list(controls),
            fe=fe_list,
            cluster=clus,
            weights=inp.weight,
            vcov=vcov,
            ssc=ssc,
        )
        frame = inp.frame.copy()
        mv = pd.to_numeric(frame[m]).to_numpy(dtype=np.float64)
        if center:
            mv = mv - np.nanmean(mv)
            frame[m] = mv
        term = interaction_term(m, treat)
        frame[term] = mv * pd.to_numeric(frame[treat]).to_numpy(dtype=np.float64)
        res_b = frame_twfe(
            frame,
            y,
            [treat, m, term],
            controls=list(controls),
            fe=fe_list,
            cluster=clus,
            weights=inp.weight,
            vcov=vcov,
            ssc=ssc,
        )
        items += [(f"{m} (a)", res_a), (f"{y} (b: {m})", res_b)]
    return ResultCollection(tuple(items))
