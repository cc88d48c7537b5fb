"""The reference study's city sample rules (reference-study.md §2), applied to the packaged facts.

The paper reports 274 cities (28 treated, 246 controls). Its sample depends on yearbook data
availability, which the code lists alone cannot reproduce; :func:`paper_sample` applies the
stated rules mechanically and logs what each rule removes, so the difference is documented
rather than hidden (``docs/decisions/0007-reference-study-dgp.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from didstudy.data.china.loaders import cities, counties_by_year, demonstration_zones

__all__ = ["PaperSample", "SampleRules", "paper_sample"]


@dataclass(frozen=True)
class SampleRules:
    """The sample rules of reference-study.md §2, as data.

    Attributes
    ----------
    types
        Unit types kept: prefecture-level cities and municipalities (the China City Statistical
        Yearbook covers these; 地区/自治州/盟 are not covered).
    drop_names
        Units dropped by name: Chongqing, 湘西州, the province-administered county-level cities
        and the units created, abolished or merged within the window.
    drop_provinces
        Tibet and Xinjiang, whose units have heavy missingness.
    min_counties
        Minimum number of county-level units in every year (a within-city Gini needs two).
    """

    first_year: int = 2003
    last_year: int = 2022
    types: tuple[str, ...] = ("prefecture_city", "municipality")
    drop_names: tuple[str, ...] = (
        "重庆市",
        "仙桃市",
        "潜江市",
        "天门市",
        "湘西土家族苗族自治州",
        "巢湖市",
        "莱芜市",
        "三沙市",
        "儋州市",
        "毕节市",
        "铜仁市",
        "海东市",
    )
    drop_provinces: tuple[str, ...] = ("西藏自治区", "新疆维吾尔自治区")
    min_counties: int = 2
    zone_years: tuple[int, int] = (2010, 2014)


@dataclass(frozen=True)
class PaperSample:
    """The sample: one row per kept city (``code, name, province, type, cohort``) and a log.

    ``cohort`` is the approval year of the city's demonstration zone, 0 for never treated.
    ``log`` lists ``(rule, number of units removed, names removed)`` in the order applied.
    """

    frame: pd.DataFrame
    log: tuple[tuple[str, int, tuple[str, ...]], ...] = field(default_factory=tuple)

    @property
    def n_cities(self) -> int:
        return len(self.frame)

    @property
    def n_treated(self) -> int:
        return int((self.frame["cohort"] > 0).sum())


def paper_sample(rules: SampleRules | None = None) -> PaperSample:
    """Apply the reference study's sample rules to the packaged code lists.

    With the default rules this yields 276 cities (27 treated, 249 never treated) against the
    paper's 274 (28 + 246); the log says which rule removed which unit.
    """
    rules = rules or SampleRules()
    frame = cities()
    log: list[tuple[str, int, tuple[str, ...]]] = []

    def apply(rule: str, keep: pd.Series) -> None:
        nonlocal frame
        removed = tuple(str(n) for n in frame.loc[~keep, "name"])
        log.append((rule, len(removed), removed))
        frame = frame.loc[keep]

    span = rules.last_year - rules.first_year + 1
    in_all = (frame["first_year"] <= rules.first_year) & (frame["last_year"] >= rules.last_year)
    apply(f"exists in every year {rules.first_year}-{rules.last_year} ({span} years)", in_all)
    apply(f"type in {list(rules.types)}", frame["type"].isin(rules.types))
    apply("dropped by name", ~frame["name"].isin(rules.drop_names))
    apply(
        f"province not in {list(rules.drop_provinces)}",
        ~frame["province"].isin(rules.drop_provinces),
    )

    counties = counties_by_year()
    window = counties["year"].between(rules.first_year, rules.last_year)
    per_year = counties.loc[window].groupby(["city_code", "year"]).size()
    fewest = per_year.groupby(level="city_code").min()
    years_present = per_year.groupby(level="city_code").size()
    enough = fewest[(fewest >= rules.min_counties) & (years_present == span)].index
    apply(
        f"at least {rules.min_counties} county-level units in every year",
        frame["code"].isin(enough),
    )

    zones = demonstration_zones()
    lo, hi = rules.zone_years
    zones = zones.loc[
        (zones["in_paper_sample"] == "likely") & zones["approval_year"].between(lo, hi)
    ]
    first = zones.groupby("admin_code_if_known")["approval_year"].min()
    out = frame[["code", "name", "province", "type", "name_en_auto"]].reset_index(drop=True)
    out["cohort"] = out["code"].map(first).fillna(0).astype("int64")
    return PaperSample(out, tuple(log))
