"""Writing a study's tables and figures to files, and the notes and marks they carry.

The study runner (:mod:`didstudy.study.run`) decides *what* to render; this module decides how it
looks and where its files go: every table format of the study under ``tables/``, figures as PNG
and SVG under ``figures/``, the SIMULATED note of tables and mark of figures, and the notes of
paired group-difference tests (Table 6) in Chinese or English.
"""

from __future__ import annotations

import base64
import html
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from didstudy.errors import DidstudyWarning, MissingDependencyError, SpecError
from didstudy.report.statistics import statistic_text

__all__ = [
    "FIGURE_FORMATS",
    "SIMULATED_MARK",
    "SIMULATED_NOTE",
    "difference_notes",
    "figure_object",
    "mark_simulated",
    "write_figure_files",
    "write_table_files",
]

FIGURE_FORMATS = ("png", "svg")

SIMULATED_NOTE = {
    "zh": "模拟数据：数值来自已知效应的数据生成过程，并非真实观测数据。",
    "en": "SIMULATED data: values from a data-generating process with a known effect, "
    "not observed data.",
}
SIMULATED_MARK = {"zh": "模拟数据 SIMULATED DATA", "en": "SIMULATED DATA"}


def difference_notes(
    frames: Sequence[pd.DataFrame], labels: Mapping[str, str], lang: str
) -> list[str]:
    """One note per frame of paired group differences (a heterogeneity result's ``differences``).

    Parameters
    ----------
    frames
        Frames with columns ``dimension, group_a, group_b, difference`` and the p-values
        ``interaction_p_value`` / ``permutation_p_value``; empty frames are skipped.
    labels
        Variable and group labels (``value -> label``).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    list of str
        ``"Tests of the group differences: size (big − small = 0.0100; Interaction test p =
        0.040)."`` (test names from :mod:`didstudy.report.statistics`)

    Examples
    --------
    >>> frame = pd.DataFrame({"dimension": ["size"], "group_a": ["big"], "group_b": ["small"],
    ...                       "difference": [0.01], "interaction_p_value": [0.04]})
    >>> difference_notes([frame], {}, "en")
    ['Tests of the group differences: size (big − small = 0.0100; Interaction test p = 0.040).']
    """
    zh = lang == "zh"

    def label(value: Any) -> str:
        return labels.get(str(value), str(value))

    notes: list[str] = []
    for frame in frames:
        if frame.empty:
            continue
        parts = []
        for row in frame.to_dict(orient="records"):
            p_values = [
                statistic_text(key, row[key], lang)
                for key in ("interaction_p_value", "permutation_p_value")
                if isinstance(row.get(key), float) and row[key] == row[key]
            ]
            dimension, a, b = label(row["dimension"]), label(row["group_a"]), label(row["group_b"])
            parts.append(
                f"{dimension}（{a} − {b} = {row['difference']:.4f}，{'，'.join(p_values)}）"
                if zh
                else f"{dimension} ({a} − {b} = {row['difference']:.4f}; {'; '.join(p_values)})"
            )
        head = "组间系数差异检验：" if zh else "Tests of the group differences: "
        notes.append(head + ("；".join(parts) + "。" if zh else "; ".join(parts) + "."))
    return notes


def mark_simulated(figure: Any, lang: str) -> None:
    """Stamp a matplotlib figure as simulated (bottom right corner); in English when no CJK font
    exists (the figure itself fell back to English then: no glyph may print as a box)."""
    from didstudy.report.figures import _style

    if lang == "zh" and _style.find_cjk_font() is None:
        lang = "en"
    figure.text(
        0.995, 0.005, SIMULATED_MARK.get(lang, SIMULATED_MARK["en"]),
        ha="right", va="bottom", fontsize=7, color="#a33",
    )  # fmt: skip


def write_table_files(
    table: Any, stage: Path, stem: str, formats: Sequence[str], page: Any = None
) -> tuple[tuple[str, ...], str]:
    """Write ``table`` in every format under ``stage/tables``; a format whose optional writer is
    missing is skipped with a warning. LaTeX and Word are fitted to ``page`` (a
    :class:`~didstudy.report.tables.layout.PageSpec`; default by the table's language).

    Returns
    -------
    (files, html)
        The files written (relative to ``stage``) and the table as an HTML fragment.
    """
    from didstudy.report.tables import table_to_html, write_table

    written: list[str] = []
    for fmt in formats:
        try:
            paths = write_table(table, stage / "tables" / stem, formats=(fmt,), page=page)
        except MissingDependencyError as exc:
            warnings.warn(
                f"table format '{fmt}' skipped: {exc.message} ({exc.fix})",
                DidstudyWarning,
                stacklevel=2,
            )
            continue
        written += [str(Path(p).relative_to(stage)) for p in paths.values()]
    return tuple(written), table_to_html(table)


def figure_object(output: Any) -> Any:
    """The matplotlib figure of a figure builder's output (a figure, ``.figure``, or a tuple)."""
    figure = getattr(output, "figure", None)
    if figure is not None and hasattr(figure, "savefig"):
        return figure
    if isinstance(output, tuple) and output and hasattr(output[0], "savefig"):
        return output[0]
    if hasattr(output, "savefig"):
        return output
    raise SpecError(
        f"a figure function returned {type(output).__name__}, not a matplotlib figure",
        fix="report this as a bug",
    )


def write_figure_files(
    output: Any, stage: Path, stem: str, title: str, formats: Sequence[str] = FIGURE_FORMATS
) -> tuple[tuple[str, ...], str]:
    """Save a figure in ``formats`` (png, svg, pdf; the PNG always, the report embeds it) under
    ``stage/figures`` and close it.

    Returns
    -------
    (files, html)
        The files written (relative to ``stage``) and an ``<img>`` with the PNG embedded.
    """
    from didstudy.report.figures.save import save_figure

    figure = figure_object(output)
    paths = save_figure(
        figure, stage / "figures" / stem, formats=tuple(dict.fromkeys(("png", *formats)))
    )
    files = tuple(str(Path(p).relative_to(stage)) for p in paths)
    png = next((Path(p) for p in paths if str(p).endswith(".png")), None)
    body = ""
    if png is not None:
        encoded = base64.b64encode(png.read_bytes()).decode("ascii")
        body = f'<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
    try:
        import matplotlib.pyplot as plt

        plt.close(figure)
    except Exception:  # pragma: no cover
        pass
    return files, body
