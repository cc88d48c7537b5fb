"""DMSP-OLS corrections: inter-calibration, same-year composition, inter-annual continuity.

Every correction is a pure function on arrays; nodata is ``NaN`` and stays ``NaN``. Published
coefficients are data (``didstudy/lights/tables/*.csv``), never literals in code. Formulas follow
the project's methods specification, sections 2.2-2.4.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from didstudy.errors import DataError, ValidationError

__all__ = [
    "DMSP_MAX_DN",
    "TABLES",
    "CalibrationCoefficients",
    "ContinuityMode",
    "DmspSeries",
    "calibration_table",
    "coefficients_for",
    "compose_same_year",
    "continuity_correction",
    "dmsp_series",
    "fit_intercalibration",
    "intercalibrate",
]

DMSP_MAX_DN = 63.0
"""Saturation level of the 6-bit DMSP-OLS stable-lights product."""

TABLES: dict[str, str] = {"elvidge2014": "elvidge2014.csv", "liu2012": "liu2012.csv"}
"""Published coefficient tables shipped in ``didstudy/lights/tables`` (see its README.md)."""

NATIVE_REFERENCE: dict[str, tuple[str, int]] = {
    "elvidge2014": ("F12", 1999),
    "liu2012": ("F16", 2007),
}

ContinuityMode = Literal["sequential", "simultaneous"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CalibrationCoefficients:
    """Second-order inter-calibration ``DN_adj = c0 + c1 DN + c2 DN²`` (Elvidge et al. 2009, eq. 1).

    Attributes
    ----------
    satellite, year
        The satellite-year the coefficients apply to.
    c0, c1, c2
        Polynomial coefficients mapping this image to the reference satellite-year.
    r2
        Fit R² of the published or fitted regression (``None`` if not published).
    source
        ``"elvidge2014"``, ``"liu2012"``, ``"fitted"`` or ``"rebased:<table>"``.
    reference
        The satellite-year whose scale the output is on, e.g. ``"F12 1999"``.
    n
        Number of cell pairs used in the fit (fitted coefficients only).
    """

    satellite: str
    year: int
    c0: float
    c1: float
    c2: float
    r2: float | None
    source: str
    reference: str
    n: int | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable parameters, for the output's metadata."""
        return asdict(self)


@lru_cache(maxsize=4)
def _read_table(name: str) -> pd.DataFrame:
    if name not in TABLES:
        raise ValidationError(
            f"unknown inter-calibration table {name!r}",
            fix=f"use one of {sorted(TABLES)} or fit your own with fit_intercalibration()",
        )
    ref = resources.files("didstudy.lights").joinpath("tables", TABLES[name])
    with ref.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={"satellite": str})
    return frame


def calibration_table(name: str = "elvidge2014") -> pd.DataFrame:
    """Return a copy of a published coefficient table (columns satellite, year, c0, c1, c2, r2)."""
    return _read_table(name).copy()


def _lookup(name: str, satellite: str, year: int) -> tuple[float, float, float, float | None]:
    table = _read_table(name)
    hit = table[(table["satellite"] == satellite.upper()) & (table["year"] == int(year))]
    if hit.empty:
        have = ", ".join(f"{s} {y}" for s, y in zip(table["satellite"], table["year"], strict=True))
        raise ValidationError(
            f"table {name!r} has no coefficients for satellite-year {satellite} {year}",
            fix=f"choose one of: {have}; or fit coefficients with fit_intercalibration()",
        )
    row = hit.iloc[0]
    r2 = None if pd.isna(row["r2"]) else float(row["r2"])
    return float(row["c0"]), float(row["c1"]), float(row["c2"]), r2


def _inverse_quadratic(z: FloatArray, c0: float, c1: float, c2: float) -> FloatArray:
    """Solve ``c0 + c1 y + c2 y² = z`` for the root continuous with the linear solution."""
    disc = c1 * c1 + 4.0 * c2 * (z - c0)
    if np.any(disc[np.isfinite(disc)] < 0):
        raise ValidationError(
            "the reference satellite-year's calibration curve cannot be inverted on this range",
            fix="choose a reference satellite-year whose curve is monotone on [0, 63]",
        )
    return 2.0 * (z - c0) / (c1 + np.sqrt(disc))


