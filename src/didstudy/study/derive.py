"""Derive steps: measurement functions whose output becomes a column of the panel data.

``dagum_panel`` turns county values (another data source) into the within-city Gini (INDG) per
city and year; ``coagglomeration`` turns sector employment into the co-agglomeration index. The
runner calls :func:`derive_input` to build the function's data argument and
:func:`merge_derived` to attach the output to the panel frame under the step's ``column``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from didstudy.errors import SpecError
from didstudy.study.spec import LoadedSpec

if TYPE_CHECKING:
    from didstudy.study.plan import PlannedStep

__all__ = ["derive_input", "merge_derived"]


def derive_input(
    loaded: LoadedSpec, panel_frame: pd.DataFrame, source: pd.DataFrame, step: PlannedStep
) -> pd.DataFrame:
    """The data a derive step receives.

    For ``dagum_panel`` on another source, rows are restricted to groups that are units of the
    (sampled) panel and to its periods, so the decomposition is over the study's sample.
    """
    if step.kind.kind == "dagum_panel" and source is not panel_frame:
        spec = loaded.spec.panel
        group = str(step.arguments["group"])
        time = str(step.arguments["time"])
        keep = source[group].isin(panel_frame[spec.unit].unique()) & source[time].isin(
            panel_frame[spec.time].unique()
        )
        if not keep.any():
            raise loaded.error(
                f"step '{step.name}': no row of data source '{step.spec.data}' matches a unit "
                f"and period of the panel (column '{group}' vs panel unit '{spec.unit}')",
                ("steps", step.index, "group"),
                fix=f"'{group}' must hold the same identifiers as the panel's '{spec.unit}'",
            )
        return source.loc[keep].reset_index(drop=True)
    return source


def _merge(
    loaded: LoadedSpec, frame: pd.DataFrame, values: pd.DataFrame, column: str, step: PlannedStep
) -> pd.DataFrame:
    spec = loaded.spec.panel
    if column in frame.columns:
        raise loaded.error(
            f"step '{step.name}' would overwrite the existing column '{column}'",
            ("steps", step.index, "into"),
            fix="choose a new column name",
        )
    keys = values[["unit", "time", "value"]].copy()
    keys["unit"] = keys["unit"].astype(frame[spec.unit].dtype, errors="ignore")
    merged = frame.merge(
        keys.rename(columns={"unit": spec.unit, "time": spec.time, "value": column}),
        on=[spec.unit, spec.time],
        how="left",
        validate="one_to_one",
    )
    return merged


def merge_derived(
    loaded: LoadedSpec, frame: pd.DataFrame, step: PlannedStep, result: Any
) -> pd.DataFrame:
    """Attach a derive step's output to the panel frame as ``step.spec.into``."""
    column = str(step.spec.into)
    kind = step.kind.kind
    if kind in ("dagum_panel", "lights"):
        groups = result.groups
        values = pd.DataFrame(
            {"unit": groups["group"], "time": groups["time"], "value": groups["gini"]}
        )
        return _merge(loaded, frame, values, column, step)
    if kind == "coagglomeration" and isinstance(result, pd.DataFrame) and "isa" in result:
        city = str(step.arguments["city"])
        time = step.arguments.get("time")
        if time is None:
            raise loaded.error(
                f"step '{step.name}': a panel column needs the period; give time = ...",
                ("steps", step.index),
                fix=f'add time = "{loaded.spec.panel.time}"',
            )
        values = pd.DataFrame(
            {"unit": result[city], "time": result[str(time)], "value": result["isa"]}
        )
        return _merge(loaded, frame, values, column, step)
    if kind == "coagglomeration":
        values_obj = getattr(result, "values", result)
        if isinstance(values_obj, pd.Series) and len(values_obj) == len(frame):
            out = frame.copy()
            out[column] = np.asarray(values_obj, dtype=float)
            return out
        if isinstance(values_obj, pd.DataFrame) and {"unit", "time", "value"} <= set(
            values_obj.columns
        ):
            return _merge(loaded, frame, values_obj, column, step)
        array = np.asarray(values_obj, dtype=float)
        if array.ndim == 1 and array.size == len(frame):
            out = frame.copy()
            out[column] = array
            return out
    raise SpecError(
        f"step '{step.name}': cannot attach the output of '{kind}' as a column",
        fix="report this as a bug",
    )
