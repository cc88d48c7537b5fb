"""The ``lights`` study step: rasters + zones + county -> city mapping -> INDG per city-year.

A derive step: :func:`lights` runs :func:`didstudy.lights.pipeline.lights_panel` on files named
relative to the study file and returns a :class:`LightsStepResult`, whose INDG
(``groups.gini`` per city and year) the runner joins to the panel under the step's ``into``
column; ``dagum_figure`` and ``dagum_table`` take the step's yearly decomposition like that of a
``dagum_panel`` step. The step is cached by content: :func:`input_digest` hashes every raster,
the zones and the mapping file, and the runner mixes it into the step's cache key.
"""

from __future__ import annotations

import functools
import glob
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from didstudy.errors import DataError, SpecError

__all__ = ["CORRECTIONS", "LightsStepResult", "input_digest", "lights"]

Correction = Literal["threshold", "cap"]
PATH_PARAMETERS = ("rasters", "zones", "mapping")


def _corrections() -> dict[str, Callable[..., Any]]:
    from didstudy.lights.saturation import cap, threshold

    return {"threshold": threshold, "cap": cap}


#: Pixel-wise corrections a study file can name (``correction = "threshold"``).
CORRECTIONS: tuple[str, ...] = ("threshold", "cap")


@dataclass(frozen=True)
class LightsStepResult:
    """County light and city INDG from rasters (the output of a ``lights`` step).

    Attributes
    ----------
    groups
        ``time, group, n, mean, gini, ...``: INDG (``gini``) per city (``group``) and year.
    components
        The yearly Dagum decomposition ``time, G, Gw, Gnb, Gt, Gb`` and shares.
    county
        ``county, year, city, light, n_rasters, link``: county light after the mapping.
    unmatched
        County-years without a city in the mapping (with the reason).
    metadata
        Method, grids, corrections, mapping and the input files' digests.
    """

    groups: pd.DataFrame
    components: pd.DataFrame
    county: pd.DataFrame
    unmatched: pd.DataFrame
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content for ``results.json`` (INDG, decomposition, counts)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(pd.notna(frame), None)
            return [
                {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
                for row in clean.to_dict(orient="records")
            ]

        return {
            "kind": "lights",
            "components": records(self.components),
            "groups": records(self.groups),
            "n_county_years": len(self.county),
            "n_unmatched": len(self.unmatched),
            "metadata": _plain(dict(self.metadata)),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _resolve(value: str, base_dir: str | None) -> str:
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return str(path)


def _raster_paths(rasters: str | Sequence[str], base_dir: str | None) -> list[str]:
    patterns = [rasters] if isinstance(rasters, str) else list(rasters)
    found: list[str] = []
    for pattern in patterns:
        full = _resolve(pattern, base_dir)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        if not matches or not all(Path(m).is_file() for m in matches):
            raise DataError(
                f"no raster file matches {pattern!r} (looked for {full})",
                file=full,
                fix="check the path or glob; relative paths are relative to the study file",
            )
        found += matches
    return found


def _existing(value: str, base_dir: str | None, what: str) -> str:
    full = _resolve(value, base_dir)
    if not Path(full).is_file():
        raise DataError(
            f"the {what} file {value!r} does not exist (looked for {full})",
            file=full,
            fix="check the path; relative paths are relative to the study file",
        )
    return full


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_digest(arguments: Mapping[str, Any]) -> str:
    """SHA-256 over the content of every file the step reads (rasters, zones, mapping).

    The runner mixes it into the step's cache key, so a changed raster recomputes the step and
    an unchanged one is read from the cache whatever its modification time.
    """
    base_dir = arguments.get("base_dir")
    files = _raster_paths(arguments["rasters"], base_dir)
    files.append(_existing(str(arguments["zones"]), base_dir, "zones"))
    if arguments.get("mapping") is not None:
        files.append(_existing(str(arguments["mapping"]), base_dir, "mapping"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).name.encode("utf-8"))
        digest.update(_file_digest(path).encode("ascii"))
    return digest.hexdigest()


def _transform(
    correction: str | None, params: Mapping[str, float] | None
) -> Callable[[Any], Any] | None:
    if correction is None:
        if params:
            raise SpecError(
                "correction_params given without a correction",
                fix=f"add correction = one of {', '.join(CORRECTIONS)}",
            )
        return None
    table = _corrections()
    if correction not in table:
        raise SpecError(
            f"unknown correction {correction!r}", fix=f"use one of {', '.join(CORRECTIONS)}"
        )
    return functools.partial(table[correction], **dict(params or {}))


def lights(
    rasters: str | Sequence[str],
    zones: str,
    id_col: str,
    *,
    mapping: str | None = None,
    vintage: int | None = None,
    years: Mapping[str, int] | None = None,
    stat: Literal["mean", "sum", "max", "min"] = "mean",
    method: Literal["coverage", "center"] = "coverage",
    engine: Literal["exact", "exactextract"] = "exact",
    min_units: int = 2,
    nodata: Sequence[float] = (),
    correction: Correction | None = None,
    correction_params: Mapping[str, float] | None = None,
    mapping_county: str = "county_code",
    mapping_city: str = "city_code",
    mapping_year: str | None = "year",
    overlay_cache: bool = True,
    base_dir: str | None = None,
) -> LightsStepResult:
    """Night-time light rasters to INDG per city-year (the measurement half of the study).

    Parameters
    ----------
    rasters
        A glob (``"ntl/*.tif"``), a file or a list of them, relative to the study file. The year
        of each raster is read from its name (``ntl_2005.tif``) unless ``years`` maps it.
    zones
        County polygons (GeoJSON, GeoPackage, shapefile), relative to the study file.
    id_col
        Column of the zones holding 6-digit county codes.
    mapping
        County -> city table (csv; columns ``mapping_county``, ``mapping_city`` and optionally
        ``mapping_year``); default: the shipped table of Chinese counties by year.
    vintage
        Use the county membership of this year for every year (fixed boundaries).
    years
        ``{raster file stem: year}`` for files whose names hold no year.
    stat
        Zone statistic used as county light (default the coverage-weighted mean).
    method
        ``"coverage"`` (cells weighted by their covered fraction) or ``"center"`` (cell centre
        inside the polygon, as ArcGIS and rasterstats).
    engine
        Coverage fractions from didstudy's exact clipping (``"exact"``) or ``"exactextract"``.
    min_units
        Cities with fewer counties in a year get INDG NaN.
    nodata
        Extra values read as nodata (e.g. ``[255]`` for DMSP).
    correction, correction_params
        A pixel-wise correction applied after reading: ``"threshold"`` (values below
        ``minimum`` set to 0) or ``"cap"`` (values above ``maximum`` capped), with its
        parameters, e.g. ``correction_params = { minimum = 7 }``.
    mapping_county, mapping_city, mapping_year
        Column names of the mapping table.
    overlay_cache
        Keep the overlay (with its cell index) and each raster's zone statistics in the per-user
        cache (``$DIDSTUDY_CACHE_DIR``, else ``~/.cache/didstudy/lights``), keyed by content, so
        that a rerun with new rasters on the same grid and zones skips the overlay. ``false``
        recomputes everything. The results are the same either way. The cache keeps at most
        ``$DIDSTUDY_CACHE_MAX_GB`` (default 2) GB, deleting its own oldest entries beyond that.
    base_dir
        Directory relative paths start from (the runner passes the study file's directory).

    Returns
    -------
    LightsStepResult

    Examples
    --------
    >>> from importlib import resources
    >>> folder = str(resources.files("didstudy.data").joinpath("lights_demo"))
    >>> out = lights("ntl_2003.tif", "counties.geojson", "county_code",
    ...              mapping="mapping.csv.gz", base_dir=folder)  # doctest: +SKIP
    >>> out.groups.columns[:5].tolist()  # doctest: +SKIP
    ['time', 'group', 'n', 'mean', 'gini']
    """
    from didstudy.lights.cache import default_cache_dir
    from didstudy.lights.pipeline import lights_panel

    paths = _raster_paths(rasters, base_dir)
    items = {Path(p).stem: p for p in paths}
    if len(items) != len(paths):
        raise DataError(
            "two rasters share a file name", fix="give every raster a distinct file name"
        )
    panel = lights_panel(
        items,
        _existing(zones, base_dir, "zones"),
        id_col,
        mapping=None if mapping is None else _existing(mapping, base_dir, "mapping"),
        vintage=vintage, years=years, stat=stat, method=method, engine=engine,
        min_units=min_units, nodata=tuple(nodata),
        transform=_transform(correction, correction_params),
        transform_params={"correction": correction, **dict(correction_params or {})},
        mapping_county=mapping_county, mapping_city=mapping_city, mapping_year=mapping_year,
        cache_dir=default_cache_dir() if overlay_cache else None,
    )  # fmt: skip
    # which rasters came from the per-user cache is not a result (results.json stays the same)
    meta = {k: v for k, v in panel.metadata.items() if k != "cached"}
    meta["rasters"] = [Path(p).name for p in paths]
    return LightsStepResult(panel.indg, panel.components, panel.county, panel.unmatched, meta)


lights.input_digest = input_digest  # type: ignore[attr-defined]
