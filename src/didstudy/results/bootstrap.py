"""Result of a wild cluster bootstrap test of one linear hypothesis (:func:`wild_bootstrap`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.results.protocol import TIDY_COLUMNS

__all__ = ["BootstrappedResult", "WildBootstrapResult", "with_bootstrap"]


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, eq=False)
class WildBootstrapResult:
    """A wild cluster bootstrap test and confidence interval for ``R'b = null``.

    Attributes
    ----------
    name
        The hypothesis: a term, ``"post_average"`` or ``"lincomb"``.
    terms, weights
        The linear combination ``Σ weights_j · b_{terms_j}``.
    null
        The value tested (0 by default).
    estimate, std_error
        The combination and its analytic (CRV1) standard error.
    statistic
        ``(estimate - null) / std_error``.
    p_value, conf_low, conf_high
        Bootstrap p-value and the interval by test inversion (level ``1 - alpha``).
    analytic_p_value, analytic_conf_low, analytic_conf_high
        The t-based counterparts (``df_t`` degrees of freedom), for comparison.
    method
        ``"WCR"`` (null imposed) or ``"WCU"``.
    weight_kind
        ``"rademacher"``, ``"webb"``, ``"mammen"`` or ``"normal"``.
    p_type
        ``"symmetric"`` (``|t*| ≥ |t|``) or ``"equal_tail"``.
    reps, enumerated
        Draws used; True when all ``2^G`` sign vectors were enumerated (exact, no seed used).
    clusters, bootstrap_cluster, n_clusters, n_boot_clusters
        Variance cluster variables, the bootstrap cluster and their sizes.
    seed
        The seed that generated the draws (None when enumerated).
    t_draws
        Bootstrap t statistics under the null (the bootstrap distribution, for a figure).
    """

    name: str
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    null: float
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    analytic_p_value: float
    analytic_conf_low: float
    analytic_conf_high: float
    alpha: float
    method: str
    weight_kind: str
    p_type: str
    reps: int
    enumerated: bool
    clusters: tuple[str, ...]
    bootstrap_cluster: str
    n_clusters: tuple[int, ...]
    n_boot_clusters: int
    seed: int | None
    t_draws: NDArray[np.float64]

    def tidy(self) -> pd.DataFrame:
        """One results-protocol row: the estimate with the bootstrap p-value and interval."""
        row = {
            "term": self.name,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
        }
        return pd.DataFrame([row], columns=list(TIDY_COLUMNS))

    def stats(self) -> dict[str, Any]:
        """Bootstrap settings: method, weights, draws, clusters, seed."""
        return {
            "method": self.method,
            "weight_kind": self.weight_kind,
            "p_type": self.p_type,
            "reps": self.reps,
            "enumerated": self.enumerated,
            "clusters": list(self.clusters),
            "bootstrap_cluster": self.bootstrap_cluster,
            "n_clusters": list(self.n_clusters),
            "n_boot_clusters": self.n_boot_clusters,
            "seed": self.seed,
            "alpha": self.alpha,
            "null": self.null,
        }

    def note(self, lang: str = "en") -> str:
        """A table note saying which inference is printed."""
        level = round(100 * (1 - self.alpha))
        if lang == "zh":
            enum_zh = "（完全枚举）" if self.enumerated else ""
            return (
                f"p 值与 {level}% 置信区间来自野聚类自助法（{self.method}，"
                f"{self.weight_kind} 权重，{self.reps} 次{enum_zh}，"
                f"按 {self.bootstrap_cluster} 抽样，{self.n_boot_clusters} 个聚类）。"
            )
        enum_en = " (full enumeration)" if self.enumerated else ""
        return (
            f"p-value and {level}% interval from the wild cluster bootstrap ({self.method}, "
            f"{self.weight_kind} weights, {self.reps} draws{enum_en}, "
            f"bootstrap clusters: {self.bootstrap_cluster}, G = {self.n_boot_clusters}); "
            "interval by test inversion."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping with stable keys (the draws summarised, not listed)."""
        finite = self.t_draws[np.isfinite(self.t_draws)]
        quantiles = (
            [float(v) for v in np.quantile(finite, [0.025, 0.5, 0.975])] if finite.size else []
        )
        return {
            "kind": "wild_bootstrap",
            "name": self.name,
            "terms": list(self.terms),
            "weights": [float(w) for w in self.weights],
            "estimate": _num(self.estimate),
            "std_error": _num(self.std_error),
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "conf_low": _num(self.conf_low),
            "conf_high": _num(self.conf_high),
            "analytic_p_value": _num(self.analytic_p_value),
            "analytic_conf_low": _num(self.analytic_conf_low),
            "analytic_conf_high": _num(self.analytic_conf_high),
            "t_draws_quantiles": quantiles,
            "stats": self.stats(),
        }


@dataclass(frozen=True, eq=False)
class BootstrappedResult:
    """A result whose tidy rows carry the wild-bootstrap p-value and interval of some terms.

    Built by :func:`with_bootstrap`; tables print the bootstrap inference in place of the
    analytic one (the standard error stays analytic) and :meth:`note` says so.
    """

    base: Any
    boots: tuple[WildBootstrapResult, ...]

    def tidy(self) -> pd.DataFrame:
        """The base result's rows with ``p_value``/``conf_low``/``conf_high`` replaced."""
        frame = self.base.tidy().copy()
        for boot in self.boots:
            hit = frame["term"].astype(str) == boot.name
            frame.loc[hit, ["p_value", "conf_low", "conf_high"]] = [
                boot.p_value,
                boot.conf_low,
                boot.conf_high,
            ]
        out: pd.DataFrame = frame
        return out

    def stats(self) -> dict[str, Any]:
        """The base result's statistics plus ``inference = "wild bootstrap"``."""
        out = dict(self.base.stats())
        out["inference"] = "wild bootstrap"
        return out

    def note(self, lang: str = "en") -> str:
        """The bootstrap notes of the replaced terms."""
        return " ".join(dict.fromkeys(boot.note(lang) for boot in self.boots))

    def to_dict(self) -> dict[str, Any]:
        """The base result's mapping with the bootstrap results under ``wild_bootstrap``."""
        out = dict(self.base.to_dict())
        out["wild_bootstrap"] = [boot.to_dict() for boot in self.boots]
        return out


def with_bootstrap(result: Any, *boots: WildBootstrapResult) -> BootstrappedResult:
    """Print the bootstrap p-value and interval of ``boots``' terms in ``result``'s table rows.

    Parameters
    ----------
    result
        A result with ``tidy()`` (e.g. a :class:`~didstudy.results.regression.RegressionResult`);
        its standard errors stay analytic.
    *boots
        Wild-bootstrap results (:func:`didstudy.wild_bootstrap`) of terms of ``result``.

    Returns
    -------
    BootstrappedResult
        ``result`` whose tidy rows carry the bootstrap p-value and interval of those terms.

    Examples
    --------
    >>> wb = wild_bootstrap(res, panel, "policy", seed=1)  # doctest: +SKIP
    >>> regression_table({"(1)": with_bootstrap(res, wb)}, statistic="ci")  # doctest: +SKIP
    """
    return BootstrappedResult(result, tuple(boots))
