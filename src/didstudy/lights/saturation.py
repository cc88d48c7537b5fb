"""Saturation and blooming options for DMSP-OLS (methods spec §2.5-2.6).

Pure functions on arrays; ``NaN`` is nodata and propagates. The NDVI-based indices need annual
MODIS NDVI arrays on the light raster's grid, supplied by the user.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from didstudy.errors import ValidationError
from didstudy.lights.calibrate import DMSP_MAX_DN

__all__ = ["cap", "hsi", "threshold", "vanui"]

FloatArray = NDArray[np.float64]


def threshold(dn: ArrayLike, minimum: float = 7.0) -> FloatArray:
    """Blooming option: set ``DN < minimum`` to 0 (e.g. Li et al. 2020 recommend DN > 7).

    Parameters
    ----------
    minimum
        Smallest DN kept. ``minimum=7`` keeps DN ≥ 7; pass 7.0001 for the strict "DN > 7" rule.
    """
    x = np.asarray(dn, dtype=np.float64)
    return np.where(x < minimum, 0.0, x)


def cap(dn: ArrayLike, maximum: float = DMSP_MAX_DN) -> FloatArray:
    """Saturation option: cap at ``maximum`` (after inter-calibration to a less saturated year)."""
    x = np.asarray(dn, dtype=np.float64)
    return np.where(np.isnan(x), np.nan, np.minimum(x, maximum))


def _checked(ntl: ArrayLike, ndvi: ArrayLike, name: str) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(ntl, dtype=np.float64)
    v = np.asarray(ndvi, dtype=np.float64)
    if x.shape != v.shape:
        raise ValidationError(
            f"{name}: light and NDVI arrays differ in shape ({x.shape} vs {v.shape})",
            fix="resample NDVI onto the light raster's grid first",
        )
    finite = v[np.isfinite(v)]
    if finite.size and (finite.min() < -1 or finite.max() > 1):
        raise ValidationError(
            f"{name}: NDVI outside [-1, 1] (min {finite.min():g}, max {finite.max():g})",
            fix="apply the MODIS scale factor (0.0001) to NDVI before calling",
        )
    return x, v


def vanui(dn: ArrayLike, ndvi_mean: ArrayLike, max_dn: float = DMSP_MAX_DN) -> FloatArray:
    """Vegetation-adjusted NTL urban index (Zhang, Schaaf & Seto 2013, RSE 129, eq. 1).

    ``VANUI = (1 − NDVI_mean) × DN / max_dn`` with annual mean NDVI clipped to [0, 1]. [verify]
    """
    x, v = _checked(dn, ndvi_mean, "vanui")
    return (1.0 - np.clip(v, 0.0, 1.0)) * (x / max_dn)


def hsi(dn: ArrayLike, ndvi_max: ArrayLike, max_dn: float = DMSP_MAX_DN) -> FloatArray:
    """Human settlement index (Lu et al. 2008, RSE 112, eq. 1).

    ``HSI = ((1 − NDVI_max) + OLS_nor) / ((1 − OLS_nor) + NDVI_max + OLS_nor·NDVI_max)`` with
    ``OLS_nor = DN / max_dn`` and NDVI_max clipped to [0, 1]. [verify]
    """
    x, v = _checked(dn, ndvi_max, "hsi")
    ols = x / max_dn
    nd = np.clip(v, 0.0, 1.0)
    return ((1.0 - nd) + ols) / ((1.0 - ols) + nd + ols * nd)
