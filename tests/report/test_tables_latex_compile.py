"""The LaTeX tables compile: pdflatex for English, XeLaTeX + ctex for Chinese.

Skipped (with the reason printed) when the TeX programs or packages are not installed
(Debian: texlive-latex-recommended texlive-latex-extra texlive-xetex texlive-lang-chinese).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from didstudy.report.tables import bacon_table, regression_table, table_to_latex
from didstudy.report.tables.to_latex import latex_preamble
from tests.report.fixtures.results import COLUMN_1, COLUMN_2
from tests.report.test_tables_builders import _Heterogeneity

TEX_TIMEOUT_S = 180  # XeLaTeX loads CJK fonts on first use

ENGINE = {"en": "pdflatex", "zh": "xelatex"}


def _kpsewhich(name: str) -> bool:
    if shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(["kpsewhich", name], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_latex_tables_compile(tmp_path: Path, lang: str) -> None:
    engine = shutil.which(ENGINE[lang])
    needed = ["booktabs.sty", "threeparttable.sty", "geometry.sty", "rotating.sty"]
    needed += ["ctex.sty"] if lang == "zh" else []
    missing = [n for n in needed if not _kpsewhich(n)]
    if engine is None or missing:
        reason = f"{ENGINE[lang]} or {', '.join(missing) or 'TeX packages'} not installed"
        print(reason)
        pytest.skip(reason)
    tables = [
        regression_table(
            [("Base", COLUMN_1), ("Full", COLUMN_2)],
            lang=lang,
            kind="baseline",
            number=3,
            dep_var="INDG",
            labels={"policy": "Policy & a_b 5%", "ln_trans": "ln trans"},
        ),
        regression_table(_Heterogeneity(), lang=lang, kind="heterogeneity", keep=["policy"]),
        bacon_table(
            {
                "type": ["Timing_groups", "Never_v_timing"],
                "estimate": [0.1, -0.2],
                "weight": [0.3, 0.7],
            },
            lang=lang,
        ),
    ]
    body = "\n".join(table_to_latex(t) for t in tables)
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
    assert "Missing character" not in log
    assert (tmp_path / "tables.pdf").stat().st_size > 1000
