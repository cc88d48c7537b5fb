"""Propensity-score-matched difference-in-differences (PSM-DID), year by year or pooled.

The reference study's Table 5 column (1): in every year, a logit of the treatment-group
indicator on the control variables gives a propensity score; every treated city is matched to its
nearest control city **of the same year** (Böckerman and Ilmakunnas 2009's period-by-period
matching, the "逐期匹配" of the Chinese literature); unmatched observations are dropped and the
baseline two-way fixed-effects regression is re-estimated on the matched observations.

Conventions (docs/decisions/0005-psm-did.md):

* the matching indicator is, by default, the **treatment group** (units ever treated in the
  sample), not the time-varying ``Policy`` dummy, so that every year, including the years before
  adoption, has treated and control units; pass ``group=`` to use another 0/1 column;
* propensity = fitted probability of a logit (own Newton solver, :mod:`.logit`); matching on the
  propensity score itself, as MatchIt's default ``distance = "glm"``;
* nearest-neighbour matching as MatchIt ``method = "nearest"`` (:mod:`.matching`): treated units
  in decreasing propensity order (``m_order="largest"``), ``k`` controls each, in rounds when
  without replacement; the caliper is in **standard deviations of the propensity score** of the
  units entering the cell (MatchIt's ``std.caliper = TRUE``), or in propensity units with
  ``std_caliper=False``;
* common support (``common_support=True``) drops treated observations whose propensity lies
  outside the controls' range (psmatch2's ``common``; MatchIt ``discard = "treated"``);
* the matched sample keeps every matched treated observation and every control observation used
  at least once; with replacement a control used ``m`` times gets frequency weight ``m`` (so the
  weighted regression equals the regression on the stacked pairs); without replacement all
  weights are 1;
* balance: standardised mean differences with the treated group's standard deviation before
  matching in the denominator, the same before and after (MatchIt's ``s.d.denom = "treated"``
  for the ATT); means after matching use MatchIt's ATT matching weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.seed import resolve_seed
from didstudy.errors import DidstudyWarning, EstimationError
from didstudy.estimation._inputs import PanelInput, fit_twfe, panel_input, require_columns
from didstudy.estimation.logit import fit_logit
from didstudy.estimation.matching import Discard, MatchOrder, match_weights, nearest_neighbor
from didstudy.estimation.twfe import baseline_for
from didstudy.results.psm import PSMDIDResult
from didstudy.results.spec import Baseline

__all__ = ["BalanceStats", "MatchingOptions", "balance_stats", "psm_did"]

FloatArray = NDArray[np.float64]
SdDenominator = Literal["treated", "pooled"]
Distance = Literal["propensity", "logit"]


@dataclass(frozen=True)
class BalanceStats:
    """Means and standardised mean differences of covariates, before and after matching."""

    mean_treated_before: FloatArray
    mean_control_before: FloatArray
    smd_before: FloatArray
    mean_treated_after: FloatArray
    mean_control_after: FloatArray
    smd_after: FloatArray


def balance_stats(
    X: FloatArray,
    treat: NDArray[np.bool_],
    weights_after: FloatArray,
    *,
    denominator: SdDenominator = "treated",
) -> BalanceStats:
    r"""Standardised mean differences before and after matching.

    .. math::

        \mathrm{SMD}_j = \frac{\bar x_{j,1} - \bar x_{j,0}}{s_j},
        \qquad s_j = s_{j,1} \ \text{(treated)} \quad\text{or}\quad
        \sqrt{(s_{j,1}^2 + s_{j,0}^2)/2} \ \text{(pooled)},

    with ``s`` the sample standard deviations (``n - 1``) **before** matching, used for both
    columns (MatchIt ``summary()``; Rosenbaum and Rubin 1985 for the pooled form). After
    matching the means are weighted by ``weights_after`` (zero = not in the matched sample).

    Parameters
    ----------
    X
        ``(n, p)`` covariates of one matching cell (or several cells stacked).
    treat
        ``(n,)`` treated indicator.
    weights_after
        ``(n,)`` matching weights.
    denominator
        ``"treated"`` (ATT convention) or ``"pooled"``.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(weights_after, dtype=np.float64)
    t, c = treat, ~treat
    mt, mc = X[t].mean(axis=0), X[c].mean(axis=0)
    st = X[t].std(axis=0, ddof=1) if t.sum() > 1 else np.full(X.shape[1], np.nan)
    if denominator == "treated":
        sd = st
    elif denominator == "pooled":
        sc = X[c].std(axis=0, ddof=1) if c.sum() > 1 else np.full(X.shape[1], np.nan)
        sd = np.sqrt((st**2 + sc**2) / 2.0)
    else:
        raise EstimationError(
            f"unknown SD denominator {denominator!r}", fix="'treated' or 'pooled'"
        )

    def wmean(mask: NDArray[np.bool_]) -> FloatArray:
        ww = w[mask]
        if ww.sum() <= 0:
            return np.full(X.shape[1], np.nan)
        return np.asarray((X[mask] * ww[:, None]).sum(axis=0) / ww.sum(), dtype=np.float64)

    at, ac = wmean(t), wmean(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        before = np.where(sd > 0, (mt - mc) / sd, np.nan)
        after = np.where(sd > 0, (at - ac) / sd, np.nan)
    return BalanceStats(mt, mc, before, at, ac, after)


def _balance_rows(
    scope: str, time: Any, covariates: Sequence[str], b: BalanceStats
) -> list[dict[str, Any]]:
    return [
        {
            "scope": scope,
            "time": time,
            "variable": name,
            "mean_treated_before": float(b.mean_treated_before[j]),
            "mean_control_before": float(b.mean_control_before[j]),
            "smd_before": float(b.smd_before[j]),
            "mean_treated_after": float(b.mean_treated_after[j]),
            "mean_control_after": float(b.mean_control_after[j]),
            "smd_after": float(b.smd_after[j]),
        }
        for j, name in enumerate(covariates)
    ]


def _matching_group(inp: PanelInput, treat: str, group: str | None) -> pd.Series:
    frame = inp.frame
    if group is None:
        on = pd.to_numeric(frame[treat]).fillna(0) == 1
        return on.groupby(frame[inp.unit]).transform("max").astype(bool)
    values = pd.to_numeric(frame[group])
    bad = ~values.isin([0, 1])
    if bad.any():
        raise EstimationError(
            "the matching group indicator must be 0 or 1",
            column=group,
            rows=list(frame.index[bad.to_numpy()][:10]),
            fix="pass a 0/1 column as group=, or None for 'ever treated'",
        )
    return values == 1


@dataclass(frozen=True)
class MatchingOptions:
    """How PSM-DID matches (validated at construction; see :func:`psm_did`).

    Attributes
    ----------
    by_year, k, caliper, std_caliper, replace, common_support, m_order, distance,
    sd_denominator
        The matching options of :func:`psm_did` (MatchIt's names where they exist).

    Examples
    --------
    >>> from didstudy.estimation.psm import MatchingOptions
    >>> MatchingOptions(k=2, replace=True).discard
    'treated'
    """

    by_year: bool = True
    k: int = 1
    caliper: float | None = None
    std_caliper: bool = True
    replace: bool = False
    common_support: bool | Discard = True
    m_order: MatchOrder = "largest"
    distance: Distance = "propensity"
    sd_denominator: SdDenominator = "treated"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise EstimationError(f"k must be a positive integer, got {self.k}")
        if self.distance not in ("propensity", "logit"):
            raise EstimationError(
                f"unknown distance {self.distance!r}", fix="'propensity' or 'logit'"
            )

    @property
    def discard(self) -> Discard:
        """MatchIt's ``discard`` for ``common_support``."""
        if self.common_support is True:
            return "treated"
        if self.common_support is False:
            return "none"
        return self.common_support

    def override(self, **changes: Any) -> MatchingOptions:
        """A copy with the options given (not ``None``) replaced."""
        given = {key: value for key, value in changes.items() if value is not None}
        return replace(self, **given) if given else self


@dataclass
class _Matching:
    """What the matching cells produce (private to :func:`psm_did`)."""

    freq: FloatArray
    att: FloatArray
    in_cell: NDArray[np.bool_]
    pairs: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    balance: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Any] = field(default_factory=list)