def coefficients_for(
    satellite: str,
    year: int,
    table: str = "elvidge2014",
    reference: tuple[str, int] | None = None,
) -> CalibrationCoefficients:
    """Coefficients of one satellite-year from a published table.

    Parameters
    ----------
    satellite, year
        Image to calibrate, e.g. ``("F15", 2005)``.
    table
        ``"elvidge2014"`` (reference F12 1999, Sicily) or ``"liu2012"`` (reference F16 2007, Jixi).
    reference
        Satellite-year whose scale the output should be on. ``None`` keeps the table's native
        reference. Another reference R is reached by composing with the inverse of R's curve,
        ``f_R^{-1}(f_X(DN))``; the composition is no longer a quadratic, so the returned object
        carries R's coefficients in ``source`` and :func:`intercalibrate` applies both steps.
    """
    c0, c1, c2, r2 = _lookup(table, satellite, year)
    native = NATIVE_REFERENCE[table]
    ref = native if reference is None else (reference[0].upper(), int(reference[1]))
    if ref == native:
        return CalibrationCoefficients(
            satellite.upper(), int(year), c0, c1, c2, r2, table, f"{native[0]} {native[1]}"
        )
    _lookup(table, *ref)  # validates the reference exists
    return CalibrationCoefficients(
        satellite.upper(), int(year), c0, c1, c2, r2, f"rebased:{table}", f"{ref[0]} {ref[1]}"
    )


def intercalibrate(
    dn: ArrayLike,
    coefficients: CalibrationCoefficients,
    *,
    keep_zero: bool = True,
    max_dn: float = DMSP_MAX_DN,
) -> FloatArray:
    """Apply second-order inter-calibration (Elvidge et al. 2009, eq. 1; Liu et al. 2012, eq. 1).

    ``DN_adj = c0 + c1 DN + c2 DN²``, clipped to ``[0, max_dn]``. With ``keep_zero`` background
    cells (DN = 0) stay 0 (methods spec §2.2 step 4). ``NaN`` (nodata) stays ``NaN``.
    When ``coefficients.source`` is ``"rebased:<table>"`` the result is mapped onto the requested
    reference's scale with the inverse of that reference's curve.
    """
    x = np.asarray(dn, dtype=np.float64)
    c = coefficients
    out = c.c0 + c.c1 * x + c.c2 * x * x
    if c.source.startswith("rebased:"):
        table = c.source.split(":", 1)[1]
        sat, yr = c.reference.split()
        r0, r1, r2, _ = _lookup(table, sat, int(yr))
        out = _inverse_quadratic(np.clip(out, 0.0, None), r0, r1, r2)
    out = np.clip(out, 0.0, max_dn)
    if keep_zero:
        out = np.where(x == 0, 0.0, out)
    return np.where(np.isnan(x), np.nan, out)


