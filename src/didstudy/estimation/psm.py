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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.errors import DidstudyWarning, EstimationError
from didstudy.estimation._inputs import PanelInput, fit_twfe, panel_input, require_columns
from didstudy.estimation.logit import fit_logit
from didstudy.estimation.matching import Discard, MatchOrder, match_weights, nearest_neighbor
from didstudy.results.psm import PSMDIDResult

__all__ = ["BalanceStats", "balance_stats", "psm_did"]

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


def psm_did(
    data: Any,
    y: str,
    treat: str,
    covariates: Sequence[str],
    controls: Sequence[str] | None = None,
    *,
    unit: str | None = None,
    time: str | None = None,
    group: str | None = None,
    by_year: bool = True,
    k: int = 1,
    caliper: float | None = None,
    std_caliper: bool = True,
    replace: bool = False,
    common_support: bool | Discard = True,
    m_order: MatchOrder = "largest",
    distance: Distance = "propensity",
    sd_denominator: SdDenominator = "treated",
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
        Outcome and the 0/1 policy dummy of the baseline regression.
    covariates
        Regressors of the propensity-score logit (an intercept is added).
    controls
        Controls of the re-estimated TWFE; default: ``covariates``.
    unit, time
        Column roles when ``data`` is a DataFrame.
    group
        0/1 column of the units to be matched as "treated"; default: units ever treated
        (``treat == 1`` in some period).
    by_year
        Match within each period (default). ``False``: one logit on the pooled unit-period
        observations and matching across periods (pooled cross-section PSM).
    k
        Controls per treated observation.
    caliper
        Maximum propensity distance; in standard deviations of the propensity score when
        ``std_caliper`` (MatchIt's convention), else in propensity units.
    std_caliper
        Read ``caliper`` in standard deviations of the distance (default) or in its units.
    replace
        Match with replacement (frequency weights in the regression).
    common_support
        ``True`` = drop treated observations outside the controls' propensity range (``"treated"``),
        ``False`` = ``"none"``, or a MatchIt ``discard`` string (``"both"``, ``"control"``).
    m_order
        Order in which treated observations choose (MatchIt ``m.order``).
    distance
        Match on the propensity score (``"propensity"``, MatchIt's default) or on its logit,
        the linear predictor (``"logit"``, MatchIt ``link = "linear.logit"``; Austin 2011
        recommends a caliper of 0.2 SD of the logit). The caliper and common support use the
        same scale.
    sd_denominator
        Standard deviation in the standardised differences.
    fe, cluster, vcov, ssc
        Passed to the TWFE (defaults: unit and time fixed effects, clustered by the panel's
        cluster variable or the unit).
    seed
        Seed for ``m_order="random"`` (cell ``i`` uses ``seed + i``; ``None`` means 0);
        otherwise the matching is deterministic and the seed is unused.

    Returns
    -------
    PSMDIDResult
        ``.regression`` (the TWFE on the matched sample), ``.matches``, ``.balance``,
        ``.cells``, ``.nobs_before``, ``.nobs_matched``.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("mpdta"), unit="countyreal", time="year",
    ...                   cohort="first.treat")
    >>> res = ds.psm_did(panel, y="lemp", treat="_treated", covariates=["lpop"], controls=[])
    >>> res.regression.nobs > 0
    True
    """
    inp = panel_input(data, unit, time)
    covariates = list(covariates)
    if not covariates:
        raise EstimationError("psm_did needs at least one covariate for the propensity score")
    controls = covariates if controls is None else list(controls)
    require_columns(inp.frame, [y, treat, *covariates, *controls, *([group] if group else [])])
    if k < 1:
        raise EstimationError(f"k must be a positive integer, got {k}")
    if distance not in ("propensity", "logit"):
        raise EstimationError(f"unknown distance {distance!r}", fix="'propensity' or 'logit'")
    discard: Discard
    if common_support is True:
        discard = "treated"
    elif common_support is False:
        discard = "none"
    else:
        discard = common_support

    frame = inp.frame.reset_index(drop=True)
    inp = PanelInput(frame, inp.unit, inp.time, inp.cluster, inp.weight)
    is_group = _matching_group(inp, treat, group).to_numpy()
    complete = frame[covariates].notna().all(axis=1).to_numpy()
    X_all = frame[covariates].to_numpy(dtype=np.float64, na_value=np.nan)
    units = frame[inp.unit].to_numpy()
    times = frame[inp.time].to_numpy()

    freq = np.zeros(len(frame))
    att = np.zeros(len(frame))
    in_cell = np.zeros(len(frame), dtype=bool)
    pair_rows: list[dict[str, Any]] = []
    cell_rows: list[dict[str, Any]] = []
    balance_rows: list[dict[str, Any]] = []
    skipped: list[Any] = []

    if by_year:
        cells = [(t, np.flatnonzero((times == t) & complete)) for t in pd.unique(times)]
        cells.sort(key=lambda c: c[0])
    else:
        cells = [(None, np.flatnonzero(complete))]

    for cell_index, (label, rows) in enumerate(cells):
        tr = is_group[rows]
        if rows.size == 0 or tr.all() or not tr.any():
            skipped.append(label)
            continue
        X = np.column_stack([np.ones(rows.size), X_all[rows]])
        try:
            fit = fit_logit(X, tr.astype(np.float64))
        except EstimationError as err:
            where = "" if label is None else f" in period {label}"
            raise type(err)(f"propensity score{where}: {err.message}", fix=err.fix) from None
        ps = fit.fitted
        m = nearest_neighbor(
            fit.linear_predictor if distance == "logit" else ps,
            tr,
            ratio=k,
            replace=replace,
            caliper=caliper,
            std_caliper=std_caliper,
            m_order=m_order,
            discard=discard,
            seed=None if m_order != "random" else (seed or 0) + cell_index,
        )
        fw = match_weights(m, rows.size, kind="frequency")
        aw = match_weights(m, rows.size, kind="att")
        freq[rows] += fw
        att[rows] += aw
        in_cell[rows] = True
        t_pos, c_pos, rank = m.pairs()
        for a, b, r in zip(t_pos, c_pos, rank, strict=True):
            pair_rows.append(
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
        cell_rows.append(
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
        if by_year:
            b = balance_stats(X_all[rows], tr, aw, denominator=sd_denominator)
            balance_rows += _balance_rows("year", label, covariates, b)

    if skipped and by_year:
        warnings.warn(
            f"psm_did: no matching possible (only treated or only control observations) in "
            f"period(s) {', '.join(map(str, skipped))}; their observations are dropped",
            DidstudyWarning,
            stacklevel=2,
        )
    if not cell_rows:
        raise EstimationError(
            "psm_did: no period has both treated and control observations",
            fix="check the treatment and group columns",
        )
    pooled_rows = np.flatnonzero(in_cell)
    b = balance_stats(
        X_all[pooled_rows], is_group[pooled_rows], att[pooled_rows], denominator=sd_denominator
    )
    balance_rows += _balance_rows("pooled", None, covariates, b)

    keep = freq > 0
    matched = frame.loc[keep].copy()
    weight_col: str | None = None
    base_w = pd.to_numeric(matched[inp.weight]).to_numpy() if inp.weight is not None else None
    if np.any(freq[keep] != 1.0) or base_w is not None:
        weight_col = "_psm_weight"
        matched[weight_col] = freq[keep] * (1.0 if base_w is None else base_w)
    if int(keep.sum()) == 0:
        raise EstimationError(
            "psm_did: no treated observation found a match", fix="widen the caliper"
        )
    regression = fit_twfe(
        inp,
        matched,
        y,
        treat,
        controls,
        fe=fe,
        cluster=cluster,
        weights=weight_col,
        vcov=vcov,
        ssc=ssc,
    )
    options: dict[str, Any] = {
        "by_year": by_year,
        "k": k,
        "caliper": caliper,
        "caliper_scale": ("sd of " if std_caliper else "") + distance,
        "replace": replace,
        "common_support": discard,
        "m_order": m_order,
        "distance": distance,
        "group": group if group is not None else "ever treated",
        "covariates": ",".join(covariates),
        "weights": "frequency" if weight_col else "none",
        "sd_denominator": sd_denominator,
        "seed": seed,
    }
    return PSMDIDResult(
        regression=regression,
        matches=pd.DataFrame(
            pair_rows,
            columns=[
                "time",
                "treated",
                "treated_time",
                "control",
                "control_time",
                "rank",
                "pscore_treated",
                "pscore_control",
            ],
        ),
        balance=pd.DataFrame(balance_rows),
        cells=pd.DataFrame(cell_rows),
        nobs_before=len(frame),
        nobs_matched=int(keep.sum()),
        options=options,
    )
