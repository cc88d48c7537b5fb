"""Every table of the demo fits its page: LaTeX (width estimate always, compiled when a TeX
engine is installed), Word (page size and column widths) and report.html at 1280 px (Chromium).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from didstudy.report.tables.layout import (
    MIN_FONT_PT,
    PageSpec,
    default_page,
    estimate_width_pt,
    fit_table,
    split_columns,
    text_width_em,
)
from didstudy.report.tables.model import Cell, Row, Table
from didstudy.report.tables.to_docx import tables_to_docx
from didstudy.report.tables.to_latex import latex_preamble, table_to_latex
from tests.report._demo import TABLES, demo_run
from tests.report.test_html_browser import _chromium, _run

TEX_TIMEOUT_S = 300  # XeLaTeX loads CJK fonts on first use
MIN_SCALE = 0.85  # a \resizebox below this makes 8 pt print smaller than ~7 pt: unreadable
OVERFULL_SLACK_PT = 1.0  # TeX reports overfull boxes to 0.1 pt; 1 pt is invisible on paper
WORD_SLACK_IN = 0.01  # EMU rounding of python-docx widths
EMU_PER_IN = 914400


def _demo_tables(lang: str) -> list[Table]:
    demo_run(lang)
    return TABLES[lang]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_demo_table_fits_the_text_width_by_estimate(lang: str) -> None:
    tables = _demo_tables(lang)
    assert len(tables) >= 10
    page = default_page(lang)
    assert page.paper == ("a4" if lang == "zh" else "letter")
    for table in tables:
        fit = fit_table(table, page)
        assert fit.width_pt <= page.text_width_pt + 1e-6, table.name
        assert fit.font_pt >= MIN_FONT_PT and fit.scale >= MIN_SCALE, (table.name, fit)
        for panel in fit.panels:
            assert estimate_width_pt(panel, fit.font_pt, fit.colsep_pt, fit.wrap) <= (
                page.text_width_pt + 1e-6
            ), panel.name
    a4 = PageSpec("a4")
    wide = {t.name: fit_table(t, a4) for t in _demo_tables(lang)}
    assert len(wide["table5_robustness"].panels) >= 2 or wide["table5_robustness"].font_pt < 10.5


def _engine(lang: str) -> str | None:
    engine = shutil.which("xelatex" if lang == "zh" else "pdflatex")
    kpse = shutil.which("kpsewhich")
    if engine is None or kpse is None:
        return None
    needed = ["booktabs.sty", "threeparttable.sty", "geometry.sty", "rotating.sty"]
    needed += ["ctex.sty"] if lang == "zh" else []
    for name in needed:
        found = subprocess.run([kpse, name], capture_output=True, text=True, check=False)
        if not found.stdout.strip():
            return None
    return engine


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_demo_table_compiles_without_overfull_boxes(tmp_path: Path, lang: str) -> None:
    engine = _engine(lang)
    if engine is None:
        print("no TeX engine/packages: the width estimate test stands in")
        pytest.skip("TeX engine or packages not installed")
    body = "\n\\clearpage\n".join(table_to_latex(t) for t in _demo_tables(lang))
    source = latex_preamble(lang) + "\\begin{document}\n" + body + "\\end{document}\n"
    (tmp_path / "tables.tex").write_text(source, encoding="utf-8")
    result = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TEX_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    log = (tmp_path / "tables.log").read_text(encoding="utf-8", errors="replace")
    overfull = [float(v) for v in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(v <= OVERFULL_SLACK_PT for v in overfull), overfull
    assert "Missing character" not in log


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_demo_table_fits_the_word_page(lang: str) -> None:
    docx = pytest.importorskip("docx")
    page = default_page(lang)
    document = docx.Document(io.BytesIO(tables_to_docx(_demo_tables(lang))))
    section = document.sections[0]
    text_width = (section.page_width - section.left_margin - section.right_margin) / EMU_PER_IN
    paper_in = {"a4": 210 / 25.4, "letter": 8.5}[page.paper]
    assert abs(section.page_width / EMU_PER_IN - paper_in) < 0.01
    assert len(document.tables) >= len(_demo_tables(lang))
    for table in document.tables:
        grid = table._tbl.tblGrid
        width = sum(int(col.get(next(k for k in col.attrib if k.endswith("w")))) for col in grid)
        assert width / 1440 <= text_width + WORD_SLACK_IN  # gridCol widths are in twips


def test_landscape_widens_the_page_and_panels_split_at_groups() -> None:
    assert PageSpec("a4", landscape=True).text_width_pt > 1.4 * PageSpec("a4").text_width_pt
    header = (
        Row((Cell(""), Cell("G1", colspan=2), Cell("G2", colspan=2)), kind="group"),
        Row.of(["", "(1)", "(2)", "(3)", "(4)"], "header"),
    )
    table = Table("wide", header=header, body=(Row.of(["x", "1", "2", "3", "4"]),), lang="en")
    panels = split_columns(table, [3])
    assert [p.n_cols for p in panels] == [3, 3]
    assert panels[1].header[0].cells[1].text == "G2" and panels[0].caption.endswith("(Panel A)")
    with pytest.raises(Exception, match="spanning header"):
        split_columns(table, [2])
    assert text_width_em("中文") == 2.0 and text_width_em("ab") == 1.0
    latex = table_to_latex(table, page=PageSpec("a4", landscape=True))
    assert "\\begin{sidewaystable}" in latex


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_tables_are_not_clipped_at_1280_px(tmp_path: Path, lang: str) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    outcome, _, _ = demo_run(lang)
    probe = """<script>window.addEventListener("load", function () {
      var bad = [];
      var vw = document.documentElement.clientWidth;
      document.querySelectorAll("table.didstudy-table").forEach(function (t) {
        var r = t.getBoundingClientRect(), w = t.parentElement;
        var scrolls = getComputedStyle(w).overflowX === "auto";
        if (r.left < -0.5 || r.right > vw + 0.5) bad.push(t.id + ":outside");
        if (w.scrollWidth > w.clientWidth + 1 && !scrolls) bad.push(t.id + ":clipped");
        if (w.scrollWidth > w.clientWidth + 1) bad.push(t.id + ":scrolls");
      });
      if (document.documentElement.scrollWidth > vw + 1) bad.push("page:wide");
      document.body.setAttribute("data-bad", bad.join(" ") || "none");
      document.body.setAttribute("data-n", String(document.querySelectorAll(
        "table.didstudy-table").length));
      document.title = "probe-done";
    });</script>"""
    page = (outcome.out / "report.html").read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    result = _run(
        browser,
        tmp_path / "profile",
        "--window-size=1280,2000",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probed.as_uri(),
    )
    assert "probe-done" in result.stdout, result.stderr[-2000:]
    bad = re.search(r'data-bad="([^"]*)"', result.stdout)
    count = re.search(r'data-n="(\d+)"', result.stdout)
    assert bad and count and int(count.group(1)) >= 10
    assert bad.group(1) == "none", bad.group(1)


def test_the_demo_writes_pdf_figures_when_its_study_asks() -> None:
    outcome, _, _ = demo_run("zh")
    pdfs = sorted((outcome.out / "figures").glob("*.pdf"))
    assert len(pdfs) >= 4
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
    assert len(pdfs) == len(list((outcome.out / "figures").glob("*.png")))


def test_page_options_are_checked_in_the_study_file(tmp_path: Path) -> None:
    from didstudy.errors import SpecError
    from didstudy.study.spec import load_spec

    base = '[study]\ntitle = "t"\n{extra}\n[data.d]\nsimulate = "staggered"\n'
    base += '[panel]\ndata = "d"\nunit = "unit"\ntime = "time"\ntreat = "treat"\n'
    for extra, match in (
        ('figure_formats = ["png", "gif"]', "figure_formats"),
        ('page = { paper = "a3" }', "paper"),
        ("page = { font_size = 30 }", "font_size"),
    ):
        path = tmp_path / "study.toml"
        path.write_text(base.format(extra=extra), encoding="utf-8")
        with pytest.raises(SpecError, match=match):
            load_spec(path)
    path.write_text(base.format(extra='page = { paper = "letter", landscape = true }'))
    assert load_spec(path).spec.study.page.landscape
