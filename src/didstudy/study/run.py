"""Running a study: load, sample, run every step (cached), write the report atomically.

``run_study`` is the one code path behind ``didstudy run`` and ``didstudy demo``. Steps run in
the order of the study file; derive steps add a column to the panel data for the steps after
them. Each step's result is cached by content hash (code version + step + data). Outputs
(``results.json``, ``manifest.json``, tables, figures, ``report.html``) are written into a
staging directory that replaces ``out`` only when everything succeeded.
"""

from __future__ import annotations

import hashlib
import platform
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from didstudy.errors import DidstudyError, SpecError, rows_to_file_lines
from didstudy.study.artifacts import staging_directory, write_json
from didstudy.study.cache import StepCache, cache_key, code_version
from didstudy.study.plan import Plan, PlannedStep, make_plan
from didstudy.study.render import referenced_steps as _referenced_steps
from didstudy.study.sources import (
    LoadedSource,
    SampleLog,
    apply_sample,
    check_panel_columns,
    check_unique,
    frame_hash,
    load_sources,
)
from didstudy.study.spec import LoadedSpec, TableFormat, closest, load_spec

__all__ = ["ProgressEvent", "StepRecord", "StudyOutcome", "prepare", "run_study"]

PACKAGES = ("numpy", "pandas", "scipy", "pydantic", "matplotlib", "pyarrow")
# columns the Panel derives (didstudy.data.panel); steps that receive the Panel may name them
PANEL_COLUMNS = frozenset({"_treated", "_cohort", "_rel_time", "_never_treated", "_always_treated"})


@dataclass(frozen=True)
class ProgressEvent:
    """Sent to the progress callback before (``phase="start"``) and after (``"done"``) a step."""

    phase: str
    index: int
    total: int
    name: str
    kind: str
    status: str = ""
    warnings: tuple[str, ...] = ()


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class StepRecord:
    """What happened to one step (for the manifest and the CLI summary)."""

    name: str
    kind: str
    function: str
    status: str
    seconds: float
    data_hash: str = ""
    seed: int | None = None
    warnings: tuple[str, ...] = ()
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "function": self.function,
            "status": self.status,
            "seconds": round(self.seconds, 4),
            "data_sha256": self.data_hash,
            "seed": self.seed,
            "warnings": list(self.warnings),
            "message": self.message,
        }


