"""The study-file reference of the user guide, generated from the code so it cannot drift.

:func:`study_file_reference` writes Markdown from three sources read at documentation build
time: the pydantic models of the study file (``[study]``, ``[data.*]``, ``[panel]``,
``[variables.*]``, ``[sample]``), the step registry (every ``kind``, its role and summary) and,
for every kind, the signature and NumPy docstring of the function it stands for (each argument's
type, default and meaning). Examples come from the bundled study files when they use the
argument, otherwise from the default value.
"""

from __future__ import annotations

import inspect
import re
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from didstudy.study.registry import REGISTRY, StepKind, resolve_function
from didstudy.study.spec import STEP_RUNNER_KEYS, StudySpec
from didstudy.study.toml_text import toml_key, toml_value

__all__ = ["ParameterDoc", "parameter_docs", "study_file_reference"]

_SECTION = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}$", re.M)
_ROLES = {
    "derive": "adds a column to the panel data",
    "estimate": "receives the Panel, returns a result",
    "render": "writes a table or a figure",
}
# meanings of the keys of the file's tables (a field without a pydantic description needs one
# here; tests/study/test_docgen.py fails when a new field has neither)
_KEY_MEANING: dict[str, str] = {
    "study.title": "Title of the report.",
    "study.lang": "Language of tables and figures (`--lang` overrides it).",
    "study.seed": "Seed of every random draw (placebo, matching, permutation tests).",
    "study.simulated": "The data are simulated: every output says so.",
    "study.note": "A note printed on the report and written to the manifest.",
    "study.formats": "Table formats written next to `report.html`.",
    "study.sensitivity": "Add after every event study (TWFE; Sun-Abraham, two-stage and stacked "
    "with a `window`) its HonestDiD analysis, pre-trend power, sensitivity table and figure "
    "(decision records 0052, 0055); `false` turns them off.",
    "study.figure_formats": "Figure formats written (`png`, `svg`, `pdf`); the PNG is always "
    "written for the HTML report (decision record 0080).",
    "study.page": "The page tables are set on, `[study.page]`: `paper` (`a4`/`letter`), "
    "`landscape`, `font_size` (8-14 pt), `margin_mm` (5-60) and `fit` (`auto`, `shrink`, "
    "`split`, `resize`, `none`); decision record 0080.",
    "baseline.y": "Outcome column of every estimation step that does not set `y` "
    "(decision record 0021).",
    "baseline.treat": "Treatment column, or several, of every estimation step that does not "
    "set `treat`.",
    "baseline.controls": "Control columns (a step overrides them, e.g. `controls = []`).",
    "baseline.fe": 'Absorbed fixed effects: column names or interactions `"province^year"`.',
    "baseline.cluster": 'Cluster column(s): `"unit"`, `"unit+year"` or a list (two-way).',
    "baseline.vcov": 'Variance: `"iid"`, `"hc1"`, `"crv1"` or `{ crv1 = "a+b" }` '
    "(default: CRV1 on the cluster).",
    "baseline.ssc": 'Small-sample convention: `"fixest"` (default), `"stata"`/`"reghdfe"`, '
    '`"none"` or a table of fields (decision record 0001).',
    "baseline.weights": "Analytic weights column.",
    "data.path": "A data file (csv, tsv, xlsx, dta, parquet), relative to the study file.",
    "data.dataset": "A bundled dataset: `castle`, `mpdta` or `divorce`.",
    "data.simulate": "A simulated source: `reference_study` or `staggered`.",
    "data.table": "The table of a simulated source (`cities` or `counties`).",
    "data.encoding": "Text encoding of a csv file (default: detected, UTF-8 or GBK).",
    "data.sheet": "Excel sheet name or 0-based index (default: the first).",
    "panel.data": "The `[data.<name>]` source that is the panel.",
    "panel.unit": "Unit identifier column.",
    "panel.time": "Period column (integer years or periods).",
    "panel.treat": "0/1 treatment indicator column (give this or `cohort`).",
    "panel.cohort": "First treated period column; empty, 0 or a period after the sample "
    "(e.g. 9999) = never treated. The Panel derives `_treated`.",
    "panel.cluster": "Cluster column of the standard errors (default: the unit).",
    "panel.weight": "Observation weight column.",
    "panel.allow_switching": "Accept a 0/1 treatment that switches off again (non-absorbing; "
    "only `dcdh` estimates it, the other estimators refuse it and say so). Default false.",
    "variables.label_en": "English label of the column (or of a value used as a name).",
    "variables.label_zh": "Chinese label.",
    "variables.description": "Free text.",
    "sample.years": "Keep an inclusive range of the period column: `[first, last]`.",
    "sample.keep": "Keep rows whose column holds one of the values: `{ column = [values] }`.",
    "sample.drop": "Drop rows whose column holds one of the values.",
    "sample.where": "Keep rows where every expression is true (comparisons, and/or/not, in).",
}
# illustrative values for arguments no bundled study file uses
_EXAMPLE: dict[str, Any] = {
    "fe": ["code", "year"], "cluster": "code", "weights": "population", "vcov": "hc1",
    "ssc": "stata", "unit": "code", "time": "year", "caption": "Baseline estimates",
    "title": "Event study", "labels": {"indg": "INDG"}, "notes": ["SE in parentheses."],
    "figsize": [6.4, 4.0], "treat": "policy", "y": "indg", "mediators": ["innoap"],
    "covariates": ["ln_gdp"], "weight": "population", "group": "city_code", "actual": 0.01,
    "name": "main", "number": 3, "statistic": "se", "stars": [[0.01, "***"], [0.05, "**"]],
    "groups": [["Baseline", 2]], "extra_rows": [["City FE", ["Yes", "Yes"]]],
    "note": "Clustered by city.", "dep_var": "indg", "keep": ["policy"],
    "controls_row": True, "fixed_effects": {"City": True, "Year": True}, "level": 0.95,
    "caliper": 0.05, "n_treated": 28, "chunk_size": 1000, "timing_range": [2005, 2015],
    "show_names": True, "rule_before_summary": True, "thousands": ",", "vline": "between",
    "time_label": "Year", "split": "resource_group", "column": "code", "by": "year",
    "sector": "sector", "value": "light", "total": "emp_total", "cohort": "first_year",
    "seed": 1, "years": {"F15_night": 2005}, "vintage": 2010, "nodata": [255],
    "correction": "threshold", "correction_params": {"minimum": 7},
    "estimators": ["twfe", "sun_abraham", "imputation"], "horizons": [0, 1, 2, 3],
    "power": "event_study_pretrend_power", "mbar": [0.5, 1.0, 1.5, 2.0],
    "m": [0.0, 0.01, 0.02], "slope": 0.01, "delta": [-0.02, 0.0, 0.01, 0.02],
    "by_year": True, "k": 1, "std_caliper": True, "replace": False, "common_support": "both",
    "m_order": "random", "distance": "logit", "sd_denominator": "pooled",
    "options": {"drop": ["ln_gdp"]}, "hypothesis": "policy", "bootstrap_cluster": "code",
    "regression_weights": "population", "balance_e": 3, "overlay_cache": False,
    "estimator_args": {"fe": "unit", "horizons": [0, 1, 2, 3]},
}  # fmt: skip
# the same argument name with another meaning in one kind: {kind: {argument: value}}
_KIND_EXAMPLE: dict[str, dict[str, Any]] = {
    "honest_did": {"l_vec": "average"},
    "pretrend_power": {"l_vec": [0.5, 0.5]},
}
# arguments that take a Python object a study file cannot write: what the file writes instead
_PYTHON_ONLY: dict[str, str] = {
    "spec": "(Python only: a study file writes the `[baseline]` table)",
    "matching": "(Python only: a study file writes the matching keywords of this table)",
}


