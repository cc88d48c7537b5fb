"""Simulated staggered-adoption panels with a known treatment effect.

Everything produced here is **simulated** data: the frames carry ``attrs["simulated"] = True``
and the true effects in ``attrs["truth"]`` so that tests, examples and reports can say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from didstudy.data.seed import resolve_seed
from didstudy.errors import ValidationError

__all__ = ["simulate_staggered"]

# correlation scale between each control and the unit fixed effect (see the DGP in the docstring)
_CONTROL_FE_LOADING = 0.5


def _default_cohorts(periods: np.ndarray, n_units: int) -> dict[int, int]:
    """Four evenly spaced cohorts inside the sample, one eighth of the units each."""
    inner = periods[1:-1] if periods.size > 2 else periods
    picks = np.unique(np.quantile(inner, [0.2, 0.4, 0.6, 0.8], method="nearest"))
    size = max(n_units // 8, 1)
    return {int(g): size for g in picks}


def simulate_staggered(
    n_units: int | None = 200,
    periods: int | Sequence[int] = range(2003, 2023),
    cohorts: Mapping[int, int] | None = None,
    n_never: int | None = None,
    effect: float = 0.05,
    dynamic: Callable[[int], float] | None = None,
    heterogeneous: bool = False,
    n_controls: int = 5,
    unit_fe_sd: float = 1.0,
    time_fe_sd: float = 0.5,
    noise_sd: float = 0.1,
    drop_share: float = 0.0,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Simulate a staggered difference-in-differences panel with a known effect.

    The data are **simulated**, not observed; the returned frame says so in
    ``attrs["simulated"]``.

    Data-generating process (unit :math:`i`, period :math:`t`, cohort :math:`g_i`, the first
    treated period; :math:`g_i = 0` codes never treated)

    .. math::

        y_{it} = \alpha_i + \lambda_t + \sum_k \beta_k x_{kit}
                 + \tau_{g_i}(t - g_i)\, D_{it} + \varepsilon_{it},
        \qquad D_{it} = 1\{g_i > 0,\ t \ge g_i\},

    with :math:`\alpha_i \sim N(0, \sigma_\alpha^2)` (``unit_fe_sd``),
    :math:`\lambda_t \sim N(0, \sigma_\lambda^2)` (``time_fe_sd``),
    :math:`\varepsilon_{it} \sim N(0, \sigma_\varepsilon^2)` (``noise_sd``), i.i.d.
    Controls are :math:`x_{kit} = 0.5\,\alpha_i / \sigma_\alpha + u_{kit}`,
    :math:`u_{kit} \sim N(0, 1)` independent of treatment, with :math:`\beta_k = 0.1 k`.
    They are correlated with the unit effect (so they are not pure noise and explain
    variance of ``y``), but conditional on unit and period fixed effects they are independent of
    :math:`D_{it}`, so leaving them out of a two-way fixed-effects regression biases nothing.

    The effect is :math:`\tau_g(e) = m_g\, h(e)` for event time :math:`e = t - g \ge 0`, where
    :math:`h(e) =` ``dynamic(e)`` if ``dynamic`` is given and ``effect`` otherwise, and
    :math:`m_g = 1` unless ``heterogeneous``; then cohorts sorted by adoption get multipliers
    evenly spaced from 1.5 (earliest) down to 0.5 (latest), so the unweighted mean multiplier is
    1 and two-way fixed effects is biased (Goodman-Bacon 2021; de Chaisemartin and
    D'Haultfœuille 2020). Treatment is absorbing. Parallel trends hold by construction.

    Parameters
    ----------
    n_units
        Total number of units; must equal ``sum(cohorts.values()) + n_never`` when all are
        given. ``None`` means that sum.
    periods
        The periods (integers, e.g. ``range(2003, 2023)``) or their number ``n`` (then
        ``1..n``).
    cohorts
        ``{first treated period: number of units}``. Default: four evenly spaced cohorts inside
        the sample, each with one eighth of the units. A cohort at or before the first period
        makes always-treated units; one after the last period never becomes treated in sample
        (its ``cohort`` value is kept, ``treat`` stays 0).
    n_never
        Never-treated units (``cohort == 0``). Default: the units left over.
    effect
        Constant effect on the treated (used when ``dynamic`` is None). ``0`` gives a null DGP.
    dynamic
        Callable mapping event time ``e >= 0`` to the effect, e.g. ``lambda e: 0.02 * (e + 1)``.
    heterogeneous
        Scale the effect by cohort as described above.
    n_controls
        Number of controls ``x1..xk``.
    unit_fe_sd, time_fe_sd, noise_sd
        Standard deviations of the unit effect, the period effect and the idiosyncratic error.
    drop_share
        Share of unit-period rows dropped at random to make an unbalanced panel (default 0).
    seed
        Seed of :func:`numpy.random.default_rng` (default 0, so that a simulated data set is as
        fixed as a bundled one; ``None`` draws a fresh seed, recorded in ``attrs["seed"]``,
        decision record 0022).

    Returns
    -------
    pandas.DataFrame
        Columns ``unit, time, cohort, treat, y, x1..xk`` sorted by unit and time.
        ``attrs["simulated"] = True``; ``attrs["truth"]`` holds ``effect``, ``att`` (the mean of
        :math:`\tau` over treated rows present in the data), ``att_by_cohort`` and
        ``att_by_rel_time`` (mean true effect by cohort / event time over treated rows),
        ``effect_by_cohort`` (the multipliers times ``effect``), ``beta`` and a one-line ``dgp``
        description. ``attrs["seed"]`` is the seed.

    Raises
    ------
    ValidationError
        When the unit counts do not add up or an argument is out of range.
    """
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    period_arr = _period_array(periods)
    cohort_map, n_never, n_units = _unit_counts(n_units, cohorts, n_never, period_arr)
    if not 0.0 <= drop_share < 1.0:
        raise ValidationError(
            f"drop_share={drop_share} is outside [0, 1).", fix="pass a share such as 0.1."
        )
    if n_controls < 0:
        raise ValidationError(f"n_controls={n_controls} < 0.", fix="pass n_controls >= 0.")

    ordered = sorted(int(g) for g in cohort_map)
    if heterogeneous and len(ordered) > 1:
        mult = dict(zip(ordered, np.linspace(1.5, 0.5, len(ordered)).tolist(), strict=True))
    else:
        mult = dict.fromkeys(ordered, 1.0)
    unit_cohort = np.concatenate(
        [np.full(int(cohort_map[g]), g, dtype=np.int64) for g in ordered]
        + [np.zeros(n_never, dtype=np.int64)]
    )
    unit_cohort = unit_cohort[rng.permutation(n_units)]
    n_t = period_arr.size
    unit_fe = rng.normal(0.0, unit_fe_sd, n_units)
    time_fe = rng.normal(0.0, time_fe_sd, n_t)
    unit = np.repeat(np.arange(1, n_units + 1, dtype=np.int64), n_t)
    time = np.tile(period_arr, n_units)
    cohort = np.repeat(unit_cohort, n_t)
    treat = ((cohort > 0) & (time >= cohort)).astype(np.int64)
    rel = time - cohort
    m = np.array([mult.get(int(g), 0.0) for g in unit_cohort], dtype=np.float64)
    tau = np.where(treat == 1, np.repeat(m, n_t) * _base_effect(effect, dynamic, treat, rel), 0.0)

    fe_scale = unit_fe / unit_fe_sd if unit_fe_sd > 0 else np.zeros(n_units)
    beta = 0.1 * np.arange(1, n_controls + 1)
    controls = _CONTROL_FE_LOADING * np.repeat(fe_scale, n_t)[:, None] + rng.normal(
        0.0, 1.0, (unit.size, n_controls)
    )
    y = (
        np.repeat(unit_fe, n_t)
        + np.tile(time_fe, n_units)
        + controls @ beta
        + tau
        + rng.normal(0.0, noise_sd, unit.size)
    )
    data: dict[str, Any] = {"unit": unit, "time": time, "cohort": cohort, "treat": treat, "y": y}
    for k in range(n_controls):
        data[f"x{k + 1}"] = controls[:, k]
    df = pd.DataFrame(data)
    keep = np.ones(unit.size, dtype=bool)
    if drop_share > 0:
        keep = rng.random(unit.size) >= drop_share
        df = df.loc[keep].reset_index(drop=True)
    df.attrs["simulated"] = True
    df.attrs["seed"] = int(seed)
    df.attrs["truth"] = {
        "effect": float(effect),
        **_realised_effects(tau[keep], treat[keep], cohort[keep], rel[keep], ordered),
        "effect_by_cohort": {g: float(mult[g] * effect) for g in ordered},
        "dynamic": dynamic is not None,
        "heterogeneous": bool(heterogeneous),
        "beta": beta.tolist(),
        "dgp": (
            "SIMULATED: y = unit FE + period FE + sum_k 0.1k x_k + tau_g(t-g) D + e; "
            "parallel trends hold; controls load on the unit FE only"
        ),
    }
    return df


