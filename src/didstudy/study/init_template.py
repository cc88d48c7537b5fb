"""The commented study file ``didstudy init`` writes: every step of the reference pipeline.

The template holds descriptive statistics, stepwise TWFE, the event study, the placebo test,
the Goodman-Bacon decomposition, PSM-DID, the robustness battery, heterogeneity and mechanisms
(placeholders the user must fill, written disabled), their tables and figures, and one disabled
step for every other estimator the registry holds (so estimators added later appear in new
templates without editing this module). Steps that need something the data lack (never-treated
units for PSM-DID, controls for stepwise TWFE) are written disabled with the reason.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from didstudy.errors import SwitchingTreatmentError
from didstudy.study.detect import Roles, detect_roles
from didstudy.study.registry import REGISTRY, resolve_function
from didstudy.study.toml_text import toml_key, toml_value

__all__ = ["TEMPLATE_KINDS", "InitOutcome", "InitSource", "init_study", "render_study"]

# kinds the template writes by hand; every other estimate kind gets a generated, disabled step
TEMPLATE_KINDS: frozenset[str] = frozenset(
    {
        "twfe", "stepwise", "event_study", "placebo", "bacon", "psm_did", "robustness_winsorized",
        "robustness_drop", "anticipation", "concurrent_policies", "heterogeneity", "mechanisms",
        "dagum_panel", "coagglomeration",
    }
)  # fmt: skip
EVENT_WINDOW_MAX = 5
WIDTH = 100
PLACEBO_REPS = 500
# fewer never-treated units than this separate perfectly in some years: match pooled
PSM_BY_YEAR_MIN = 20


@dataclass(frozen=True)
class InitSource:
    """Where the study file's panel comes from: a path (relative to the study file) or a
    bundled dataset, with the sheet/encoding options of :func:`didstudy.read_table`."""

    path: str | None = None
    dataset: str | None = None
    sheet: str | int | None = None
    encoding: str | None = None

    def table(self) -> dict[str, Any]:
        """The ``[data.panel]`` table."""
        items = {
            "path": self.path,
            "dataset": self.dataset,
            "sheet": self.sheet,
            "encoding": self.encoding,
        }
        return {k: v for k, v in items.items() if v is not None}


@dataclass(frozen=True)
class _Step:
    kind: str
    name: str
    args: Mapping[str, Any]
    comment: str = ""
    enabled: bool = True


def _lines(step: _Step) -> Iterator[str]:
    yield ""
    for line in step.comment.splitlines():
        yield from _comment(line)
    yield "[[steps]]"
    yield f"kind = {toml_value(step.kind)}"
    yield f"name = {toml_value(step.name)}"
    if not step.enabled:
        yield "enabled = false"
    for key, value in step.args.items():
        yield f"{toml_key(key)} = {toml_value(value)}"


def _comment(text: str, indent: str = "") -> list[str]:
    """``text`` as TOML comment lines of at most :data:`WIDTH` characters."""
    width = WIDTH - 2 - len(indent)
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
    return [f"# {indent if i else ''}{line}".rstrip() for i, line in enumerate(lines)]


def _treat_column(roles: Roles) -> str:
    return roles.treat if roles.treat is not None else "_treated"


def _window(roles: Roles) -> list[int]:
    reach = max(1, min(EVENT_WINDOW_MAX, int(roles.facts.get("periods", 2)) - 2))
    return [-reach, reach]


def _estimates(roles: Roles) -> list[_Step]:
    y, d, x = roles.outcome, _treat_column(roles), list(roles.controls)
    base = {"y": y, "treat": d, "controls": x}
    never = int(roles.facts.get("never_treated", 0)) > 0
    steps = [
        _Step("twfe", "twfe", {"y": y, "treat": d}, "---------------------------------------- "
              "Baseline: TWFE without controls (unit and period fixed effects, clustered by the "
              "panel's cluster column)"),
        _Step("stepwise", "baseline", base,
              "TWFE adding the controls one at a time (Table 3 of the reference study)",
              enabled=bool(x)) if x else _Step(
            "stepwise", "baseline", {**base, "controls": ["<control>"]},
            "TWFE adding controls one at a time: no time-varying numeric control was found; "
            "name some and enable", enabled=False),
        _Step("event_study", "event_study",
              {"y": y, "controls": x, "window": _window(roles), "base": -1,
               "control_group": "never" if never else "not_yet"},
              "---------------------------------------- Parallel trends: event study by "
              "relative period (endpoints binned)"),
        _Step("placebo", "placebo", {**base, "reps": PLACEBO_REPS},
              "Placebo: random pseudo-treated units and adoption years (randomisation inference)"),
        _Step("bacon", "bacon", {"y": y, "treat": d} | (
            {} if roles.facts.get("balanced", True) else {"balance": "largest"}),
              "Goodman-Bacon decomposition of the TWFE estimate (needs a balanced panel; "
              "balance = \"largest\" keeps the largest balanced subset)"),
    ]  # fmt: skip
    return steps + _robustness(roles, base, never)


def _robustness(roles: Roles, base: dict[str, Any], never: bool) -> list[_Step]:
    covariates = list(roles.covariates) or ["<covariate>"]
    psm_ok = never and bool(roles.covariates)
    why = "" if psm_ok else (" DISABLED: " + ("no never-treated units" if not never else
                             "no numeric covariate found; name some"))  # fmt: skip
    by_year = int(roles.facts.get("never_treated", 0)) >= PSM_BY_YEAR_MIN
    group = roles.groups[0] if roles.groups else "<column with a few groups>"
    mediators = list(roles.outcomes) or ["<mediator>"]
    return [
        _Step("psm_did", "psm_did", {**base, "covariates": covariates, "by_year": by_year},
              "---------------------------------------- Robustness\n"
              "PSM-DID: propensity-score matching, then TWFE on the matched sample; matching "
              f"year by year needs many controls (by_year = true from {PSM_BY_YEAR_MIN} "
              "never-treated units on)" + why, enabled=psm_ok),
        _Step("robustness_winsorized", "winsorized", base,
              "outcome and controls winsorised at 1%/99%"),
        _Step("anticipation", "anticipation", base, "adds a one-period lead of the treatment"),
        _Step("robustness_drop", "drop_units", {**base, "drop": {"special units": ["<unit id>"]}},
              f"PLACEHOLDER: drop some {roles.unit} values (e.g. municipalities), then enable",
              enabled=False),
        _Step("concurrent_policies", "concurrent",
              {**base, "policies": {"<policy label>": "<0/1 column>"}},
              "PLACEHOLDER: control for other policies (0/1 columns), then enable",
              enabled=False),
        _Step("heterogeneity", "heterogeneity", {**base, "by": {group: group}},
              "---------------------------------------- Heterogeneity and mechanisms\n"
              "PLACEHOLDER: split the sample by a column of groups (a label = a column), "
              "then enable", enabled=False),
        _Step("mechanisms", "mechanisms", {**base, "mediators": mediators},
              "PLACEHOLDER: choose the mediators (channel variables), then enable",
              enabled=False),
    ]  # fmt: skip


def _generated(roles: Roles) -> list[_Step]:
    """One disabled step per estimate kind the template does not write by hand."""
    fill: dict[str, Any] = {
        "y": roles.outcome,
        "treat": _treat_column(roles),
        "controls": list(roles.controls),
        "covariates": list(roles.covariates),
    }
    steps = []
    for kind, spec in sorted(REGISTRY.items()):
        if spec.role != "estimate" or kind in TEMPLATE_KINDS:
            continue
        function, _ = resolve_function(spec)
        if function is None:
            continue
        args = _known_arguments(function, fill, spec.data_parameter)
        steps.append(
            _Step(kind, kind, args, f"{spec.summary} (check the arguments, then enable)", False)
        )
    if steps:
        head = "---------------------------------------- Further estimators\n"
        steps[0] = _Step(steps[0].kind, steps[0].name, steps[0].args, head + steps[0].comment,
                         False)  # fmt: skip
    return steps


def _known_arguments(
    function: Any, fill: Mapping[str, Any], data_parameter: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == data_parameter or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        if name in fill:
            out[name] = fill[name]
        elif parameter.default is inspect.Parameter.empty and name != "seed":
            out[name] = f"<{name}>"
    return out


def _renders(roles: Roles, steps: Sequence[_Step]) -> list[_Step]:
    on = {s.name for s in steps if s.enabled}
    variables = [roles.outcome, _treat_column(roles), *roles.controls]
    robust = [n for n in ("psm_did", "winsorized", "anticipation") if n in on]
    baseline = ["twfe", "baseline"] if "baseline" in on else ["twfe"]
    out = [
        _Step("descriptive_table", "table_descriptive", {"variables": variables},
              "---------------------------------------- Tables and figures\n"
              "descriptive statistics (N, mean, SD, min, max)"),
        _Step("regression_table", "table_baseline", {"columns": baseline,
              "args": {"kind": "baseline"}}, "baseline TWFE, one column per model"),
        _Step("bacon_table", "table_bacon", {"summary": "bacon"}),
        _Step("placebo_table", "table_placebo", {"draws": "placebo"}),
        _Step("regression_table", "table_robustness", {"columns": robust,
              "args": {"kind": "robustness"}},
              "add the names of the robustness steps you enable to 'columns'"),
        _Step("event_study_figure", "figure_event_study", {"result": "event_study"}),
        _Step("placebo_figure", "figure_placebo", {"result": "placebo"}),
        _Step("bacon_figure", "figure_bacon", {"result": "bacon"}),
        _Step("rollout_figure", "figure_rollout", {"treat": _treat_column(roles)}),
    ]  # fmt: skip
    if "psm_did" in on:
        out.append(_Step("balance_table", "table_psm_balance", {"balance": "psm_did"}))
    return out


def _header(roles: Roles, source: InitSource, title: str, lang: str, seed: int) -> list[str]:
    origin = source.path or f"bundled dataset {source.dataset}"
    lines = [
        f"# Study file written by `didstudy init` from {origin}.",
        "# Check every line marked 'detected' and every PLACEHOLDER step, then:",
        "#   didstudy validate <this file>      (checks the file and the data, prints the plan)",
        "#   didstudy run <this file> --out report",
        "# Every [[steps]] table is `kind` + `name` + the keyword arguments of the function the",
        "# kind stands for (the study-file reference of the user guide lists them all).",
        "#",
        "# What was detected (explicit flags always win):",
        *[line for note in roles.notes for line in _comment("  " + note, "    ")],
        "",
        "[study]",
        f"title = {toml_value(title)}",
        f"lang = {toml_value(lang)}",
        f"seed = {seed}",
        'formats = ["md", "csv", "tex"]',
        "",
        "[data.panel]",
        *[f"{k} = {toml_value(v)}" for k, v in source.table().items()],
        "",
        "[panel]",
        'data = "panel"',
        f"unit = {toml_value(roles.unit)}{_mark(roles, 'unit')}",
        f"time = {toml_value(roles.time)}{_mark(roles, 'time')}",
    ]
    return lines + _treatment_lines(roles) + [f"cluster = {toml_value(roles.unit)}"]


def _mark(roles: Roles, role: str) -> str:
    return "  # detected" if role in roles.detected else ""


def _treatment_lines(roles: Roles) -> list[str]:
    if roles.treat is not None:
        return [f"treat = {toml_value(roles.treat)}{_mark(roles, 'treat')}  # 0/1 indicator"]
    facts = roles.facts
    coding = (
        f"never treated: {facts.get('never_zero', 0)} coded 0, {facts.get('never_empty', 0)} "
        f"empty, {facts.get('never_after_sample', 0)} after the sample (e.g. 9999); "
        f"{facts.get('always_treated', 0)} treated from the first period on"
    )
    return [
        *_comment(
            f"first treated period; {coding}. The Panel derives `_treated` = 1{{t >= cohort}}, "
            "which the steps below use as the treatment."
        ),
        f"cohort = {toml_value(roles.cohort)}{_mark(roles, 'cohort')}",
    ]


def _sample(roles: Roles) -> list[str]:
    if roles.split is None:
        return []
    column, value = roles.split
    return [
        "",
        f"# ({roles.unit}, {roles.time}) repeats across the values of '{column}': keep one",
        "[sample]",
        f"keep = {{ {toml_key(column)} = [{toml_value(value)}] }}",
    ]


def render_study(
    roles: Roles,
    source: InitSource,
    *,
    title: str = "didstudy study",
    lang: str = "en",
    seed: int = 1,
) -> str:
    """The text of a commented study file for a panel with the given roles.

    Parameters
    ----------
    roles
        From :func:`didstudy.study.detect.detect_roles`.
    source
        The panel file (its path relative to the study file) or bundled dataset.
    title, lang, seed
        The ``[study]`` table.

    Returns
    -------
    str
        TOML text that :func:`didstudy.study.spec.parse_spec` accepts.

    Examples
    --------
    >>> import didstudy as ds
    >>> from didstudy.study.detect import detect_roles
    >>> text = render_study(detect_roles(ds.load_dataset("castle")), InitSource(dataset="castle"))
    >>> 'kind = "placebo"' in text
    True
    """
    estimates = _estimates(roles)
    steps = [*estimates, *_renders(roles, estimates), *_generated(roles)]
    lines = _header(roles, source, title, lang, seed) + _sample(roles)
    lines.append("")
    lines.append(f"[variables.{toml_key(roles.outcome)}]")
    lines.append(f"label_en = {toml_value(roles.outcome)}")
    for step in steps:
        lines.extend(_lines(step))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class InitOutcome:
    """What ``init_study`` wrote: the study file, its text and the roles it used."""

    path: Any
    text: str
    roles: Roles
    steps: int
    disabled: int


def _source_for(data: str, out: Any, sheet: str | int | None, encoding: str | None) -> InitSource:
    import os
    from pathlib import Path

    from didstudy.study.sources import DATASETS

    file = Path(data)
    if not file.is_file() and data in DATASETS:
        return InitSource(dataset=data)
    relative = os.path.relpath(file.absolute(), Path(out).absolute().parent)
    return InitSource(path=Path(relative).as_posix(), sheet=sheet, encoding=encoding)


def init_study(
    data: str,
    out: Any = "study.toml",
    *,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
    cohort: str | None = None,
    y: str | None = None,
    controls: Sequence[str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    title: str | None = None,
    lang: str = "en",
    seed: int = 1,
    overwrite: bool = False,
) -> InitOutcome:
    """Read a panel file, propose its roles and write a study file that validates.

    Parameters
    ----------
    data
        A csv/tsv/xlsx/dta/parquet file, or the name of a bundled dataset
        (``castle``, ``mpdta``, ``divorce``).
    out
        The study file to write (its data path is written relative to it).
    unit, time, treat, cohort, y, controls
        Roles to use instead of detecting them (give at most one of ``treat``/``cohort``).
    sheet, encoding
        Passed to :func:`didstudy.read_table`.
    title, lang, seed
        The ``[study]`` table.
    overwrite
        Replace an existing ``out``.

    Returns
    -------
    InitOutcome

    Raises
    ------
    SpecError
        ``out`` exists (without ``overwrite``), or both ``treat`` and ``cohort`` are given.
    DataError
        The file cannot be read, a given column is missing, or a role cannot be detected.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> done = init_study("mpdta", folder / "study.toml")
    >>> done.roles.cohort
    'first.treat'
    """
    from pathlib import Path

    from didstudy.data.io import read_table
    from didstudy.errors import SpecError
    from didstudy.study.run import prepare
    from didstudy.study.spec import parse_spec

    target = Path(out)
    if target.exists() and not overwrite:
        raise SpecError(
            "the study file already exists", file=str(target), fix="choose another -o or --force"
        )
    if treat is not None and cohort is not None:
        raise SpecError("give --treat or --cohort, not both", fix="drop one of the two flags")
    source = _source_for(data, target, sheet, encoding)
    if source.dataset is not None:
        from didstudy.data.datasets import load_dataset

        frame = load_dataset(source.dataset)
    else:
        frame = read_table(data, sheet=sheet, encoding=encoding)
    try:
        roles = detect_roles(
            frame, file=str(data), unit=unit, time=time, treat=treat, cohort=cohort, y=y,
            controls=controls,
        )  # fmt: skip
        text = render_study(roles, source, title=title or f"Study of {Path(data).stem}",
                            lang=lang, seed=seed)  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        loaded = parse_spec(text, target.absolute())
        plan, _ = prepare(loaded)
    except SwitchingTreatmentError as exc:
        error = SwitchingTreatmentError(
            f"{exc.message} didstudy init writes staggered-adoption studies, whose steps need "
            "an absorbing treatment.",
            file=str(data),
            column=exc.column,
            rows=exc.rows,
            fix="if the policy really ends, write a study with `allow_switching = true` in "
            "[panel] and a `dcdh` step (de Chaisemartin-D'Haultfoeuille, the estimator for "
            "treatments that switch on and off); otherwise correct the coding of the treatment",
        )
        error.rows_are_lines = exc.rows_are_lines
        raise error from None
    staged = target.with_name(f".{target.name}.tmp")
    staged.write_text(text, encoding="utf-8")
    staged.replace(target)
    disabled = sum(1 for s in loaded.spec.steps if not s.enabled)
    return InitOutcome(target, text, roles, len(plan.steps), disabled)