_PAIR_COLUMNS = [
    "time",
    "treated",
    "treated_time",
    "control",
    "control_time",
    "rank",
    "pscore_treated",
    "pscore_control",
]


def psm_did(
    data: Any,
    y: str | None = None,
    treat: str | None = None,
    covariates: Sequence[str] = (),
    controls: Sequence[str] | None = None,
    *,
    spec: Baseline | None = None,
    matching: MatchingOptions | None = None,
    unit: str | None = None,
    time: str | None = None,
    group: str | None = None,
    by_year: bool | None = None,
    k: int | None = None,
    caliper: float | None = None,
    std_caliper: bool | None = None,
    replace: bool | None = None,
    common_support: bool | Discard | None = None,
    m_order: MatchOrder | None = None,
    distance: Distance | None = None,
    sd_denominator: SdDenominator | None = None,
    fe: Sequence[str] | None = None,
    cluster: str | Sequence[str] | None = None,
    vcov: Any = None,
    ssc: Any = None,
    seed: int | None = None,
) -> PSMDIDResult:
    """PSM-DID: match year by year on a logit propensity score, then re-estimate the TWFE.

    Parameters
    ----------
    data
        A :class:`didstudy.Panel`, or a DataFrame with ``unit`` and ``time`` named.
    y, treat
        Outcome and the 0/1 policy dummy of the baseline regression (or ``spec``'s).
    covariates
        Regressors of the propensity-score logit (an intercept is added).
    controls
        Controls of the re-estimated TWFE; default: ``spec.controls`` if set, else
        ``covariates``.
    spec
        A :class:`didstudy.Baseline` for the re-estimated TWFE; the keywords ``y``, ``treat``,
        ``controls``, ``fe``, ``cluster``, ``vcov``, ``ssc`` override it.
    matching
        A :class:`MatchingOptions`; the matching keywords below override it.
    unit, time
        Column roles when ``data`` is a DataFrame.
    group
        0/1 column of the units to be matched as "treated"; default: units ever treated
        (``treat == 1`` in some period).
    by_year
        Match within each period (default). ``False``: one logit on the pooled unit-period
        observations and matching across periods (pooled cross-section PSM).
    k
        Controls per treated observation (default 1).
    caliper, std_caliper
        Maximum propensity distance; in standard deviations of the propensity score when
        ``std_caliper`` (default, MatchIt's convention), else in propensity units.
    replace
        Match with replacement (frequency weights in the regression; default False).
    common_support
        ``True`` (default) = drop treated observations outside the controls' propensity range
        (``"treated"``), ``False`` = ``"none"``, or a MatchIt ``discard`` string (``"both"``,
        ``"control"``).
    m_order
        Order in which treated observations choose (MatchIt ``m.order``; default
        ``"largest"``).
    distance
        Match on the propensity score (``"propensity"``, MatchIt's default) or on its logit,
        the linear predictor (``"logit"``, MatchIt ``link = "linear.logit"``; Austin 2011
        recommends a caliper of 0.2 SD of the logit). The caliper and common support use the
        same scale.
    sd_denominator
        Standard deviation in the standardised differences (default ``"treated"``).
    fe, cluster, vcov, ssc
        Passed to the TWFE (defaults: unit and time fixed effects, clustered by the panel's
        cluster variable or the unit).
    seed
        Seed for ``m_order="random"`` (cell ``i`` uses ``seed + i``; ``None`` draws a fresh
        seed, recorded in ``options["seed"]``, decision record 0022); otherwise the matching
        is deterministic and the seed is unused.

    Returns
    -------
    PSMDIDResult
        ``.regression`` (the TWFE on the matched sample), ``.matches``, ``.balance``,
        ``.cells``, ``.nobs_before``, ``.nobs_matched``.

    Examples
    --------
    >>> import didstudy as ds
    >>> df = ds.simulate_staggered(n_units=60, periods=range(1, 9), seed=0)
    >>> panel = ds.as_panel(df, unit="unit", time="time", treat="treat")
    >>> res = ds.psm_did(panel, y="y", treat="treat", covariates=["x1", "x2"])
    >>> res.nobs_matched <= res.nobs_before
    True
    """
    opts = (matching or MatchingOptions()).override(
        by_year=by_year, k=k, caliper=caliper, std_caliper=std_caliper, replace=replace,
        common_support=common_support, m_order=m_order, distance=distance,
        sd_denominator=sd_denominator,
    )  # fmt: skip
    covariates = list(covariates)
    if not covariates:
        raise EstimationError("psm_did needs at least one covariate for the propensity score")
    if controls is None and (spec is None or not spec.controls):
        controls = covariates
    base = baseline_for(
        "psm_did", spec, y=y, treat=treat, controls=controls, fe=fe, cluster=cluster,
        vcov=vcov, ssc=ssc,
    )  # fmt: skip
    assert base.y is not None and base.treat is not None
    treat_col = base.treat[0]
    inp = panel_input("psm_did", data, unit, time, treat_col)
    if opts.m_order == "random":
        seed = resolve_seed(seed)
    needed = [base.y, treat_col, *covariates, *base.controls, *([group] if group else [])]
    require_columns(inp.frame, needed)
    frame = inp.frame.reset_index(drop=True)
    inp = PanelInput(frame, inp.unit, inp.time, inp.cluster, inp.weight)
    is_group = _matching_group(inp, treat_col, group).to_numpy()
    done = _match_cells(inp, covariates, is_group, opts, seed)
    matched, weight_col = _matched_sample(inp, done.freq)
    regression = fit_twfe(
        inp, matched, base.y, treat_col, base.controls, fe=base.fe, cluster=base.cluster,
        weights=weight_col, vcov=base.vcov_arg, ssc=base.ssc_arg,
    )  # fmt: skip
    options = _options_record(opts, group, covariates, weight_col, seed)
    return PSMDIDResult(
        regression=regression,
        matches=pd.DataFrame(done.pairs, columns=_PAIR_COLUMNS),
        balance=pd.DataFrame(done.balance),
        cells=pd.DataFrame(done.cells),
        nobs_before=len(frame),
        nobs_matched=len(matched),
        options=options,
    )


