"""Packaged facts about Chinese administrative units and the reference study's policy lists.

Every loader returns a fresh :class:`pandas.DataFrame` read from the CSV files next to this
module (``PROVENANCE.md`` documents each file's source and confidence). The sample rules of the
reference study (reference-study.md §2) are in :mod:`didstudy.data.china.sample`; the concurrent
national policies used as controls in Table 5 are in :mod:`didstudy.data.china.policies`.
"""

from __future__ import annotations

from didstudy.data.china.loaders import (
    agglomerations,
    census,
    cities,
    cities_by_year,
    city_changes,
    counties_by_year,
    demonstration_zones,
    old_revolutionary_areas,
    resource_cities,
)
from didstudy.data.china.policies import CONCURRENT_POLICIES, ConcurrentPolicy, policy_dummies
from didstudy.data.china.sample import PaperSample, SampleRules, paper_sample

__all__ = [
    "CONCURRENT_POLICIES",
    "ConcurrentPolicy",
    "PaperSample",
    "SampleRules",
    "agglomerations",
    "census",
    "cities",
    "cities_by_year",
    "city_changes",
    "counties_by_year",
    "demonstration_zones",
    "old_revolutionary_areas",
    "paper_sample",
    "policy_dummies",
    "resource_cities",
]