def _period_array(periods: int | Sequence[int]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Sorted distinct integer periods from a count ``n`` (``1..n``) or a sequence."""
    if isinstance(periods, (int, np.integer)):
        if periods < 2:
            raise ValidationError(
                f"periods={periods} gives fewer than two periods.",
                fix="pass periods >= 2 or a range such as range(2003, 2023).",
            )
        return np.arange(1, int(periods) + 1, dtype=np.int64)
    period_arr = np.asarray(list(periods), dtype=np.int64)
    if period_arr.size < 2 or np.unique(period_arr).size != period_arr.size:
        raise ValidationError(
            "periods must hold at least two distinct integers.",
            fix="pass e.g. periods=range(2003, 2023).",
        )
    return np.sort(period_arr)


def _unit_counts(
    n_units: int | None,
    cohorts: Mapping[int, int] | None,
    n_never: int | None,
    period_arr: np.ndarray[Any, np.dtype[np.int64]],
) -> tuple[dict[int, int], int, int]:
    """``(cohort map, n_never, n_units)`` with the counts checked to add up."""
    n_guess = n_units if n_units is not None else 200
    cohort_map = dict(cohorts) if cohorts is not None else _default_cohorts(period_arr, n_guess)
    if any(int(v) < 0 for v in cohort_map.values()) or any(int(g) == 0 for g in cohort_map):
        raise ValidationError(
            f"cohorts={cohort_map} has a negative count or a cohort coded 0 (0 means never).",
            fix="pass {first treated period: number of units} with positive periods and counts.",
        )
    n_treated = int(sum(int(v) for v in cohort_map.values()))
    if n_never is None:
        if n_units is None:
            raise ValidationError(
                "n_units and n_never are both None.", fix="give n_units or n_never."
            )
        n_never = n_units - n_treated
    if n_units is None:
        n_units = n_treated + n_never
    if n_never < 0 or n_treated + n_never != n_units:
        raise ValidationError(
            f"cohorts hold {n_treated} units and n_never={n_never}, which does not add up to "
            f"n_units={n_units}.",
            fix="make sum(cohorts.values()) + n_never == n_units, or leave n_never=None.",
        )
    return cohort_map, n_never, n_units


def _base_effect(
    effect: float,
    dynamic: Callable[[int], float] | None,
    treat: np.ndarray[Any, Any],
    rel: np.ndarray[Any, Any],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """:math:`h(e)` per row: ``effect`` or ``dynamic(e)`` at event time ``e`` (0 untreated)."""
    if dynamic is None:
        return np.full(treat.size, float(effect))
    levels, where = np.unique(np.where(treat == 1, rel, -1), return_inverse=True)
    values = [float(dynamic(int(e))) if e >= 0 else 0.0 for e in levels]
    return np.asarray(values, dtype=np.float64)[where.reshape(-1)]


def _realised_effects(
    tau: np.ndarray[Any, Any],
    treat: np.ndarray[Any, Any],
    cohort: np.ndarray[Any, Any],
    rel: np.ndarray[Any, Any],
    ordered: list[int],
) -> dict[str, Any]:
    """Mean true effect over the treated rows kept: overall, by cohort, by event time."""
    on = treat == 1
    return {
        "att": float(tau[on].mean()) if on.any() else None,
        "att_by_cohort": {
            int(g): float(tau[on & (cohort == g)].mean())
            for g in ordered
            if (on & (cohort == g)).any()
        },
        "att_by_rel_time": {int(e): float(tau[on & (rel == e)].mean()) for e in np.unique(rel[on])},
    }
