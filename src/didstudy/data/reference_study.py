r"""SIMULATED data for the bundled reference study (``didstudy demo``).

The administrative structure is real: the prefecture-level units of the code lists, their county
composition in every year (``china/counties_by_year.csv``), the demonstration zones and their
approval years, the resource-based cities, the urban agglomerations, the revolutionary old areas,
the 2010 census population and the concurrent national policies. Every *number* attached to
them — county night-time light, controls, mediators, sector employment — is **simulated** from
the data-generating process below, with a known effect. Nothing is calibrated to the reference
paper's printed estimates (docs/decisions/0007-reference-study-dgp.md).

Data-generating process
-----------------------
City :math:`j`, year :math:`t`, treatment :math:`D_{jt} = 1\{t \ge g_j\}` (zone approval year
:math:`g_j`). The within-city Gini of county light (INDG, the Dagum :math:`G_{jj}`) is set to

.. math::

    G_{jt} = \alpha_j + \lambda_t + \beta_{gdp}\,(\ln gdp_{jt} - \overline{\ln gdp})
             + \tau D_{jt} + \varepsilon_{jt},\qquad
    \varepsilon_{jt} = \rho\,\varepsilon_{j,t-1} + u_{jt},\ u_{jt} \sim N(0, \sigma^2),

and county light values realise it *exactly*: county :math:`i` of city :math:`j` has a fixed
score :math:`z_i \sim N(0,1)` and light :math:`m_{jt}\,e^{s_{jt} z_i} / \overline{e^{s_{jt} z}}`,
where the dispersion :math:`s_{jt}` is solved (bisection) so that the population Gini
:math:`\sum_i\sum_r |y_i - y_r| / (2 n_j^2 \bar y_j)` of the city's counties equals
:math:`G_{jt}`, and :math:`m_{jt}` is the city's mean light. The effect on INDG is therefore
:math:`\tau` for every treated city-year (homogeneous, no anticipation, no dynamics): the
true ATT, event-study post coefficients and every heterogeneity split equal :math:`\tau`, the
pre-period coefficients and the anticipation term are 0, and the concurrent policies have no
effect. Mediators: ``innoap`` and ``emp`` shift by :math:`\theta` when treated; producer-service
employment rises by the factor :math:`e^{\theta_s}`, which moves the co-agglomeration index ISA
(its sample ATT is computed here with the §4.1 formula and recorded in ``truth``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from didstudy.data.china import (
    CONCURRENT_POLICIES,
    agglomerations,
    census,
    cities,
    counties_by_year,
    demonstration_zones,
    old_revolutionary_areas,
    policy_dummies,
    resource_cities,
)
from didstudy.errors import ValidationError

__all__ = ["ReferenceStudyData", "build_reference_study", "population_gini"]

SIMULATED_NOTE = (
    "SIMULATED data: real Chinese administrative units and policy lists, simulated numbers "
    "(county light, controls, mediators) from a documented DGP with a known effect; "
    "not the reference paper's data and not calibrated to its estimates."
)

# error sd of INDG; the effect is stated relative to it (half a standard deviation)
_SIGMA = 0.02
_RHO = 0.5
_EFFECT = -0.5 * _SIGMA
# effect of ln gdp on INDG (a control that matters, so the stepwise columns differ) and the sd
# of ln gdp's year-to-year noise (its within-city variation, which identifies the coefficient)
_BETA_GDP = -0.01
_GDP_NOISE = 0.25
# mediator effects: patents per 10k persons, employment share, log producer-service employment
_THETA_INNO = 0.8
_THETA_EMP = 0.02
_THETA_SERVICES = 0.10
# bisection on the dispersion s: bracket and iterations (2^-60 of the bracket: machine precision)
_S_MAX = 12.0
_BISECT_STEPS = 60
# the Gini of n values is below (n - 1) / n; keep targets inside with this margin
_GINI_MARGIN = 0.9
_GINI_FLOOR = 0.02


@dataclass(frozen=True)
class ReferenceStudyData:
    """The simulated reference-study inputs.

    Attributes
    ----------
    cities
        City-year panel (every unit that exists in all years of the window): ``code, name,
        name_en, province, type, year, cohort`` (approval year, 0 = never), ``policy``,
        controls ``ln_trans, ln_gdp, saver, edu, country``, mediators ``innoap, emp``, sector
        employment ``emp_services, emp_manuf, emp_total`` (ISA is computed from these),
        group flags ``large_pop, resource, agglomeration, old_revolutionary, municipality`` and
        their labels ``pop_group, resource_group, agglomeration_group, old_revolutionary_group``,
        concurrent-policy dummies, and ``n_counties_min``.
    counties
        County-year light: ``year, county_code, county_name, city_code, light``.
    truth
        The DGP's parameters and the true effects.
    indg_target
        ``code, year, indg``: the within-city Gini the county values were built to realise
        (NaN for cities with fewer than two counties). Not part of the study's inputs; tests
        compare it with the Dagum :math:`G_{jj}` measured from ``counties``.
    """

    cities: pd.DataFrame
    counties: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)
    indg_target: pd.DataFrame = field(default_factory=pd.DataFrame)


def population_gini(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Population Gini :math:`\\sum_i\\sum_r|y_i-y_r|/(2n^2\\bar y)` per group code 0..G-1."""
    order = np.lexsort((values, groups))
    v, g = values[order], groups[order]
    n = np.bincount(g)
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    rank = np.arange(v.size) - start[g] + 1
    coef = (2.0 * rank - n[g] - 1.0) / n[g]
    num = np.bincount(g, weights=coef * v, minlength=n.size)
    den = np.bincount(g, weights=v, minlength=n.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _solve_dispersion(
    z: np.ndarray, groups: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Light shape ``exp(s_g z)`` (mean 1 per group) whose population Gini equals ``target[g]``.

    For ``s > 0`` the order of ``exp(s z)`` is the order of ``z``, so the Gini weights
    ``(2 rank - n - 1) / n`` are fixed and the Gini is increasing in ``s``: bisection.
    """
    order = np.lexsort((z, groups))
    zs, gs = z[order], groups[order]
    n = np.bincount(gs, minlength=target.size)
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    rank = np.arange(zs.size) - start[gs] + 1
    coef = (2.0 * rank - n[gs] - 1.0) / np.maximum(n[gs], 1)
    zmax = np.full(target.size, -np.inf)
    np.maximum.at(zmax, gs, zs)
    shifted = zs - zmax[gs]
    lo = np.zeros(target.size)
    hi = np.full(target.size, _S_MAX)
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        e = np.exp(mid[gs] * shifted)
        with np.errstate(invalid="ignore", divide="ignore"):
            gini = np.bincount(gs, weights=coef * e, minlength=target.size) / np.bincount(
                gs, weights=e, minlength=target.size
            )
        above = gini > target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    s = 0.5 * (lo + hi)
    e = np.exp(s[gs] * shifted)
    shape_sorted = e / (np.bincount(gs, weights=e, minlength=target.size) / np.maximum(n, 1))[gs]
    shape = np.empty_like(shape_sorted)
    shape[order] = shape_sorted
    return shape, s


def _group_flags(frame: pd.DataFrame) -> pd.DataFrame:
    """Heterogeneity groups of Table 6 from the real lists (any coverage counts as member)."""
    code = frame["code"]
    pop = census().set_index("code")["popu_2010"]
    resource = set(resource_cities()["code"].dropna().astype(int))
    agglo = set(agglomerations()["admin_code"].dropna().astype(int))
    old = set(old_revolutionary_areas()["admin_code"].dropna().astype(int))
    out = pd.DataFrame(index=frame.index)
    out["pop2010"] = code.map(pop).astype("float64")
    out["large_pop"] = (out["pop2010"] >= 5_000_000).astype("int64")
    out["resource"] = code.isin(resource).astype("int64")
    out["agglomeration"] = code.isin(agglo).astype("int64")
    out["old_revolutionary"] = code.isin(old).astype("int64")
    out["municipality"] = (frame["type"] == "municipality").astype("int64")
    out["pop_group"] = np.where(out["large_pop"] == 1, "≥500万", "<500万")
    out["resource_group"] = np.where(out["resource"] == 1, "资源型", "非资源型")
    out["agglomeration_group"] = np.where(out["agglomeration"] == 1, "城市群内", "城市群外")
    out["old_revolutionary_group"] = np.where(out["old_revolutionary"] == 1, "老区", "非老区")
    for column in ("pop_group", "resource_group", "agglomeration_group", "old_revolutionary_group"):
        out[column] = out[column].astype("str")
    return out


def _isa(
    services: np.ndarray, manuf: np.ndarray, total: np.ndarray, year: np.ndarray
) -> np.ndarray:
    """Co-agglomeration index of methods-spec §4.1 with sample totals by year."""
    _, inv = np.unique(year, return_inverse=True)
    tot_s = np.bincount(inv, weights=services)[inv]
    tot_m = np.bincount(inv, weights=manuf)[inv]
    tot = np.bincount(inv, weights=total)[inv]
    lq_s = (services / total) / (tot_s / tot)
    lq_m = (manuf / total) / (tot_m / tot)
    isa: np.ndarray = 1.0 - np.abs(lq_s - lq_m) / (lq_s + lq_m) + (lq_s + lq_m)
    return isa


def build_reference_study(
    seed: int = 20100112,
    *,
    first_year: int = 2003,
    last_year: int = 2022,
    effect: float = _EFFECT,
) -> ReferenceStudyData:
    """Build the SIMULATED reference-study inputs (see the module docstring for the DGP).

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; same seed, same data.
    first_year, last_year
        The window (units must exist in every year of it).
    effect
        True effect :math:`\\tau` of the zones on INDG (default: half the error sd, negative).
    """
    if last_year - first_year < 3:
        raise ValidationError(
            f"window {first_year}-{last_year} is too short for a staggered design",
            fix="use at least four years",
        )
    rng = np.random.default_rng(seed)
    units, panel = _city_panel(first_year, last_year)
    n_units, n_years = len(units), last_year - first_year + 1
    d = panel["policy"].to_numpy(dtype=float)
    draw = _Draws(rng, np.repeat(np.arange(n_units), n_years), n_units, n_years, first_year, panel)
    size = _controls(panel, draw)
    target = _indg_target(panel, draw, d, effect)
    county, target, clipped = _counties(units, panel, draw, target, first_year, last_year)
    isa_att = _mediators(panel, draw, size, d)
    flags = _group_flags(panel)
    dummies = policy_dummies(panel, province="province", name="name", year="year")
    panel = pd.concat([panel, flags, dummies], axis=1)
    truth = _truth(seed, effect, isa_att, int(clipped.sum()))
    for frame in (panel, county):
        frame.attrs["simulated"] = True
        frame.attrs["truth"] = truth
        frame.attrs["note"] = SIMULATED_NOTE
    realised = pd.DataFrame({"code": panel["code"], "year": panel["year"], "indg": target})
    return ReferenceStudyData(cities=panel, counties=county, truth=truth, indg_target=realised)


@dataclass(frozen=True)
class _Draws:
    """The random stream of one build and the panel's shape (draw order is part of the DGP)."""

    rng: np.random.Generator
    unit_index: np.ndarray
    n_units: int
    n_years: int
    first_year: int
    panel: pd.DataFrame

    @property
    def t(self) -> np.ndarray:
        """Years since the first year, per row."""
        return (self.panel["year"].to_numpy() - self.first_year).astype(float)

    def unit_effect(self, sd: float) -> np.ndarray:
        """A N(0, sd) draw per unit, repeated over its rows."""
        draws: np.ndarray = self.rng.normal(0.0, sd, self.n_units)[self.unit_index]
        return draws

    def noise(self, sd: float) -> np.ndarray:
        """A N(0, sd) draw per row."""
        return self.rng.normal(0, sd, len(self.panel))


def _city_panel(first_year: int, last_year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real cities present in the whole window and their zone cohorts, one row a year."""
    years = np.arange(first_year, last_year + 1)
    units = cities()
    units = units.loc[
        (units["first_year"] <= first_year) & (units["last_year"] >= last_year)
    ].reset_index(drop=True)
    zones = demonstration_zones()
    zones = zones.loc[
        (zones["in_paper_sample"] == "likely")
        & zones["approval_year"].between(first_year, last_year)
    ]
    cohort_of = zones.groupby("admin_code_if_known")["approval_year"].min()
    cohort = units["code"].map(cohort_of).fillna(0).astype("int64").to_numpy()
    n_years = years.size
    panel = pd.DataFrame(
        {
            "code": np.repeat(units["code"].to_numpy(dtype="int64"), n_years),
            "name": np.repeat(units["name"].to_numpy(dtype=object), n_years),
            "name_en": np.repeat(units["name_en_auto"].to_numpy(dtype=object), n_years),
            "province": np.repeat(units["province"].to_numpy(dtype=object), n_years),
            "type": np.repeat(units["type"].to_numpy(dtype=object), n_years),
            "year": np.tile(years, len(units)),
            "cohort": np.repeat(cohort, n_years),
        }
    )
    for column in ("name", "name_en", "province", "type"):
        panel[column] = panel[column].astype("str")
    treated = (panel["cohort"] > 0) & (panel["year"] >= panel["cohort"])
    panel["policy"] = treated.astype("int64")
    return units, panel


def _controls(panel: pd.DataFrame, draw: _Draws) -> np.ndarray:
    """Controls: unit level + trend + noise (plausible units and scales, not calibrated)."""
    t = draw.t
    size = draw.unit_effect(1.0)
    panel["ln_gdp"] = 15.5 + 0.8 * size + 0.09 * t + draw.noise(_GDP_NOISE)
    panel["ln_trans"] = 8.0 + 0.5 * size + draw.unit_effect(0.4) - 0.01 * t + draw.noise(0.15)
    panel["saver"] = np.clip(0.9 + draw.unit_effect(0.2) + 0.01 * t + draw.noise(0.05), 0.1, None)
    panel["edu"] = np.clip(
        0.03 + draw.unit_effect(0.008) + 0.0005 * t + draw.noise(0.003), 0.001, None
    )
    panel["country"] = np.clip(
        0.35 + 0.08 * size + draw.unit_effect(0.08) + 0.012 * t + draw.noise(0.01), 0.05, 0.98
    )
    return size


def _indg_target(panel: pd.DataFrame, draw: _Draws, d: np.ndarray, effect: float) -> np.ndarray:
    """The INDG target of the module docstring's DGP (AR(1) errors within city)."""
    t = draw.t
    n_units, n_years = draw.n_units, draw.n_years
    alpha = 0.28 + draw.unit_effect(0.06)
    lam = -0.0015 * t + np.repeat(draw.rng.normal(0, 0.004, n_years)[None, :], n_units, 0).ravel()
    u = draw.rng.normal(0.0, _SIGMA, (n_units, n_years))
    eps = np.empty_like(u)
    eps[:, 0] = u[:, 0] / np.sqrt(1 - _RHO**2)
    for k in range(1, n_years):
        eps[:, k] = _RHO * eps[:, k - 1] + u[:, k]
    gdp_c = panel["ln_gdp"].to_numpy() - panel["ln_gdp"].mean()
    target: np.ndarray = alpha + lam + _BETA_GDP * gdp_c + effect * d + eps.ravel()
    return target


def _counties(
    units: pd.DataFrame,
    panel: pd.DataFrame,
    draw: _Draws,
    target: np.ndarray,
    first_year: int,
    last_year: int,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Real county composition per year, simulated light realising the target Gini exactly.

    Returns the county frame, the realised (clipped) target and the clipped-cell flags.
    """
    county = counties_by_year()
    county = county.loc[
        county["year"].between(first_year, last_year) & county["city_code"].isin(units["code"])
    ].reset_index(drop=True)
    county["city_code"] = county["city_code"].astype("int64")
    county["county_code"] = county["county_code"].astype("int64")
    cell = pd.MultiIndex.from_arrays([panel["code"], panel["year"]])
    county_cell = cell.get_indexer(pd.MultiIndex.from_arrays([county["city_code"], county["year"]]))
    n_counties = np.bincount(county_cell, minlength=len(panel))
    ceiling = _GINI_MARGIN * (n_counties - 1) / np.maximum(n_counties, 1)
    clipped = (n_counties >= 2) & ((target > ceiling) | (target < _GINI_FLOOR))
    target = np.where(
        n_counties >= 2, np.clip(target, _GINI_FLOOR, np.maximum(ceiling, _GINI_FLOOR)), np.nan
    )
    score_codes, score_index = np.unique(county["county_code"].to_numpy(), return_inverse=True)
    z = draw.rng.normal(0.0, 1.0, score_codes.size)[score_index]
    shape, _ = _solve_dispersion(z, county_cell, np.nan_to_num(target, nan=0.0))
    level = np.exp(1.2 + draw.unit_effect(0.7) + 0.05 * draw.t + draw.noise(0.05))
    county["light"] = level[county_cell] * shape
    county = county[["year", "county_code", "county_name", "city_code", "light"]]
    county["county_name"] = county["county_name"].astype("str")
    panel["n_counties_min"] = (
        pd.Series(n_counties).groupby(draw.unit_index).transform("min").to_numpy(dtype="int64")
    )
    return county, target, clipped


def _mediators(panel: pd.DataFrame, draw: _Draws, size: np.ndarray, d: np.ndarray) -> float:
    """Mediators and sector employment; returns the sample ATT on the co-agglomeration index."""
    t = draw.t
    panel["innoap"] = (
        np.exp(0.5 + 0.6 * size + draw.unit_effect(0.5))
        + 0.25 * t
        + _THETA_INNO * d
        + draw.noise(0.3)
    )
    panel["emp"] = np.clip(
        0.55 + 0.05 * size + draw.unit_effect(0.08) + 0.006 * t + _THETA_EMP * d + draw.noise(0.01),
        0.05,
        0.99,
    )
    total = np.exp(3.5 + 0.7 * size + draw.unit_effect(0.3) + 0.01 * t + draw.noise(0.03))
    manuf = total * np.clip(0.25 + draw.unit_effect(0.06) + draw.noise(0.01), 0.02, 0.8)
    services_base = total * np.clip(
        0.12 + draw.unit_effect(0.03) + 0.002 * t + draw.noise(0.005), 0.01, 0.5
    )
    services = services_base * np.exp(_THETA_SERVICES * d)
    panel["emp_total"] = total
    panel["emp_manuf"] = manuf
    panel["emp_services"] = services
    year_arr = panel["year"].to_numpy()
    isa1 = _isa(services, manuf, total, year_arr)
    isa0 = _isa(services_base, manuf, total, year_arr)
    return float(np.mean((isa1 - isa0)[d == 1]))


def _truth(seed: int, effect: float, isa_att: float, n_clipped: int) -> dict[str, Any]:
    return {
        "simulated": True,
        "note": SIMULATED_NOTE,
        "seed": int(seed),
        "effect_indg": float(effect),
        "event_study": {"pre": 0.0, "post": float(effect)},
        "anticipation": 0.0,
        "heterogeneity_difference": 0.0,
        "concurrent_policies": {p.key: 0.0 for p in CONCURRENT_POLICIES},
        "beta_ln_gdp": _BETA_GDP,
        "sigma": _SIGMA,
        "rho": _RHO,
        "mediators": {
            "innoap": _THETA_INNO,
            "emp": _THETA_EMP,
            "log_emp_services": _THETA_SERVICES,
            "isa_sample_att": isa_att,
        },
        "n_target_clipped": n_clipped,
    }
