"""Loading a study's data sources and applying its sample rules.

Sources are files (read with :func:`didstudy.data.io.read_table`), bundled datasets or simulated
generators. Every source gets a SHA-256 for the manifest: of the file's bytes, or of the generated
frame's content. Sample rules are applied in the order ``years``, ``keep``, ``drop``, ``where``,
and each one is logged; a rule that leaves no rows is an error naming the rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from didstudy.data.io import read_table, suggest_columns
from didstudy.data.validate import check_duplicates
from didstudy.errors import DataError, DidstudyError, SpecError, ValidationError
from didstudy.study.expr import evaluate
from didstudy.study.spec import DataSource, LoadedSpec, closest

__all__ = [
    "LoadedSource",
    "SampleLog",
    "apply_sample",
    "check_panel_columns",
    "frame_hash",
    "load_sources",
]

DATASETS = ("castle", "divorce", "mpdta")
GENERATORS = ("reference_study", "staggered")


@dataclass(frozen=True)
class LoadedSource:
    """A data source: its frame, where it came from and its SHA-256."""

    name: str
    frame: pd.DataFrame
    origin: str
    sha256: str
    simulated: bool = False


@dataclass(frozen=True)
class SampleLog:
    """One applied sample rule: rows and units before and after."""

    rule: str
    rows_before: int
    rows_after: int
    units_before: int
    units_after: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "units_before": self.units_before,
            "units_after": self.units_after,
        }


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's content (values, column names and dtypes; not the index)."""
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode("utf-8"))
    values = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    digest.update(values.tobytes())
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def _reference_study(seed: int) -> Any:
    from didstudy.data.reference_study import build_reference_study

    return build_reference_study(seed)


def _generate(loaded: LoadedSpec, name: str, source: DataSource) -> pd.DataFrame:
    seed = loaded.spec.study.seed
    generator = source.simulate or ""
    if generator == "reference_study":
        tables = ("cities", "counties")
        if source.table not in tables:
            near = closest(source.table or "", tables)
            raise loaded.error(
                f"simulated source 'reference_study' has tables {list(tables)}, "
                f"not {source.table!r}",
                ("data", name, "table"),
                fix=f"did you mean '{near}'?" if near else 'write table = "cities"',
            )
        data = _reference_study(seed)
        frame: pd.DataFrame = getattr(data, source.table or "cities").copy()
        frame.attrs = dict(getattr(data, source.table or "cities").attrs)
        return frame
    if generator == "staggered":
        from didstudy.data.simulate import simulate_staggered

        return simulate_staggered(seed=seed)
    near = closest(generator, GENERATORS)
    raise loaded.error(
        f"unknown simulated source '{generator}'",
        ("data", name, "simulate"),
        fix=f"did you mean '{near}'?" if near else f"use one of {', '.join(GENERATORS)}",
    )


def _dataset_path(loaded: LoadedSpec, name: str, dataset: str) -> Path:
    if dataset not in DATASETS:
        near = closest(dataset, DATASETS)
        raise loaded.error(
            f"unknown bundled dataset '{dataset}'",
            ("data", name, "dataset"),
            fix=f"did you mean '{near}'?" if near else f"use one of {', '.join(DATASETS)}",
        )
    return Path(str(resources.files("didstudy.data").joinpath("datasets", f"{dataset}.csv")))


def load_sources(loaded: LoadedSpec) -> dict[str, LoadedSource]:
    """Read every ``[data.<name>]`` source."""
    out: dict[str, LoadedSource] = {}
    for name, source in loaded.spec.data.items():
        if source.simulate is not None:
            frame = _generate(loaded, name, source)
            out[name] = LoadedSource(
                name, frame, f"simulate:{source.simulate}:{source.table or ''}",
                frame_hash(frame), simulated=True,
            )  # fmt: skip
            continue
        if source.dataset is not None:
            path = _dataset_path(loaded, name, source.dataset)
            origin = f"dataset:{source.dataset}"
        else:
            path = Path(source.path or "")
            if not path.is_absolute():
                path = loaded.base_dir / path
            origin = str(path)
            if not path.is_file():
                raise loaded.error(
                    f"data file '{source.path}' not found (looked for {path})",
                    ("data", name, "path"),
                    fix="check the path; relative paths are relative to the study file",
                )
        try:
            frame = read_table(path, sheet=source.sheet, encoding=source.encoding)
        except DidstudyError as exc:
            where = loaded.where("data", name)
            raise type(exc)(
                f"data.{name} ({where}): {exc.message}",
                file=exc.file,
                column=exc.column,
                rows=exc.rows,
                fix=exc.fix,
            ) from None
        out[name] = LoadedSource(name, frame, origin, _file_hash(path))
    return out


