"""A study built from Python: the same object a study file describes, for notebook users.

:class:`Study` holds the mapping a TOML study file parses to. Every method returns a new
``Study`` (nothing is mutated), so a study can be built step by step in notebook cells;
:meth:`Study.to_toml` writes the equivalent study file and :meth:`Study.from_toml` reads one
back. Validation and running go through the same code as ``didstudy validate`` / ``run``
(:func:`didstudy.study.spec.parse_mapping`, :func:`didstudy.study.run.run_study`), so a study run
from Python and from its TOML file give byte-identical ``results.json``.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from didstudy.study.spec import LoadedSpec, parse_mapping
from didstudy.study.toml_text import toml_key, toml_value

__all__ = ["Study"]

_TABLE_ORDER = ("study", "data", "panel", "variables", "sample")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _table_lines(prefix: str, table: Mapping[str, Any]) -> list[str]:
    lines = [f"[{prefix}]"]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return lines


@dataclass(frozen=True)
class Study:
    """A study file as a Python object.

    Parameters
    ----------
    content
        The parsed form of a study file (``tomllib.loads`` of it). Usually built with the
        methods below rather than given.
    base_dir
        Directory that relative data paths start from (default: the working directory).

    Examples
    --------
    >>> study = (
    ...     Study.new("Castle doctrine", seed=2013)
    ...     .with_data("castle", dataset="castle")
    ...     .with_panel("castle", unit="state", time="year", treat="post", cluster="state")
    ...     .add_step("twfe", "baseline", y="l_homicide", treat="post")
    ... )
    >>> plan = study.validate()
    >>> [step.name for step in plan.steps]
    ['baseline']
    """

    content: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None

    @classmethod
    def new(
        cls, title: str = "didstudy study", *, lang: str = "en", seed: int = 0, **options: Any
    ) -> Study:
        """An empty study with its ``[study]`` table (``simulated``, ``note``, ``formats``...)."""
        return cls({"study": {"title": title, "lang": lang, "seed": seed, **options}})

    @classmethod
    def from_toml(cls, path: str | Path) -> Study:
        """Read a study file (relative data paths then start from its directory)."""
        file = Path(path)
        content = tomllib.loads(file.read_text(encoding="utf-8"))
        return cls(content, file.absolute().parent)

    def _with(self, key: str, value: Any) -> Study:
        content = copy.deepcopy(dict(self.content))
        content[key] = value
        return Study(content, self.base_dir)

    def with_data(self, name: str, **source: Any) -> Study:
        """Add or replace ``[data.<name>]`` (``path=``, ``dataset=`` or ``simulate=``...)."""
        data = dict(self.content.get("data", {}))
        data[name] = _drop_none(source)
        return self._with("data", data)

    def with_panel(self, data: str, **roles: Any) -> Study:
        """Set ``[panel]``: the panel source and its roles (``unit``, ``time``, ``treat`` or
        ``cohort``, ``cluster``, ``weight``)."""
        return self._with("panel", {"data": data, **_drop_none(roles)})

    def with_sample(self, **rules: Any) -> Study:
        """Set ``[sample]`` (``years``, ``keep``, ``drop``, ``where``)."""
        return self._with("sample", _drop_none(rules))

    def with_labels(self, column: str, **labels: Any) -> Study:
        """Set ``[variables.<column>]`` (``label_en``, ``label_zh``, ``description``)."""
        variables = dict(self.content.get("variables", {}))
        variables[column] = _drop_none(labels)
        return self._with("variables", variables)

    def add_step(self, kind: str, name: str, **arguments: Any) -> Study:
        """Append a ``[[steps]]`` table: the kind, a unique name and the function's arguments
        (and runner keys such as ``title``, ``data``, ``into``, ``enabled``)."""
        steps = [dict(s) for s in self.content.get("steps", [])]
        steps.append({"kind": kind, "name": name, **_drop_none(arguments)})
        return self._with("steps", steps)

    def without_step(self, name: str) -> Study:
        """The study without the step called ``name``."""
        steps = [dict(s) for s in self.content.get("steps", []) if s.get("name") != name]
        return self._with("steps", steps)

    def to_toml(self) -> str:
        """The equivalent study file (TOML text that :meth:`from_toml` reads back)."""
        lines: list[str] = []
        for key in _TABLE_ORDER:
            value = self.content.get(key)
            if not value:
                continue
            if key in ("data", "variables"):
                for name, table in value.items():
                    lines += [*_table_lines(f"{key}.{toml_key(name)}", table), ""]
            else:
                lines += [*_table_lines(key, value), ""]
        for step in self.content.get("steps", []):
            lines += ["[[steps]]", *[f"{toml_key(k)} = {toml_value(v)}" for k, v in step.items()]]
            lines.append("")
        return "\n".join(lines)

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_toml` to ``path``."""
        target = Path(path)
        target.write_text(self.to_toml(), encoding="utf-8")
        return target

    def loaded(self) -> LoadedSpec:
        """The validated study (errors name the key and its line in :meth:`to_toml`)."""
        base = self.base_dir if self.base_dir is not None else Path.cwd()
        return parse_mapping(self.content, self.to_toml(), base / "<python study>.toml")

    def validate(self, overrides: Mapping[str, Any] | None = None) -> Any:
        """Check the study and its data and return the plan (as ``didstudy validate``)."""
        from didstudy.study.run import prepare

        plan, _ = prepare(self.loaded(), overrides)
        return plan

    def run(
        self,
        out: str | Path = "report",
        *,
        overrides: Mapping[str, Any] | None = None,
        formats: Sequence[str] | None = None,
        **options: Any,
    ) -> Any:
        """Run the study (as ``didstudy run``) and return its
        :class:`~didstudy.study.run.StudyOutcome`; options as :func:`run_study`."""
        from didstudy.study.run import run_study

        return run_study(
            self.loaded(),
            out,
            overrides=overrides,
            formats=None if formats is None else tuple(formats),
            **options,
        )

    def _repr_html_(self) -> str:
        """Notebook view: the equivalent study file."""
        from html import escape

        return f"<pre>{escape(self.to_toml())}</pre>"
