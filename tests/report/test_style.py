"""Figure style: language resolution, CJK font detection and fallback, atomic saving."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure

from didstudy.errors import DidstudyError, DidstudyWarning
from didstudy.report.figures import _style
from didstudy.report.figures._style import figure_style, normalize_lang, resolve_lang
from didstudy.report.figures.save import figure_bytes, save_figure


@pytest.fixture
def no_cjk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _style.find_cjk_font.cache_clear()
    monkeypatch.setattr(_style, "_registered_fonts", lambda: {})
    monkeypatch.setattr(_style, "_register_system_cjk_fonts", lambda: None)
    yield
    _style.find_cjk_font.cache_clear()


@pytest.mark.parametrize(
    ("tag", "expected"), [("zh", "zh"), ("ZH-CN", "zh"), ("en", "en"), (" en_US ", "en")]
)
def test_normalize_lang(tag: str, expected: str) -> None:
    assert normalize_lang(tag) == expected


def test_unknown_language_names_the_fix() -> None:
    with pytest.raises(DidstudyError, match="lang='zh'"):
        normalize_lang("fr")


def test_fallback_to_english_without_cjk_font(no_cjk: None) -> None:
    assert _style.find_cjk_font() is None
    with pytest.warns(DidstudyWarning, match="fonts-noto-cjk"):
        assert resolve_lang("zh") == "en"
    with pytest.warns(DidstudyWarning), figure_style("zh") as lang:
        assert lang == "en"
        assert matplotlib.rcParams["axes.unicode_minus"] is True


def test_english_never_warns(no_cjk: None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_lang("en") == "en"


def test_font_without_glyphs_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A font named like a CJK font but lacking the glyphs (DejaVu here) is not accepted."""
    from matplotlib import font_manager

    dejavu = font_manager.findfont("DejaVu Sans")
    _style.find_cjk_font.cache_clear()
    monkeypatch.setattr(_style, "_registered_fonts", lambda: {"SimHei": dejavu})
    monkeypatch.setattr(_style, "_register_system_cjk_fonts", lambda: None)
    try:
        assert _style.find_cjk_font() is None
    finally:
        _style.find_cjk_font.cache_clear()


def _draw_chinese(lang: str) -> Figure:
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [-1, 1])
    ax.set_title("表3 基准回归结果" if lang == "zh" else "Table 3")
    return fig


def test_chinese_renders_without_missing_glyphs() -> None:
    """With a CJK font installed, drawing Chinese emits no 'missing glyph' warning."""
    _style.find_cjk_font.cache_clear()
    if _style.find_cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    with figure_style("zh") as lang, warnings.catch_warnings():
        assert lang == "zh"
        warnings.simplefilter("error")
        assert matplotlib.rcParams["font.sans-serif"][0] == _style.find_cjk_font()
        figure_bytes(_draw_chinese(lang), "png")


def test_style_is_restored_after_the_block() -> None:
    before = dict(matplotlib.rcParams)
    with figure_style("en"):
        assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["axes.spines.top"] == before["axes.spines.top"]
    assert matplotlib.rcParams["svg.fonttype"] == before["svg.fonttype"]


def test_save_figure_atomic_and_reproducible(tmp_path: Path) -> None:
    with figure_style("en"):
        fig = _draw_chinese("en")
        paths = save_figure(
            fig, tmp_path / "sub" / "fig.png", formats=("png", "svg", "pdf"), dpi=50
        )
        again = save_figure(fig, tmp_path / "again", formats=("png", "svg"), dpi=50)
    assert [p.name for p in paths] == ["fig.png", "fig.svg", "fig.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert paths[2].read_bytes()[:5] == b"%PDF-"
    assert again[0].read_bytes() == paths[0].read_bytes()
    assert again[1].read_bytes() == paths[1].read_bytes()
    assert not [p for p in tmp_path.rglob("*.tmp")]
    with pytest.raises(DidstudyError, match="format"):
        save_figure(fig, tmp_path / "x", formats=("gif",))
