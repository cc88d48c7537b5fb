"""Result of a staggered placebo (randomisation-inference) test."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.kernels.distributions import t_ppf, t_sf
from didstudy.results.protocol import TIDY_COLUMNS

__all__ = ["PlaceboResult", "randomization_p_values"]

#: Results with at most this many draws keep every draw in ``to_dict()`` (results.json).
MAX_DRAWS_IN_DICT = 10_000


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def randomization_p_values(draws: NDArray[np.float64], actual: float) -> dict[str, float]:
    """Randomisation p-values of ``actual`` against placebo ``draws`` (NaN draws ignored).

    ``p_two_sided = (1 + #{|b_r| ≥ |b|}) / (1 + R)``, ``p_upper = (1 + #{b_r ≥ b}) / (1 + R)``,
    ``p_lower = (1 + #{b_r ≤ b}) / (1 + R)``: the real assignment counts as one of the
    ``R + 1`` equally likely assignments, which makes the test exact under the sharp null
    (Phipson & Smyth 2010). ``share_*`` are the plain shares ``#{...}/R`` of draws beyond the
    real estimate, as papers report them.
    """
    ok = draws[np.isfinite(draws)]
    reps = ok.size
    if reps == 0:
        nan = float("nan")
        return {
            k: nan
            for k in (
                "p_two_sided",
                "p_upper",
                "p_lower",
                "share_beyond",
                "share_above",
                "share_below",
            )
        }
    beyond = int((np.abs(ok) >= abs(actual)).sum())
    above = int((ok >= actual).sum())
    below = int((ok <= actual).sum())
    return {
        "p_two_sided": (1 + beyond) / (1 + reps),
        "p_upper": (1 + above) / (1 + reps),
        "p_lower": (1 + below) / (1 + reps),
        "share_beyond": beyond / reps,
        "share_above": above / reps,
        "share_below": below / reps,
    }


@dataclass(frozen=True, eq=False)
class PlaceboResult:
    """Placebo draws of the baseline TWFE coefficient and the randomisation p-values.

    Attributes
    ----------
    term
        Name of the treatment being tested.
    estimate, std_error, df_t
        The real TWFE coefficient, its standard error and the t degrees of freedom.
    coef, se
        One coefficient and standard error per draw (NaN when a draw's pseudo-treatment has no
        variation left after the fixed effects).
    pseudo_units
        ``(reps, n_treated)`` codes of the pseudo-treated units of every draw (indices into
        :attr:`unit_labels`).
    pseudo_cohorts
        ``(reps, n_treated)`` pseudo adoption periods.
    reps, seed, mode, timing, timing_range, n_treated
        The design of the placebo.
    """

    term: str
    estimate: float
    std_error: float
    df_t: float
    coef: NDArray[np.float64]
    se: NDArray[np.float64]
    pseudo_units: NDArray[np.int64]
    pseudo_cohorts: NDArray[np.float64]
    unit_labels: tuple[Any, ...]
    reps: int
    seed: int | None
    mode: str
    timing: str
    timing_range: tuple[float, float] | None
    n_treated: int
    nobs: int
    n_clusters: int
    outcome: str
    controls: tuple[str, ...]
    vcov_type: str = "CRV1"

    @property
    def statistic(self) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            out: NDArray[np.float64] = self.coef / self.se
        return out

    @property
    def p_value(self) -> NDArray[np.float64]:
        """Conventional two-sided t p-value of every draw (t with ``df_t`` degrees of freedom)."""
        out: NDArray[np.float64] = 2.0 * t_sf(np.abs(self.statistic), self.df_t)
        return out

    @property
    def p_values(self) -> dict[str, float]:
        """Randomisation p-values and shares (see :func:`randomization_p_values`)."""
        return randomization_p_values(self.coef, self.estimate)

    @property
    def p_two_sided(self) -> float:
        return self.p_values["p_two_sided"]

    @property
    def share_beyond(self) -> float:
        return self.p_values["share_beyond"]

    @property
    def n_valid(self) -> int:
        return int(np.isfinite(self.coef).sum())

    def draws(self) -> pd.DataFrame:
        """One row per draw: ``draw, estimate, std_error, statistic, p_value``."""
        return pd.DataFrame(
            {
                "draw": np.arange(self.coef.size),
                "estimate": self.coef,
                "std_error": self.se,
                "statistic": self.statistic,
                "p_value": self.p_value,
            }
        )

    def assignment(self, draw: int) -> dict[Any, float]:
        """Pseudo-treated units of one draw and their pseudo adoption periods."""
        return {
            self.unit_labels[int(u)]: float(g)
            for u, g in zip(self.pseudo_units[draw], self.pseudo_cohorts[draw], strict=True)
        }

    def tidy(self) -> pd.DataFrame:
        """One row: the real estimate with its randomisation p-value.

        ``std_error``, ``statistic`` and the confidence interval are the conventional ones of
        the real fit; ``p_value`` is the two-sided randomisation p-value. Extra columns:
        ``p_value_t`` (conventional), ``share_beyond``, ``reps``.
        """
        q = t_ppf(0.975, self.df_t)
        t = self.estimate / self.std_error if self.std_error > 0 else float("nan")
        p = self.p_values
        frame = pd.DataFrame(
            {
                "term": [self.term],
                "estimate": [self.estimate],
                "std_error": [self.std_error],
                "statistic": [t],
                "p_value": [p["p_two_sided"]],
                "conf_low": [self.estimate - q * self.std_error],
                "conf_high": [self.estimate + q * self.std_error],
                "p_value_t": [float(2.0 * t_sf(abs(t), self.df_t))],
                "share_beyond": [p["share_beyond"]],
                "reps": [self.reps],
            }
        )
        return frame[[*TIDY_COLUMNS, "p_value_t", "share_beyond", "reps"]]

    def stats(self) -> Mapping[str, Any]:
        ok = self.coef[np.isfinite(self.coef)]
        out: dict[str, Any] = {
            "nobs": self.nobs,
            "n_clusters": self.n_clusters,
            "reps": self.reps,
            "n_valid": int(ok.size),
            "seed": self.seed,
            "mode": self.mode,
            "timing": self.timing,
            "n_treated": self.n_treated,
            "vcov": self.vcov_type,
            "placebo_mean": float(ok.mean()) if ok.size else float("nan"),
            "placebo_sd": float(ok.std(ddof=1)) if ok.size > 1 else float("nan"),
            "share_p_below_0.05": float((self.p_value[np.isfinite(self.coef)] < 0.05).mean())
            if ok.size
            else float("nan"),
        }
        out.update(self.p_values)
        return out

    def to_dict(self) -> dict[str, Any]:
        stats = {k: (_num(v) if isinstance(v, float) else v) for k, v in self.stats().items()}
        keep = self.reps <= MAX_DRAWS_IN_DICT
        return {
            "kind": "placebo",
            "term": self.term,
            "outcome": self.outcome,
            "controls": list(self.controls),
            "estimate": _num(self.estimate),
            "std_error": _num(self.std_error),
            "timing_range": None if self.timing_range is None else list(self.timing_range),
            "stats": stats,
            "draws": {
                "estimate": [_num(v) for v in self.coef.tolist()],
                "std_error": [_num(v) for v in self.se.tolist()],
                "p_value": [_num(v) for v in self.p_value.tolist()],
            }
            if keep
            else None,
        }
