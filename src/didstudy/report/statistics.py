"""One definition, one name, one printed value per reported statistic.

Every statistic a table, a figure or the HTML report prints is declared here once: the key it
has in ``results.json`` (``stats`` of its step), its name in Chinese and English *including which
definition it is* (``(k+1)/(R+1)`` or ``k/R`` for a randomisation p-value), and the number of
digits it is printed with. Tables and figures call :func:`statistic_label` and
:func:`format_statistic`, so the placebo figure and the placebo table cannot print the same
quantity under two names or with two values again (issue 15; decision 0080).

Definitions (``R`` valid draws, ``k`` draws at least as extreme as the real estimate):

* ``p_two_sided`` — randomisation p-value ``(k + 1) / (R + 1)`` with
  ``k = #{|b_r| ≥ |b|}``: the real assignment counts as one of the ``R + 1`` equally likely
  assignments, exact under the sharp null (Phipson & Smyth 2010, eq. 2).
* ``share_beyond`` — the plain share ``k / R`` of placebo draws with ``|b_r| ≥ |b|``, as
  applied papers print it; it is 0 when no draw is as extreme, which no p-value can be.
* ``share_below`` — ``#{b_r ≤ b} / R``.
* ``pretrend_f`` / ``pretrend_p_f`` — the joint Wald test of the event-study leads as an F
  statistic with (q, G − 1) degrees of freedom and its p-value.
* ``permutation_p_value`` — the Fisher permutation test of a group difference (Stata
  ``bdiff``): the share ``k / R`` of permutations with ``|d_r| ≥ |d|``.
* ``interaction_p_value`` — the p-value of the treatment × group interaction (Chow-type test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from didstudy.errors import DidstudyError

__all__ = [
    "STATISTICS",
    "Statistic",
    "format_statistic",
    "statistic_label",
    "statistic_text",
]


@dataclass(frozen=True)
class Statistic:
    """A reported statistic: its ``results.json`` key, names and printed digits.

    Attributes
    ----------
    key
        The key in the ``stats`` (or test) mapping of the step in ``results.json``.
    zh, en
        The printed name, saying which definition it is.
    digits
        Decimal places wherever the statistic is printed.
    """

    key: str
    zh: str
    en: str
    digits: int

    def label(self, lang: str) -> str:
        """The name in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en

    def format(self, value: float) -> str:
        """``value`` with :attr:`digits` decimals (``""`` for a missing value)."""
        if value is None or not math.isfinite(float(value)):
            return ""
        return f"{float(value):.{self.digits}f}"


_ALL = (
    Statistic(
        "p_two_sided",
        "随机化推断 p 值（双侧，(k+1)/(R+1)）",
        "Randomisation p (two-sided, (k+1)/(R+1))",
        3,
    ),
    Statistic(
        "share_beyond",
        "|安慰剂系数| ≥ |实际系数| 的比例（k/R）",
        "Share with |placebo| ≥ |actual| (k/R)",
        3,
    ),
    Statistic("share_below", "安慰剂系数 ≤ 实际系数的比例", "Share with placebo ≤ actual", 3),
    Statistic("estimate", "实际估计系数", "Actual estimate", 4),
    Statistic("pretrend_f", "事前趋势联合检验 F", "Pre-trend test F", 2),
    Statistic("pretrend_p_f", "事前趋势联合检验 p", "Pre-trend test p", 3),
    Statistic(
        "permutation_p_value",
        "Fisher 置换检验 p 值（k/R）",
        "Fisher permutation p (k/R)",
        3,
    ),
    Statistic("interaction_p_value", "交互项检验 p 值", "Interaction test p", 3),
    Statistic("twfe_estimate", "双向固定效应估计值", "TWFE estimate", 4),
)

STATISTICS: Mapping[str, Statistic] = MappingProxyType({s.key: s for s in _ALL})


def _get(key: str) -> Statistic:
    try:
        return STATISTICS[key]
    except KeyError:
        raise DidstudyError(
            f"unknown statistic {key!r}", fix=f"use one of {', '.join(sorted(STATISTICS))}"
        ) from None


def statistic_label(key: str, lang: str) -> str:
    """The printed name of statistic ``key`` in ``lang``.

    Examples
    --------
    >>> statistic_label("p_two_sided", "en")
    'Randomisation p (two-sided, (k+1)/(R+1))'
    """
    return _get(key).label(lang)


def format_statistic(key: str, value: float) -> str:
    """``value`` printed with the digits of statistic ``key``.

    Examples
    --------
    >>> format_statistic("p_two_sided", 0.011976)
    '0.012'
    """
    return _get(key).format(value)


def statistic_text(key: str, value: float, lang: str) -> str:
    """``"<name> = <value>"`` as figures print it.

    Examples
    --------
    >>> statistic_text("share_beyond", 0.01, "en")
    'Share with |placebo| ≥ |actual| (k/R) = 0.010'
    """
    return f"{statistic_label(key, lang)} = {format_statistic(key, value)}"
