"""Render steps (tables and figures of earlier results) and the HTML report of a run.

A render step names earlier steps in its result parameters (``columns = ["baseline"]``); they are
replaced by those steps' results before the table or figure function is called. Tables are
written in every format of ``[study] formats`` under ``tables/``, figures as PNG and SVG under
``figures/``. ``report.html`` is self-contained (figures embedded) and says when the data are
simulated.
"""

from __future__ import annotations

import base64
import html
import inspect
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from didstudy.errors import DidstudyWarning, MissingDependencyError, SpecError

if TYPE_CHECKING:
    from didstudy.study.plan import PlannedStep
    from didstudy.study.run import Context, StepRecord

__all__ = ["Artifact", "load_artifact", "pack_artifact", "render_report", "render_step"]

FIGURE_FORMATS = ("png", "svg")


class Artifact:
    """A written table or figure: kind, step name, title and files (relative to the report)."""

    def __init__(
        self,
        kind: str,
        step: str,
        title: str,
        files: tuple[str, ...],
        html: str,
        table: Any = None,
    ) -> None:
        self.kind = kind
        self.step = step
        self.title = title
        self.files = files
        self.html = html
        self.table = table


def pack_artifact(artifact: Artifact, stage: Path) -> dict[str, Any]:
    """A picklable copy of an artifact with its files' bytes (for the render cache)."""
    return {
        "kind": artifact.kind,
        "step": artifact.step,
        "title": artifact.title,
        "html": artifact.html,
        "table": artifact.table,
        "files": {name: (stage / name).read_bytes() for name in artifact.files},
    }


def load_artifact(packed: Mapping[str, Any], stage: Path) -> Artifact:
    """Write a cached artifact's files into ``stage`` and return the artifact."""
    files: dict[str, bytes] = dict(packed["files"])
    for name, payload in files.items():
        path = stage / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    return Artifact(
        str(packed["kind"]), str(packed["step"]), str(packed["title"]), tuple(files),
        str(packed["html"]), packed.get("table"),
    )  # fmt: skip


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "-", name).strip("-").lower() or "output"


def _lookup(context: Context, step: PlannedStep, parameter: str, name: str) -> Any:
    if name not in context.results:
        available = [n for n in context.results]
        from didstudy.study.spec import closest

        near = closest(name, available)
        raise context.loaded.error(
            f"step '{step.name}' refers to step '{name}', which has no result (unknown, later "
            "in the file, or unavailable)",
            ("steps", step.index, parameter),
            fix=(f"did you mean '{near}'? " if near else "") + "name an earlier estimation step",
        )
    return context.results[name]


def _expand(label: str, result: Any) -> list[tuple[str, Any]]:
    models = getattr(result, "models", None)
    if models is not None and hasattr(models, "items"):
        result = models
    items = getattr(result, "items", None)
    if isinstance(items, tuple) and items and isinstance(items[0], tuple):
        return [(str(n), r) for n, r in items]
    return [(label, result)]


def _resolve(context: Context, step: PlannedStep, parameter: str, value: Any) -> Any:
    if isinstance(value, str):
        return _lookup(context, step, parameter, value)
    if isinstance(value, list):
        if len(value) == 1:
            single = _lookup(context, step, parameter, str(value[0]))
            if hasattr(single, "models") and hasattr(single, "differences"):
                return single  # a heterogeneity result: the table splits its groups itself
        pairs: list[tuple[str, Any]] = []
        for name in value:
            result = _lookup(context, step, parameter, str(name))
            title = next(
                (s.title for s in context.plan.steps if s.name == name and s.title),
                str(name),
            )
            pairs.extend(_expand(title, result))
        return pairs
    if isinstance(value, Mapping):
        mapped: list[tuple[str, Any]] = []
        for label, name in value.items():
            mapped.extend(_expand(str(label), _lookup(context, step, parameter, str(name))))
        return mapped
    return value