@dataclass(frozen=True)
class StudyOutcome:
    """The finished run: where the report is, what each step did, the results mapping."""

    out: Path
    records: tuple[StepRecord, ...]
    results: Mapping[str, Any]
    files: tuple[str, ...]
    seconds: float
    sample_log: tuple[SampleLog, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def unavailable(self) -> tuple[StepRecord, ...]:
        return tuple(r for r in self.records if r.status == "unavailable")


@dataclass
class Context:
    """Mutable state of one run (private to the runner)."""

    loaded: LoadedSpec
    plan: Plan
    sources: dict[str, LoadedSource]
    frame: pd.DataFrame
    sample_log: list[SampleLog]
    results: dict[str, Any] = field(default_factory=dict)
    panel_cache: dict[str, Any] = field(default_factory=dict)
    missing_columns: dict[str, str] = field(default_factory=dict)
    result_keys: dict[str, str] = field(default_factory=dict)
    panel_warnings: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    source_rows: Any = None  # position in the panel source of each row of ``frame``
    screen_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def panel(self) -> Any:
        """A :class:`didstudy.data.panel.Panel` of the current frame (built once per frame)."""
        key = frame_hash(self.frame)
        if key not in self.panel_cache:
            from didstudy.data.panel import Panel

            spec = self.loaded.spec.panel
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.panel_cache = {
                    key: Panel(
                        self.frame,
                        unit=spec.unit,
                        time=spec.time,
                        treat=spec.treat,
                        cohort=spec.cohort,
                        cluster=spec.cluster,
                        weight=spec.weight,
                        allow_switching=spec.allow_switching,
                    )
                }
            for item in _record_warnings(caught):
                if item not in self.panel_warnings:
                    self.panel_warnings.append(item)
        return self.panel_cache[key]


def prepare(
    study: str | Path | LoadedSpec,
    overrides: Mapping[str, Any] | None = None,
    lang: str | None = None,
) -> tuple[Plan, Context]:
    """Validate the study, load its data and apply the sample rules (no step is run)."""
    loaded = study if isinstance(study, LoadedSpec) else load_spec(study)
    plan = make_plan(loaded, overrides, lang)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sources = load_sources(loaded)
    main = sources[loaded.spec.panel.data].frame
    origin = sources[loaded.spec.panel.data].origin
    sample = loaded.spec.sample
    rules = bool(sample.years or sample.keep or sample.drop or sample.where)
    check_panel_columns(loaded, main, origin, duplicates=not rules)
    frame, log, rows = _sample_tracking_rows(loaded, main)
    if rules:
        check_unique(loaded, frame, origin, sampled=True)
    context = Context(loaded, plan, sources, frame, log, source_rows=rows)
    context.panel_warnings += [f"data: {w}" for w in _record_warnings(caught)]
    context.panel_warnings += _unit_id_warnings(context)
    check_columns(context, dry_run=True)
    check_panel(context)
    _screen_all(context)
    return plan, context


def check_panel(context: Context) -> None:
    """The data stage of ``validate`` and ``run``: the sample as a Panel, as every step sees it.

    Builds the :class:`~didstudy.data.panel.Panel` of the sample (the checks of ``didstudy
    panel``, with its messages), requires an estimable treatment
    (:meth:`~didstudy.data.panel.Panel.require_estimable`) and the comparison units each
    estimation step needs, so that ``validate`` fails wherever ``run`` would at this stage.
    """
    origin = context.sources[context.loaded.spec.panel.data].origin
    try:
        context.panel().require_estimable()
    except DidstudyError as exc:
        lines = context.sources[context.loaded.spec.panel.data].frame.attrs.get("file_lines")
        rows = context.source_rows
        if lines is not None and rows is not None and len(rows) == len(context.frame):
            located = (int(lines[r]) for r in rows)
            rows_to_file_lines(exc, dict(zip(context.frame.index, located, strict=True)))
        if exc.file is None:
            exc.file = origin
            exc.args = (exc.render(),)
        raise
    for step in context.plan.steps:
        if step.kind.role == "estimate" and step.available:
            _requires_controls(context, step)


def _screen_all(context: Context) -> None:
    """Screen every estimation step's rows now, so ``validate`` refuses what ``run`` would
    (overflow, text in number columns, constant outcome) and can print what is left out."""
    for step in context.plan.steps:
        if step.kind.role == "estimate" and step.available:
            try:
                context.screen_notes[step.name] = _screen(context, step)
            except DidstudyError as exc:
                raise _wrap(context, step, exc) from None


_ROW = "\0didstudy-source-row"


def _sample_tracking_rows(loaded: LoadedSpec, main: pd.DataFrame) -> tuple[Any, Any, Any]:
    """:func:`apply_sample`, also returning each kept row's position in the source frame."""
    position = pd.Series(range(len(main)), index=main.index, name=_ROW)
    tracked = pd.concat([main, position], axis=1)
    frame, log = apply_sample(loaded, tracked)
    rows = frame.pop(_ROW).to_numpy()
    return frame, log, rows


def _unit_id_warnings(context: Context) -> list[str]:
    """A warning when unit ids differ only invisibly (``Alabama`` vs ``Alabama ``)."""
    from didstudy.data.units import near_duplicate_ids, near_duplicate_message

    spec = context.loaded.spec.panel
    source = context.sources[spec.data]
    if spec.unit not in source.frame.columns:
        return []
    groups = near_duplicate_ids(source.frame[spec.unit].tolist())
    if not groups:
        return []
    return [f"data: {near_duplicate_message(spec.unit, groups, source.origin)}"]


_NUMERIC_ROLES = ("y", "controls", "treat", "weights", "covariates", "mediators", "outcome")


def _screen(context: Context, step: PlannedStep) -> tuple[str, ...]:
    """Notes on the rows an estimation step leaves out (:mod:`didstudy.study.dropped`)."""
    from didstudy.study.dropped import screen_rows

    spec = context.loaded.spec.panel
    numeric = [n for p in _NUMERIC_ROLES for n in (_as_names(step.arguments.get(p)) or [])]
    factors = [spec.unit, spec.time, *(_as_names(step.arguments.get("cluster")) or [])]
    source = context.sources[spec.data]
    lines = source.frame.attrs.get("file_lines")
    rows = context.source_rows
    located = None
    if lines is not None and rows is not None and len(rows) == len(context.frame):
        located = [int(lines[r]) for r in rows]
    y = step.arguments.get("y")
    outcome = y if isinstance(y, str) else None
    return screen_rows(context.frame, numeric, factors, outcome, located, source.origin)


def _as_names(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return [str(v) for v in value.values()]
    return None


def _step_frame(context: Context, step: PlannedStep) -> pd.DataFrame:
    if step.kind.role == "derive" and step.spec.data:
        return context.sources[step.spec.data].frame
    return context.frame


def _check_step_columns(context: Context, step: PlannedStep, columns: set[str]) -> None:
    if step.kind.role != "derive":
        columns = columns | PANEL_COLUMNS
    for parameter, value in step.arguments.items():
        if parameter not in step.kind.column_parameters:
            continue
        for name in _as_names(value) or []:
            if name not in columns:
                near = closest(name, sorted(columns))
                raise context.loaded.error(
                    f"step '{step.name}' ({step.kind.kind}): column '{name}' is not in the data",
                    ("steps", step.index, parameter),
                    fix=f"did you mean '{near}'?" if near else "name a column of the data",
                )


def check_columns(context: Context, *, dry_run: bool) -> None:
    """Every column a step names exists (derived columns count from the step that adds them)."""
    added: set[str] = set()
    for step in context.plan.steps:
        base = set(map(str, _step_frame(context, step).columns))
        if step.kind.role != "derive" or not step.spec.data:
            base |= added
        _check_step_columns(context, step, base)
        if step.kind.role == "derive" and step.spec.into:
            added.add(step.spec.into)
            if not step.available:
                context.missing_columns[step.spec.into] = step.name
        if not dry_run:
            break


def _requires_controls(context: Context, step: PlannedStep) -> None:
    """Raise when the step needs comparison units the sample's Panel does not have."""
    needed = step.kind.requires_controls
    if needed is None:
        return
    cohorts = context.panel().unit_cohorts()
    if (~np.isfinite(cohorts)).any():
        return
    if needed == "not_yet" and cohorts.nunique() < 2:
        raise context.loaded.error(
            f"step '{step.name}' ({step.kind.kind}) needs untreated comparison units: there "
            "are no never-treated units and only one adoption cohort",
            ("steps", step.index, "kind"),
            fix="keep never-treated units or several adoption cohorts in the sample",
        )
    if needed == "never":
        raise context.loaded.error(
            f"step '{step.name}' ({step.kind.kind}) needs never-treated units, but every unit "
            "in the sample is treated at some point",
            ("steps", step.index, "kind"),
            fix="keep never-treated units in the sample (check [sample]) or drop this step",
        )


def _derive(context: Context, step: PlannedStep, result: Any) -> None:
    """Merge a derive step's output into the panel frame as ``step.spec.into``."""
    from didstudy.study.derive import merge_derived

    context.frame = merge_derived(context.loaded, context.frame, step, result)


def _call(context: Context, step: PlannedStep) -> Any:
    assert step.function is not None
    arguments = dict(step.arguments)
    if step.kind.role == "derive":
        from didstudy.study.derive import derive_input

        data: Any = derive_input(context.loaded, context.frame, _step_frame(context, step), step)
    else:
        data = context.panel()
    if step.kind.data_parameter is not None:
        arguments[step.kind.data_parameter] = data
    if step.kind.result_parameters:
        from didstudy.study.render import _resolve

        for parameter in step.kind.result_parameters:
            if parameter in arguments:
                arguments[parameter] = _resolve(context, step, parameter, arguments[parameter])
    return step.function(**arguments)


def _record_warnings(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in caught:
        seen.setdefault(f"{item.category.__name__}: {item.message}", None)
    return tuple(seen)


def _internal_note(context: Context, step: PlannedStep) -> str:
    return (
        f"raised by step '{step.name}' ({step.kind.kind} -> {step.target}) of "
        f"{context.loaded.where('steps', step.index)}; the previous report was left untouched. "
        "This is a bug in didstudy or an unsupported input: please report it."
    )


def _wrap(context: Context, step: PlannedStep, exc: DidstudyError) -> DidstudyError:
    return type(exc)(
        f"step '{step.name}' ({step.kind.kind}, "
        f"{context.loaded.where('steps', step.index)}): {exc.message}",
        file=exc.file,
        column=exc.column,
        rows=exc.rows,
        fix=exc.fix,
    )


def _render_key(context: Context, step: PlannedStep, lang: str) -> str:
    """Cache key of a render step: its spec, the language, the keys of the results it names, the
    study's labels and formats, and the data when the function receives the data."""
    # the step's name and title name its files and caption: two otherwise identical render steps
    # must not share an entry (the second would write the first one's files)
    study = context.loaded.spec.study
    parts = [step.name, repr(step.spec.title), lang, repr(context.loaded.spec.variables),
             repr(study.formats), repr(study.figure_formats), repr(study.page)]  # fmt: skip
    for name in sorted(_referenced_steps(step)):
        parts.append(f"{name}={context.result_keys.get(name, '')}")
    if step.kind.data_parameter is not None:
        parts.append(frame_hash(context.frame))
    data_hash = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return cache_key(step.fingerprint(), data_hash)


def _run_render(
    context: Context,
    step: PlannedStep,
    stage: Path,
    lang: str,
    artifacts: list[Any],
    cache: StepCache,
) -> StepRecord:
    from didstudy.study.render import load_artifact, pack_artifact, render_step

    started = time.perf_counter()
    key = _render_key(context, step, lang)
    packed = cache.get(key)
    if packed is not None:
        artifacts.append(load_artifact(packed, stage))
        return StepRecord(
            step.name, step.kind.kind, step.target, "cached", time.perf_counter() - started
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            artifact = render_step(context, step, stage, lang)
        except DidstudyError as exc:
            raise _wrap(context, step, exc) from None
        except Exception as exc:
            exc.add_note(_internal_note(context, step))
            raise
    artifacts.append(artifact)
    cache.put(key, pack_artifact(artifact, stage))
    return StepRecord(
        step.name, step.kind.kind, step.target, "ok", time.perf_counter() - started,
        warnings=_record_warnings(caught),
    )  # fmt: skip


def _unavailable_because(context: Context, step: PlannedStep) -> str:
    """Why a step cannot run in this installation ("" when it can)."""
    if not step.available:
        return f"step kind '{step.kind.kind}' is unavailable: {step.reason}"
    for parameter, value in step.arguments.items():
        if parameter in step.kind.column_parameters:
            for name in _as_names(value) or []:
                if name in context.missing_columns:
                    source = context.missing_columns[name]
                    return f"needs column '{name}' from the unavailable step '{source}'"
    for name in sorted(_referenced_steps(step)):
        if name in context.skipped:
            return f"needs the result of the unavailable step '{name}'"
    return ""


def _run_step(
    context: Context,
    step: PlannedStep,
    cache: StepCache,
    stage: Path,
    lang: str,
    artifacts: list[Any],
) -> StepRecord:
    seed = step.arguments.get("seed")
    reason = _unavailable_because(context, step)
    if reason:
        context.skipped.add(step.name)
        return StepRecord(
            step.name, step.kind.kind, step.target, "unavailable", 0.0, seed=seed, message=reason
        )
    if step.kind.role == "render":
        _check_step_columns(context, step, set(map(str, context.frame.columns)))
        return _run_render(context, step, stage, lang, artifacts, cache)
    _check_step_columns(
        context,
        step,
        set(map(str, _step_frame(context, step).columns)),
    )
    _requires_controls(context, step)
    data_hash = frame_hash(_step_frame(context, step))
    if step.kind.role == "derive" and step.spec.data:
        data_hash = hashlib.sha256(
            (data_hash + frame_hash(context.frame[[context.loaded.spec.panel.unit]])).encode()
        ).hexdigest()
    notes: tuple[str, ...] = ()
    if step.kind.role == "estimate":
        try:
            notes = _screen(context, step)
        except DidstudyError as exc:
            raise _wrap(context, step, exc) from None
    referenced = sorted(_referenced_steps(step))
    if referenced:  # an inference step depends on the results it takes, not only the data
        parts = [data_hash, *(f"{n}={context.result_keys.get(n, '')}" for n in referenced)]
        data_hash = hashlib.sha256("|".join(parts).encode()).hexdigest()
    data_hash = _with_input_files(context, step, data_hash)
    key = cache_key(step.fingerprint(), data_hash)
    started = time.perf_counter()
    result = cache.get(key)
    status = "cached"
    caught: list[warnings.WarningMessage] = []
    if result is None:
        status = "ok"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = _call(context, step)
            except DidstudyError as exc:
                raise _wrap(context, step, exc) from None
            except ModuleNotFoundError as exc:
                if not (exc.name or "").startswith("didstudy"):
                    raise
                context.skipped.add(step.name)
                if step.kind.role == "derive" and step.spec.into:
                    context.missing_columns[step.spec.into] = step.name
                return StepRecord(
                    step.name, step.kind.kind, step.target, "unavailable", 0.0, seed=seed,
                    message=f"step kind '{step.kind.kind}' is unavailable: {exc}",
                )  # fmt: skip
            except Exception as exc:
                exc.add_note(_internal_note(context, step))
                raise
        cache.put(key, result)
    context.results[step.name] = result
    context.result_keys[step.name] = key
    if step.kind.role == "estimate":
        from didstudy.study.dropped import degenerate_notes

        notes = (*notes, *degenerate_notes(result))
    if step.kind.role == "derive":
        _derive(context, step, result)
    seconds = time.perf_counter() - started
    return StepRecord(
        step.name, step.kind.kind, step.target, status, seconds, data_hash, seed,
        (*notes, *_record_warnings(caught)),
    )  # fmt: skip


def _with_input_files(context: Context, step: PlannedStep, data_hash: str) -> str:
    """Mix the content of the files a step reads (its function's ``input_digest``) into the
    step's data hash, so that file-reading steps are cached by content."""
    digest = getattr(step.function, "input_digest", None)
    if not callable(digest):
        return data_hash
    try:
        files = str(digest(step.arguments))
    except DidstudyError as exc:
        raise _wrap(context, step, exc) from None
    return hashlib.sha256((data_hash + files).encode("utf-8")).hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "didstudy": code_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _result_dict(result: Any) -> Any:
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return {"repr": type(result).__name__}


def results_document(context: Context, records: tuple[StepRecord, ...]) -> dict[str, Any]:
    """The content of ``results.json``: every estimate of every step under its step name."""
    meta = context.loaded.spec.study
    steps: dict[str, Any] = {}
    for record in records:
        entry: dict[str, Any] = {"kind": record.kind, "status": record.status}
        if record.name in context.results:
            entry["result"] = _result_dict(context.results[record.name])
        elif record.status == "unavailable":
            entry["message"] = record.message
        else:
            continue
        steps[record.name] = entry
    for name in steps:
        if steps[name]["status"] == "cached":
            steps[name]["status"] = "ok"
    truth = {
        name: source.frame.attrs["truth"]
        for name, source in sorted(context.sources.items())
        if source.simulated and isinstance(source.frame.attrs.get("truth"), Mapping)
    }
    return {
        "study": {
            "title": meta.title,
            "simulated": meta.simulated,
            "note": meta.note,
            "seed": context.plan.seed,
            "truth": truth,
        },
        "sample": {
            "rules": [entry.to_dict() for entry in context.sample_log],
            "rows": len(context.frame),
            "units": int(context.frame[context.loaded.spec.panel.unit].nunique()),
        },
        "steps": steps,
    }


def manifest_document(
    context: Context,
    records: tuple[StepRecord, ...],
    seconds: float,
    cache: StepCache,
    extra_warnings: tuple[str, ...],
    lang: str,
) -> dict[str, Any]:
    """The content of ``manifest.json``: inputs' hashes, versions, seeds, timings, warnings."""
    loaded = context.loaded
    study_file: dict[str, Any] = {"path": str(loaded.path) if loaded.path else None}
    study_file["sha256"] = hashlib.sha256(loaded.text.encode("utf-8")).hexdigest()
    all_warnings = [
        w if w.startswith("data: ") else f"panel: {w}" for w in context.panel_warnings
    ] + list(extra_warnings)
    for record in records:
        all_warnings += [f"{record.name}: {w}" for w in record.warnings]
        if record.message:
            all_warnings.append(f"{record.name}: {record.message}")
    return {
        "study_file": study_file,
        "simulated": loaded.spec.study.simulated,
        "note": loaded.spec.study.note,
        "lang": lang,
        "seed": context.plan.seed,
        "overrides": dict(context.plan.overrides),
        "inputs": {
            name: {
                "origin": source.origin,
                "sha256": source.sha256,
                "rows": len(source.frame),
                "columns": len(source.frame.columns),
                "simulated": source.simulated,
                "encoding": source.frame.attrs.get("encoding"),
                "sheet": source.frame.attrs.get("sheet"),
            }
            for name, source in context.sources.items()
        },
        "versions": _versions(),
        "steps": [record.to_dict() for record in records],
        "seconds_total": round(seconds, 3),
        "cache": {"hits": cache.hits, "misses": cache.misses},
        "warnings": all_warnings,
    }


def _protected(context: Context) -> tuple[Path, ...]:
    """The study file and its data files: ``--out`` may neither be nor hold one of them."""
    paths = [context.loaded.path] if context.loaded.path is not None else []
    paths += [Path(s.origin) for s in context.sources.values() if Path(s.origin).exists()]
    return tuple(Path(p).absolute() for p in paths)


def run_study(
    study: str | Path | LoadedSpec,
    out: str | Path = "report",
    *,
    lang: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    strict: bool = False,
    formats: tuple[str, ...] | None = None,
) -> StudyOutcome:
    """Run a study file end to end and write its report to ``out`` atomically.

    Parameters
    ----------
    study
        Path of the TOML study file (or an already validated :class:`LoadedSpec`).
    out
        Report directory. It is replaced only when the whole run succeeded; an existing
        non-empty directory that is not a didstudy report is never replaced.
    lang
        ``"zh"`` or ``"en"``; default: the study file's ``[study] lang``.
    overrides
        Keyword arguments applied to every step whose function accepts them (e.g. ``reps``).
    progress
        Called with a :class:`ProgressEvent` before and after every step.
    cache
        Reuse step results whose code, arguments and data are unchanged.
    cache_dir
        Cache directory (default ``<out>/.cache``, carried over between runs).
    strict
        Fail (instead of skipping with a warning) when a step kind is unavailable.
    formats
        Table formats to write (default: the study file's ``[study] formats``).

    Returns
    -------
    StudyOutcome

    Examples
    --------
    >>> import didstudy as ds
    >>> outcome = ds.run_study("study.toml", "report")  # doctest: +SKIP
    >>> [record.status for record in outcome.records]  # doctest: +SKIP
    ['ok', 'ok', 'cached']
    """
    started = time.perf_counter()
    if formats is not None:
        loaded_spec = study if isinstance(study, LoadedSpec) else load_spec(study)
        allowed = get_args(TableFormat)
        unknown = [f for f in formats if f not in allowed]
        if unknown:
            raise SpecError(
                f"unknown table format(s) {', '.join(map(repr, unknown))}",
                fix=f"use some of {', '.join(allowed)}",
            )
        meta = loaded_spec.spec.study.model_copy(update={"formats": tuple(formats)})
        study = LoadedSpec(
            loaded_spec.spec.model_copy(update={"study": meta}), loaded_spec.path, loaded_spec.text
        )
    plan, context = prepare(study, overrides, lang)
    loaded = context.loaded
    if strict and plan.unavailable:
        first = plan.unavailable[0]
        raise loaded.error(
            f"step '{first.name}': step kind '{first.kind.kind}' is unavailable: {first.reason}",
            ("steps", first.index, "kind"),
            fix="install the missing module or remove the step",
        )
    language = lang or loaded.spec.study.lang
    if language not in ("zh", "en"):
        raise SpecError(f"unknown language {language!r}", fix="use 'zh' or 'en'")
    out_path = Path(out).absolute()
    records: list[StepRecord] = []
    total = len(plan.steps)
    with staging_directory(out_path, protect=_protected(context)) as stage:
        if cache_dir is not None:
            step_cache = StepCache(Path(cache_dir), read=cache)
        else:
            step_cache = StepCache(stage / ".cache", (out_path / ".cache",), read=cache)
        artifacts: list[Any] = []
        for number, step in enumerate(plan.steps):
            if progress:
                progress(ProgressEvent("start", number, total, step.name, step.kind.kind))
            record = _run_step(context, step, step_cache, stage, language, artifacts)
            records.append(record)
            if progress:
                progress(
                    ProgressEvent(
                        "done", number, total, step.name, step.kind.kind, record.status,
                        (*record.warnings, *((record.message,) if record.message else ())),
                    )
                )  # fmt: skip
        from didstudy.study.render import render_report

        done = tuple(records)
        results = results_document(context, done)
        write_json(stage / "results.json", results)
        seconds = time.perf_counter() - started
        manifest = manifest_document(context, done, seconds, step_cache, (), language)
        render_warnings = render_report(context, done, artifacts, stage, language, manifest)
        if render_warnings:
            manifest["warnings"] = [*manifest["warnings"], *render_warnings]
        manifest["seconds_total"] = round(time.perf_counter() - started, 3)
        write_json(stage / "manifest.json", manifest)
        files = tuple(
            sorted(
                str(p.relative_to(stage))
                for p in stage.rglob("*")
                if p.is_file() and ".cache" not in p.parts
            )
        )
    return StudyOutcome(
        out_path,
        tuple(records),
        results,
        files,
        time.perf_counter() - started,
        tuple(context.sample_log),
        tuple(manifest["warnings"]),
    )
