"""Run several event-study estimators on one panel: :func:`compare_estimators`.

The estimators are looked up in :data:`ESTIMATORS`, a registry of names to adapters that call
each estimator with a common ``(panel, y, controls, window, cluster)`` and return its
:class:`~didstudy.results.event_study.EventStudyResult`. Callaway & Sant'Anna is registered when
its module is installed (optional import), so the comparison works with or without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from didstudy.errors import DidstudyError, DidstudyWarning, ValidationError
from didstudy.estimation.event_study import event_study
from didstudy.estimation.robust.callaway_santanna import callaway_santanna
from didstudy.estimation.robust.dcdh import dcdh
from didstudy.estimation.robust.did2s import did2s
from didstudy.estimation.robust.etwfe import etwfe
from didstudy.estimation.robust.imputation import imputation
from didstudy.estimation.robust.stacked import stacked_did
from didstudy.estimation.robust.sun_abraham import sun_abraham
from didstudy.results.estimator_comparison import EstimatorComparison
from didstudy.results.event_study import EventStudyResult

__all__ = ["DEFAULT_ESTIMATORS", "ESTIMATORS", "EstimatorSpec", "compare_estimators"]

Adapter = Callable[[Any, str, tuple[str, ...], tuple[int, int], "str | None"], EventStudyResult]


@dataclass(frozen=True)
class EstimatorSpec:
    """One entry of the registry: the adapter and the display labels (en, zh)."""

    run: Adapter
    label_en: str
    label_zh: str


def _has_never(panel: Any) -> bool:
    return bool(np.isinf(panel.unit_cohorts().to_numpy()).any())


def _twfe(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    group: Literal["never", "not_yet"] = "never" if _has_never(panel) else "not_yet"
    return event_study(
        panel, y=y, controls=controls, window=window, base=-1, control_group=group, cluster=cluster
    )


def _imputation(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    rel = panel.frame["_rel_time"].to_numpy()
    treated = panel.frame[panel.treat].to_numpy() == 1
    available = {int(k) for k in rel[treated & np.isfinite(rel)]}
    horizons = [h for h in range(0, window[1] + 1) if h in available]
    return imputation(panel, y, controls, horizons=horizons, pretrends=-window[0], cluster=cluster)


def _did2s(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    return did2s(panel, y, controls, window=window, cluster=cluster)


def _etwfe(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    group: Literal["never", "not_yet"] = "never" if _has_never(panel) else "not_yet"
    return etwfe(panel, y, controls, control_group=group, fe="unit", cluster=cluster)


def _sun_abraham(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    group: Literal["never", "last"] = "never" if _has_never(panel) else "last"
    return sun_abraham(panel, y, controls, control_group=group, window=window, cluster=cluster)


def _stacked(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    if controls:
        warnings.warn(
            "stacked_did takes no controls; they are ignored in the comparison",
            DidstudyWarning,
            stacklevel=3,
        )
    return stacked_did(panel, y, window=window, cluster=cluster)


def _dcdh(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    if controls:
        warnings.warn(
            "dcdh takes no controls here; they are ignored in the comparison",
            DidstudyWarning,
            stacklevel=3,
        )
    return dcdh(panel, y, effects=window[1] + 1, placebos=max(-window[0] - 1, 0), cluster=cluster)


def _callaway_santanna(
    panel: Any, y: str, controls: tuple[str, ...], window: tuple[int, int], cluster: str | None
) -> EventStudyResult:
    """Callaway & Sant'Anna (doubly robust, universal base so that e = -1 is the reference as
    in the other event studies), dynamic aggregation over the window."""
    group: Literal["never", "notyet"] = "never" if _has_never(panel) else "notyet"
    res = callaway_santanna(
        panel, y, list(controls), control_group=group, base_period="universal", cluster=cluster
    )
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
    y: str,
    estimators: Sequence[str] | None = None,
    *,
    window: tuple[int, int] = (-4, 4),
    controls: Sequence[str] = (),
    cluster: str | None = None,
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
            res = ESTIMATORS[name].run(panel, y, tuple(controls), (lo, hi), cluster)
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
    return EstimatorComparison(tuple(results), (lo, hi), y, tuple(skipped))