def _cells(
    times: NDArray[Any], complete: NDArray[np.bool_], by_year: bool
) -> list[tuple[Any, NDArray[np.intp]]]:
    """The matching cells: one per period (sorted), or one pooled cell."""
    if not by_year:
        return [(None, np.flatnonzero(complete))]
    cells = [(t, np.flatnonzero((times == t) & complete)) for t in pd.unique(times)]
    cells.sort(key=lambda c: c[0])
    return cells


def _match_cells(
    inp: PanelInput,
    covariates: list[str],
    is_group: NDArray[np.bool_],
    opts: MatchingOptions,
    seed: int | None,
) -> _Matching:
    """Fit the logit and match in every cell; pooled balance over the matched cells."""
    frame = inp.frame
    X_all = frame[covariates].to_numpy(dtype=np.float64, na_value=np.nan)
    complete = frame[covariates].notna().all(axis=1).to_numpy()
    n = len(frame)
    done = _Matching(np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool))
    times = frame[inp.time].to_numpy()
    for cell_index, (label, rows) in enumerate(_cells(times, complete, opts.by_year)):
        tr = is_group[rows]
        if rows.size == 0 or tr.all() or not tr.any():
            done.skipped.append(label)
            continue
        cell_seed = None if seed is None else seed + cell_index
        _match_one(inp, X_all, rows, tr, label, opts, cell_seed, covariates, done)
    if done.skipped and opts.by_year:
        warnings.warn(
            f"psm_did: no matching possible (only treated or only control observations) in "
            f"period(s) {', '.join(map(str, done.skipped))}; their observations are dropped",
            DidstudyWarning,
            stacklevel=3,
        )
    if not done.cells:
        raise EstimationError(
            "psm_did: no period has both treated and control observations",
            fix="check the treatment and group columns",
        )
    pooled = np.flatnonzero(done.in_cell)
    b = balance_stats(
        X_all[pooled], is_group[pooled], done.att[pooled], denominator=opts.sd_denominator
    )
    done.balance += _balance_rows("pooled", None, covariates, b)
    return done


