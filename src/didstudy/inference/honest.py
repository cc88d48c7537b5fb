"""HonestDiD: confidence intervals robust to bounded violations of parallel trends.

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", Review of Economic
Studies 90(5). For an event study with coefficients ``β̂ = (β̂_pre, β̂_post)`` (reference period
normalised to zero and excluded) and covariance ``Σ``:

* ``method="relative_magnitude"``: Δ^RM(M̄), post-period changes in the trend difference at most
  ``M̄`` times the largest pre-period change (eq. 8); conditional or hybrid (C-LF) ARP tests;
* ``method="smoothness"``: Δ^SD(M), the slope of the trend difference changes by at most ``M``
  per period (eq. 6); the optimal fixed-length confidence interval (FLCI);
* ``method="combined"``: Δ^SDRM(M̄), second differences bounded by ``M̄`` times the largest
  pre-period second difference (section 2.4.3); C-LF.

The breakdown value is the largest ``M̄``/``M`` whose robust interval excludes zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as st

from didstudy.errors import EstimationError, ValidationError
from didstudy.inference.honest_arp import (
    Polyhedron,
    arp_accept,
    dual_vertices,
    least_favorable_cv,
    relative_magnitudes_polyhedra,
    smoothness_rm_polyhedra,
    target_basis,
)
from didstudy.inference.honest_flci import optimal_flci
from didstudy.results.honest import HonestDidResult, RobustInterval

__all__ = ["as_event_study", "honest_did", "robust_interval", "sensitivity"]

FloatArray = npt.NDArray[np.float64]
Method = Literal["relative_magnitude", "smoothness", "combined"]
Test = Literal["hybrid", "conditional"]
LVec = None | str | int | Sequence[float]

#: Grid of null values: HonestDiD's 1,000 points over ±20 standard errors (around the
#: estimate here), then each end of the accepted set is refined by bisection.
GRID_POINTS = 1000
GRID_HALF_WIDTH = 20.0
REFINE_LEVELS = 2
#: Times the grid is widened (x4 each) while an end is still accepted (an open interval is
#: reported with an infinite bound after that).
GRID_WIDENINGS = 12
#: Draws for the least-favourable critical value of the hybrid test (as HonestDiD); the seed
#: is fixed so the interval is deterministic.
LF_SIMS = 1_000
LF_SEED = 0
#: Bisection steps for the breakdown value between two grid values of M.
BREAKDOWN_STEPS = 8
DEFAULT_MBAR = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


@dataclass(frozen=True)
class _Moments:
    """One polyhedron's moments for the ARP test: ``Y − a θ`` with covariance ``Σ_Y``."""

    V: FloatArray
    Y: FloatArray
    a: FloatArray
    sigma_y: FloatArray
    lf_cv: float | None


def honest_did(
    result: Any,
    method: Method = "relative_magnitude",
    mbar: Sequence[float] | None = None,
    m: Sequence[float] | None = None,
    l_vec: LVec = None,
    alpha: float = 0.05,
    test: Test = "hybrid",
    window: tuple[int, int] | None = None,
) -> HonestDidResult:
    """Sensitivity of an event study's post-period effect to violations of parallel trends.

    Parameters
    ----------
    result
        An event study with ``rel_time``, ``coef``, ``vcov`` and ``base`` (TWFE, Sun–Abraham,
        two-stage, stacked, ETWFE with never-treated controls — any
        :class:`~didstudy.results.event_study.EventStudyResult`), or a Callaway–Sant'Anna result
        (its dynamic aggregation, estimated with ``base_period="universal"`` as R HonestDiD
        requires); the reference period must be the one just before the first post-period
        (``base=-1``) and the relative times contiguous. The imputation estimator has no
        reference period (its leads come from a separate regression) and is refused.
    method
        ``"relative_magnitude"`` (default), ``"smoothness"`` or ``"combined"``.
    mbar, m
        Values of ``M̄`` (relative magnitudes, combined) or ``M`` (smoothness; default 10
        values from 0 to the upper bound of the largest pre-period second difference).
    l_vec
        ``None`` (first post-period), ``"average"`` (mean of the post-periods), a horizon
        (``int`` relative time) or weights on the post-periods.
    alpha
        1 − coverage.
    test
        ARP ``"hybrid"`` (C-LF, HonestDiD's default) or ``"conditional"``.
    window
        ``(first, last)`` relative times to use (the others are left out); ``None`` uses all.
        Long event studies need one: the exact ARP test enumerates vertices whose number grows
        with the post-periods.

    Returns
    -------
    HonestDidResult
        Original and robust intervals per ``M̄``/``M`` and the breakdown value.

    Examples
    --------
    >>> es = ds.event_study(panel, "y", window=(-5, 3))  # doctest: +SKIP
    >>> honest_did(es, mbar=[0.5, 1, 2]).breakdown  # doctest: +SKIP
    """
    betahat, sigma, num_pre, post_rel = _event_study_arrays(result, window)
    weights = _l_vector(l_vec, post_rel)
    return sensitivity(
        betahat,
        sigma,
        num_pre,
        weights,
        method,
        mbar if method != "smoothness" else m,
        alpha,
        test,
        tuple(post_rel),
    )