def _tables() -> list[tuple[str, str, type[BaseModel]]]:
    """``(header, key, model)`` for every table of the study file (read from StudySpec)."""
    out = []
    for key, info in StudySpec.model_fields.items():
        annotation = info.annotation
        args = typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.append((f"[{key}]", key, annotation))
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            suffix = "<column>" if key == "variables" else "<name>"
            out.append((f"[{key}.{suffix}]", key, args[-1]))
    return [t for t in out if t[1] != "steps"]


_RUNNER_MEANING = {
    "kind": "the step kind (one of the sections below)",
    "name": "unique name of the step; later steps refer to its result by this name",
    "data": "derive steps: the `[data.<name>]` source the function receives instead of the panel",
    "into": "derive steps: the panel column the step's output becomes",
    "title": 'caption: a string or `{ zh = "...", en = "..." }`',
    "enabled": "`false` keeps the step in the file without running it",
    "args": "arguments whose names collide with the keys above, "
    'e.g. `args = { kind = "baseline" }`',
}


# arguments many steps share, documented once: estimation arguments as in twfe's docstring
# (read at build time), presentation arguments here
_SHARED_FROM = ("didstudy.estimation.twfe", "twfe")
_SHARED: dict[str, str] = {
    "unit": "Unit column when the data are a DataFrame (a study passes the Panel).",
    "time": "Period column when the data are a DataFrame (a study passes the Panel).",
    "lang": "Language of labels: `zh` or `en` (a study passes `[study] lang` or `--lang`).",
    "labels": "Labels of variables by column name (a study passes its `[variables]` labels).",
    "caption": "Caption of the table (a study uses the step's `title`).",
    "number": 'Table number printed in the caption (e.g. `3` or `"5a"`).',
    "name": "File name of the output (default: the kind), or the result's column name.",
    "notes": "Lines printed under the table.",
    "digits": "Decimal places of the printed numbers.",
    "title": "Figure title (a study uses the step's `title`).",
    "figsize": "Figure size in inches (width, height).",
    "result": "The name of the earlier step whose result is drawn.",
}


