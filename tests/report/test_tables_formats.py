"""Every renderer against hand-written expected output for one small baseline table, zh and en.

The fixture (tests/report/fixtures/results.py) has two columns; its p-values sit exactly on the
star thresholds (0.01 -> **, 0.05 -> *, 0.10 -> none) so that the boundary rule shows in print.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from didstudy.report.escape import excel_number
from didstudy.report.tables import (
    Table,
    regression_table,
    render_table,
    table_to_csv,
    table_to_html,
    table_to_latex,
    table_to_markdown,
    write_table,
    write_tables,
)
from tests.report.fixtures.results import COLUMN_1, COLUMN_2

LABELS = {"policy": "Policy", "ln_trans": "ln trans"}


def baseline(lang: str) -> Table:
    return regression_table(
        [("Base", COLUMN_1), ("Full", COLUMN_2)],
        lang=lang,
        kind="baseline",
        number=3,
        dep_var="INDG",
        labels=LABELS,
        stats=("nobs", "r2"),
        thousands=",",
    )


TITLE = {"en": "Table 3 Baseline regression", "zh": "表3 基准回归结果"}

# (text, colspan) per header row
HEADER: dict[str, list[list[tuple[str, int]]]] = {
    "en": [
        [("", 1), ("Dependent variable: INDG", 2)],
        [("", 1), ("(1)", 1), ("(2)", 1)],
        [("Variable", 1), ("Base", 1), ("Full", 1)],
    ],
    "zh": [
        [("", 1), ("被解释变量：INDG", 2)],
        [("", 1), ("(1)", 1), ("(2)", 1)],
        [("变量", 1), ("Base", 1), ("Full", 1)],
    ],
}
_COEFS = [
    ["Policy", "-0.037***", "-0.034**"],
    ["", "(0.006)", "(0.007)"],
    ["ln trans", "", "-0.019*"],
    ["", "", "(0.002)"],
    ["saver", "", "0.053"],
    ["", "", "(0.021)"],
]
BODY: dict[str, list[list[str]]] = {
    "en": [
        *_COEFS,
        ["Constant", "0.545***", "0.703***"],
        ["", "(0.001)", "(0.019)"],
        ["City FE", "Yes", "Yes"],
        ["Year FE", "Yes", "Yes"],
        ["Observations", "5,480", "15,480"],
        ["R²", "0.887", "0.889"],
    ],
    "zh": [
        *_COEFS,
        ["常数项", "0.545***", "0.703***"],
        ["", "(0.001)", "(0.019)"],
        ["城市固定效应", "是", "是"],
        ["年份固定效应", "是", "是"],
        ["样本量", "5,480", "15,480"],
        ["R²", "0.887", "0.889"],
    ],
}
NOTE = {
    "en": "Note: ***, ** and * denote significance at the 1%, 5% and 10% levels; "
    "standard errors in parentheses.",
    "zh": "注：***、**、* 分别表示在 1%、5%、10% 的水平下显著，括号里的数字为标准误。",
}
RULE_ROW = {"en": 8, "zh": None}  # body row with a thin rule above (English only)


def expanded_header(lang: str) -> list[list[str]]:
    return [[t for t, span in row for t in [t] + [""] * (span - 1)] for row in HEADER[lang]]


LANGS = ["en", "zh"]


@pytest.mark.parametrize("lang", LANGS)
def test_model(lang: str) -> None:
    table = baseline(lang)
    assert table.title == TITLE[lang]
    assert table.n_cols == 3
    assert table.grid() == expanded_header(lang) + BODY[lang]
    assert [[(c.text, c.colspan) for c in r.cells] for r in table.header] == HEADER[lang]
    assert table.notes == (NOTE[lang],)
    ruled = [i for i, row in enumerate(table.body) if row.rule_above]
    assert ruled == ([] if RULE_ROW[lang] is None else [RULE_ROW[lang]])


CSV = {
    "en": """\
,Dependent variable: INDG,
,(1),(2)
Variable,Base,Full
Policy,-0.037***,-0.034**
,(0.006),(0.007)
ln trans,,-0.019*
,,(0.002)
saver,,0.053
,,(0.021)
Constant,0.545***,0.703***
,(0.001),(0.019)
City FE,Yes,Yes
Year FE,Yes,Yes
Observations,"5,480","15,480"
R²,0.887,0.889
""",
    "zh": """\
