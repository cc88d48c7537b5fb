"""The declarative study file: TOML read with :mod:`tomllib`, validated by pydantic.

A study file names its data sources, the panel's column roles, labels, sample rules, the language,
the seed and an ordered list of steps. Every step is ``kind`` + ``name`` + the keyword arguments
of the public function the kind stands for (``didstudy.study.registry``), so a study file and a
Python script run the same code. Errors point at the key and its line in the file and suggest
the closest valid key (docs/decisions/0006-study-spec.md).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from didstudy.errors import SpecError

__all__ = [
    "BaselineSpec",
    "DataSource",
    "PanelSpec",
    "SampleSpec",
    "StepSpec",
    "StudyMeta",
    "StudySpec",
    "VariableSpec",
    "closest",
    "load_spec",
    "parse_spec",
    "spec_json_schema",
]

Lang = Literal["zh", "en"]
TableFormat = Literal["md", "csv", "tex", "xlsx", "docx", "html"]
FigureFormat = Literal["png", "svg", "pdf"]
_FIX_MARK = " || fix: "
STEP_RUNNER_KEYS: frozenset[str] = frozenset(
    {"kind", "name", "data", "into", "title", "enabled", "args"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageOptions(_Strict):
    """``[study.page]``: the page tables are set on (``didstudy.report.tables.layout``).

    ``paper`` defaults to A4 for Chinese studies and Letter for English ones; ``font_size`` to
    10.5 pt (五号) for Chinese and 10 pt for English; ``fit`` is ``auto`` (wrap long labels,
    shrink, split into panels, resize), ``shrink``, ``split``, ``resize`` or ``none``.
    """

    paper: Literal["a4", "letter"] | None = None
    landscape: bool = False
    font_size: float | None = Field(default=None, ge=8, le=14)
    margin_mm: float = Field(default=25.0, ge=5, le=60)
    fit: Literal["auto", "shrink", "split", "resize", "none"] = "auto"


class StudyMeta(_Strict):
    """``[study]``: title, language, seed and whether the data are simulated.

    ``seed`` drives every step that takes one: each such step receives the study seed itself
    unless it sets its own. Without a seed the run draws one (decision record 0022) and records
    it in ``results.json`` and ``manifest.json``; writing it here reproduces the run.
    ``sensitivity`` (default true) adds, after every event study (TWFE; Sun–Abraham, two-stage
    and stacked with a ``window``), its HonestDiD analysis, pre-trend power, sensitivity table
    and figure (decisions 0052, 0055); ``false`` turns them off.
    """

    title: str = "didstudy study"
    lang: Lang = "en"
    seed: int | None = None
    simulated: bool = False
    note: str = ""
    formats: tuple[TableFormat, ...] = ("md", "csv", "tex", "xlsx", "docx")
    sensitivity: bool = True
    figure_formats: tuple[FigureFormat, ...] = ("png", "svg")
    page: PageOptions = Field(default_factory=PageOptions)


class DataSource(_Strict):
    """``[data.<name>]``: one of ``path`` (a file), ``dataset`` (bundled) or ``simulate``."""

    path: str | None = None
    dataset: str | None = None
    simulate: str | None = None
    table: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> DataSource:
        given = [k for k in ("path", "dataset", "simulate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'path', 'dataset' or 'simulate' "
                f"(got {', '.join(given) if given else 'none'})"
                f'{_FIX_MARK}keep one of path = "file.csv", dataset = "castle" or '
                'simulate = "reference_study"'
            )
        return self


class PanelSpec(_Strict):
    """``[panel]``: which source is the panel and the columns' roles."""

    data: str
    unit: str
    time: str
    treat: str | None = None
    cohort: str | None = None
    cluster: str | None = None
    weight: str | None = None
    allow_switching: bool = False

    @model_validator(mode="after")
    def _treatment(self) -> PanelSpec:
        if (self.treat is None) == (self.cohort is None):
            raise ValueError(
                "give exactly one of 'treat' (a 0/1 column) or 'cohort'"
                f"{_FIX_MARK}remove one of the two keys from [panel]"
            )
        return self


