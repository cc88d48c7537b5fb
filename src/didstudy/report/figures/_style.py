"""Figure style shared by every didstudy figure: clean academic look, CJK fonts for Chinese.

Chinese labels are drawn only with a font that has the glyphs; otherwise the figure falls back to
English with a :class:`~didstudy.errors.DidstudyWarning` (never boxes, "tofu"). Figures are built
with :class:`matplotlib.figure.Figure` (no pyplot), so the style works under any backend, in
threads and on headless machines.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from didstudy.errors import DidstudyWarning
from didstudy.report.labels import normalize_lang

#: Attribute of a figure that records the language it was built in (read when it is saved).
LANG_ATTRIBUTE = "didstudy_lang"

__all__ = [
    "CJK_FONT_CANDIDATES",
    "LANG_ATTRIBUTE",
    "SAMPLE_CHINESE",
    "figure_style",
    "find_cjk_font",
    "has_cjk",
    "normalize_lang",
    "resolve_lang",
    "style_rc",
    "styled_figure",
]

# Family names as matplotlib reports them, in order of preference. Noto CJK .ttc collections
# expose their first face (often "JP"); every face of a Noto CJK collection covers the Chinese
# characters used here.
CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Serif SC",
    "Noto Sans SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK JP",
    "Noto Sans CJK TC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Songti SC",
    "SimSun",
    "AR PL UMing CN",
)

# Characters a font must render to be accepted: titles, axis labels and notes of the report.
SAMPLE_CHINESE = "表图基准回归结果年份系数置信区间处理组分解平行趋势注显著"

# File-name fragments of CJK fonts, for fonts installed after matplotlib built its font cache.
_CJK_FILE_HINTS: tuple[str, ...] = (
    "notosanscjk",
    "notoserifcjk",
    "notosanssc",
    "sourcehan",
    "wqy",
    "wenquanyi",
    "simhei",
    "simsun",
    "msyh",
    "pingfang",
    "uming",
    "ukai",
)


def _covers(path: str, text: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def _registered_fonts() -> dict[str, str]:
    from matplotlib import font_manager

    return {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}


def _register_system_cjk_fonts() -> None:
    """Add CJK font files matplotlib's cache predates (installed later) to the font manager."""
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    # fontext "ttf" covers .ttf, .otf and .ttc collections
    for fname in font_manager.findSystemFonts(fontext="ttf"):
        lowered = Path(fname).name.lower().replace("-", "").replace("_", "")
        if fname in known or not any(hint in lowered for hint in _CJK_FILE_HINTS):
            continue
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            font_manager.fontManager.addfont(fname)


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """Return the family name of an installed font that renders Chinese, or ``None``.

    Looks for :data:`CJK_FONT_CANDIDATES` among matplotlib's fonts (registering CJK font files
    installed after matplotlib built its cache) and accepts the first whose glyph table covers
    :data:`SAMPLE_CHINESE`. The answer is cached for the process.
    """
    for attempt in range(2):
        fonts = _registered_fonts()
        for family in CJK_FONT_CANDIDATES:
            path = fonts.get(family)
            if path is not None and _covers(path, SAMPLE_CHINESE):
                return family
        if attempt == 0:
            _register_system_cjk_fonts()
    return None


def has_cjk(value: str) -> bool:
    """True when ``value`` contains CJK ideographs, kana, hangul or CJK punctuation."""
    return any(
        0x2E80 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7AF or 0xFF00 <= ord(ch) <= 0xFFEF
        for ch in value
    )


def resolve_lang(lang: str = "en") -> str:
    """Return the language figures can actually be drawn in: ``"zh"`` or ``"en"``.

    ``"zh"`` needs a CJK font (see :func:`find_cjk_font`); without one this warns with a
    :class:`~didstudy.errors.DidstudyWarning` and returns ``"en"``, so that no label is drawn as
    empty boxes.
    """
    code = normalize_lang(lang)
    if code == "zh" and find_cjk_font() is None:
        warnings.warn(
            "no font with Chinese glyphs is installed; figures are labelled in English. "
            "Fix: install a CJK font (Debian/Ubuntu: apt-get install fonts-noto-cjk), e.g. "
            "Noto Sans CJK SC, WenQuanYi Zen Hei or SimHei.",
            DidstudyWarning,
            stacklevel=2,
        )
        return "en"
    return code


def style_rc(lang: str = "en") -> dict[str, Any]:
    """The matplotlib rc parameters of :func:`figure_style` for an already resolved language.

    ``font.family`` lists concrete installed families, because matplotlib falls back glyph by
    glyph only across that list: Chinese data labels (city names) in an English figure are drawn
    with the CJK font, Latin text in a Chinese figure with the CJK font's Latin glyphs.
    """
    latin = "DejaVu Sans"  # ships with matplotlib
    cjk = find_cjk_font()
    if cjk is None:
        family = [latin]
    elif lang == "zh":
        family = [cjk, latin]
    else:
        family = [latin, cjk]
    return {
        "font.family": family,
        "font.sans-serif": [*family, "Arial", "Helvetica", "Liberation Sans"],
        "font.size": 10.0,
        "axes.titlesize": 11.0,
        "axes.labelsize": 10.0,
        "xtick.labelsize": 9.0,
        "ytick.labelsize": 9.0,
        "legend.fontsize": 9.0,
        "legend.frameon": False,
        "axes.unicode_minus": lang != "zh" or cjk is None,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.linewidth": 0.8,
        "axes.edgecolor": "#333333",
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "axes.prop_cycle": _cycler(),
        "lines.linewidth": 1.6,
        "lines.markersize": 5.0,
        "xtick.direction": "out",
        "ytick.direction": "out",
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100.0,
        "figure.facecolor": "white",
        "savefig.dpi": 200.0,
        "savefig.facecolor": "white",
        "svg.fonttype": "path",
        "svg.hashsalt": "didstudy",
        "pdf.fonttype": 42,
        "image.cmap": "Greys",
    }


def _cycler() -> Any:
    from cycler import cycler

    # Okabe-Ito, readable in grey scale print and for colour-blind readers.
    return cycler(
        color=["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
    )


@contextlib.contextmanager
def figure_style(lang: str = "en") -> Iterator[str]:
    """Context manager applying didstudy's figure style; yields the resolved language.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> with figure_style("zh") as lang:       # "en" if no CJK font is installed
    ...     fig = Figure()
    ...     ax = fig.subplots()
    """
    import matplotlib

    resolved = resolve_lang(lang)
    rc: Any = style_rc(resolved)
    with matplotlib.rc_context(rc):
        yield resolved


def styled_figure(lang: str = "en", **figure_kwargs: Any) -> Any:
    """A new :class:`matplotlib.figure.Figure` that remembers its (resolved) language.

    Build it inside ``figure_style(lang)``; :func:`save_figure` and ``figure_bytes`` then draw it
    in the same style even outside the block (fonts are looked up at draw time).
    """
    from matplotlib.figure import Figure

    fig = Figure(**figure_kwargs)
    setattr(fig, LANG_ATTRIBUTE, normalize_lang(lang))
    return fig