,被解释变量：INDG,
,(1),(2)
变量,Base,Full
Policy,-0.037***,-0.034**
,(0.006),(0.007)
ln trans,,-0.019*
,,(0.002)
saver,,0.053
,,(0.021)
常数项,0.545***,0.703***
,(0.001),(0.019)
城市固定效应,是,是
年份固定效应,是,是
样本量,"5,480","15,480"
R²,0.887,0.889
""",
}

MARKDOWN = {
    "en": r"""**Table 3 Baseline regression**

|  | Dependent variable: INDG |  |
| :--- | :---: | :---: |
|  | (1) | (2) |
| Variable | Base | Full |
| Policy | -0.037\*\*\* | -0.034\*\* |
|  | (0.006) | (0.007) |
| ln trans |  | -0.019\* |
|  |  | (0.002) |
| saver |  | 0.053 |
|  |  | (0.021) |
| Constant | 0.545\*\*\* | 0.703\*\*\* |
|  | (0.001) | (0.019) |
| City FE | Yes | Yes |
| Year FE | Yes | Yes |
| Observations | 5,480 | 15,480 |
| R² | 0.887 | 0.889 |

Note: \*\*\*, \*\* and \* denote significance at the 1%, 5% and 10% levels; standard errors in parentheses.
""",  # noqa: E501
    "zh": r"""**表3 基准回归结果**

|  | 被解释变量：INDG |  |
| :--- | :---: | :---: |
|  | (1) | (2) |
| 变量 | Base | Full |
| Policy | -0.037\*\*\* | -0.034\*\* |
|  | (0.006) | (0.007) |
| ln trans |  | -0.019\* |
|  |  | (0.002) |
| saver |  | 0.053 |
|  |  | (0.021) |
| 常数项 | 0.545\*\*\* | 0.703\*\*\* |
|  | (0.001) | (0.019) |
| 城市固定效应 | 是 | 是 |
| 年份固定效应 | 是 | 是 |
| 样本量 | 5,480 | 15,480 |
| R² | 0.887 | 0.889 |

注：\*\*\*、\*\*、\* 分别表示在 1%、5%、10% 的水平下显著，括号里的数字为标准误。
""",
}

LATEX = {
    "en": r"""% Table 3 Baseline regression
% needs \usepackage{booktabs,threeparttable}
\begin{table}[htbp]
  \centering
  \begin{threeparttable}
    \caption{Baseline regression}
    \label{tab:baseline}
    \begin{tabular}{lcc}
      \toprule
       & \multicolumn{2}{c}{Dependent variable: INDG} \\
      \cmidrule(lr){2-3}
       & (1) & (2) \\
      Variable & Base & Full \\
      \midrule
      Policy & -0.037*** & -0.034** \\
       & (0.006) & (0.007) \\
      ln trans &  & -0.019* \\
       &  & (0.002) \\
      saver &  & 0.053 \\
       &  & (0.021) \\
      Constant & 0.545*** & 0.703*** \\
       & (0.001) & (0.019) \\
      \midrule
      City FE & Yes & Yes \\
      Year FE & Yes & Yes \\
      Observations & 5,480 & 15,480 \\
      R\textsuperscript{2} & 0.887 & 0.889 \\
      \bottomrule
    \end{tabular}
    \begin{tablenotes}[flushleft]
      \footnotesize
      \item Note: ***, ** and * denote significance at the 1\%, 5\% and 10\% levels; standard errors in parentheses.
    \end{tablenotes}
  \end{threeparttable}
\end{table}
""",  # noqa: E501
    "zh": r"""% 表3 基准回归结果
% needs \usepackage{booktabs,threeparttable}; Chinese: XeLaTeX with \usepackage{ctex}
\begin{table}[htbp]
  \centering
  \begin{threeparttable}
    \caption{基准回归结果}
    \label{tab:baseline}
    \begin{tabular}{lcc}
      \toprule
       & \multicolumn{2}{c}{被解释变量：INDG} \\
      \cmidrule(lr){2-3}
       & (1) & (2) \\
      变量 & Base & Full \\
      \midrule
      Policy & -0.037*** & -0.034** \\
       & (0.006) & (0.007) \\
      ln trans &  & -0.019* \\
       &  & (0.002) \\
      saver &  & 0.053 \\
       &  & (0.021) \\
      常数项 & 0.545*** & 0.703*** \\
       & (0.001) & (0.019) \\
      城市固定效应 & 是 & 是 \\
      年份固定效应 & 是 & 是 \\
      样本量 & 5,480 & 15,480 \\
      R\textsuperscript{2} & 0.887 & 0.889 \\
      \bottomrule
    \end{tabular}
    \begin{tablenotes}[flushleft]
      \footnotesize
      \item 注：***、**、* 分别表示在 1\%、5\%、10\% 的水平下显著，括号里的数字为标准误。
    \end{tablenotes}
  \end{threeparttable}
