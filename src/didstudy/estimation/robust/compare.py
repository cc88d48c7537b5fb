"""Run several event-study estimators on one panel: :func:`compare_estimators`.

The estimators are looked up in :data:`ESTIMATORS`, a registry of names to adapters that call
each estimator with a common ``(panel, spec, window)`` (the resolved :class:`didstudy.Baseline`)
and return its
:class:`~didstudy.results.event_study.EventStudyResult`. Callaway & Sant'Anna is registered when
its module is installed (optional import), so the comparison works with or without it.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from didstudy.errors import DidstudyError, DidstudyWarning, ValidationError
from didstudy.estimation.event_study import event_study
from didstudy.estimation.robust._common import robust_spec
from didstudy.estimation.robust.callaway_santanna import callaway_santanna
from didstudy.estimation.robust.dcdh import dcdh
from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.stacked import stacked_did
from didstudy.estimation.robust.sun_abraham import sun_abraham
from didstudy.results.estimator_comparison import EstimatorComparison
from didstudy.results.event_study import EventStudyResult
from didstudy.results.spec import Baseline

__all__ = ["DEFAULT_ESTIMATORS", "ESTIMATORS", "EstimatorSpec", "compare_estimators"]

Adapter = Callable[[Any, Baseline, tuple[int, int]], EventStudyResult]


@dataclass(frozen=True)
class EstimatorSpec:
    """One entry of the registry: the adapter and the display labels (en, zh)."""

    run: Adapter
    label_en: str
    label_zh: str


def _has_never(panel: Any) -> bool:
    return bool(np.isinf(panel.unit_cohorts().to_numpy()).any())


def _twfe(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    group: Literal["never", "not_yet"] = "never" if _has_never(panel) else "not_yet"
    # the Panel carries the treatment timing: the spec's treat column is not an event-time dummy
    spec = replace(base, treat=None)
    return event_study(panel, spec=spec, window=window, base=-1, control_group=group)


def _imputation(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    rel = panel.frame["_rel_time"].to_numpy()
    treated = panel.frame[panel.treat].to_numpy() == 1
    available = {int(k) for k in rel[treated & np.isfinite(rel)]}
    horizons = [h for h in range(0, window[1] + 1) if h in available]
    return imputation(panel, spec=base, horizons=horizons, pretrends=-window[0])


def _did2s(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    return did2s(panel, spec=base, window=window)


def _etwfe(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    group: Literal["never", "not_yet"] = "never" if _has_never(panel) else "not_yet"
    return etwfe(panel, spec=base, control_group=group, fe="unit")


def _sun_abraham(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    group: Literal["never", "last"] = "never" if _has_never(panel) else "last"
    return sun_abraham(panel, spec=base, control_group=group, window=window)


def _without_controls(name: str, base: Baseline) -> Baseline:
    if base.controls:
        warnings.warn(
            f"{name} takes no controls; they are ignored in the comparison",
            DidstudyWarning,
            stacklevel=4,
        )
    return base.override(controls=())


def _stacked(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    return stacked_did(panel, spec=_without_controls("stacked_did", base), window=window)


def _dcdh(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    return dcdh(
        panel,
        spec=base,
        effects=window[1] + 1,
        placebos=max(-window[0] - 1, 0),
    )


def _callaway_santanna(panel: Any, base: Baseline, window: tuple[int, int]) -> EventStudyResult:
    """Callaway & Sant'Anna (doubly robust, universal base so that e = -1 is the reference as
    in the other event studies), dynamic aggregation over the window; it receives ``spec=``
    only if its signature takes it, else the outcome, covariates, cluster and weights."""
    group: Literal["never", "notyet"] = "never" if _has_never(panel) else "notyet"
    cluster = base.cluster[0] if base.cluster else None
    extra: dict[str, Any] = {}
    if "spec" in inspect.signature(callaway_santanna).parameters:
        extra["spec"] = base
    if base.weights is not None:
        extra["weights"] = base.weights
    assert base.y is not None
    res = callaway_santanna(
        panel, base.y, list(base.controls), control_group=group, base_period="universal",
        cluster=cluster, **extra,
    )  # fmt: skip
    return res.aggregate("dynamic", min_e=window[0], max_e=window[1]).to_event_study()


#: Registered estimators (name -> adapter and labels), in display order.
ESTIMATORS: dict[str, EstimatorSpec] = {
    "twfe": EstimatorSpec(_twfe, "TWFE", "双向固定效应"),
    "sun_abraham": EstimatorSpec(_sun_abraham, "Sun-Abraham", "Sun-Abraham"),
    "imputation": EstimatorSpec(_imputation, "Imputation (BJS)", "插补估计 (BJS)"),
    "did2s": EstimatorSpec(_did2s, "Two-stage (Gardner)", "两阶段 (Gardner)"),
    "etwfe": EstimatorSpec(_etwfe, "ETWFE (Wooldridge)", "扩展双向固定效应"),
    "stacked_did": EstimatorSpec(_stacked, "Stacked (WFH)", "堆叠 DID"),
    "dcdh": EstimatorSpec(_dcdh, "dCDH", "dCDH"),
    "callaway_santanna": EstimatorSpec(
        _callaway_santanna, "Callaway-Sant'Anna", "Callaway-Sant'Anna"
    ),
}

#: Estimators run by default: every registered one.
DEFAULT_ESTIMATORS: tuple[str, ...] = tuple(ESTIMATORS)


def compare_estimators(
    panel: Any,
    y: str | None = None,
    estimators: Sequence[str] | None = None,
    *,
    window: tuple[int, int] = (-4, 4),
    controls: Sequence[str] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    spec: Baseline | None = None,
) -> EstimatorComparison:
    """Event studies of several heterogeneity-robust estimators (and TWFE) on one panel.

    Parameters
    ----------
    panel
        The validated :class:`~didstudy.data.panel.Panel`.
    y, controls
        Outcome and controls (passed to the estimators that take controls).
    estimators
        Names from :data:`ESTIMATORS` (default: all registered, Callaway–Sant'Anna included
        when installed).
    window
        Relative times shown (``lo < 0 <= hi``); each estimator is run on that window.
    cluster
        Cluster column (default: the panel's cluster, else the unit).
    weights
        Observation-weight column (default: the spec's, else the Panel's weight, else none),
        passed to every estimator (an estimator that cannot run is listed in ``skipped`` with
        the reason).
    spec
        A :class:`didstudy.Baseline`; ``y``, ``controls``, ``cluster`` and ``weights`` given
        here (not ``None``) override its fields (decision records 0021, 0063). Every estimator
        receives the resolved spec (TWFE also its ``fe``, ``vcov`` and ``ssc``;
        Callaway–Sant'Anna its outcome, covariates, cluster and weights); stacked DiD takes no
        controls and runs without them (with a warning).

    Returns
    -------
    EstimatorComparison
        ``tidy()`` (one row per estimator and relative time), ``to_dict()``; estimators that
        cannot run on this panel (e.g. no clean control for stacking) are listed in ``skipped``
        with the reason and a warning, never silently dropped.

    Raises
    ------
    ValidationError
        An unknown estimator name (the message lists the registered ones), a bad window, or
        every estimator failing.

    Examples
    --------
    >>> cmp = compare_estimators(panel, "lemp", window=(-3, 3))  # doctest: +SKIP
    >>> cmp.tidy()  # doctest: +SKIP
    """
    rs = robust_spec(
        "compare_estimators", spec, panel, y=y, controls=controls, cluster=cluster,
        weights=weights,
    )  # fmt: skip
    base = rs.base.override(weights=rs.weights)
    names = list(DEFAULT_ESTIMATORS if estimators is None else estimators)
    unknown = [n for n in names if n not in ESTIMATORS]
    if unknown:
        raise ValidationError(
            f"unknown estimator(s) {unknown}.",
            fix=f"choose among {sorted(ESTIMATORS)}.",
        )
    lo, hi = int(window[0]), int(window[1])
    if not lo < -1 < 0 <= hi:
        raise ValidationError(
            f"window={window} must have lo < -1 and hi >= 0.", fix="e.g. window=(-4, 4)."
        )
    results: list[tuple[str, EventStudyResult]] = []
    skipped: list[tuple[str, str]] = []
    for name in names:
        try:
            res = ESTIMATORS[name].run(panel, base, (lo, hi))
        except DidstudyError as exc:
            if isinstance(exc, ValidationError) and "column" in (exc.message or ""):
                raise
            skipped.append((name, exc.message))
            warnings.warn(
                f"compare_estimators: {name} skipped: {exc.message}", DidstudyWarning, stacklevel=2
            )
            continue
        results.append((name, res))
    if not results:
        raise ValidationError(
            "no estimator could run on this panel: " + "; ".join(f"{n}: {r}" for n, r in skipped),
            fix="check the treatment timing and the window.",
        )
    return EstimatorComparison(tuple(results), (lo, hi), rs.y, tuple(skipped), spec=base)