class BaselineSpec(_Strict):
    """``[baseline]``: the baseline model, written once (decision record 0021).

    Every estimation step whose function takes one of these arguments and does not give it
    itself receives the baseline's value; a step overrides only what differs (e.g.
    ``controls = []`` for a decomposition without controls). The fields are those of
    :class:`didstudy.Baseline`.
    """

    y: str | None = None
    treat: str | list[str] | None = None
    controls: list[str] | None = None
    fe: str | list[str] | None = None
    cluster: str | list[str] | None = None
    vcov: str | dict[str, str | list[str]] | None = None
    ssc: str | dict[str, str | bool | int] | None = None
    weights: str | None = None

    def arguments(self) -> dict[str, Any]:
        """The fields that are set, as step keyword arguments."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class VariableSpec(_Strict):
    """``[variables.<column>]``: labels (zh/en) and a description."""

    label_en: str | None = None
    label_zh: str | None = None
    description: str | None = None


class SampleSpec(_Strict):
    """``[sample]``: rules applied, in this order, to the panel source before any step.

    ``years`` keeps an inclusive range of the time column; ``keep`` / ``drop`` map a column to a
    list of values; ``where`` holds expressions of a safe subset (comparisons, ``and``/``or``/
    ``not``, ``in`` lists, arithmetic; no calls, attributes or subscripts).
    """

    years: tuple[int, int] | None = None
    keep: dict[str, list[str | int | float | bool]] = Field(default_factory=dict)
    drop: dict[str, list[str | int | float | bool]] = Field(default_factory=dict)
    where: list[str] = Field(default_factory=list)


class StepSpec(BaseModel):
    """``[[steps]]``: ``kind``, ``name`` and the keyword arguments of the kind's function.

    Runner keys: ``data`` (source for derive steps), ``into`` (the column a derive step adds),
    ``title`` (caption) and ``enabled``. Everything else goes to the function and is checked
    against its signature when the plan is made. A function argument whose name is a runner key
    (e.g. the ``kind`` or ``name`` of a table function) goes in the ``args`` table:
    ``args = { kind = "baseline" }``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str
    name: str
    data: str | None = None
    into: str | None = None
    title: str | dict[str, str] | None = None
    enabled: bool = True
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("title")
    @classmethod
    def _title_languages(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"zh", "en"})
            if unknown or not value:
                raise ValueError(
                    f"a title per language takes the keys 'zh' and 'en', not {unknown or 'none'}"
                )
        return value

    def title_for(self, lang: str) -> str | None:
        """The caption in ``lang``: ``title`` is a string or ``{ zh = "...", en = "..." }``."""
        if isinstance(self.title, dict):
            return self.title.get(lang) or next(iter(self.title.values()), None)
        return self.title

    @property
    def arguments(self) -> dict[str, Any]:
        """The function's keyword arguments (everything but the runner keys, plus ``args``)."""
        return {**(self.model_extra or {}), **self.args}