\end{table}
""",
}


@pytest.mark.parametrize("lang", LANGS)
def test_text_formats_exact(lang: str, tmp_path: Path) -> None:
    table = baseline(lang)
    assert table_to_csv(table) == CSV[lang]
    assert table_to_markdown(table) == MARKDOWN[lang]
    assert table_to_latex(table) == LATEX[lang]
    written = write_table(table, tmp_path / "t3", formats=("csv", "md", "tex"))
    assert written["csv"].read_bytes() == b"\xef\xbb\xbf" + CSV[lang].encode("utf-8")
    assert written["md"].read_text(encoding="utf-8") == MARKDOWN[lang]
    assert written["tex"].read_text(encoding="utf-8") == LATEX[lang]


class _TableParser(HTMLParser):
    """Collects (section, tr class, [(tag, text, colspan)]) rows and the caption."""

    def __init__(self) -> None:
        super().__init__()
        self.caption = ""
        self.rows: list[tuple[str, str, list[tuple[str, str, int]]]] = []
        self.section = ""
        self.in_caption = False
        self.cell: list[Any] | None = None
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.tables += 1
        elif tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        elif tag == "caption":
            self.in_caption = True
        elif tag == "tr":
            self.rows.append((self.section, a.get("class") or "", []))
        elif tag in ("th", "td"):
            self.cell = [tag, "", int(a.get("colspan") or 1)]

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self.in_caption = False
        elif tag in ("th", "td") and self.cell is not None:
            self.rows[-1][2].append((self.cell[0], self.cell[1], self.cell[2]))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.in_caption:
            self.caption += data
        elif self.cell is not None:
            self.cell[1] += data


@pytest.mark.parametrize("lang", LANGS)
def test_html(lang: str) -> None:
    parser = _TableParser()
    parser.feed(table_to_html(baseline(lang)))
    assert parser.tables == 1
    assert parser.caption == TITLE[lang]
    head = [r for r in parser.rows if r[0] == "thead"]
    body = [r for r in parser.rows if r[0] == "tbody"]
    foot = [r for r in parser.rows if r[0] == "tfoot"]
    assert [[(text, span) for _, text, span in cells] for _, _, cells in head] == HEADER[lang]
    assert all(tag == "th" for _, _, cells in head for tag, _, _ in cells)
    assert [[text for _, text, _ in cells] for _, _, cells in body] == BODY[lang]
    assert all(cells[0][0] == "th" and {c[0] for c in cells[1:]} == {"td"} for *_, cells in body)
    assert [cls for _, cls, _ in body][:2] == ["coef", "stat"]
    ruled = [i for i, (_, cls, _) in enumerate(body) if "rule-above" in cls.split()]
    assert ruled == ([] if RULE_ROW[lang] is None else [RULE_ROW[lang]])
    assert [[(t, s) for _, t, s in cells] for *_, cells in foot] == [[(NOTE[lang], 3)]]


def test_html_escapes_everything() -> None:
    table = regression_table(
        [("<b>x</b>", COLUMN_1)], labels={"policy": "a<script>&"}, dep_var='"y"'
    )
    html = table_to_html(table)
    assert "<script>" not in html and "<b>" not in html
    assert "a&lt;script&gt;&amp;" in html and "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize("lang", LANGS)
def test_docx(lang: str, tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    from docx.oxml.ns import qn

    path = write_table(baseline(lang), tmp_path / "t3", formats=("docx",))["docx"]
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs == [TITLE[lang], NOTE[lang]]
    assert len(document.tables) == 1
    table = document.tables[0]
    expected_rows = expanded_header(lang) + BODY[lang]
    assert len(table.rows) == len(expected_rows)
    # merged header cells: one <w:tc> with gridSpan=2; python-docx repeats it in row.cells
    first = table.rows[0]
    spans = [tc.tcPr.find(qn("w:gridSpan")) for tc in first._tr.tc_lst]
    assert [None if s is None else s.get(qn("w:val")) for s in spans] == [None, "2"]
    assert [c.text for c in first.cells] == ["", HEADER[lang][0][1][0], HEADER[lang][0][1][0]]
    for row, expected in zip(list(table.rows)[1:], expected_rows[1:], strict=True):
        assert [c.text for c in row.cells] == expected

    # three-line style: thick top on row 1, rule under the header, thick bottom on the last row
    def border(cell: Any, edge: str) -> str | None:
        found = cell._tc.tcPr.find(qn("w:tcBorders"))
        element = None if found is None else found.find(qn(f"w:{edge}"))
        return None if element is None else element.get(qn("w:sz"))

    assert border(table.rows[0].cells[0], "top") == "12"
    assert border(table.rows[2].cells[1], "bottom") == "6"
    assert border(table.rows[-1].cells[2], "bottom") == "12"
    assert border(table.rows[0].cells[1], "bottom") == "4"  # cmidrule under the group label
    ruled = 3 + RULE_ROW["en"]
    assert border(table.rows[ruled].cells[0], "top") == ("4" if lang == "en" else None)


@pytest.mark.parametrize("lang", LANGS)
def test_xlsx(lang: str, tmp_path: Path) -> None:
    import openpyxl

    path = write_table(baseline(lang), tmp_path / "t3", formats=("xlsx",))["xlsx"]
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["baseline"]
    ws = workbook["baseline"]
    assert ws["A1"].value == TITLE[lang]
    expected_rows = expanded_header(lang) + BODY[lang]
    n_header = len(expanded_header(lang))
    rows = ws.iter_rows(min_row=2, max_row=1 + len(expected_rows), max_col=3)
    for r, (row, expected) in enumerate(zip(rows, expected_rows, strict=True)):
        for cell, text in zip(row, expected, strict=True):
            number = excel_number(text) if r >= n_header else None
            if number is not None:  # printed numbers are numbers, the format prints them alike
                assert (cell.value, cell.number_format) == number and cell.data_type == "n"
            elif text:
                assert cell.value == text
                assert cell.data_type == "s" and cell.number_format == "@"
    note_row = 2 + len(expected_rows)
    assert ws.cell(row=note_row, column=1).value == NOTE[lang]
    assert sorted(str(r) for r in ws.merged_cells.ranges) == sorted(
        ["A1:C1", "B2:C2", f"A{note_row}:C{note_row}"]
    )
    assert ws["A2"].border.top.style == "medium"
    assert ws.cell(row=1 + len(expected_rows), column=2).border.bottom.style == "medium"


def test_write_tables_bundles_sheets_and_documents(tmp_path: Path) -> None:
    import docx
    import openpyxl

    tables = [baseline("en"), baseline("zh")]
    written = write_tables(tables, tmp_path / "all")
    assert openpyxl.load_workbook(written["xlsx"]).sheetnames == ["baseline", "baseline_2"]
    assert len(docx.Document(str(written["docx"])).tables) == 2
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_render_table_formats_and_unknown_format() -> None:
    from didstudy.errors import DidstudyError

    table = baseline("en")
    assert render_table(table, "markdown").decode("utf-8") == MARKDOWN["en"]
    assert render_table(table, "html").decode("utf-8").startswith("<!DOCTYPE html>")
    assert render_table(table, "xlsx")[:2] == b"PK"
    with pytest.raises(DidstudyError, match="unknown table format"):
        render_table(table, "pdf")
    buffer = io.BytesIO(render_table(table, "docx"))
    assert buffer.getvalue()[:2] == b"PK"


def test_latex_and_markdown_escaping() -> None:
    labels = {"policy": "a_b & 5% $x$ #1 {y} ~z^2 \\ <3> |q|", "(Intercept)": "two\nlines"}
    table = regression_table(
        [COLUMN_1], labels=labels, stats=(), fixed_effects={}, numbers=False, note=""
    )
    latex = table_to_latex(table)
    assert (
        r"a\_b \& 5\% \$x\$ \#1 \{y\} \textasciitilde{}z\textasciicircum{}2 "
        r"\textbackslash{} \textless{}3\textgreater{} \textbar{}q\textbar{} & -0.037*** \\"
    ) in latex
    assert "two lines & 0.545***" in latex
    assert "tablenotes" not in latex  # no notes: no environment
    markdown = table_to_markdown(table)
    assert r"| a\_b &amp; 5% $x$ #1 {y} \~z^2 \\ &lt;3&gt; \|q\| | -0.037\*\*\* |" in markdown
    assert "| two lines | 0.545\\*\\*\\* |" in markdown