def sensitivity(
    betahat: FloatArray,
    sigma: FloatArray,
    num_pre: int,
    l_vec: FloatArray,
    method: Method = "relative_magnitude",
    values: Sequence[float] | None = None,
    alpha: float = 0.05,
    test: Test = "hybrid",
    post_rel_time: tuple[int, ...] = (),
) -> HonestDidResult:
    """:func:`honest_did` on arrays: ``betahat`` (pre then post, reference excluded), ``Σ``."""
    _validate(betahat, sigma, num_pre, l_vec, method, alpha, test)
    num_post = betahat.size - num_pre
    if values is None:
        values = _default_m(betahat, sigma, num_pre) if method == "smoothness" else DEFAULT_MBAR
    grid = sorted(float(v) for v in values)
    if any(v < 0 for v in grid):
        raise ValidationError("M and M̄ must be non-negative")
    intervals = tuple(
        robust_interval(betahat, sigma, num_pre, l_vec, method, v, alpha, test) for v in grid
    )
    breakdown, censored = _breakdown(betahat, sigma, num_pre, l_vec, method, alpha, test, intervals)
    est = float(l_vec @ betahat[num_pre:])
    se = float(np.sqrt(l_vec @ sigma[num_pre:, num_pre:] @ l_vec))
    z = float(st.norm.ppf(1 - alpha / 2))
    return HonestDidResult(
        method=method,
        inference="FLCI" if method == "smoothness" else ("C-LF" if test == "hybrid" else "C"),
        alpha=alpha,
        l_vec=tuple(float(x) for x in l_vec),
        post_rel_time=post_rel_time or tuple(range(num_post)),
        num_pre=num_pre,
        num_post=num_post,
        estimate=est,
        std_error=se,
        original_low=est - z * se,
        original_high=est + z * se,
        intervals=intervals,
        breakdown=breakdown,
        breakdown_censored=censored,
    )


def robust_interval(
    betahat: FloatArray,
    sigma: FloatArray,
    num_pre: int,
    l_vec: FloatArray,
    method: Method,
    value: float,
    alpha: float = 0.05,
    test: Test = "hybrid",
) -> RobustInterval:
    """The robust interval for one ``M̄`` (or ``M``)."""
    if method == "smoothness":
        flci = optimal_flci(betahat, sigma, num_pre, l_vec, value, alpha)
        return RobustInterval(value, flci.low, flci.high)
    num_post = betahat.size - num_pre
    build = (
        relative_magnitudes_polyhedra if method == "relative_magnitude" else smoothness_rm_polyhedra
    )
    moments = [
        _moments(p, betahat, sigma, num_pre, l_vec, alpha, test)
        for p in build(num_pre, num_post, value)
    ]
    centre = float(l_vec @ betahat[num_pre:])
    half = GRID_HALF_WIDTH * float(np.sqrt(l_vec @ sigma[num_pre:, num_pre:] @ l_vec))
    for _ in range(GRID_WIDENINGS):  # widen until both ends of the grid are rejected
        thetas = np.linspace(centre - half, centre + half, GRID_POINTS)
        accept = _union_accept(moments, thetas, alpha)
        if not (accept[0] or accept[-1]):
            break
        half *= 4.0
    if not accept.any():
        return RobustInterval(value, float("nan"), float("nan"))
    idx = np.flatnonzero(accept)
    low = _refine(moments, alpha, thetas, int(idx[0]), -1)
    high = _refine(moments, alpha, thetas, int(idx[-1]), 1)
    return RobustInterval(value, low, high)