class StudySpec(_Strict):
    """A whole study file."""

    study: StudyMeta = Field(default_factory=StudyMeta)
    data: dict[str, DataSource]
    panel: PanelSpec
    baseline: BaselineSpec = Field(default_factory=BaselineSpec)
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    sample: SampleSpec = Field(default_factory=SampleSpec)
    steps: list[StepSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with its origin: the file, its directory and its text (for line numbers)."""

    spec: StudySpec
    path: Path | None
    text: str

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def where(self, *key: str | int) -> str:
        """``"file 'x.toml', line 12"`` for a key path (or the nearest enclosing key found)."""
        line = key_line(self.text, key)
        name = str(self.path) if self.path is not None else "<study>"
        return f"{name}, line {line}" if line else name

    def error(self, message: str, key: Sequence[str | int], fix: str | None = None) -> SpecError:
        """A :class:`SpecError` located at ``key``."""
        return SpecError(f"{_dotted(key)}: {message}", file=self.where(*key), fix=fix)


def closest(word: str, options: Iterable[str]) -> str | None:
    """The closest valid name to ``word`` (difflib), or None."""
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


def _dotted(key: Sequence[str | int]) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def key_line(text: str, key: Sequence[str | int]) -> int | None:
    """Line number (1-based) of a key path in TOML text, or of its nearest enclosing key.

    The text is scanned line by line: table headers ``[a.b]`` and array-of-tables headers
    ``[[steps]]`` (counted, so ``("steps", 2, "y")`` is the ``y`` of the third ``[[steps]]``)
    set the prefix; ``key = value`` lines add the key. Inline tables are not descended into.
    """
    target = tuple(key)
    found: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    prefix: tuple[str | int, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                index = counts.get(parts, 0)
                counts[parts] = index + 1
                prefix = (*parts, index)
            else:
                prefix = parts
            found.setdefault(prefix, number)
            continue
        match = _KEY.match(line)
        if match and not line.lstrip().startswith("#"):
            found.setdefault((*prefix, *_split_key(match.group(1))), number)
    for size in range(len(target), 0, -1):
        if target[:size] in found:
            return found[target[:size]]
    return None


_MODELS: dict[str, type[BaseModel]] = {
    "": StudySpec,
    "study": StudyMeta,
    "data": DataSource,
    "panel": PanelSpec,
    "baseline": BaselineSpec,
    "variables": VariableSpec,
    "sample": SampleSpec,
}


def _model_at(loc: Sequence[str | int]) -> type[BaseModel]:
    """The model whose fields are valid at the parent of ``loc``."""
    parent = [p for p in loc[:-1] if isinstance(p, str)]
    if not parent:
        return StudySpec
    head = parent[0]
    if head in {"data", "variables"} and len(parent) >= 2:
        return _MODELS[head]
    return _MODELS.get(head, StudySpec)


def _pydantic_message(
    loaded_text: str, path: Path | None, exc: pydantic.ValidationError
) -> SpecError:
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc: tuple[str | int, ...] = tuple(err["loc"])
    kind = err["type"]
    key = loc[-1] if loc else ""
    fix: str | None = None
    if kind == "extra_forbidden" and isinstance(key, str):
        valid = list(_model_at(loc).model_fields)
        near = closest(key, valid)
        message = f"unknown key '{key}'"
        fix = f"did you mean '{near}'?" if near else f"valid keys here: {', '.join(sorted(valid))}"
    elif kind == "missing":
        message = f"required key '{key}' is missing"
        fix = f"add '{key} = ...' to the file"
    elif kind == "literal_error":
        message = f"{err['msg'].lower()} (got {err.get('input')!r})"
        fix = "use one of the allowed values"
    elif kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
        message, _, fix_text = message.partition(_FIX_MARK)
        fix = fix_text or "correct the value as the message says"
    else:
        message = f"{err['msg'].lower()} (got {err.get('input')!r})"
        fix = f"write a value of the expected type for '{key}'"
    line = key_line(loaded_text, loc)
    name = str(path) if path is not None else "<study>"
    where = f"{name}, line {line}" if line else name
    extra = len(exc.errors()) - 1
    if extra:
        message += f" ({extra} more problem{'s' if extra > 1 else ''} in the file)"
    return SpecError(f"{_dotted(loc) or 'study file'}: {message}", file=where, fix=fix)


def parse_spec(text: str, path: Path | None = None) -> LoadedSpec:
    """Parse and validate TOML text; raise :class:`SpecError` naming the key and its line."""
    from didstudy.study.limits import check_text

    name = str(path) if path is not None else "<study>"
    check_text(text, name)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"not valid TOML: {exc}", file=name, fix="fix the TOML syntax at that line"
        ) from None
    except RecursionError:
        raise SpecError(
            "tables or arrays are nested too deeply to read",
            file=name,
            fix="a study file needs a few levels of nesting at most; flatten the deep value",
        ) from None
    return parse_mapping(raw, text, path)


def parse_mapping(raw: Mapping[str, Any], text: str = "", path: Path | None = None) -> LoadedSpec:
    """Validate an already-parsed mapping (``text`` is only used to find line numbers)."""
    from didstudy.study.limits import check_file

    check_file(raw, lambda key: LoadedSpec(StudySpec.model_construct(), path, text).where(*key))
    try:
        spec = StudySpec.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _pydantic_message(text, path, exc) from None
    loaded = LoadedSpec(spec, path, text)
    _check_references(loaded)
    return loaded


def _check_references(loaded: LoadedSpec) -> None:
    spec = loaded.spec
    sources = list(spec.data)
    if spec.panel.data not in spec.data:
        near = closest(spec.panel.data, sources)
        raise loaded.error(
            f"data source '{spec.panel.data}' is not defined",
            ("panel", "data"),
            fix=f"did you mean '{near}'?" if near else f"define [data.{spec.panel.data}]",
        )
    seen: dict[str, int] = {}
    for index, step in enumerate(spec.steps):
        if step.name in seen:
            raise loaded.error(
                f"step name '{step.name}' is used twice "
                f"(steps {seen[step.name] + 1} and {index + 1})",
                ("steps", index, "name"),
                fix="give every step a unique name",
            )
        seen[step.name] = index
        if step.data is not None and step.data not in spec.data:
            near = closest(step.data, sources)
            raise loaded.error(
                f"data source '{step.data}' is not defined",
                ("steps", index, "data"),
                fix=f"did you mean '{near}'?" if near else f"define [data.{step.data}]",
            )
    if spec.sample.years is not None and spec.sample.years[0] > spec.sample.years[1]:
        raise loaded.error(
            f"year range {list(spec.sample.years)} is empty (first > last)",
            ("sample", "years"),
            fix="write years = [first, last] with first <= last",
        )


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate a study file."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(
            "study file not found", file=str(file), fix="check the path (or run 'didstudy demo')"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(
            "study file is not UTF-8 text", file=str(file), fix="save the TOML file as UTF-8"
        ) from None
    return parse_spec(text, file)


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema of the study file (``didstudy schema``)."""
    schema = StudySpec.model_json_schema()
    schema["title"] = "didstudy study file"
    schema["$comment"] = (
        "Each [[steps]] table takes kind, name and the keyword arguments of the public function "
        "of that kind (see 'didstudy validate' for the list of kinds)."
    )
    return schema
