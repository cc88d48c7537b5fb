"""report.html: self-contained, complete, escaped, navigable; parsed with html.parser."""

from __future__ import annotations

import base64
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from didstudy.errors import DidstudyError
from didstudy.report.html import ReportFigure, ReportSection, build_html_report, render_html_report
from didstudy.report.tables import regression_table
from tests.report.fixtures.report import report_parts
from tests.report.fixtures.results import COLUMN_1

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.tables: list[str | None] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.captions: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self._in.append(tag)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if a.get("href"):
            self.hrefs.append(str(a["href"]))
        if a.get("src"):
            self.srcs.append(str(a["src"]))
        if tag == "img":
            self.images.append(a)
            self._in.pop()
        if tag == "table":
            self.tables.append(a.get("id"))
        if tag in ("meta", "link", "br"):
            self._in.pop()

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in and self._in[-1] in ("caption", "figcaption"):
            self.captions.append(data.strip())


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for lang in ("en", "zh"):
        sections, meta = report_parts(lang)
        path = build_html_report(sections, meta, tmp_path_factory.mktemp(lang) / "report.html")
        out[lang] = (path.read_text(encoding="utf-8"), meta)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_self_contained_and_complete(
    reports: dict[str, tuple[str, dict[str, Any]]], lang: str
) -> None:
    html, meta = reports[lang]
    page = _page(html)
    # nothing is fetched: every src is a data URI, every href an in-page anchor
    assert page.srcs and all(s.startswith("data:image/") for s in page.srcs)
    assert all(h.startswith("#") for h in page.hrefs)
    assert "link" not in page.tags and "script" not in page.tags
    assert not re.search(r"url\(", html)
    # every anchor of the contents list exists, ids are unique
    assert len(page.ids) == len(set(page.ids))
    assert {h[1:] for h in page.hrefs} <= set(page.ids)
    # 2 figures, each a decodable PNG / SVG
    assert len(page.images) == 2
    kinds = []
    for image in page.images:
        src = str(image["src"])
        header, payload = src.split(",", 1)
        data = base64.b64decode(payload)
        kinds.append(header)
        if "png" in header:
            assert data.startswith(PNG_MAGIC)
        else:
            assert b"<svg" in data[:1000]
    assert kinds == ["data:image/png;base64", "data:image/svg+xml;base64"]
    assert [i["alt"] for i in page.images] == ["Treatment roll-out", "Dagum decomposition"]
    # 3 result tables + cohorts + dropped units + manifest summary
    assert len([t for t in page.tables if t and t.startswith("table-")]) == 3
    assert {"sample-cohorts", "sample-dropped", "manifest-summary"} <= set(page.ids)
    title3 = "Table 3 Baseline regression" if lang == "en" else "表3 基准回归结果"
    assert title3 in page.captions
    assert "Dagum decomposition" in page.captions
    # contents list, warnings, manifest, banner
    text = "".join(page.text)
    banner = "SIMULATED DATA" if lang == "en" else "模拟数据"
    assert "simulated-banner" in page.ids and banner in text
    assert "3 singleton observations dropped" in text
    pre = re.search(r'<pre class="manifest">(.*?)</pre>', html, re.S)
    assert pre is not None
    assert json.loads(unescape(pre.group(1))) == meta["manifest"]
    assert "abolished in 2011" in text and "巢湖" in text
    assert f'<html lang="{"en" if lang == "en" else "zh-CN"}">' in html


def test_everything_is_escaped(reports: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, _ = reports["en"]
    assert "<script>" not in html and "<b>x</b>" not in html and "<sample>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "unit &lt;b&gt;x&lt;/b&gt;" in html
    assert "Data &amp; &lt;sample&gt;" in html
    assert "municipality &lt;excluded&gt;" in html


def test_no_banner_for_real_data_and_deterministic(tmp_path: Path) -> None:
    table = regression_table([COLUMN_1], number=1)
    sections = [ReportSection("Results", items=(table,))]
    meta: dict[str, Any] = {"title": "t", "simulated": False, "warnings": [], "manifest": None}
    first = render_html_report(sections, meta)
    assert "simulated-banner" not in first and "SIMULATED" not in first
    assert "No warnings." in first and 'id="manifest"' not in first
    assert render_html_report(sections, meta) == first
    path = build_html_report([{"title": "Results", "items": [table]}], meta, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == first
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary files left


def test_figure_inputs_and_errors(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().plot([0, 1])
    png = tmp_path / "f.png"
    fig.savefig(png)
    svg_text = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    items = (ReportFigure(png, "from file"), ReportFigure(svg_text, "svg text"), fig)
    html = render_html_report([ReportSection("F", items=items)], {})
    page = _page(html)
    assert [str(i["src"]).split(",")[0] for i in page.images] == [
        "data:image/png;base64",
        "data:image/svg+xml;base64",
        "data:image/png;base64",
    ]
    assert "Figure 3" in page.captions  # default caption, numbered
    with pytest.raises(DidstudyError, match="neither PNG nor SVG"):
        render_html_report([ReportSection("F", items=(ReportFigure(b"GIF89a", "x"),))], {})
    with pytest.raises(DidstudyError, match="does not exist"):
        render_html_report([ReportSection("F", items=(ReportFigure(tmp_path / "no.png"),))], {})
    with pytest.raises(DidstudyError, match="holds a int"):
        render_html_report([ReportSection("F", items=(3,))], {})
    with pytest.raises(DidstudyError, match="report section"):
        render_html_report([3], {})  # type: ignore[list-item]


def test_duplicate_titles_get_unique_anchors() -> None:
    table = regression_table([COLUMN_1])
    sections = [ReportSection("表", items=(table,)), ReportSection("表", items=(table,))]
    page = _page(render_html_report(sections, {"lang": "zh"}))
    assert len(page.ids) == len(set(page.ids))
    assert {"section-1", "section-2", "table-regression", "table-regression-2"} <= set(page.ids)


def test_contents_lists_a_single_item_section_once() -> None:
    """A section holding one table titled like the section is one contents entry, not two;
    a section whose item has another title keeps the item as a child entry."""
    table = regression_table([("(1)", COLUMN_1)], lang="en", number=3)
    same = ReportSection(title=table.title, items=(table,), name="same")
    other = ReportSection(title="Robustness", items=(table,), name="other")
    html = render_html_report([same, other], {"title": "t", "lang": "en"})
    nav = re.search(r'<nav id="contents".*?</nav>', html, re.S)
    assert nav is not None
    entries = re.findall(r"<a href=\"#[^\"]+\">([^<]*)</a>", nav.group(0))
    assert entries == ["Warnings", table.title, "Robustness", table.title]  # warnings first
    same_entry = re.search(r'<li><a href="#same">[^<]*</a>(.*?)</li>', nav.group(0), re.S)
    assert same_entry is not None and "<ol>" not in same_entry.group(1)
    other_entry = re.search(r'<li><a href="#other">[^<]*</a>\s*<ol>', nav.group(0))
    assert other_entry is not None