def _match_one(
    inp: PanelInput,
    X_all: FloatArray,
    rows: NDArray[np.intp],
    tr: NDArray[np.bool_],
    label: Any,
    opts: MatchingOptions,
    seed: int | None,
    covariates: list[str],
    done: _Matching,
) -> None:
    """One cell: logit propensity score, nearest-neighbour matching, pairs, counts, balance."""
    X = np.column_stack([np.ones(rows.size), X_all[rows]])
    try:
        fit = fit_logit(X, tr.astype(np.float64))
    except EstimationError as err:
        where = "" if label is None else f" in period {label}"
        raise type(err)(f"propensity score{where}: {err.message}", fix=err.fix) from None
    ps = fit.fitted
    m = nearest_neighbor(
        fit.linear_predictor if opts.distance == "logit" else ps,
        tr,
        ratio=opts.k,
        replace=opts.replace,
        caliper=opts.caliper,
        std_caliper=opts.std_caliper,
        m_order=opts.m_order,
        discard=opts.discard,
        seed=seed,
    )
    aw = match_weights(m, rows.size, kind="att")
    done.freq[rows] += match_weights(m, rows.size, kind="frequency")
    done.att[rows] += aw
    done.in_cell[rows] = True
    units = inp.frame[inp.unit].to_numpy()
    times = inp.frame[inp.time].to_numpy()
    t_pos, c_pos, rank = m.pairs()
    for a, b, r in zip(t_pos, c_pos, rank, strict=True):
        done.pairs.append(
            {
                "time": label,
                "treated": units[rows[a]],
                "treated_time": times[rows[a]],
                "control": units[rows[b]],
                "control_time": times[rows[b]],
                "rank": int(r) + 1,
                "pscore_treated": float(ps[a]),
                "pscore_control": float(ps[b]),
            }
        )
    done.cells.append(
        {
            "time": label,
            "n_treated": int(tr.sum()),
            "n_control": int((~tr).sum()),
            "n_discarded": int(m.discarded.sum()),
            "n_treated_matched": int(m.matched_treated.sum()),
            "n_controls_used": int(np.unique(c_pos).size),
            "caliper": m.caliper,
        }
    )
    if opts.by_year:
        b = balance_stats(X_all[rows], tr, aw, denominator=opts.sd_denominator)
        done.balance += _balance_rows("year", label, covariates, b)