def _missing_column(
    loaded: LoadedSpec, frame: pd.DataFrame, column: str, key: tuple[str | int, ...], what: str
) -> SpecError:
    near = suggest_columns(column, list(frame.columns), n=1)
    return loaded.error(
        f"{what} column '{column}' is not in the data",
        key,
        fix=f"did you mean '{near[0]}'?" if near else "use a column of the panel data",
    )


def check_panel_columns(loaded: LoadedSpec, frame: pd.DataFrame, origin: str | None = None) -> None:
    """The panel's role columns exist and (unit, time) pairs are unique."""
    panel = loaded.spec.panel
    roles = {
        "unit": panel.unit,
        "time": panel.time,
        "treat": panel.treat,
        "cohort": panel.cohort,
        "cluster": panel.cluster,
        "weight": panel.weight,
    }
    for role, column in roles.items():
        if column is not None and column not in frame.columns:
            raise _missing_column(loaded, frame, column, ("panel", role), role)
    if not pd.api.types.is_numeric_dtype(frame[panel.time]):
        raise loaded.error(
            f"time column '{panel.time}' is not numeric (dtype {frame[panel.time].dtype})",
            ("panel", "time"),
            fix="use a numeric year/period column (convert dates to years first)",
        )
    for role in ("treat", "cohort"):
        column = roles[role]
        if column is not None and not pd.api.types.is_numeric_dtype(frame[column]):
            bad = frame.index[pd.to_numeric(frame[column], errors="coerce").isna()]
            raise DataError(
                f"{role} column is not numeric (dtype {frame[column].dtype})",
                file=origin,
                column=column,
                rows=[int(i) + 2 for i in bad[:10]],
                fix=f"make '{column}' numeric ("
                + ("0/1)" if role == "treat" else "first treated year, 0 = never)"),
            )
    try:  # the Panel's own check and message, with rows counted as file lines
        check_duplicates(frame.set_axis(frame.index + 2), panel.unit, panel.time)
    except ValidationError as exc:
        exc.file = origin
        exc.fix = (exc.fix or "") + " (file rows counted with the header as row 1)"
        exc.args = (exc.render(),)
        raise


def apply_sample(loaded: LoadedSpec, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[SampleLog]]:
    """Apply ``[sample]`` to the panel source; log every rule; an empty result is an error."""
    spec = loaded.spec
    sample = spec.sample
    unit, time = spec.panel.unit, spec.panel.time
    log: list[SampleLog] = []

    def step(rule: str, mask: pd.Series, key: tuple[str | int, ...], hint: str) -> None:
        nonlocal frame
        before = frame
        frame = frame.loc[mask.to_numpy(dtype=bool)]
        log.append(
            SampleLog(rule, len(before), len(frame), before[unit].nunique(), frame[unit].nunique())
        )
        if frame.empty:
            raise loaded.error(
                f"sample rule {rule} leaves no rows ({len(before)} before): impossible sample rule",
                key,
                fix=hint,
            )

    if sample.years is not None:
        first, last = sample.years
        observed = (frame[time].min(), frame[time].max())
        step(
            f"years {first}-{last}",
            frame[time].between(first, last),
            ("sample", "years"),
            f"the data cover {time} {observed[0]}-{observed[1]}",
        )
    for action, rules in (("keep", sample.keep), ("drop", sample.drop)):
        for column, values in rules.items():
            if column not in frame.columns:
                raise _missing_column(loaded, frame, column, ("sample", action), f"sample {action}")
            present = frame[column].isin(values)
            examples = ", ".join(repr(v) for v in frame[column].drop_duplicates().head(3))
            step(
                f"{action} {column} in {values}",
                present if action == "keep" else ~present,
                ("sample", action),
                f"check the values and their type against column '{column}' (e.g. {examples})",
            )
    for index, expression in enumerate(sample.where):
        try:
            mask = evaluate(expression, frame)
        except SpecError as exc:
            raise loaded.error(exc.message, ("sample", "where"), fix=exc.fix) from None
        step(
            f"where {expression!r}",
            mask,
            ("sample", "where", index),
            "relax the expression; it is false for every row",
        )
    return frame.reset_index(drop=True), log