def _shared_meanings() -> dict[str, str]:
    import importlib

    module, attribute = _SHARED_FROM
    function = getattr(importlib.import_module(module), attribute)
    found = parse_parameters(inspect.getdoc(function) or "")
    found.pop("data", None)
    return {**{k: f"{v} (as in `twfe`)" for k, v in found.items()}, **_SHARED}


@dataclass(frozen=True)
class ParameterDoc:
    """One argument of a step: what the reference prints about it."""

    name: str
    type: str
    default: str
    meaning: str
    example: str


def _sections(doc: str) -> dict[str, str]:
    """NumPy docstring sections by title (``"Parameters"`` -> its body)."""
    out: dict[str, str] = {}
    matches = list(_SECTION.finditer(doc))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(doc)
        out[match.group(1).strip()] = doc[match.end() : end].strip("\n")
    return out


def parse_parameters(doc: str) -> dict[str, str]:
    """``{parameter: description}`` from the Parameters section of a NumPy docstring.

    A header line ``a, b`` (optionally ``a, b : type``) documents several parameters at once.

    Examples
    --------
    >>> parse_parameters("Parameters\\n----------\\nx, y : int\\n    Two numbers.\\n")
    {'x': 'Two numbers.', 'y': 'Two numbers.'}
    """
    body = _sections(doc).get("Parameters", "")
    out: dict[str, str] = {}
    names: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        text = " ".join(line.strip() for line in lines).strip()
        for name in names:
            out[name.lstrip("*")] = text
        lines.clear()

    for line in body.splitlines():
        if line and not line[0].isspace():
            flush()
            names = [n.strip() for n in line.split(" : ")[0].split(",") if n.strip()]
        else:
            lines.append(line)
    flush()
    return out


def _examples() -> dict[str, dict[str, Any]]:
    """``{kind: {argument: value}}`` from the bundled study files (first use wins)."""
    folder = resources.files("didstudy.study.examples")
    texts = [folder.joinpath(n) for n in ("reference_study.toml", "reference_study_rasters.toml")]
    found: dict[str, dict[str, Any]] = {}
    for text in texts:
        raw = tomllib.loads(text.read_text(encoding="utf-8"))
        for step in raw.get("steps", []):
            args = {k: v for k, v in step.items() if k not in STEP_RUNNER_KEYS}
            args.update(step.get("args", {}))
            slot = found.setdefault(step["kind"], {})
            for key, value in args.items():
                slot.setdefault(key, value)
    return found


def _annotation(parameter: inspect.Parameter) -> str:
    annotation = parameter.annotation
    if annotation is inspect.Parameter.empty:
        return ""
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _default(parameter: inspect.Parameter) -> str:
    if parameter.default is inspect.Parameter.empty:
        return "required"
    try:
        return toml_value(parameter.default)
    except TypeError:
        return "none" if parameter.default is None else repr(parameter.default)


def _example(
    name: str,
    parameter: inspect.Parameter,
    examples: Mapping[str, Any],
    anywhere: Mapping[str, Any],
) -> str:
    """``key = value``: from this kind in a bundled study, else a non-trivial default, else the
    same argument of another kind, else an illustrative value ("" when none is known)."""
    default = parameter.default
    has_default = default is not inspect.Parameter.empty and default is not None
    candidates: list[Any] = []
    if name in examples:
        candidates.append(examples[name])
    if has_default and default not in ((), "", {}):
        candidates.append(default)
    candidates += [anywhere[name]] if name in anywhere else []
    candidates += [_EXAMPLE[name]] if _EXAMPLE.get(name) is not None else []
    candidates += [default] if has_default else []
    for value in candidates:
        try:
            return f"{toml_key(name)} = {toml_value(value)}"
        except TypeError:
            continue
    return ""


def parameter_docs(step: StepKind, function: Callable[..., Any]) -> list[ParameterDoc]:
    """The documented arguments of a step kind (those a study file may set)."""
    meanings = {**_shared_meanings(), **parse_parameters(inspect.getdoc(function) or "")}
    found = _examples()
    examples = {**_KIND_EXAMPLE.get(step.kind, {}), **found.get(step.kind, {})}
    anywhere: dict[str, Any] = {}
    for arguments in found.values():
        for key, value in arguments.items():
            anywhere.setdefault(key, value)
    out = []
    for name, parameter in inspect.signature(function).parameters.items():
        if name == step.data_parameter or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        example = _example(name, parameter, examples, anywhere)
        if name in step.injected and name not in examples:
            example = "(filled by the runner)"
        if name in _PYTHON_ONLY and name not in examples:
            example = _PYTHON_ONLY[name]
        if "Callable" in _annotation(parameter):
            example = "(Python only: a function cannot be written in a study file)"
        if name in STEP_RUNNER_KEYS and example:
            example = f"args = {{ {example} }}"
        meaning = _markdown(meanings.get(name, ""))
        kind = _annotation(parameter)
        out.append(ParameterDoc(name, kind, _default(parameter), meaning, example))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    if text.startswith("("):
        return _cell(text)
    return f"`{_cell(text)}`" if text else ""


