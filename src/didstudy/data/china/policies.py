"""Concurrent national regional policies used as controls in the reference study (Table 5 (5)–(8)).

Regions are given by province names or prefecture names exactly as spelled in ``cities.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from didstudy.errors import DataError

__all__ = ["CONCURRENT_POLICIES", "ConcurrentPolicy", "policy_dummies"]


@dataclass(frozen=True)
class ConcurrentPolicy:
    """A regional policy switched on for every member city from ``start_year`` onwards."""

    key: str
    name_zh: str
    name_en: str
    start_year: int
    provinces: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()


CONCURRENT_POLICIES: tuple[ConcurrentPolicy, ...] = (
    ConcurrentPolicy(
        "central_rise",
        "中部崛起",
        "Rise of Central China",
        2004,
        provinces=("山西省", "安徽省", "江西省", "河南省", "湖北省", "湖南省"),
    ),
    ConcurrentPolicy(
        "jingjinji",
        "京津冀协同发展",
        "Beijing-Tianjin-Hebei coordinated development",
        2014,
        provinces=("北京市", "天津市", "河北省"),
    ),
    ConcurrentPolicy(
        "yangtze_belt",
        "长江经济带",
        "Yangtze River Economic Belt",
        2014,
        provinces=(
            "上海市",
            "江苏省",
            "浙江省",
            "安徽省",
            "江西省",
            "湖北省",
            "湖南省",
            "重庆市",
            "四川省",
            "云南省",
            "贵州省",
        ),
    ),
    ConcurrentPolicy(
        "greater_bay",
        "粤港澳大湾区",
        "Guangdong-Hong Kong-Macao Greater Bay Area",
        2019,
        cities=(
            "广州市",
            "深圳市",
            "珠海市",
            "佛山市",
            "惠州市",
            "东莞市",
            "中山市",
            "江门市",
            "肇庆市",
        ),
    ),
)


def policy_dummies(
    frame: pd.DataFrame,
    *,
    province: str = "province",
    name: str = "name",
    year: str = "year",
    policies: tuple[ConcurrentPolicy, ...] = CONCURRENT_POLICIES,
) -> pd.DataFrame:
    """0/1 columns (one per policy ``key``) for a city-year frame; the frame is not modified.

    A city is covered from the policy's ``start_year`` on if its province or its name is listed.
    """
    for column in (province, name, year):
        if column not in frame.columns:
            raise DataError(
                "column needed for the concurrent-policy dummies is missing",
                column=column,
                fix="pass the province/name/year column names of your city-year frame",
            )
    out = pd.DataFrame(index=frame.index)
    for policy in policies:
        member = frame[province].isin(policy.provinces) | frame[name].isin(policy.cities)
        out[policy.key] = (member & (frame[year] >= policy.start_year)).astype("int64")
    return out