def _matched_sample(inp: PanelInput, freq: FloatArray) -> tuple[pd.DataFrame, str | None]:
    """The matched observations and their frequency-weight column (None when all are 1)."""
    keep = freq > 0
    if int(keep.sum()) == 0:
        raise EstimationError(
            "psm_did: no treated observation found a match", fix="widen the caliper"
        )
    matched = inp.frame.loc[keep].copy()
    base_w = pd.to_numeric(matched[inp.weight]).to_numpy() if inp.weight is not None else None
    if not np.any(freq[keep] != 1.0) and base_w is None:
        return matched, None
    matched["_psm_weight"] = freq[keep] * (1.0 if base_w is None else base_w)
    return matched, "_psm_weight"


def _options_record(
    opts: MatchingOptions,
    group: str | None,
    covariates: list[str],
    weight_col: str | None,
    seed: int | None,
) -> dict[str, Any]:
    return {
        "by_year": opts.by_year,
        "k": opts.k,
        "caliper": opts.caliper,
        "caliper_scale": ("sd of " if opts.std_caliper else "") + opts.distance,
        "replace": opts.replace,
        "common_support": opts.discard,
        "m_order": opts.m_order,
        "distance": opts.distance,
        "group": group if group is not None else "ever treated",
        "covariates": ",".join(covariates),
        "weights": "frequency" if weight_col else "none",
        "sd_denominator": opts.sd_denominator,
        "seed": seed,
    }
