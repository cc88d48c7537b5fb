"""Staggered placebo test: random pseudo-treated units and adoption periods (Figure 2).

Randomisation inference for a staggered DiD (Fisher 1935; Abadie, Athey, Imbens & Wooldridge
2020; in the reference study, 500 draws of 28 pseudo-treated cities with random adoption years).
The outcome and the controls are demeaned **once**
(:func:`didstudy.estimation.design.prepare_twfe`); each chunk of draws is then a matrix of
pseudo-treatment columns, demeaned together and fitted together by Frisch–Waugh–Lovell
(:meth:`~didstudy.estimation.design.DemeanedDesign.fit_many`), so that ``R`` draws cost a few
matrix products instead of ``R`` regressions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.panel import Panel, panel_for
from didstudy.data.seed import resolve_seed
from didstudy.errors import EstimationError, ValidationError
from didstudy.estimation.design import DemeanedDesign, prepare_twfe
from didstudy.estimation.twfe import baseline_for
from didstudy.kernels.demean import DirectDemeaner, demean_method, is_balanced_two_way
from didstudy.kernels.resample import RNG_BLOCK, DrawGenerator, run_chunks
from didstudy.kernels.threads import kernel_threads
from didstudy.results.placebo import PlaceboResult
from didstudy.results.spec import Baseline

__all__ = [
    "BalancedPlaceboKernel",
    "draw_assignments",
    "placebo",
    "pseudo_treatment",
]

Float = NDArray[np.float64]
Mode = Literal["units_and_timing", "units", "timing"]
Timing = Literal["observed", "uniform"]

#: Memory budget of one chunk of pseudo-treatment columns (bytes): n x chunk doubles, about
#: six live copies while demeaning and fitting.
CHUNK_BYTES = 256 * 1024**2
#: A draw whose residualised pseudo-treatment has a sum of squares below this share of Σ D²
#: has no variation left after the fixed effects and controls (NaN).
_ZERO_VARIANCE = 1e-9


def draw_assignments(
    draws: DrawGenerator,
    reps: int,
    n_units: int,
    n_treated: int,
    mode: Mode,
    real_units: NDArray[np.int64],
    real_cohorts: NDArray[np.float64],
    timing: Timing,
    timing_support: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Pseudo-treated units and adoption periods of ``reps`` draws.

    * units: ``"units_and_timing"`` and ``"units"`` draw ``n_treated`` distinct units uniformly
      (:meth:`~didstudy.kernels.resample.DrawGenerator.subsets`); ``"timing"`` keeps the real
      treated units.
    * periods: ``"units"`` keeps the real adoption periods, shuffled over the drawn units
      (a random subset of them if ``n_treated`` is smaller); otherwise each pseudo-treated unit
      gets a period drawn independently — ``timing="observed"``: from the real treated units'
      adoption periods (with replacement, so in proportion to the cohort sizes);
      ``"uniform"``: uniformly from ``timing_support``.

    Draws are generated in blocks of :data:`~didstudy.kernels.resample.RNG_BLOCK` so that they
    depend on the seed only: not on how the caller chunks the estimation, and draw ``r`` is the
    same for any ``reps``.
    """
    units = np.empty((reps, n_treated), dtype=np.int64)
    cohorts = np.empty((reps, n_treated), dtype=np.float64)
    for start in range(0, reps, RNG_BLOCK):
        size = min(RNG_BLOCK, reps - start)
        block = slice(start, start + size)
        if mode == "timing":
            units[block] = real_units[np.newaxis, :n_treated]
        else:
            units[block] = draws.subsets(size, n_units, n_treated)
        if mode == "units":
            cohorts[block] = draws.shuffled(size, real_cohorts, n_treated)
        elif timing == "observed":
            cohorts[block] = draws.choices(size, real_cohorts, n_treated)
        else:
            cohorts[block] = draws.choices(size, timing_support, n_treated)
    return units, cohorts


