"""Immutable results of linear regressions (TWFE and friends) and collections of them.

A :class:`RegressionResult` keeps the estimates, their covariance and the fit statistics. To
change the inference (``with_vcov``) it keeps :class:`~didstudy.kernels.vcov.VcovPieces`: the
bread, the residual sum of squares and the ``p x p`` score meats of the clusters it may be
re-clustered on — never the data (docs/decisions/0011-slim-results.md). ``with_vcov`` returns a
new result and never modifies this one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from didstudy.errors import EstimationError
from didstudy.kernels.distributions import f_sf, t_ppf, t_sf
from didstudy.kernels.vcov import (
    SmallSampleCorrection,
    VcovEstimate,
    VcovPieces,
    parse_vcov,
    resolve_ssc,
    vcov_from_pieces,
    wald_form,
)
from didstudy.results.protocol import TIDY_COLUMNS, HtmlRepr
from didstudy.results.spec import Baseline

__all__ = ["RegressionResult", "ResultCollection", "TermEstimate", "vcov_stats"]

FloatArray = npt.NDArray[np.float64]


class TermEstimate(NamedTuple):
    """One row of :meth:`RegressionResult.tidy`."""

    term: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float


def _py(value: Any) -> Any:
    """JSON-safe Python scalar: numpy -> Python, NaN/inf -> None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple | list):
        return [_py(v) for v in value]
    return value


def vcov_stats(est: VcovEstimate, k: int, df_resid: int) -> dict[str, Any]:
    """The statistics of a result that depend on its variance estimator (in ``stats()`` order)."""
    return {
        "n_clusters": min(est.n_clusters) if est.n_clusters else None,
        "n_clusters_by": list(est.n_clusters),
        "df_resid": df_resid,
        "k": k,
        "k_fe": est.k_total - k,
        "ssc_factor": est.factor,
    }