def key_meaning(table: str, key: str, description: str | None) -> str:
    """The meaning of a key of the file: its pydantic description, else the table above."""
    return description or _KEY_MEANING.get(f"{table}.{key}", "")


def _model_rows(table: str, model: type[BaseModel]) -> Iterator[str]:
    yield "| key | type | default | meaning |"
    yield "|---|---|---|---|"
    for name, info in model.model_fields.items():
        if info.is_required():
            default = "required"
        else:
            value = info.get_default(call_default_factory=True)
            default = "none" if value is None else _toml_or_repr(value)
        kind = inspect.formatannotation(info.annotation) if info.annotation is not None else ""
        kind = kind.replace("typing.", "")
        meaning = _markdown(key_meaning(table, name, info.description))
        yield f"| `{name}` | {_code(kind)} | {_code(default)} | {_cell(meaning)} |"


def _toml_or_repr(value: Any) -> str:
    try:
        return toml_value(value)
    except TypeError:
        return repr(value)


_RST_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc):`~?([^`]+)`")


def _markdown(text: str) -> str:
    """NumPy/reST inline markup as Markdown: ``x`` and :func:`a.b` become `x` and `b`."""
    text = _RST_ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    return text.replace("``", "`")


def _kind_section(step: StepKind) -> Iterator[str]:
    function, target = resolve_function(step)
    yield f"### `{step.kind}`"
    yield ""
    yield f"{step.summary}. Role: **{step.role}** ({_ROLES[step.role]})."
    if function is None:
        yield ""
        yield f"*Unavailable in this installation:* {target}"
        return
    yield f" Function: `{target.replace(':', '.')}`."
    if step.injected:
        yield f" The runner fills {', '.join(f'`{p}`' for p in step.injected)} from `[study]`."
    yield ""
    yield "| argument | type | default | meaning | example |"
    yield "|---|---|---|---|---|"
    for doc in parameter_docs(step, function):
        yield (
            f"| `{doc.name}` | {_code(doc.type)} | {_code(doc.default)} | {_cell(doc.meaning)} "
            f"| {_code(doc.example)} |"
        )
    yield ""


def study_file_reference(kinds: Mapping[str, StepKind] | None = None) -> str:
    """The study-file reference page (Markdown).

    Parameters
    ----------
    kinds
        Step kinds to document (default: the whole registry).

    Returns
    -------
    str
        Markdown: the tables of the file, the runner keys of ``[[steps]]`` and one section per
        step kind with a row per argument (type, default, meaning, example).

    Examples
    --------
    >>> page = study_file_reference()
    >>> "### `twfe`" in page and "| `cluster` |" in page
    True
    """
    registry = REGISTRY if kinds is None else kinds
    lines = [
        "# Study-file reference",
        "",
        "Generated from the code when the documentation is built (`didstudy.study.docgen`): the",
        "tables of the file come from the pydantic models, the step kinds from the registry and",
        "each argument from the signature and docstring of the function the kind stands for.",
        "`didstudy schema` prints the same file format as JSON Schema.",
        "",
    ]
    for title, key, model in _tables():
        lines += [f"## `{title}`", "", _markdown((inspect.getdoc(model) or "").split("\n")[0]), ""]
        lines += [*_model_rows(key, model), ""]
    lines += ["## `[[steps]]`", "", "Keys the runner reads (the rest goes to the function):", ""]
    lines += ["| key | meaning |", "|---|---|"]
    lines += [f"| `{k}` | {_cell(v)} |" for k, v in _RUNNER_MEANING.items()]
    lines += ["", "## Step kinds", ""]
    for role in ("derive", "estimate", "render"):
        names = sorted(k for k, s in registry.items() if s.role == role)
        lines.append(f"- **{role}**: " + ", ".join(f"[`{k}`](#{k})" for k in names))
    lines.append("")
    for kind in sorted(registry):
        lines += list(_kind_section(registry[kind]))
    return "\n".join(lines) + "\n"


def write_reference(path: str | Path) -> Path:
    """Write :func:`study_file_reference` to ``path`` (for builds without the MkDocs hook)."""
    target = Path(path)
    target.write_text(study_file_reference(), encoding="utf-8")
    return target