def pseudo_treatment(
    unit_codes: NDArray[np.intp],
    times: NDArray[np.float64],
    n_units: int,
    units: NDArray[np.int64],
    cohorts: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``n x R`` matrix of ``D_it = 1{i pseudo-treated in draw r and t ≥ its pseudo period}``."""
    reps = units.shape[0]
    adoption = np.full((n_units, reps), np.inf)
    adoption[units, np.arange(reps)[:, np.newaxis]] = cohorts
    out: NDArray[np.float64] = (times[:, np.newaxis] >= adoption[unit_codes]).astype(np.float64)
    return out


@dataclass(frozen=True)
class BalancedPlaceboKernel:
    """Placebo draws on a balanced unit × period panel in closed form (no n × R matrices).

    For a pseudo-treatment ``D`` that switches on at period index ``p_j`` for pseudo-treated
    unit ``j``, with ``e = M y`` the residual of the outcome on the two-way fixed effects and the
    controls and ``Z̃`` the two-way demeaned controls (``A = Z̃'Z̃``), Frisch–Waugh–Lovell gives

    * ``b = D'e / (‖M_FE D‖² − D'Z̃ A⁻¹ Z̃'D)``, where ``D'e = Σ_j Σ_{t≥p_j} e_jt`` and
      ``D'Z̃ = Σ_j Σ_{t≥p_j} Z̃_jt`` are tail sums precomputed once per unit, and
      ``‖M_FE D‖² = Σ D² − T Σ_i D̄_i² − N Σ_t D̄_t² + N T D̄²`` (balanced two-way within
      transformation, Wooldridge 2010 §10.5);
    * the CRV1 score of unit ``i``, ``Σ_t d_it e_it − b Σ_t d_it²`` with
      ``d = D − D̄_i − D̄_t + D̄ − Z̃γ``, ``γ = A⁻¹Z̃'D``, expands into the same tail sums,
      ``E D̄`` (an N × T by T × R product), ``W_i = Σ_t Z̃_it e_it`` and
      ``Σ_t Z̃_it Z̃_it'`` (since ``Σ_t e_it = Σ_t Z̃_it = 0`` within a unit).

    Cost per draw is ``O(N·T + N·k²)`` in BLAS products instead of several passes over ``n``
    rows; scores are summed to clusters in which units are nested. Standard errors are the raw
    sandwich times ``ssc``, the design's constant small-sample factor.
    """

    e: Float  # N x T residuals of y on FE and controls
    z: Float  # N x T x k demeaned controls
    tail_e: Float  # N x (T+1): sum_{s >= p} e_is
    tail_z: Float  # N x (T+1) x k
    zz: Float  # N x k x k: sum_t z_it z_it'
    w: Float  # N x k: sum_t z_it e_it
    z_kt: Float  # (N*k) x T: z transposed for one BLAS product
    a_inv: Float  # k x k
    cluster_of_unit: NDArray[np.intp]
    n_clusters: int
    ssc: float = 1.0

    @classmethod
    def build(
        cls,
        y_dm: Float,
        z_dm: Float,
        unit_codes: NDArray[np.intp],
        time_index: NDArray[np.intp],
        n_units: int,
        n_periods: int,
        cluster_of_unit: NDArray[np.intp],
    ) -> BalancedPlaceboKernel:
        k = z_dm.shape[1] if z_dm.ndim == 2 else 0
        z = np.zeros((n_units, n_periods, k))
        if k:
            z[unit_codes, time_index] = z_dm
        a = np.einsum("itk,itl->kl", z, z)
        a_inv = np.linalg.pinv(a, rcond=1e-12, hermitian=True) if k else np.zeros((0, 0))
        y_mat = np.zeros((n_units, n_periods))
        y_mat[unit_codes, time_index] = y_dm
        e = y_mat - np.einsum("itk,k->it", z, a_inv @ np.einsum("itk,it->k", z, y_mat))
        tail_e = np.zeros((n_units, n_periods + 1))
        tail_e[:, :n_periods] = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]
        tail_z = np.zeros((n_units, n_periods + 1, k))
        tail_z[:, :n_periods] = np.cumsum(z[:, ::-1], axis=1)[:, ::-1]
        return cls(
            e=e,
            z=z,
            tail_e=tail_e,
            tail_z=tail_z,
            zz=np.einsum("itk,itl->ikl", z, z),
            w=np.einsum("itk,it->ik", z, e),
            z_kt=np.ascontiguousarray(z.transpose(0, 2, 1)).reshape(n_units * k, n_periods),
            a_inv=a_inv,
            cluster_of_unit=cluster_of_unit,
            n_clusters=int(cluster_of_unit.max()) + 1,
        )

    def with_ssc(self, ssc: float) -> BalancedPlaceboKernel:
        return replace(self, ssc=float(ssc))

    def fit(self, units: NDArray[np.int64], period_index: NDArray[np.intp]) -> tuple[Float, Float]:
        """Coefficient and standard error of every draw; ``period_index`` = adoption index
        (``T`` = never) of each pseudo-treated unit, shape ``(R, m)`` like ``units``."""
        n_units, n_periods = self.e.shape
        reps = units.shape[0]
        cols = np.broadcast_to(np.arange(reps)[:, np.newaxis], units.shape)
        treated_periods = (n_periods - period_index).astype(np.float64)  # T_j
        counts = np.zeros((n_periods + 1, reps))
        np.add.at(counts, (period_index, cols), 1.0)
        c_t = np.cumsum(counts, axis=0)[:n_periods]  # treated units at t
        d_t = c_t / n_units  # D̄_t, T x R
        total = treated_periods.sum(axis=1)  # Σ D²
        d_bar = total / (n_units * n_periods)
        m_fe = (
            total
            - (treated_periods**2).sum(axis=1) / n_periods
            - (c_t**2).sum(axis=0) / n_units
            + n_units * n_periods * d_bar**2
        )
        num = self.tail_e[units, period_index].sum(axis=1)
        k = self.a_inv.shape[0]
        if k:
            zd = self.tail_z[units, period_index].sum(axis=1).T  # k x R
            gamma = self.a_inv @ zd
            den = m_fe - np.einsum("kr,kr->r", zd, gamma)
        else:
            gamma = np.zeros((0, reps))
            den = m_fe
        bad = ~(den > _ZERO_VARIANCE * np.maximum(total, 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            b = num / den
        q = d_t - d_bar[np.newaxis, :]
        h0 = (q**2).sum(axis=0)
        q_tail = np.zeros((n_periods + 1, reps))
        q_tail[:n_periods] = np.cumsum(q[::-1], axis=0)[::-1]
        # Σ_t d_it e_it and Σ_t d_it² for every unit and draw
        de = -(self.e @ d_t)
        hh = np.broadcast_to(h0, (n_units, reps)).copy()
        de[units, cols] += self.tail_e[units, period_index]
        tj = treated_periods
        hh[units, cols] += tj * (1.0 - tj / n_periods) - 2.0 * q_tail[period_index, cols]
        dd = hh
        if k:
            de -= self.w @ gamma
            # Σ_t z_it h_it = tail_z (pseudo-treated) − Σ_t z_it D̄_t, as one (N·k × T) product
            zh = -(self.z_kt @ d_t).reshape(n_units, k, reps)
            zh[units, :, cols] += self.tail_z[units, period_index]
            zh *= gamma[np.newaxis, :, :]
            dd -= 2.0 * zh.sum(axis=1)
            outer = (gamma[:, np.newaxis, :] * gamma[np.newaxis, :, :]).reshape(k * k, reps)
            dd += self.zz.reshape(n_units, k * k) @ outer
        scores = de - dd * b[np.newaxis, :]
        if self.n_clusters != n_units:
            sums = np.zeros((self.n_clusters, reps))
            np.add.at(sums, self.cluster_of_unit, scores)
            scores = sums
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(self.ssc * np.einsum("gr,gr->r", scores, scores)) / den
        b[bad] = np.nan
        se[bad] = np.nan
        return b, se


#: The balanced kernel must reproduce the real fit's coefficient to this relative accuracy
#: (float rounding of two algebraically equal computations), else the dense path is used.
_KERNEL_CHECK_RTOL = 1e-8


def _balanced_kernel(
    design: DemeanedDesign,
    unit_col: str,
    time_col: str,
    unit_codes: NDArray[np.intp],
    time_index: NDArray[np.intp],
    n_units: int,
    periods: Float,
    real_units: NDArray[np.int64],
    real_cohorts: Float,
    real_estimate: float,
    real_se: float,
) -> BalancedPlaceboKernel | None:
    """The closed-form kernel when the design allows it, calibrated on the real assignment.

    The real treatment (absorbing) is itself one assignment: the kernel must reproduce its
    coefficient, and the ratio of the real fit's variance to the kernel's raw sandwich is the
    design's small-sample factor, the same for every draw.
    """
    n_periods = periods.size
    if design.weights is not None or design.nobs != n_units * n_periods:
        return None
    if set(design.fe_names) != {unit_col, time_col} or len(design.fe_names) != 2:
        return None
    if design.vcov_request.kind != "crv1" or len(design.cluster_codes) != 1:
        return None
    if not is_balanced_two_way([unit_codes, time_index]):
        return None
    cluster = design.cluster_codes[0]
    cluster_of_unit = np.zeros(n_units, dtype=np.intp)
    cluster_of_unit[unit_codes] = cluster
    if not np.array_equal(cluster_of_unit[unit_codes], cluster):
        return None  # units not nested in clusters
    kernel = BalancedPlaceboKernel.build(
        design.y, design.controls, unit_codes, time_index, n_units, n_periods, cluster_of_unit
    )
    idx = np.searchsorted(periods, real_cohorts, side="left").astype(np.intp)
    b, raw = kernel.fit(real_units[np.newaxis, :], idx[np.newaxis, :])
    scale = max(1.0, abs(real_estimate))
    if not (np.isfinite(b[0]) and abs(b[0] - real_estimate) <= _KERNEL_CHECK_RTOL * scale):
        return None
    if not (np.isfinite(raw[0]) and raw[0] > 0 and np.isfinite(real_se)):
        return None
    return kernel.with_ssc((real_se / raw[0]) ** 2)


def _roles(
    data: Any, treat: str | None, unit: str | None, time: str | None
) -> tuple[Panel, str, str, str]:
    """The validated panel and its (unit, time, treat) through the single resolver."""
    panel = panel_for("placebo", data, unit=unit, time=time, treat=treat)
    return panel, panel.unit, panel.time, treat or panel.treat


def _auto_chunk(n: int, reps: int) -> int:
    return int(max(1, min(reps, CHUNK_BYTES // max(1, 8 * 6 * n))))


def placebo(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    controls: Sequence[str] | None = None,
    reps: int = 500,
    seed: int | None = None,
    mode: Mode = "units_and_timing",
    n_treated: int | None = None,
    timing: Timing = "observed",
    timing_range: tuple[float, float] | None = None,
    fe: Sequence[str] | str | None = None,
    cluster: str | Sequence[str] | None = None,
    chunk_size: int | None = None,
    *,
    spec: Baseline | None = None,
    weights: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    vcov: str | None = None,
    ssc: Any = None,
    drop_singletons: bool = True,
    progress: Callable[[int, int], None] | None = None,
    algorithm: Literal["auto", "balanced", "dense"] = "auto",
) -> PlaceboResult:
    """Staggered placebo test of the baseline TWFE coefficient.

    Each draw assigns a pseudo-treatment to ``n_treated`` units with a pseudo adoption period
    each, ``D_it = 1{t ≥ g_i}``, and re-estimates the baseline regression (same controls, fixed
    effects, clustering, weights and sample as :func:`didstudy.twfe`).

    Parameters
    ----------
    data
        A :class:`didstudy.Panel` or a DataFrame (then ``unit`` and ``time`` — or ``fe`` whose
        first two entries are the unit and the period — are required).
    y, treat, controls
        Outcome, real 0/1 treatment (default: the panel's), controls.
    reps
        Number of draws (default 500, as the reference study). 100,000 run in bounded memory.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical draws whatever
        ``chunk_size`` is. ``None`` draws a fresh seed, recorded as ``result.seed`` (and in
        ``results.json``): passing it again reproduces the draws (decision record 0022).
    mode
        ``"units_and_timing"`` (default; random units and random periods), ``"units"`` (random
        units, the real adoption periods shuffled over them) or ``"timing"`` (the real treated
        units, random periods).
    n_treated
        Number of pseudo-treated units (default: the number of really treated units).
    timing
        ``"observed"``: pseudo periods drawn from the real adoption periods (in proportion to
        cohort sizes); ``"uniform"``: uniform over the sample periods in ``timing_range``.
    timing_range
        ``(first, last)`` inclusive, for ``timing="uniform"``; default the earliest to the latest
        real adoption period.
    fe, cluster, weights, vcov, ssc, drop_singletons
        As :func:`didstudy.twfe`.
    chunk_size
        Draws fitted at once (default: as many as fit in about 256 MB).
    progress
        Called as ``progress(done, reps)`` after every chunk (the CLI draws a progress bar).
    algorithm
        ``"auto"``: the closed form of :class:`BalancedPlaceboKernel` on a balanced unit x
        period panel with unit and period effects, no weights and CRV1 clusters nesting the
        units (checked against the real fit), else ``"dense"``: pseudo-treatment columns
        demeaned together (:class:`~didstudy.kernels.demean.DirectDemeaner` for two or more
        fixed effects, else the design's ``demean``) and fitted by
        :meth:`~didstudy.estimation.design.DemeanedDesign.fit_many`.
    spec
        A :class:`didstudy.Baseline` (decision record 0021); the keyword arguments of the
        baseline model given here (not ``None``) override its fields.

    Returns
    -------
    PlaceboResult
        Every draw's coefficient, SE, t and p; randomisation p-values (two-sided
        ``|b_r| ≥ |b|`` and both one-sided) and the shares of draws beyond the real estimate.
    """
    reps = _check_options(mode, timing, reps)
    base = baseline_for(
        "placebo", spec, required=("y",), y=y, treat=treat, controls=controls, fe=fe,
        cluster=cluster, weights=weights, vcov=vcov, ssc=ssc,
    )  # fmt: skip
    y, controls = base.y or "", list(base.controls)
    treat = base.treat[0] if base.treat else None
    fe, cluster, weights, vcov, ssc = (
        base.fe,
        base.cluster,
        base.weights,
        base.vcov_arg,
        base.ssc_arg,
    )
    panel, unit_col, time_col, treat_col = _roles(data, treat, unit, time)
    frame = panel.frame
    design: DemeanedDesign = prepare_twfe(
        panel,
        y,
        controls,
        fe,
        cluster,
        weights,
        treat=[treat_col],
        vcov=vcov,
        ssc=ssc,
        drop_singletons=drop_singletons,
    )
    real = design.fit(treat_col)
    real_term = real.term(treat_col)
    sample = _Sample.of(frame.loc[design.sample], unit_col, time_col, treat_col)
    m = _pseudo_count(n_treated, mode, sample)
    span, support = _timing_support(sample, timing, timing_range)
    seed = resolve_seed(seed)
    units, cohorts = draw_assignments(
        DrawGenerator(seed), reps, sample.n_units, m, mode, sample.real_units,
        sample.real_cohorts, timing, support,
    )  # fmt: skip
    engine = _engine(design, sample, unit_col, time_col, real_term, algorithm)
    chunk = _auto_chunk(engine.rows_per_draw, reps) if chunk_size is None else chunk_size
    with kernel_threads(engine.rows_per_draw * min(reps, max(1, int(chunk)))):
        parts = run_chunks(
            _fit_draws, (engine, units, cohorts), reps, int(chunk), progress=progress
        )
    coef = np.concatenate([b for b, _ in parts])
    se = np.concatenate([s for _, s in parts])
    if not np.isfinite(coef).any():
        raise EstimationError(
            "no placebo draw has variation left after the fixed effects",
            fix="check timing_range: pseudo adoption in the first period is absorbed by the "
            "unit effects",
        )
    for arr in (coef, se, units, cohorts):
        arr.setflags(write=False)
    stats = real.stats()
    return PlaceboResult(
        term=treat_col,
        estimate=real_term.estimate,
        std_error=real_term.std_error,
        df_t=float(real.df_t),
        coef=coef,
        se=se,
        pseudo_units=units,
        pseudo_cohorts=cohorts,
        unit_labels=tuple(sample.unit_labels),
        reps=reps,
        seed=seed,
        mode=mode,
        timing=timing,
        timing_range=span if timing == "uniform" else None,
        n_treated=m,
        nobs=design.nobs,
        n_clusters=int(stats.get("n_clusters", 0) or 0),
        outcome=y,
        controls=tuple(controls),
        vcov_type=str(real.vcov_type),
    )


def _check_options(mode: str, timing: str, reps: int) -> int:
    if mode not in ("units_and_timing", "units", "timing"):
        raise ValidationError(f"mode must be 'units_and_timing', 'units' or 'timing', not {mode!r}")
    if timing not in ("observed", "uniform"):
        raise ValidationError(f"timing must be 'observed' or 'uniform', not {timing!r}")
    if int(reps) < 1:
        raise ValidationError(f"reps must be at least 1, not {reps}")
    return int(reps)


@dataclass(frozen=True)
class _Sample:
    """The estimation sample's units, periods and real adoption (first treated period)."""

    unit_codes: NDArray[np.intp]
    unit_labels: tuple[Any, ...]
    times: Float
    time_index: NDArray[np.intp]
    period_values: Float
    real_units: NDArray[np.int64]
    real_cohorts: Float

    @property
    def n_units(self) -> int:
        return len(self.unit_labels)

    @classmethod
    def of(cls, sample: pd.DataFrame, unit_col: str, time_col: str, treat_col: str) -> _Sample:
        unit_codes_raw, unit_labels = pd.factorize(sample[unit_col], sort=True)
        unit_codes = unit_codes_raw.astype(np.intp)
        times = sample[time_col].to_numpy(dtype=np.float64)
        d_real = sample[treat_col].to_numpy(dtype=np.float64)
        first = np.full(len(unit_labels), np.inf)
        np.minimum.at(first, unit_codes[d_real == 1], times[d_real == 1])
        real_units = np.flatnonzero(np.isfinite(first)).astype(np.int64)
        if real_units.size == 0:
            raise ValidationError(
                "no unit is treated in the estimation sample",
                column=treat_col,
                fix="check the treatment column",
            )
        time_codes_raw, periods = pd.factorize(sample[time_col], sort=True)
        return cls(
            unit_codes, tuple(unit_labels.tolist()), times, time_codes_raw.astype(np.intp),
            np.asarray(periods, dtype=np.float64), real_units, first[real_units],
        )  # fmt: skip


def _pseudo_count(n_treated: int | None, mode: Mode, sample: _Sample) -> int:
    """The number of pseudo-treated units, checked against the mode."""
    n_real = sample.real_units.size
    m = n_real if n_treated is None else int(n_treated)
    if mode == "timing" and m != n_real:
        raise ValidationError(
            f"mode='timing' keeps the {n_real} real treated units; n_treated={m}",
            fix="leave n_treated unset with mode='timing'",
        )
    if mode == "units" and m > n_real:
        raise ValidationError(
            f"mode='units' shuffles the {n_real} real adoption periods over the "
            f"pseudo-treated units; n_treated={m} is more",
            fix="use mode='units_and_timing' to draw more pseudo-treated units",
        )
    if not 1 <= m <= sample.n_units:
        raise ValidationError(f"n_treated must be between 1 and {sample.n_units}, not {m}")
    return m


def _timing_support(
    sample: _Sample, timing: Timing, timing_range: tuple[float, float] | None
) -> tuple[tuple[float, float], Float]:
    """The range of pseudo adoption periods and the sample periods inside it."""
    span = (
        (float(sample.real_cohorts.min()), float(sample.real_cohorts.max()))
        if timing_range is None
        else (float(timing_range[0]), float(timing_range[1]))
    )
    support = np.unique(sample.times)
    support = support[(support >= span[0]) & (support <= span[1])]
    if timing == "uniform" and support.size == 0:
        raise ValidationError(
            f"no sample period lies in timing_range {timing_range}",
            fix="pass a range of periods present in the data",
        )
    return span, support


@dataclass(frozen=True)
class _Engine:
    """How a chunk of draws is fitted: the closed form, or pseudo-treatment columns."""

    design: DemeanedDesign
    sample: _Sample
    kernel: BalancedPlaceboKernel | None
    demeaner: DirectDemeaner | None

    @property
    def rows_per_draw(self) -> int:
        """Values one draw touches (sizes the chunks and the BLAS thread choice)."""
        if self.kernel is not None:
            return self.sample.n_units * (int(self.kernel.z.shape[2]) + 10)
        return self.design.nobs


def _engine(
    design: DemeanedDesign,
    sample: _Sample,
    unit_col: str,
    time_col: str,
    real_term: Any,
    algorithm: str,
) -> _Engine:
    kernel = None
    if algorithm != "dense":
        kernel = _balanced_kernel(
            design, unit_col, time_col, sample.unit_codes, sample.time_index, sample.n_units,
            sample.period_values, sample.real_units, sample.real_cohorts, real_term.estimate,
            real_term.std_error,
        )  # fmt: skip
        if kernel is None and algorithm == "balanced":
            raise ValidationError(
                "algorithm='balanced' needs a balanced unit x period panel with unit and period "
                "fixed effects, no weights, and CRV1 clusters in which units are nested",
                fix="use algorithm='auto'",
            )
    demeaner = None
    if kernel is None and demean_method(design.fe, design.weights) in ("direct", "closed-form"):
        demeaner = DirectDemeaner.build(design.fe, design.weights)
    return _Engine(design, sample, kernel, demeaner)


def _fit_draws(
    shared: tuple[_Engine, NDArray[np.int64], Float], span: tuple[int, int]
) -> tuple[Float, Float]:
    """Coefficients and standard errors of the draws ``span[0]..span[1]-1``."""
    engine, units, cohorts = shared
    start, stop = span
    sample = engine.sample
    if engine.kernel is not None:
        idx = np.searchsorted(sample.period_values, cohorts[start:stop], side="left")
        return engine.kernel.fit(units[start:stop], idx.astype(np.intp))
    d = pseudo_treatment(
        sample.unit_codes, sample.times, sample.n_units, units[start:stop], cohorts[start:stop]
    )
    design = engine.design
    d_tilde = engine.demeaner.apply_block(d) if engine.demeaner is not None else design.demean(d)
    return design.fit_many(d_tilde, chunk=stop - start)