def _labels(context: Context, lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for column, variable in context.loaded.spec.variables.items():
        label = variable.label_zh if lang == "zh" else variable.label_en
        label = label or variable.label_en or variable.label_zh
        if label:
            out[column] = label
    return out


LANGUAGES = frozenset({"zh", "en"})


def per_language(value: Any, lang: str) -> Any:
    """An argument given per language (``{ zh = ..., en = ... }``) in ``lang``; others unchanged."""
    if isinstance(value, Mapping) and value and set(value) <= LANGUAGES:
        return value.get(lang, next(iter(value.values())))
    return value


def render_step(context: Context, step: PlannedStep, stage: Path, lang: str) -> Artifact:
    """Build one table or figure and write its files into ``stage``."""
    assert step.function is not None
    arguments = {key: per_language(value, lang) for key, value in step.arguments.items()}
    for parameter in step.kind.result_parameters:
        if parameter in arguments:
            arguments[parameter] = _resolve(context, step, parameter, arguments[parameter])
    parameters = inspect.signature(step.function).parameters
    if "lang" in parameters and "lang" not in arguments:
        arguments["lang"] = lang
    if "labels" in parameters and "labels" not in arguments:
        arguments["labels"] = _labels(context, lang)
    if "caption" in parameters and "caption" not in arguments and step.title:
        arguments["caption"] = step.title
    if "name" in parameters and "name" not in arguments:
        arguments["name"] = _safe(step.name)
    if step.kind.data_parameter is not None:
        arguments[step.kind.data_parameter] = context.panel().frame
        roles = context.loaded.spec.panel
        for role in ("unit", "time", "treat"):
            value = getattr(roles, role)
            if role in parameters and role not in arguments and value is not None:
                arguments[role] = value
    output = step.function(**arguments)
    stem = _safe(step.name)
    simulated = context.loaded.spec.study.simulated
    if step.kind.output == "table":
        differences = _difference_notes(context, step, lang)
        if differences and hasattr(output, "with_notes"):
            output = output.with_notes(*differences)
        if simulated and hasattr(output, "with_notes"):
            output = output.with_notes(SIMULATED_NOTE[lang])
        return _write_table(context, output, stem, stage, step.name)
    if simulated:
        _mark_simulated(_figure_object(output), lang)
    formats = context.loaded.spec.study.figure_formats
    return _write_figure(output, stem, stage, step.name, step.title or step.name, formats)


def _difference_notes(context: Context, step: PlannedStep, lang: str) -> list[str]:
    """Notes with the tests of paired group differences of heterogeneity results (Table 6)."""
    from didstudy.report.statistics import statistic_text
    from didstudy.study.run import _referenced_steps

    labels = _labels(context, lang)

    def label(value: Any) -> str:
        return labels.get(str(value), str(value))

    notes: list[str] = []
    for name in sorted(_referenced_steps(step)):
        frame = getattr(context.results.get(name), "differences", None)
        if not isinstance(frame, pd.DataFrame) or frame.empty:
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
                if lang == "zh"
                else f"{dimension} ({a} − {b} = {row['difference']:.4f}; {'; '.join(p_values)})"
            )
        head = "组间系数差异检验：" if lang == "zh" else "Tests of the group differences: "
        notes.append(head + ("；".join(parts) + "。" if lang == "zh" else "; ".join(parts) + "."))
    return notes


SIMULATED_NOTE = {
    "zh": "模拟数据：数值来自已知效应的数据生成过程，并非真实观测数据。",
    "en": "SIMULATED data: values from a data-generating process with a known effect, "
    "not observed data.",
}
SIMULATED_MARK = {"zh": "模拟数据 SIMULATED DATA", "en": "SIMULATED DATA"}


def _mark_simulated(figure: Any, lang: str) -> None:
    """Stamp a figure as simulated (bottom right corner); in English when no CJK font exists
    (the figure itself fell back to English then: no glyph may print as a box)."""
    from didstudy.report.figures import _style

    if lang == "zh" and _style.find_cjk_font() is None:
        lang = "en"
    figure.text(
        0.995, 0.005, SIMULATED_MARK.get(lang, SIMULATED_MARK["en"]),
        ha="right", va="bottom", fontsize=7, color="#a33",
    )  # fmt: skip


def _write_table(context: Context, table: Any, stem: str, stage: Path, step: str) -> Artifact:
    from didstudy.report.tables import table_to_html, write_table

    written: list[str] = []
    for fmt in context.loaded.spec.study.formats:
        try:
            paths = write_table(
                table, stage / "tables" / stem, formats=(fmt,), page=_page(context, table)
            )
        except MissingDependencyError as exc:
            warnings.warn(
                f"table format '{fmt}' skipped: {exc.message} ({exc.fix})",
                DidstudyWarning,
                stacklevel=2,
            )
            continue
        written += [str(Path(p).relative_to(stage)) for p in paths.values()]
    files = tuple(written)
    title = str(getattr(table, "title", stem))
    return Artifact("table", step, title, files, table_to_html(table), table)


def _page(context: Context, table: Any) -> Any:
    """The study's ``[study.page]`` as a :class:`~didstudy.report.tables.layout.PageSpec`."""
    from didstudy.report.tables.layout import PageSpec, default_page

    options = context.loaded.spec.study.page
    base = default_page(str(getattr(table, "lang", "en")))
    return PageSpec(
        options.paper or base.paper,
        landscape=options.landscape,
        margin_mm=options.margin_mm,
        font_pt=options.font_size or base.font_pt,
        fit=options.fit,
    )


def _figure_object(output: Any) -> Any:
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


def _write_figure(
    output: Any,
    stem: str,
    stage: Path,
    step: str,
    title: str,
    formats: tuple[str, ...] = FIGURE_FORMATS,
) -> Artifact:
    from didstudy.report.figures.save import save_figure

    figure = _figure_object(output)
    # the report embeds the PNG: written even when the study asks only for pdf/svg
    wanted = tuple(dict.fromkeys(("png", *formats)))
    paths = save_figure(figure, stage / "figures" / stem, formats=wanted)
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
    return Artifact("figure", step, title, files, body)


_CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.simulated{background:#fff3cd;border:1px solid #e0c36c;padding:.8em 1em;margin:1em 0}
section{margin:2.5em 0} img{max-width:100%} td.num{text-align:right}
table.steps{border-collapse:collapse} table.steps td,table.steps th{padding:.2em .8em;
border-bottom:1px solid #ddd;text-align:left}
"""


def _sample_facts(context: Context) -> dict[str, Any]:
    spec = context.loaded.spec.panel
    frame = context.frame
    times = frame[spec.time]
    units = frame[spec.unit]
    if spec.cohort is not None:
        first = pd.to_numeric(frame[spec.cohort], errors="coerce").groupby(units).first()
        first = first.where(first > 0)
    else:
        treated = pd.to_numeric(frame[spec.treat], errors="coerce").fillna(0) > 0
        first = times.where(treated).groupby(units).min()
    cohorts = first.dropna().astype(int).value_counts().sort_index()
    return {
        "units": int(units.nunique()),
        "periods": [int(times.min()), int(times.max())],
        "observations": len(frame),
        "treated": int(first.notna().sum()),
        "never_treated": int(first.isna().sum()),
        "cohorts": {str(k): int(v) for k, v in cohorts.items()},
        "dropped": [
            {"unit": f"{s.units_before - s.units_after}", "reason": s.rule}
            for s in context.sample_log
            if s.units_before != s.units_after
        ],
    }


def render_report(
    context: Context,
    records: tuple[StepRecord, ...],
    artifacts: list[Artifact],
    stage: Path,
    lang: str,
    manifest: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write ``report.html`` (self-contained) with the report package; return warnings."""
    try:
        from didstudy.report.html import ReportFigure, ReportSection, build_html_report
    except ImportError:
        return _render_fallback(context, records, artifacts, stage, lang)
    meta = context.loaded.spec.study
    sections = []
    for artifact in artifacts:
        if artifact.kind == "table" and artifact.table is not None:
            item: Any = artifact.table
        else:
            png = next((stage / f for f in artifact.files if f.endswith(".png")), None)
            if png is None:
                continue
            item = ReportFigure(png.read_bytes(), caption=artifact.title, name=artifact.step)
        sections.append(ReportSection(title=artifact.title, items=(item,), name=artifact.step))
    warnings_list = [f"{r.name}: {w}" for r in records for w in r.warnings]
    warnings_list += [f"{r.name}: {r.message}" for r in records if r.message]
    build_html_report(
        sections,
        {
            "title": meta.title,
            "lang": lang,
            "simulated": meta.simulated,
            "simulated_note": meta.note or SIMULATED_NOTE[lang],
            "warnings": warnings_list,
            "manifest": dict(manifest or {}),
            "sample": _sample_facts(context),
        },
        stage / "report.html",
    )
    return []


def _render_fallback(
    context: Context,
    records: tuple[StepRecord, ...],
    artifacts: list[Artifact],
    stage: Path,
    lang: str,
) -> list[str]:
    """A plain self-contained ``report.html`` when the report package's HTML builder is missing."""
    problems: list[str] = []
    meta = context.loaded.spec.study
    css = ""
    try:
        from didstudy.report.tables import TABLE_CSS

        css = TABLE_CSS
    except ImportError:  # pragma: no cover
        problems.append("table CSS unavailable")
    zh = lang == "zh"
    banner = ""
    if meta.simulated:
        text = (
            "模拟数据：本报告中的所有数值均来自已知效应的模拟数据生成过程，并非真实观测数据。"
            if zh
            else "SIMULATED DATA: every number in this report comes from a simulated "
            "data-generating process with a known effect, not from observed data."
        )
        banner = f'<div class="simulated"><strong>{html.escape(text)}</strong>'
        if meta.note:
            banner += f"<br>{html.escape(meta.note)}"
        banner += "</div>"
    rows = "".join(
        f"<tr><td>{html.escape(r.name)}</td><td>{html.escape(r.kind)}</td>"
        f"<td>{html.escape(r.status)}</td><td class='num'>{r.seconds:.2f}</td>"
        f"<td>{html.escape(r.message)}</td></tr>"
        for r in records
    )
    steps_head = "步骤" if zh else "Steps"
    sections = "".join(
        f'<section id="{_safe(a.step)}">{a.html if a.kind == "table" else ""}'
        + (f"<h3>{html.escape(a.title)}</h3>{a.html}" if a.kind == "figure" else "")
        + "</section>"
        for a in artifacts
    )
    sample = context.sample_log
    sample_html = "".join(
        f"<li>{html.escape(s.rule)}: {s.units_before} → {s.units_after} "
        f"({s.rows_before} → {s.rows_after} rows)</li>"
        for s in sample
    )
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(meta.title)}</title>\n<style>{_CSS}\n{css}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(meta.title)}</h1>\n{banner}\n"
        f"<h2>{'样本' if zh else 'Sample'}</h2><ul>{sample_html}</ul>\n"
        f"{sections}\n"
        f"<h2>{steps_head}</h2><table class='steps'><tr><th>name</th><th>kind</th>"
        f"<th>status</th><th>s</th><th></th></tr>{rows}</table>\n"
        f"{banner}\n</body>\n</html>\n"
    )
    (stage / "report.html").write_text(page, encoding="utf-8")
    return problems
