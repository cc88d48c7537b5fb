"""LaTeX renderer: booktabs rules, ``threeparttable`` notes, every text escaped.

Needs ``\\usepackage{booktabs, threeparttable}``; Chinese tables compile with XeLaTeX and
``\\usepackage{ctex}``.
"""

from __future__ import annotations

import re

from didstudy.report.tables.layout import PageSpec, default_page, fit_table
from didstudy.report.tables.model import Row, Table

__all__ = ["latex_escape", "latex_preamble", "table_to_latex"]

_LATEX_SPECIAL: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "²": r"\textsuperscript{2}",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "−": r"$-$",
    "∞": r"$\infty$",
    "\n": " ",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))
_ALIGN = {"left": "l", "center": "c", "right": "r"}


#: A letter with a combining macron (``M̄`` of HonestDiD) is math: ``$\bar{M}$``.
_MACRON_RE = re.compile("([A-Za-z])\u0304")


def latex_escape(value: str) -> str:
    """Escape LaTeX's special characters (and a few Unicode symbols) in running text."""
    parts = _MACRON_RE.split(value)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # the letter before a combining macron
            out.append(f"$\\bar{{{part}}}$")
        else:
            out.append(_LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], part))
    return "".join(out)


def _row(row: Row, n_cols: int, wrap: dict[int, float] | None = None) -> str:
    parts = []
    for col, cell in row.positions():
        text = latex_escape(cell.text)
        default = "l" if col == 0 else "c"
        if cell.colspan == 1 and wrap and col in wrap:
            parts.append(text)  # a paragraph column: its alignment is in the column spec
            continue
        if cell.colspan > 1 or (cell.text and _ALIGN[cell.align] != default):
            text = f"\\multicolumn{{{cell.colspan}}}{{{_ALIGN[cell.align]}}}{{{text}}}"
        parts.append(text)
    return " & ".join(parts) + r" \\"


def _cmidrules(row: Row) -> str:
    rules = [
        f"\\cmidrule(lr){{{col + 1}-{col + cell.colspan}}}"
        for col, cell in row.positions()
        if col > 0 and cell.text
    ]
    return " ".join(rules)


def _tabular(table: Table, wrap: dict[int, float], i2: str, i3: str) -> list[str]:
    colspec = _colspec(table, wrap)
    lines = [f"{i2}\\begin{{tabular}}{{{colspec}}}", f"{i3}\\toprule"]
    for row in table.header:
        lines.append(i3 + _row(row, table.n_cols, wrap))
        if row.kind == "group":
            rules = _cmidrules(row)
            if rules:
                lines.append(i3 + rules)
    lines.append(f"{i3}\\midrule")
    for row in table.body:
        if row.rule_above:
            lines.append(f"{i3}\\midrule")
        lines.append(i3 + _row(row, table.n_cols, wrap))
    lines += [f"{i3}\\bottomrule", f"{i2}\\end{{tabular}}"]
    return lines


def _colspec(table: Table, wrap: dict[int, float]) -> str:
    out = []
    for col in range(table.n_cols):
        if col in wrap:
            aligns = [c.align for row in table.body for c0, c in row.positions() if c0 == col]
            left = col == 0 or aligns.count("left") * 2 >= len(aligns)
            align = "\\raggedright" if left else "\\centering"
            out.append(f">{{{align}\\arraybackslash}}p{{{wrap[col]:g}pt}}")
        else:
            out.append("l" if col == 0 else "c")
    return "".join(out)


def table_to_latex(table: Table, indent: str = "  ", page: PageSpec | None = None) -> str:
    """Render ``table`` as a LaTeX ``table`` float (booktabs + threeparttable).

    The table is fitted to ``page`` (default: A4 for Chinese, Letter for English; see
    :mod:`didstudy.report.tables.layout`): a table that fits prints unchanged; a wider one gets
    a smaller font and column gap, wrapped row labels, panels or, last, ``\\resizebox``; a
    landscape page uses ``sidewaystable``.
    """
    fit = fit_table(table, page)
    i1, i2, i3 = indent, indent * 2, indent * 3
    wrap = dict(fit.wrap)
    needs = "booktabs,threeparttable"
    if wrap:
        needs += ",array"
    if fit.scale < 1.0:
        needs += ",graphicx"
    if fit.page.landscape:
        needs += ",rotating"
    env = "sidewaystable" if fit.page.landscape else "table"
    lines = [
        "% " + " ".join(table.title.split()),
        f"% needs \\usepackage{{{needs}}}"
        + ("; Chinese: XeLaTeX with \\usepackage{ctex}" if table.lang == "zh" else ""),
        f"\\begin{{{env}}}[htbp]",
        f"{i1}\\centering",
    ]
    if fit.changed:
        lines.append(
            f"{i1}\\fontsize{{{fit.font_pt:g}pt}}{{{1.2 * fit.font_pt:.4g}pt}}\\selectfont"
        )
        lines.append(f"{i1}\\setlength{{\\tabcolsep}}{{{fit.colsep_pt:g}pt}}")
    lines += [
        f"{i1}\\begin{{threeparttable}}",
        f"{i2}\\caption{{{latex_escape(table.caption)}}}",
        f"{i2}\\label{{tab:{table.name}}}",
    ]
    for number, panel in enumerate(fit.panels):
        if len(fit.panels) > 1:
            letter = chr(ord("A") + number)
            label = f"面板 {letter}" if table.lang == "zh" else f"Panel {letter}"
            skip = "" if number == 0 else "\\medskip"
            lines.append(f"{i2}{skip}\\par\\textit{{{label}}}\\par\\smallskip")
        body = _tabular(panel, wrap, i2, i3)
        if fit.scale < 1.0:
            body = [f"{i2}\\resizebox{{\\linewidth}}{{!}}{{%", *body, f"{i2}}}"]
        lines += body
    if table.notes:
        lines += [f"{i2}\\begin{{tablenotes}}[flushleft]", f"{i3}\\footnotesize"]
        lines += [f"{i3}\\item {latex_escape(note)}" for note in table.notes]
        lines.append(f"{i2}\\end{{tablenotes}}")
    lines += [f"{i1}\\end{{threeparttable}}", f"\\end{{{env}}}"]
    return "\n".join(lines) + "\n"


def latex_preamble(lang: str = "en", page: PageSpec | None = None) -> str:
    """A document preamble every table of :func:`table_to_latex` compiles with on ``page``.

    Paper size and margins through ``geometry``; ``ctex`` for Chinese (compile with XeLaTeX);
    ``booktabs``, ``threeparttable``, ``array``, ``graphicx`` and ``rotating`` for the tables.

    Examples
    --------
    >>> "a4paper" in latex_preamble("zh")
    True
    """
    page = page or default_page(lang)
    paper = {"a4": "a4paper", "letter": "letterpaper"}[page.paper]
    lines = [
        "\\documentclass{article}",
        f"\\usepackage[{paper},hmargin={page.margin_mm:g}mm,vmargin=25mm]{{geometry}}",
    ]
    if lang == "zh":
        lines.append("\\usepackage{ctex}")
    lines.append("\\usepackage{booktabs,threeparttable,array,graphicx,rotating}")
    return "\n".join(lines) + "\n"