def _moments(
    poly: Polyhedron,
    betahat: FloatArray,
    sigma: FloatArray,
    num_pre: int,
    l_vec: FloatArray,
    alpha: float,
    test: Test,
) -> _Moments:
    """Moments of the rows that involve post-periods (HonestDiD's ``postPeriodMomentsOnly``)."""
    A_post = poly.A[:, num_pre:]
    rows = np.flatnonzero(np.any(A_post != 0, axis=1))
    A = poly.A[rows]
    ag = A[:, num_pre:] @ np.linalg.inv(target_basis(l_vec))
    Y = A @ betahat - poly.d[rows]
    sigma_y = A @ sigma @ A.T
    sd = np.sqrt(np.diag(sigma_y))
    V = dual_vertices(np.column_stack([sd, ag[:, 1:]]))
    kappa = alpha / 10.0
    lf = least_favorable_cv(V, sigma_y, kappa, LF_SIMS, LF_SEED) if test == "hybrid" else None
    return _Moments(V, Y, ag[:, 0], sigma_y, lf)


def _union_accept(moments: Sequence[_Moments], thetas: FloatArray, alpha: float) -> Any:
    accept = np.zeros(thetas.shape, dtype=bool)
    for mo in moments:
        accept |= arp_accept(mo.V, mo.Y, mo.a, mo.sigma_y, thetas, alpha, mo.lf_cv, alpha / 10.0)
    return accept


def _refine(
    moments: Sequence[_Moments], alpha: float, thetas: FloatArray, inner_idx: int, step: int
) -> float:
    """The end of the accepted set between the outermost accepted grid point and its rejected
    neighbour, on finer grids (each level divides the step by ``GRID_POINTS``)."""
    outer_idx = inner_idx + step
    if outer_idx < 0 or outer_idx >= thetas.size:
        return float(-np.inf if step < 0 else np.inf)
    inner, outer = float(thetas[inner_idx]), float(thetas[outer_idx])
    for _ in range(REFINE_LEVELS):
        fine = np.linspace(inner, outer, GRID_POINTS)
        accept = _union_accept(moments, fine, alpha)
        last = int(np.flatnonzero(~accept)[0]) if (~accept).any() else fine.size
        inner, outer = float(fine[max(last - 1, 0)]), float(fine[min(last, fine.size - 1)])
    return 0.5 * (inner + outer)


def _breakdown(
    betahat: FloatArray,
    sigma: FloatArray,
    num_pre: int,
    l_vec: FloatArray,
    method: Method,
    alpha: float,
    test: Test,
    intervals: Sequence[RobustInterval],
) -> tuple[float, bool]:
    """Largest M whose interval excludes zero: the grid, then bisection to the next value."""
    excl = [iv.excludes_zero for iv in intervals]
    if not excl[0]:
        return (intervals[0].m if intervals[0].m == 0 else 0.0), False
    if all(excl):
        return intervals[-1].m, True
    first_in = excl.index(False)
    lo, hi = intervals[first_in - 1].m, intervals[first_in].m
    for _ in range(BREAKDOWN_STEPS):
        mid = 0.5 * (lo + hi)
        iv = robust_interval(betahat, sigma, num_pre, l_vec, method, mid, alpha, test)
        if iv.excludes_zero:
            lo = mid
        else:
            hi = mid
    return lo, False


# ----- inputs -------------------------------------------------------------------------------
def as_event_study(result: Any) -> Any:
    """Callaway–Sant'Anna results as their event study: a ``GroupTimeResult`` by its dynamic
    aggregation, a dynamic ``GroupTimeAggregate`` by ``to_event_study()``; others unchanged.

    Examples
    --------
    >>> as_event_study("unchanged")
    'unchanged'
    """
    options = getattr(result, "options", None)
    varying = isinstance(options, Mapping) and options.get("base_period") == "varying"
    if varying and not hasattr(result, "rel_time"):
        raise EstimationError(
            "this Callaway-Sant'Anna event study uses a varying base period: its pre-period "
            "estimates compare consecutive periods, not each period with the one before "
            "treatment, so HonestDiD's restrictions do not apply (R HonestDiD refuses it too)",
            fix="re-estimate with callaway_santanna(..., base_period='universal')",
        )
    if not hasattr(result, "rel_time") and hasattr(result, "aggregate"):
        result = result.aggregate("dynamic")
    if not hasattr(result, "rel_time") and hasattr(result, "to_event_study"):
        result = result.to_event_study()
    return result


