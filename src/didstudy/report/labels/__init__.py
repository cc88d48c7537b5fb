"""Labels of tables and figures in Chinese (``"zh"``) and English (``"en"``).

User labels (a mapping ``variable -> label``) always win over the built-in ones. Interaction
terms ``a:b`` are labelled part by part and joined with `` × ``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from didstudy.errors import DidstudyError
from didstudy.report.labels import en, zh

__all__ = [
    "CONSTANT_TERMS",
    "LANGUAGES",
    "join_list",
    "normalize_lang",
    "text",
    "title",
    "variable_label",
]

LANGUAGES: tuple[str, ...] = ("zh", "en")

_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType({"zh": zh.TEXT, "en": en.TEXT})
_VARIABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"zh": zh.VARIABLES, "en": en.VARIABLES}
)

# Names estimators give the intercept (R/fixest, statsmodels, Stata, linearmodels).
CONSTANT_TERMS: frozenset[str] = frozenset(
    {"(Intercept)", "Intercept", "intercept", "const", "_cons", "constant", "Constant"}
)

_LANG_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "zh": "zh",
        "zh-cn": "zh",
        "zh_cn": "zh",
        "zh-hans": "zh",
        "cn": "zh",
        "chinese": "zh",
        "en": "en",
        "en-us": "en",
        "en_us": "en",
        "en-gb": "en",
        "en_gb": "en",
        "english": "en",
    }
)


def normalize_lang(lang: str) -> str:
    """Map a language tag (``"zh"``, ``"zh-CN"``, ``"en"``, ``"en_US"``, ...) to ``"zh"``/``"en"``.

    Raises
    ------
    DidstudyError
        For a language didstudy has no labels for.
    """
    key = str(lang).strip().lower()
    if key not in _LANG_ALIASES:
        raise DidstudyError(
            f"unknown report language {lang!r}",
            fix="use lang='zh' (Chinese) or lang='en' (English)",
        )
    return _LANG_ALIASES[key]


def text(key: str, lang: str, **fields: object) -> str:
    """The label ``key`` in language ``lang``, with ``{placeholders}`` filled from ``fields``."""
    template = _TEXT[normalize_lang(lang)][key]
    return template.format(**fields) if fields else template


def title(caption: str, lang: str, number: str | int | None = None, kind: str = "table") -> str:
    """``"表3 基准回归结果"`` / ``"Table 3 Baseline regression"`` (caption alone if no number)."""
    if number is None or str(number) == "":
        return caption
    prefix = text(f"{kind}_prefix", lang, number=number)
    return prefix + text("title_sep", lang) + caption if caption else prefix


def join_list(items: Sequence[str], lang: str) -> str:
    """``"a, b and c"`` / ``"a、b、c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    head = text("list_sep", lang).join(items[:-1])
    return head + text("list_last", lang) + items[-1]


def variable_label(name: str, lang: str, labels: Mapping[str, str] | None = None) -> str:
    """The display label of a variable or regression term.

    Order of precedence: the user's ``labels``; the intercept (``常数项`` / ``Constant``);
    built-in names (``city`` -> ``城市``); a factor level ``name::level`` (``rel_time::-3``) as
    ``label(name) = level``; for an interaction ``a:b`` or ``a×b`` the labels of its parts joined
    with ``×``; otherwise the name itself.
    """
    code = normalize_lang(lang)
    if labels and name in labels:
        return str(labels[name])
    if name in CONSTANT_TERMS:
        return text("constant", code)
    builtin = _VARIABLES[code].get(name)
    if builtin is not None:
        return builtin
    kind, marker, level = name.partition("::")
    if marker and kind and level:  # a factor level: rel_time::-3, cell::2004::2005
        return f"{variable_label(kind, code, labels)} = {level.replace('::', ', ')}"
    for sep in (":", "×"):  # interactions: a:b (formulas) and a×b (didstudy's own terms)
        if sep in name:
            return " × ".join(variable_label(part, code, labels) for part in name.split(sep))
    return name
