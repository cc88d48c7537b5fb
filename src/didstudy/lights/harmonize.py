"""DMSP–VIIRS harmonisation fitted on overlap years (methods spec §2.7, "common applied recipe").

Two published functional forms, both fitted with :func:`scipy.optimize.curve_fit`:

* ``"logistic"``: ``DN = a / (1 + exp(−b (ln(1 + R) − c))) + d`` on pixel (or county) pairs,
  the sigmoid on log radiance of Li, Zhou, Zhao & Zhao (2020, Sci. Data 7:168) and Zhao et al.
  (2020, IEEE TGRS).
* ``"power"``: the aggregate-level power law ``ln DN = α + β ln R``, i.e. ``DN = e^α R^β``, fitted
  on county means.

Fit on one overlap year (e.g. 2013), then check out of sample on another (e.g. 2012) with
:meth:`HarmonizationFit.evaluate`. When a harmonised product (Li et al. 2020; Wu et al. 2022) is
available, read it directly instead.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from didstudy.errors import ConvergenceError, DataError, ValidationError
from didstudy.lights.calibrate import DMSP_MAX_DN

__all__ = ["FitQuality", "HarmonizationFit", "HarmonizationMethod", "fit_harmonization"]

HarmonizationMethod = Literal["logistic", "power"]
FloatArray = NDArray[np.float64]


def _logistic(r: FloatArray, a: float, b: float, c: float, d: float) -> FloatArray:
    z = np.clip(-b * (np.log1p(r) - c), -700.0, 700.0)
    out: FloatArray = a / (1.0 + np.exp(z)) + d
    return out


def _power(r: FloatArray, alpha: float, beta: float) -> FloatArray:
    out: FloatArray = np.exp(alpha) * np.power(r, beta)
    return out


@dataclass(frozen=True)
class FitQuality:
    """Agreement between harmonised VIIRS and DMSP on one set of pairs."""

    n: int
    r2: float
    rmse: float
    mean_bias: float

    def to_dict(self) -> dict[str, float | int | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {
            "n": self.n,
            "r2": clean(self.r2),
            "rmse": clean(self.rmse),
            "mean_bias": clean(self.mean_bias),
        }


def _quality(pred: FloatArray, obs: FloatArray) -> FitQuality:
    resid = obs - pred
    tss = float(np.sum((obs - obs.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else math.nan
    return FitQuality(int(obs.size), r2, float(np.sqrt(np.mean(resid**2))), float(resid.mean()))


@dataclass(frozen=True)
class HarmonizationFit:
    """A fitted VIIRS → DMSP-like mapping.

    Attributes
    ----------
    method
        ``"logistic"`` (parameters a, b, c, d) or ``"power"`` (alpha, beta).
    params
        Parameter name → estimate.
    std_errors
        Parameter name → standard error from ``curve_fit``'s covariance.
    in_sample
        Fit quality on the fitting pairs.
    max_dn
        Output is clipped to ``[0, max_dn]``.
    """

    method: HarmonizationMethod
    params: dict[str, float]
    std_errors: dict[str, float]
    in_sample: FitQuality
    max_dn: float = DMSP_MAX_DN
    notes: tuple[str, ...] = field(default=())

    def apply(self, radiance: ArrayLike) -> FloatArray:
        """Map VIIRS radiance to the DMSP-like scale (negatives set to 0; NaN stays NaN)."""
        r = np.clip(np.asarray(radiance, dtype=np.float64), 0.0, None)
        p = self.params
        if self.method == "logistic":
            out = _logistic(r, p["a"], p["b"], p["c"], p["d"])
        else:
            with np.errstate(divide="ignore"):
                out = _power(r, p["alpha"], p["beta"])
        return np.clip(out, 0.0, self.max_dn)

    def evaluate(self, radiance: ArrayLike, dmsp: ArrayLike) -> FitQuality:
        """Out-of-sample check on another overlap year (e.g. fit 2013, evaluate 2012)."""
        r, y = _pairs(radiance, dmsp, positive=self.method == "power")
        return _quality(self.apply(r), y)

    def to_dict(self) -> dict[str, object]:
        """Parameters for the output's metadata."""
        return {
            "method": self.method,
            "params": dict(self.params),
            "std_errors": dict(self.std_errors),
            "in_sample": self.in_sample.to_dict(),
            "max_dn": self.max_dn,
            "notes": list(self.notes),
        }


def _pairs(
    radiance: ArrayLike, dmsp: ArrayLike, *, positive: bool
) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(radiance, dtype=np.float64).ravel()
    y = np.asarray(dmsp, dtype=np.float64).ravel()
    if r.shape != y.shape:
        raise ValidationError(
            f"VIIRS and DMSP inputs differ in size ({r.size} vs {y.size})",
            fix="aggregate VIIRS onto the DMSP grid (or to the same counties) first",
        )
    keep = np.isfinite(r) & np.isfinite(y)
    if positive:
        keep &= (r > 0) & (y > 0)
    return np.clip(r[keep], 0.0, None), y[keep]


def fit_harmonization(
    radiance: ArrayLike,
    dmsp: ArrayLike,
    method: HarmonizationMethod = "logistic",
    *,
    min_dn: float = 0.0,
    max_dn: float = DMSP_MAX_DN,
) -> HarmonizationFit:
    """Fit a monotone VIIRS → DMSP mapping on overlap-year pairs (methods spec §2.7 step 3).

    Parameters
    ----------
    radiance, dmsp
        Paired values: VIIRS radiance (nW·cm⁻²·sr⁻¹, aggregated to the DMSP grid or to counties)
        and DMSP DN of the same overlap year.
    method
        ``"logistic"`` or ``"power"`` (see the module docstring).
    min_dn
        Drop pairs with DMSP DN below this (Li et al. 2020 recommend fitting on DN > 7).
    """
    if method not in ("logistic", "power"):
        raise ValidationError(
            f"unknown harmonisation method {method!r}", fix="use 'logistic' or 'power'"
        )
    from scipy.optimize import curve_fit

    r, y = _pairs(radiance, dmsp, positive=method == "power")
    keep = y >= min_dn
    r, y = r[keep], y[keep]
    if r.size < 8:
        raise DataError(
            f"only {r.size} usable VIIRS/DMSP pairs; at least 8 are needed",
            fix="use more pixels or counties, or lower min_dn",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if method == "logistic":
                lr = np.log1p(r)
                p0 = [float(y.max() - y.min()) or 1.0, 1.0, float(np.median(lr)), float(y.min())]
                est, cov = curve_fit(_logistic, r, y, p0=p0, maxfev=20000)
                names: tuple[str, ...] = ("a", "b", "c", "d")
            else:
                slope, intercept = np.polyfit(np.log(r), np.log(y), 1)
                est, cov = curve_fit(
                    lambda x, a, b: a + b * np.log(x), r, np.log(y), p0=[intercept, slope]
                )
                names = ("alpha", "beta")
        except RuntimeError as exc:
            raise ConvergenceError(
                f"curve_fit did not converge for method {method!r}: {exc}",
                fix="try the other method or restrict the pairs",
            ) from exc
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    params = {k: float(v) for k, v in zip(names, est, strict=True)}
    ses = {k: float(v) for k, v in zip(names, se, strict=True)}
    fit = HarmonizationFit(method, params, ses, FitQuality(0, math.nan, math.nan, math.nan), max_dn)
    return HarmonizationFit(method, params, ses, _quality(fit.apply(r), y), max_dn)
