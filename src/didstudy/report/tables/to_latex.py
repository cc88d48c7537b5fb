"""LaTeX renderer: booktabs rules, ``threeparttable`` notes, every text escaped.

Needs ``\\usepackage{booktabs, threeparttable}``; Chinese tables compile with XeLaTeX and
``\\usepackage{ctex}``.
"""

from __future__ import annotations

import re

from didstudy.report.tables.model import Row, Table

__all__ = ["latex_escape", "table_to_latex"]

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


def latex_escape(value: str) -> str:
    """Escape LaTeX's special characters (and a few Unicode symbols) in running text."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], value)


def _row(row: Row, n_cols: int) -> str:
    parts = []
    for col, cell in row.positions():
        text = latex_escape(cell.text)
        default = "l" if col == 0 else "c"
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


def table_to_latex(table: Table, indent: str = "  ") -> str:
    """Render ``table`` as a LaTeX ``table`` float (booktabs + threeparttable)."""
    i1, i2, i3 = indent, indent * 2, indent * 3
    lines = [
        "% " + " ".join(table.title.split()),
        "% needs \\usepackage{booktabs,threeparttable}"
        + ("; Chinese: XeLaTeX with \\usepackage{ctex}" if table.lang == "zh" else ""),
        r"\begin{table}[htbp]",
        f"{i1}\\centering",
        f"{i1}\\begin{{threeparttable}}",
        f"{i2}\\caption{{{latex_escape(table.caption)}}}",
        f"{i2}\\label{{tab:{table.name}}}",
        f"{i2}\\begin{{tabular}}{{l{'c' * (table.n_cols - 1)}}}",
        f"{i3}\\toprule",
    ]
    for row in table.header:
        lines.append(i3 + _row(row, table.n_cols))
        if row.kind == "group":
            rules = _cmidrules(row)
            if rules:
                lines.append(i3 + rules)
    lines.append(f"{i3}\\midrule")
    for row in table.body:
        if row.rule_above:
            lines.append(f"{i3}\\midrule")
        lines.append(i3 + _row(row, table.n_cols))
    lines += [f"{i3}\\bottomrule", f"{i2}\\end{{tabular}}"]
    if table.notes:
        lines += [f"{i2}\\begin{{tablenotes}}[flushleft]", f"{i3}\\footnotesize"]
        lines += [f"{i3}\\item {latex_escape(note)}" for note in table.notes]
        lines.append(f"{i2}\\end{{tablenotes}}")
    lines += [f"{i1}\\end{{threeparttable}}", r"\end{table}"]
    return "\n".join(lines) + "\n"
