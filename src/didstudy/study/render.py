"""Run the render steps (tables and figures of earlier results) and the report of a run.

A render step names earlier steps in its result parameters (``columns = ["baseline"]``); they are
replaced by those steps' results before the table or figure function is called. How tables and
figures look and where their files go is :mod:`didstudy.report.outputs`; ``report.html`` is
:func:`didstudy.report.html.build_html_report`. This module only resolves arguments and calls.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from didstudy.report.labels import LANGUAGES
from didstudy.report.outputs import (
    SIMULATED_NOTE,
    difference_notes,
    figure_object,
    mark_simulated,
    write_figure_files,
    write_table_files,
)

if TYPE_CHECKING:
    from didstudy.study.plan import PlannedStep

__all__ = [
    "Artifact",
    "load_artifact",
    "pack_artifact",
    "referenced_steps",
    "render_report",
    "render_step",
]


class Context(Protocol):
    """What rendering reads of a run (:class:`didstudy.study.run.Context`)."""

    @property
    def loaded(self) -> Any: ...
    @property
    def plan(self) -> Any: ...
    @property
    def frame(self) -> pd.DataFrame: ...
    @property
    def sample_log(self) -> Sequence[Any]: ...
    @property
    def results(self) -> Mapping[str, Any]: ...
    def panel(self) -> Any: ...


class StepRecord(Protocol):
    """What the report reads of a step's record (:class:`didstudy.study.run.StepRecord`)."""

    @property
    def name(self) -> str: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def message(self) -> str: ...


def referenced_steps(step: PlannedStep) -> set[str]:
    """Names of the earlier steps a render step's result parameters refer to."""
    names: set[str] = set()
    for parameter in step.kind.result_parameters:
        value = step.arguments.get(parameter)
        if isinstance(value, str):
            names.add(value)
        elif isinstance(value, list | tuple):
            names |= {str(v) for v in value}
        elif isinstance(value, Mapping):
            names |= {str(v) for v in value.values()}
    return names


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


def _safe(name: str, index: int | None = None) -> str:
    from didstudy.study.names import output_stem

    return output_stem(name, index)


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


def per_language(value: Any, lang: str) -> Any:
    """An argument given per language (``{ zh = ..., en = ... }``) in ``lang``; others unchanged."""
    if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
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
        arguments["name"] = _safe(step.name, step.index)
    if step.kind.data_parameter is not None:
        arguments[step.kind.data_parameter] = context.panel().frame
        roles = context.loaded.spec.panel
        for role in ("unit", "time", "treat"):
            value = getattr(roles, role)
            if role in parameters and role not in arguments and value is not None:
                arguments[role] = value
    output = step.function(**arguments)
    stem = _safe(step.name, step.index)
    simulated = context.loaded.spec.study.simulated
    if step.kind.output == "table":
        differences = _difference_notes(context, step, lang) + _bootstrap_notes(context, step, lang)
        if differences and hasattr(output, "with_notes"):
            output = output.with_notes(*differences)
        if simulated and hasattr(output, "with_notes"):
            output = output.with_notes(SIMULATED_NOTE[lang])
        formats = context.loaded.spec.study.formats
        files, body = write_table_files(output, stage, stem, formats, page=_page(context, output))
        title = str(getattr(output, "title", stem))
        return Artifact("table", step.name, title, files, body, output)
    if simulated:
        mark_simulated(figure_object(output), lang)
    title = step.title or step.name
    files, body = write_figure_files(
        output, stage, stem, title, formats=context.loaded.spec.study.figure_formats
    )
    return Artifact("figure", step.name, title, files, body)


def _bootstrap_notes(context: Context, step: PlannedStep, lang: str) -> list[str]:
    """Notes of inference results shown in a table: bootstrapped p-values and intervals, and the
    pre-trend power of an event study (its automatic ``<name>_pretrend_power`` step)."""
    from didstudy.results.bootstrap import BootstrappedResult, WildBootstrapResult

    notes: list[str] = []
    for name in sorted(referenced_steps(step)):
        result = context.results.get(name)
        if isinstance(result, WildBootstrapResult | BootstrappedResult):
            notes.append(result.note(lang))
        power: Any = context.results.get(f"{name}_pretrend_power")
        if hasattr(result, "pretrend") and hasattr(power, "slope_power50"):
            notes.append(power.note(lang))  # an event study's pre-test power (Roth 2022)
    return list(dict.fromkeys(notes))


def _difference_notes(context: Context, step: PlannedStep, lang: str) -> list[str]:
    """Notes with the tests of paired group differences of heterogeneity results (Table 6)."""
    frames = []
    for name in sorted(referenced_steps(step)):
        frame = getattr(context.results.get(name), "differences", None)
        if isinstance(frame, pd.DataFrame):
            frames.append(frame)
    return difference_notes(frames, _labels(context, lang), lang)


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
    from didstudy.report.html import ReportFigure, ReportSection, build_html_report

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
    if manifest is not None:  # every warning of the run: data, panel, steps
        warnings_list = [str(w) for w in manifest.get("warnings", ())]
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
