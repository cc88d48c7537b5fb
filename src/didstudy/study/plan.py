"""The plan: a validated, ordered list of steps with their functions and arguments.

:func:`make_plan` is pure apart from importing the step functions: it reads no data. Each step's
arguments are checked against the signature of its function (unknown keyword -> ``SpecError``
with the closest valid name and the line in the study file).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from didstudy.data.seed import resolve_seed
from didstudy.errors import SpecError
from didstudy.study.limits import (
    annotations_of,
    check_overrides,
    check_step_arguments,
    coerce_stars,
)
from didstudy.study.names import check_unique_outputs
from didstudy.study.registry import StepKind, resolve, resolve_function
from didstudy.study.spec import STEP_RUNNER_KEYS, LoadedSpec, StepSpec, closest

__all__ = ["Plan", "PlannedStep", "make_plan"]


@dataclass(frozen=True)
class PlannedStep:
    """One step of the plan.

    ``arguments`` are the keyword arguments the function will receive (the step's own, then the
    overrides the function accepts, then injected ones such as ``seed``); ``available`` is False
    when the function cannot be imported in this installation (``reason`` says why).
    """

    index: int
    spec: StepSpec
    kind: StepKind
    function: Callable[..., Any] | None
    target: str
    arguments: Mapping[str, Any]
    available: bool
    reason: str = ""
    title: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def fingerprint(self) -> str:
        """Stable hash of what defines this step (kind, function, arguments, runner keys)."""
        payload = {
            "kind": self.kind.kind,
            "target": self.target,
            "arguments": dict(self.arguments),
            "data": self.spec.data,
            "into": self.spec.into,
        }
        text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Plan:
    """The validated study: the spec and its steps in order."""

    loaded: LoadedSpec
    steps: tuple[PlannedStep, ...]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def unavailable(self) -> tuple[PlannedStep, ...]:
        return tuple(s for s in self.steps if not s.available)

    def describe(self) -> list[dict[str, Any]]:
        """One row per step (for ``didstudy validate``)."""
        return [
            {
                "step": s.index + 1,
                "name": s.name,
                "kind": s.kind.kind,
                "function": s.target,
                "status": "ok" if s.available else "unavailable",
                "arguments": dict(s.arguments),
                "reason": s.reason,
            }
            for s in self.steps
        ]


#: arguments a baseline-aware function (one with ``spec=``) needs from the step or [baseline]
BASELINE_REQUIRED: tuple[str, ...] = ("y", "treat")
#: kinds that read the treatment timing from the Panel and need only the outcome
BASELINE_REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "event_study": ("y",),
    "bacon": ("y",),
    "placebo": ("y",),
}


def _required(kind: StepKind, signature: inspect.Signature, name: str) -> bool:
    p = signature.parameters[name]
    if p.default is inspect.Parameter.empty:
        return True
    needed = BASELINE_REQUIRED_BY_KIND.get(kind.kind, BASELINE_REQUIRED)
    return "spec" in signature.parameters and name in needed and p.default is None


def baseline_arguments(
    loaded: LoadedSpec, step: StepSpec, kind: StepKind, function: Callable[..., Any]
) -> dict[str, Any]:
    """The ``[baseline]`` values an estimation step receives (those it does not give itself).

    Only arguments the step's function takes are filled; render and derive steps get none.
    """
    if kind.role != "estimate":
        return {}
    parameters = inspect.signature(function).parameters
    return {
        key: value
        for key, value in loaded.spec.baseline.arguments().items()
        if key in parameters and key not in step.arguments
    }


def _check_arguments(
    loaded: LoadedSpec,
    index: int,
    step: StepSpec,
    kind: StepKind,
    function: Callable[..., Any],
    provided: Mapping[str, Any],
) -> None:
    signature = inspect.signature(function)
    parameters = {
        name: p
        for name, p in signature.parameters.items()
        if name != kind.data_parameter
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    for key in step.arguments:
        if key in parameters or takes_any:
            continue
        near = closest(key, [*parameters, *STEP_RUNNER_KEYS])
        raise loaded.error(
            f"step '{step.name}' (kind {kind.kind}): unknown argument '{key}'",
            ("steps", index, key),
            fix=(f"did you mean '{near}'? " if near else "")
            + f"arguments of {kind.kind}: {', '.join(parameters)}",
        )
    for name in parameters:
        if _required(kind, signature, name) and name not in provided and name not in kind.injected:
            raise loaded.error(
                f"step '{step.name}' (kind {kind.kind}): required argument '{name}' is missing",
                ("steps", index),
                fix=f"add '{name} = ...' to this [[steps]] table"
                + (" or to [baseline]" if name in BASELINE_REQUIRED else ""),
            )


def _check_limits(
    loaded: LoadedSpec, index: int, step: StepSpec, kind: StepKind, function: Callable[..., Any]
) -> dict[str, Any]:
    """Strict types and bounds of the step's arguments (:mod:`didstudy.study.limits`); returns
    the arguments with study-file spellings turned into objects (``stars``)."""
    if step.data is not None and kind.role != "derive":
        raise loaded.error(
            f"step '{step.name}' (kind {kind.kind}): 'data' applies only to steps that derive a "
            "column; estimation and tables use the panel",
            ("steps", index, "data"),
            fix=f"remove data = {step.data!r} (or point [panel] data at that source)",
        )
    annotations = annotations_of(function)
    arguments = dict(step.arguments)
    where = lambda key: loaded.where(*key)  # noqa: E731 - a one-line adapter

    def is_stars(name: str, value: Any) -> bool:  # a stars table, not a plain list of levels
        levels = isinstance(value, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )
        return "Stars" in annotations.get(name, "") and not levels

    plain = {k: v for k, v in arguments.items() if not is_stars(k, v)}
    check_step_arguments(plain, annotations, lambda name: ("steps", index, name), where)
    for name, value in arguments.items():
        if is_stars(name, value):
            arguments[name] = coerce_stars(value, ("steps", index, name), where)
    return arguments


#: Steps added after every event study when ``[study] sensitivity`` is true (decision 0052):
#: (suffix, kind, title per language).
SENSITIVITY_STEPS: tuple[tuple[str, str, dict[str, str] | None], ...] = (
    ("honest", "honest_did", None),
    ("pretrend_power", "pretrend_power", None),
    (
        "honest_table", "honest_table",
        {"zh": "平行趋势偏离的敏感性分析（HonestDiD，{zh}）",
         "en": "Sensitivity to violations of parallel trends (HonestDiD, {en})"},
    ),
    (
        "honest_figure", "honest_figure",
        {"zh": "敏感性分析：稳健置信区间（{zh}）",
         "en": "Sensitivity: robust confidence intervals ({en})"},
    ),
)  # fmt: skip


#: Event-study kinds followed by the sensitivity steps, and whether only with a ``window``
#: (decision 0055): their reference period is the one before treatment; the robust ones span
#: every relative time without a window (ARP's vertex enumeration grows with post-periods).
#: Callaway-Sant'Anna steps with ``base_period = "universal"`` and ETWFE steps with
#: ``control_group = "never"`` get them too, HonestDiD on the relative times in
#: :data:`CS_SENSITIVITY_WINDOW` (a varying CS base is refused, as R HonestDiD does). Not here:
#: imputation (no reference period), ETWFE with not-yet comparisons (no pre-periods).
SENSITIVITY_KINDS: dict[str, bool] = {
    "event_study": False,
    "sun_abraham": True,
    "did2s": True,
    "stacked_did": True,
}
#: The event study each automatic sensitivity title names (two event studies in one report get
#: two sensitivity tables; the titles tell them apart).
SENSITIVITY_LABELS: dict[str, dict[str, str]] = {
    "event_study": {"zh": "TWFE 事件研究", "en": "TWFE event study"},
    "callaway_santanna": {"zh": "Callaway–Sant'Anna", "en": "Callaway-Sant'Anna"},
    "sun_abraham": {"zh": "Sun–Abraham", "en": "Sun-Abraham"},
    "did2s": {"zh": "两阶段 DiD", "en": "two-stage DiD"},
    "stacked_did": {"zh": "堆叠 DiD", "en": "stacked DiD"},
    "etwfe": {"zh": "ETWFE", "en": "ETWFE"},
}
#: Relative times of the automatic HonestDiD after a Callaway-Sant'Anna step (its step has no
#: window; the dynamic aggregation spans every relative time, too many post-periods for the
#: exact ARP test on long panels). An ``honest_did`` step written in the study sets its own.
CS_SENSITIVITY_WINDOW = (-5, 5)


def _gets_sensitivity(step: StepSpec) -> bool:
    if step.kind == "callaway_santanna":
        return step.arguments.get("base_period") == "universal"
    if step.kind == "etwfe":  # never-treated comparisons: leads relative to g - 1
        return step.arguments.get("control_group") == "never"
    needs_window = SENSITIVITY_KINDS.get(step.kind)
    return needs_window is not None and (not needs_window or "window" in step.arguments)


def _expanded_steps(loaded: LoadedSpec) -> list[tuple[int, StepSpec]]:
    """The study's steps, each event study followed by its sensitivity steps (unless off or
    already named in the study); added steps point at the event study's line.

    The estimates (HonestDiD, pre-trend power) follow the event study, so its figure can print
    the power note; the sensitivity table and figure follow the last step that presents the event
    study, so the report shows the event study before its sensitivity analysis.
    """
    steps = list(loaded.spec.steps)
    taken = {s.name for s in steps}
    expanded = {
        s.name
        for s in steps
        if _gets_sensitivity(s) and s.enabled and loaded.spec.study.sensitivity
    }
    after: dict[int, list[tuple[int, StepSpec]]] = {}
    for index, step in enumerate(steps):
        if step.name not in expanded:
            continue
        last = max(
            (i for i, s in enumerate(steps) if i > index and _presents(s, step.name)),
            default=index,
        )
        for suffix, kind, title in SENSITIVITY_STEPS:
            name = f"{step.name}_{suffix}"
            if name in taken:
                continue
            renders = kind in ("honest_table", "honest_figure")
            result = f"{step.name}_honest" if renders else step.name
            label = SENSITIVITY_LABELS.get(step.kind, {"zh": step.name, "en": step.name})
            titled = None if title is None else {k: v.format(**label) for k, v in title.items()}
            spec: dict[str, Any] = {"kind": kind, "name": name, "title": titled, "result": result}
            if kind == "honest_did" and step.kind in ("callaway_santanna", "etwfe"):
                spec["window"] = list(CS_SENSITIVITY_WINDOW)
            after.setdefault(last if renders else index, []).append(
                (index, StepSpec.model_validate(spec))
            )
    out: list[tuple[int, StepSpec]] = []
    seen: set[str] = set()
    for index, step in enumerate(steps):
        out.append((index, _with_power(step, seen, taken)))
        if step.name in expanded:
            seen.add(step.name)
        out.extend(after.get(index, []))
    return out


def _presents(step: StepSpec, result: str) -> bool:
    """Whether a step refers to the named result (``result = ...``, ``columns = [...]``, …)."""
    if step.kind in {k for _, k, _ in SENSITIVITY_STEPS}:
        return False
    return any(
        value == result or (isinstance(value, list | tuple) and result in value)
        for value in step.arguments.values()
    )


def _with_power(step: StepSpec, expanded: set[str], taken: set[str]) -> StepSpec:
    """An event-study figure of an expanded event study prints its pre-trend power note."""
    result = step.arguments.get("result")
    power = f"{result}_pretrend_power"
    if (
        step.kind != "event_study_figure"
        or result not in expanded
        or "power" in step.arguments
        or power in taken
    ):
        return step
    return StepSpec.model_validate({**step.model_dump(), "power": power})


def make_plan(
    loaded: LoadedSpec, overrides: Mapping[str, Any] | None = None, lang: str | None = None
) -> Plan:
    """Validate every step against its function's signature and order them as written.

    Parameters
    ----------
    loaded
        The validated study file.
    overrides
        Keyword arguments applied to every step whose function accepts them (e.g.
        ``{"reps": 50}`` to shorten placebo draws in a quick run).
    lang
        Language of the run (default: the study file's); picks each step's title when the
        title is given per language.
    """
    overrides = dict(overrides or {})
    check_overrides(overrides)
    language = lang or loaded.spec.study.lang
    seed = resolve_seed(loaded.spec.study.seed)
    planned: list[PlannedStep] = []
    for index, step in _expanded_steps(loaded):
        if not step.enabled:
            continue
        try:
            kind = resolve(step.kind)
        except SpecError as exc:
            raise loaded.error(exc.message, ("steps", index, "kind"), fix=exc.fix) from None
        if kind.role == "derive" and not step.into:
            raise loaded.error(
                f"step '{step.name}' (kind {kind.kind}) derives a column but has no 'into'",
                ("steps", index),
                fix='add into = "<new column name>" to this [[steps]] table',
            )
        function, target = resolve_function(kind)
        if function is None:
            planned.append(
                PlannedStep(
                    index,
                    step,
                    kind,
                    None,
                    kind.targets[0],
                    step.arguments,
                    False,
                    target,
                    step.title_for(language),
                )
            )
            continue
        provided = {**baseline_arguments(loaded, step, kind, function), **step.arguments}
        _check_arguments(loaded, index, step, kind, function, provided)
        arguments_checked = _check_limits(loaded, index, step, kind, function)
        parameters = inspect.signature(function).parameters
        arguments = {**baseline_arguments(loaded, step, kind, function), **arguments_checked}
        for key, value in overrides.items():
            if key in parameters and key != kind.data_parameter:
                arguments[key] = value
        if (
            kind.role == "estimate"
            and "name" in parameters
            and "name" not in arguments
            and step.title_for(language) is not None
        ):
            arguments["name"] = step.title_for(language)
        if "seed" in parameters and "seed" not in arguments:
            arguments["seed"] = seed
        if "base_dir" in kind.injected and "base_dir" not in arguments:
            arguments["base_dir"] = str(loaded.base_dir)
        planned.append(
            PlannedStep(
                index, step, kind, function, target, arguments, True, "", step.title_for(language)
            )
        )
    check_unique_outputs(
        ((s.index, s.name) for s in planned if s.kind.role == "render"),
        lambda key: loaded.where(*key),
    )
    return Plan(loaded, tuple(planned), overrides, seed)