def _event_study_arrays(
    result: Any, window: tuple[int, int] | None = None
) -> tuple[FloatArray, FloatArray, int, list[int]]:
    """Pre and post coefficients (reference excluded), their covariance and post relative times
    (within ``window`` when given)."""
    result = as_event_study(result)
    for attr in ("rel_time", "coef", "vcov", "base"):
        if not hasattr(result, attr):
            raise ValidationError(
                f"honest_did needs an event study result (missing {attr!r})",
                fix="pass the result of event_study (or another estimator's event study)",
            )
    if getattr(result, "has_base", True) is False:
        raise EstimationError(
            f"the {getattr(result, 'estimator', 'estimator')} event study has no reference "
            "period: its leads are not normalised to the period before treatment, so HonestDiD's "
            "bounds on post-period violations by pre-period ones are not defined (decision 0055)",
            fix="run honest_did on did2s, sun_abraham or event_study of the same specification",
        )
    rel = [int(k) for k in result.rel_time]
    base = int(result.base)
    coef = np.asarray(result.coef, dtype=np.float64)[: len(rel)]
    vcov = np.asarray(result.vcov, dtype=np.float64)[: len(rel), : len(rel)]
    order = np.argsort(rel)
    if window is not None:
        low, high = (int(v) for v in window)
        if low > base or high <= base:
            raise ValidationError(
                f"window {[low, high]} must contain pre-periods and post-periods around the "
                f"reference {base}",
                fix=f"choose first < {base} < last, e.g. window = [-5, 5]",
            )
        order = np.array([i for i in order if low <= rel[i] <= high], dtype=np.intp)
    rel = [rel[i] for i in order]
    pre = [k for k in rel if k < base]
    post = [k for k in rel if k > base]
    if not pre or not post:
        raise EstimationError("honest_did needs at least one pre-period and one post-period")
    expected = list(range(min(rel), max(rel) + 1))
    expected.remove(base)
    if rel != expected or base != post[0] - 1:
        raise EstimationError(
            f"relative times {rel} with reference {base}: HonestDiD needs contiguous periods "
            "and the reference just before the first post-period",
            fix="re-estimate with base=-1 and a window inside the data",
        )
    return coef[order], vcov[np.ix_(order, order)], len(pre), post


def _l_vector(l_vec: LVec, post_rel: list[int]) -> FloatArray:
    n = len(post_rel)
    if l_vec is None:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    if isinstance(l_vec, str):
        if l_vec != "average":
            raise ValidationError(f"l_vec must be None, 'average', a horizon or weights: {l_vec!r}")
        return np.full(n, 1.0 / n)
    if isinstance(l_vec, int | np.integer):
        if int(l_vec) not in post_rel:
            raise ValidationError(f"horizon {l_vec} is not a post-period; choose from {post_rel}")
        out = np.zeros(n)
        out[post_rel.index(int(l_vec))] = 1.0
        return out
    arr = np.asarray(l_vec, dtype=np.float64)
    if arr.shape != (n,):
        raise ValidationError(f"l_vec has {arr.size} weights; the event study has {n} post-periods")
    return arr


def _validate(
    betahat: FloatArray,
    sigma: FloatArray,
    num_pre: int,
    l_vec: FloatArray,
    method: str,
    alpha: float,
    test: str,
) -> None:
    if method not in ("relative_magnitude", "smoothness", "combined"):
        raise ValidationError(
            f"unknown method {method!r}", fix="'relative_magnitude', 'smoothness' or 'combined'"
        )
    if test not in ("hybrid", "conditional"):
        raise ValidationError(f"test must be 'hybrid' or 'conditional', not {test!r}")
    if not 0.0 < alpha < 1.0:
        raise ValidationError(f"alpha must lie in (0, 1), got {alpha}")
    n = betahat.size
    if sigma.shape != (n, n) or not 0 < num_pre < n or l_vec.size != n - num_pre:
        raise ValidationError("betahat, sigma, num_pre and l_vec do not conform")
    if not np.all(np.isfinite(sigma)) or np.min(
        np.linalg.eigvalsh(0.5 * (sigma + sigma.T))
    ) < -1e-10 * np.max(np.abs(sigma)):
        raise ValidationError("the covariance matrix is not finite and positive semi-definite")


def _default_m(betahat: FloatArray, sigma: FloatArray, num_pre: int) -> list[float]:
    """Ten values from 0 to the upper 95% bound of the largest pre-period second difference."""
    if num_pre < 2:
        return [0.0]
    pre = np.r_[betahat[:num_pre], 0.0]
    cov = np.zeros((num_pre + 1, num_pre + 1))
    cov[:num_pre, :num_pre] = sigma[:num_pre, :num_pre]
    D = np.zeros((num_pre - 1, num_pre + 1))
    for r in range(num_pre - 1):
        D[r, r : r + 3] = [1.0, -2.0, 1.0]
    sd = np.sqrt(np.diag(D @ cov @ D.T))
    upper = float(np.max(np.abs(D @ pre) + st.norm.ppf(0.975) * sd))
    return [float(v) for v in np.linspace(0.0, upper, 10)]
