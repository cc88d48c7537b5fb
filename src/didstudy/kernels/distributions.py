"""Tail probabilities and quantiles of the t, chi-squared and F distributions.

The same special functions :mod:`scipy.stats` evaluates (``t.sf(x, df) = stdtr(df, -x)``,
``t.ppf(q, df) = stdtrit(df, q)``, ``chi2.sf = chdtrc``, ``f.sf = fdtrc``), called directly from
:mod:`scipy.special`, which is imported on first use: ``import didstudy`` and a fit do not pay
for :mod:`scipy.stats` (about 0.4 s of imports).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["chi2_sf", "f_sf", "t_ppf", "t_sf"]


def _special() -> Any:
    import scipy.special

    return scipy.special


def t_sf(x: npt.ArrayLike, df: float) -> Any:
    """Survival function ``P(T > x)`` of Student's t with ``df`` degrees of freedom.

    Examples
    --------
    >>> round(float(t_sf(1.96, 1e9)), 4)
    0.025
    """
    return _special().stdtr(df, -np.asarray(x, dtype=np.float64))


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t: ``t_ppf(0.975, 10) = 2.228...``.

    Examples
    --------
    >>> round(t_ppf(0.975, 10), 3)
    2.228
    """
    return float(_special().stdtrit(df, q))


def chi2_sf(x: float, df: float) -> float:
    """Survival function of the chi-squared distribution with ``df`` degrees of freedom.

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 6)
    0.05
    """
    return float(_special().chdtrc(df, x))


def f_sf(x: float, dfn: float, dfd: float) -> float:
    """Survival function of the F distribution with ``(dfn, dfd)`` degrees of freedom.

    Examples
    --------
    >>> round(f_sf(4.964602743730711, 1, 10), 6)
    0.05
    """
    return float(_special().fdtrc(dfn, dfd, x))