@dataclass(frozen=True)
class RegressionResult(HtmlRepr):
    """Coefficients, covariance and statistics of a fitted linear model.

    Attributes
    ----------
    terms
        Names of the reported coefficients (collinear regressors are dropped, see ``dropped``).
    params
        Estimates, aligned with ``terms``.
    cov
        Covariance matrix (``len(terms)`` square).
    nobs
        Observations used (after dropping missing values and singletons).
    df_t
        Degrees of freedom of the t distribution used for p-values and confidence intervals.
    vcov_type
        ``"iid"``, ``"hc1"`` or ``"crv1"``.
    clusters
        Cluster variables (``crv1``).
    ssc
        Name of the small-sample convention.
    fit_stats
        Further statistics (r2, r2_within, n_clusters, fixed effects, singletons, ...).
    dropped
        Regressors dropped as collinear, with the reason.
    estimator
        Short name of the estimator (``"twfe"``).
    depvar
        Name of the outcome.
    vcov_pieces
        What ``with_vcov`` needs (bread, meats per cluster variable, sample sizes), or None.
    ssc_convention
        The small-sample convention of ``cov``.
    spec
        The resolved baseline specification of the fit (:class:`~didstudy.results.spec.
        Baseline`), when the estimator recorded it.
    """

    terms: tuple[str, ...]
    params: FloatArray
    cov: FloatArray
    nobs: int
    df_t: int
    vcov_type: str
    clusters: tuple[str, ...]
    ssc: str
    fit_stats: Mapping[str, Any]
    dropped: Mapping[str, str] = field(default_factory=dict)
    estimator: str = "twfe"
    depvar: str = ""
    vcov_pieces: VcovPieces | None = field(default=None, repr=False, compare=False)
    ssc_convention: SmallSampleCorrection | None = field(default=None, repr=False, compare=False)
    spec: Baseline | None = field(default=None, compare=False)

    # ----- accessors -----------------------------------------------------------------------
    @property
    def coef(self) -> pd.Series:
        """Coefficients as a Series indexed by term."""
        return pd.Series(np.asarray(self.params, dtype=float), index=list(self.terms), name="coef")

    @property
    def se(self) -> pd.Series:
        """Standard errors as a Series indexed by term."""
        return pd.Series(np.sqrt(np.diag(self.cov)), index=list(self.terms), name="se")

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix as a DataFrame (terms x terms)."""
        return pd.DataFrame(self.cov, index=list(self.terms), columns=list(self.terms))

    @property
    def tstat(self) -> pd.Series:
        """t statistics."""
        return pd.Series(self.coef.to_numpy() / self.se.to_numpy(), index=list(self.terms))

    @property
    def pvalue(self) -> pd.Series:
        """Two-sided p-values from the t distribution with ``df_t`` degrees of freedom."""
        t = np.abs(self.tstat.to_numpy())
        return pd.Series(2.0 * t_sf(t, self.df_t), index=list(self.terms))

    # ----- protocol ------------------------------------------------------------------------
    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per term: estimate, std_error, statistic, p_value, conf_low, conf_high.

        Intervals are ``estimate +- t_{1-alpha/2, df_t} * std_error``.
        """
        if not 0.0 < alpha < 1.0:
            raise EstimationError(f"alpha must lie in (0, 1), got {alpha}")
        est = np.asarray(self.params, dtype=float)
        se = np.sqrt(np.diag(self.cov)) if len(self.terms) else np.zeros(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        pval = 2.0 * t_sf(np.abs(stat), self.df_t)
        crit = t_ppf(1.0 - alpha / 2.0, self.df_t)
        frame = pd.DataFrame(
            {
                "term": pd.Series(list(self.terms), dtype=object),
                "estimate": est,
                "std_error": se,
                "statistic": stat,
                "p_value": pval,
                "conf_low": est - crit * se,
                "conf_high": est + crit * se,
            }
        )
        return frame.loc[:, list(TIDY_COLUMNS)]

    def stats(self) -> dict[str, Any]:
        """Fit statistics: nobs, r2, r2_within, adj_r2, n_clusters, df_resid, df_t, vcov, ssc."""
        out: dict[str, Any] = {"nobs": self.nobs}
        out.update(self.fit_stats)
        out["df_t"] = self.df_t
        out["vcov"] = self.vcov_type
        out["clusters"] = list(self.clusters)
        out["ssc"] = self.ssc
        out.update(self.model_f())
        return out

    def model_f(self) -> dict[str, float | None]:
        """Joint Wald test that every coefficient is zero, with the result's covariance.

        ``F = b' V⁺ b / r`` against ``F(r, df_t)``, ``r`` the rank of ``V`` (Stata ``reghdfe``'s
        model F with a clustered covariance; fixest's ``fitstat(~wald)``). Returns ``f_stat``,
        ``f_df1`` and ``f_p`` (None when no coefficient has a positive variance).
        """
        b = np.asarray(self.params, dtype=np.float64)
        v = np.asarray(self.cov, dtype=np.float64)
        ok = np.isfinite(b) & np.isfinite(np.diag(v)) if v.size else np.zeros(0, bool)
        if not ok.any():
            return {"f_stat": None, "f_df1": None, "f_p": None}
        stat, rank = wald_form(b[ok], v[np.ix_(ok, ok)])
        if rank == 0:
            return {"f_stat": None, "f_df1": None, "f_p": None}
        f = stat / rank
        return {"f_stat": f, "f_df1": float(rank), "f_p": f_sf(f, rank, self.df_t)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping with stable keys."""
        tidy = self.tidy()
        rows = [
            {col: _py(row[col]) for col in TIDY_COLUMNS} for row in tidy.to_dict(orient="records")
        ]
        return {
            "estimator": self.estimator,
            "depvar": self.depvar,
            "terms": rows,
            "vcov": [[_py(float(v)) for v in r] for r in np.asarray(self.cov)],
            "stats": {k: _py(v) for k, v in self.stats().items()},
            "dropped": dict(self.dropped),
        }

    # ----- convenience ---------------------------------------------------------------------
    def term(self, name: str, alpha: float = 0.05) -> TermEstimate:
        """The tidy row of one term."""
        if name not in self.terms:
            reason = self.dropped.get(name)
            extra = f" (dropped: {reason})" if reason else ""
            raise EstimationError(
                f"no coefficient named {name!r}{extra}; terms are {list(self.terms)}"
            )
        row = self.tidy(alpha).iloc[self.terms.index(name)]
        return TermEstimate(
            str(row["term"]),
            float(row["estimate"]),
            float(row["std_error"]),
            float(row["statistic"]),
            float(row["p_value"]),
            float(row["conf_low"]),
            float(row["conf_high"]),
        )

    def with_vcov(self, vcov: Any, ssc: Any = None) -> RegressionResult:
        """A new result with another variance estimator.

        Parameters
        ----------
        vcov
            ``"iid"``, ``"hc1"``, ``"crv1"`` (clusters as fitted), or a mapping such as
            ``{"crv1": "state"}`` / ``{"crv1": ["state", "year"]}``. Clusters can be the fit's
            cluster variables and the fixed-effect factors (fits of at most
            ``RECLUSTER_MAX_ROWS`` observations), one- or multi-way; another variable raises an
            error that says to refit with ``cluster=``.
        ssc
            Small-sample convention (``None`` keeps the current one).

        Returns
        -------
        RegressionResult
            The same estimates with the new covariance, ``df_t`` and cluster statistics.

        Examples
        --------
        >>> import didstudy as ds
        >>> castle = ds.as_panel(ds.load_dataset("castle"), unit="state", time="year", treat="post")
        >>> res = ds.twfe(castle, "l_homicide", "post")
        >>> res.with_vcov({"crv1": "state+year"}).stats()["n_clusters_by"]
        [50, 11]
        """
        pieces = self.vcov_pieces
        if pieces is None or self.ssc_convention is None:
            raise EstimationError("this result does not keep the pieces needed to change vcov")
        request = parse_vcov(vcov, None, pieces.default_clusters)
        convention = self.ssc_convention if ssc is None else resolve_ssc(ssc)
        est = vcov_from_pieces(pieces, request, convention)
        k = len(self.terms)
        stats = {
            **self.fit_stats,
            **vcov_stats(est, k, self.fit_stats.get("df_resid", pieces.n_obs - k)),
            "psd_fixed": est.psd_fixed,
        }
        spec = self.spec
        if spec is not None:
            spec = spec.override(**({"vcov": vcov} | ({} if ssc is None else {"ssc": ssc})))
        return replace(
            self,
            spec=spec,
            cov=est.matrix,
            df_t=est.df_t,
            vcov_type=est.kind,
            clusters=est.clusters,
            ssc=convention.name,
            fit_stats=stats,
            ssc_convention=convention,
        )

    def summary(self) -> str:
        """Plain-text summary table."""
        tidy = self.tidy()
        st = self.stats()
        lines = [
            f"{self.estimator.upper()}: {self.depvar}",
            f"Observations: {self.nobs}   vcov: {self.vcov_type}"
            + (f" ({', '.join(self.clusters)})" if self.clusters else "")
            + f"   ssc: {self.ssc}   df_t: {self.df_t}",
        ]
        fe = st.get("fixed_effects")
        if fe:
            lines.append(f"Fixed effects: {', '.join(fe)}")
        header = f"{'term':<24}{'estimate':>12}{'std.err':>12}{'t':>9}{'p':>9}"
        lines += [header, "-" * len(header)]
        for row in tidy.itertuples(index=False):
            lines.append(
                f"{row.term!s:<24}{row.estimate:>12.6g}{row.std_error:>12.6g}"
                f"{row.statistic:>9.3f}{row.p_value:>9.4f}"
            )
        for key in ("r2", "r2_within", "n_clusters", "n_singletons", "n_dropped_missing"):
            if key in st and st[key] is not None:
                lines.append(f"{key}: {st[key]}")
        for name, reason in self.dropped.items():
            lines.append(f"dropped {name}: {reason}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class ResultCollection(HtmlRepr, Sequence[tuple[str, RegressionResult]]):
    """An ordered, immutable collection of named results (e.g. the columns of a table)."""

    items: tuple[tuple[str, RegressionResult], ...]

    @overload
    def __getitem__(self, index: int) -> tuple[str, RegressionResult]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, RegressionResult]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> tuple[str, RegressionResult] | Sequence[tuple[str, RegressionResult]]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[str, RegressionResult]]:
        return iter(self.items)

    @property
    def names(self) -> list[str]:
        """Model names in order."""
        return [name for name, _ in self.items]

    @property
    def results(self) -> list[RegressionResult]:
        """Results in order."""
        return [res for _, res in self.items]

    def get(self, name: str) -> RegressionResult:
        """The result called ``name``."""
        for key, res in self.items:
            if key == name:
                return res
        raise KeyError(name)

    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        """Long frame: the tidy rows of every model with a leading ``model`` column."""
        frames = []
        for name, res in self.items:
            frame = res.tidy(alpha)
            frame.insert(0, "model", name)
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=["model", *TIDY_COLUMNS])
        return pd.concat(frames, ignore_index=True)

    def stats(self) -> dict[str, Any]:
        """Per-model statistics keyed by model name."""
        return {name: res.stats() for name, res in self.items}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping: ``{"models": [{"name": ..., **result.to_dict()}]}``."""
        return {"models": [{"name": name, **res.to_dict()} for name, res in self.items]}