def fit_intercalibration(
    image: ArrayLike,
    reference: ArrayLike,
    *,
    satellite: str,
    year: int,
    reference_name: str,
    mask: ArrayLike | None = None,
    drop_zero: bool = True,
    saturation: float = DMSP_MAX_DN,
) -> CalibrationCoefficients:
    """Fit ``R = c0 + c1 X + c2 X²`` by OLS on an invariant region (methods spec §2.2, steps 1-5).

    Parameters
    ----------
    image, reference
        Same-shape arrays on one grid: the satellite-year to calibrate (X) and the reference (R).
    mask
        Boolean array, True inside the invariant region (e.g. from
        :func:`didstudy.lights.zonal.region_mask`). ``None`` uses every cell.
    drop_zero
        Drop pairs where X = 0 or R = 0.
    saturation
        Pairs with R ≥ ``saturation`` are dropped (saturated reference cells).
    """
    x = np.asarray(image, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    if x.shape != r.shape:
        raise ValidationError(
            f"image and reference differ in size ({x.size} vs {r.size} cells)",
            fix="read both rasters on the same grid",
        )
    keep = np.isfinite(x) & np.isfinite(r) & (r < saturation)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool).ravel()
    if drop_zero:
        keep &= (x > 0) & (r > 0)
    n = int(keep.sum())
    if n < 3:
        raise DataError(
            f"only {n} usable cell pairs in the invariant region; a quadratic needs at least 3",
            fix="enlarge the invariant region or set drop_zero=False",
        )
    xs, rs = x[keep], r[keep]
    design = np.column_stack([np.ones(n), xs, xs * xs])
    beta, *_ = np.linalg.lstsq(design, rs, rcond=None)
    resid = rs - design @ beta
    tss = float(np.sum((rs - rs.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else math.nan
    return CalibrationCoefficients(
        satellite.upper(),
        int(year),
        float(beta[0]),
        float(beta[1]),
        float(beta[2]),
        r2,
        "fitted",
        reference_name,
        n,
    )


def compose_same_year(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Compose two satellites' images of one year (Liu et al. 2012, eq. 2; methods spec §2.3).

    ``DN = 0`` where either image is 0, else the mean of the two. ``NaN`` in either propagates.
    Example: ``a = [0, 5, 7]``, ``b = [3, 0, 9]`` gives ``[0, 0, 8]``.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValidationError(
            f"the two satellites' images differ in shape ({x.shape} vs {y.shape})",
            fix="read both on the same grid",
        )
    mean = (x + y) / 2.0
    return np.where((x == 0) | (y == 0), np.where(np.isnan(x) | np.isnan(y), np.nan, 0.0), mean)


def continuity_correction(stack: ArrayLike, mode: ContinuityMode = "sequential") -> FloatArray:
    """Inter-annual continuity correction (Liu et al. 2012, eq. 3; methods spec §2.4).

    For years n = 2 … N−1 (first and last unchanged), with years along axis 0::

        DN_n = 0          if DN_{n+1} = 0
        DN_n = DN_{n-1}   if DN_{n+1} > 0 and DN_{n-1} > DN_n
        DN_n = DN_n       otherwise

    ``mode="sequential"`` uses the already corrected DN_{n-1} (monotone series, as in year-by-year
    raster-calculator workflows; the default); ``mode="simultaneous"`` uses the original DN_{n-1}.
    DN_{n+1} is always the original. The rule suppresses genuine declines: keep it switchable.
    """
    orig = np.asarray(stack, dtype=np.float64)
    if orig.ndim < 1 or orig.shape[0] < 1:
        raise ValidationError("continuity_correction needs a stack with years along axis 0")
    if mode not in ("sequential", "simultaneous"):
        raise ValidationError(
            f"unknown continuity mode {mode!r}", fix="use 'sequential' or 'simultaneous'"
        )
    out = orig.copy()
    for n in range(1, orig.shape[0] - 1):
        prev = out[n - 1] if mode == "sequential" else orig[n - 1]
        cur, nxt = orig[n], orig[n + 1]
        value = np.where(nxt == 0, 0.0, np.where((nxt > 0) & (prev > cur), prev, cur))
        out[n] = np.where(np.isnan(cur), np.nan, value)
    return out


@dataclass(frozen=True)
class DmspSeries:
    """A corrected DMSP stack: one image per year, with every parameter used."""

    years: tuple[int, ...]
    stack: FloatArray
    parameters: dict[str, object]


def dmsp_series(
    images: dict[tuple[str, int], ArrayLike],
    *,
    table: str | None = "elvidge2014",
    coefficients: dict[tuple[str, int], CalibrationCoefficients] | None = None,
    reference: tuple[str, int] | None = None,
    continuity: ContinuityMode | None = "sequential",
) -> DmspSeries:
    """Raw DMSP chain of methods spec §2.8: inter-calibrate → same-year composition → continuity.

    Parameters
    ----------
    images
        ``{(satellite, year): DN array}``, all on one grid; NaN is nodata (e.g. DN 255 replaced).
    table, reference
        Published table and reference satellite-year (see :func:`coefficients_for`); ignored for
        satellite-years present in ``coefficients``.
    coefficients
        Your own (e.g. fitted) coefficients per satellite-year; they take precedence.
    continuity
        ``"sequential"``, ``"simultaneous"`` or ``None`` to skip the inter-annual correction
        (which suppresses genuine declines; methods spec §2.4).
    """
    if not images:
        raise ValidationError("dmsp_series needs at least one image")
    used: dict[str, object] = {}
    calibrated: dict[int, list[FloatArray]] = {}
    for (sat, year), arr in sorted(images.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        key = (sat.upper(), int(year))
        if coefficients is not None and key in coefficients:
            coef = coefficients[key]
        elif table is not None:
            coef = coefficients_for(sat, year, table=table, reference=reference)
        else:
            raise ValidationError(
                f"no coefficients for {sat} {year}", fix="pass table= or coefficients="
            )
        used[f"{key[0]} {key[1]}"] = coef.to_dict()
        calibrated.setdefault(key[1], []).append(intercalibrate(arr, coef))
    years = tuple(sorted(calibrated))
    layers = []
    for year in years:
        imgs = calibrated[year]
        if len(imgs) > 2:
            raise ValidationError(f"{len(imgs)} satellites in {year}; composition takes two")
        layers.append(compose_same_year(imgs[0], imgs[1]) if len(imgs) == 2 else imgs[0])
    stack = np.stack(layers)
    if continuity is not None:
        stack = continuity_correction(stack, continuity)
    params: dict[str, object] = {
        "intercalibration": used,
        "composition": "Liu et al. 2012 (methods spec §2.3)",
        "continuity": continuity,
    }
    return DmspSeries(years, stack, params)
