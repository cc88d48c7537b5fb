"""CLI commands: lights (zonal statistics of night-time light rasters → county values → INDG)."""

from __future__ import annotations

import glob as globmod
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from didstudy.cli._app import app, console
from didstudy.errors import DataError, ValidationError


def _expand(rasters: list[str]) -> list[str]:
    paths: list[str] = []
    for item in rasters:
        if any(ch in item for ch in "*?["):
            hits = sorted(globmod.glob(item))
            if not hits:
                raise DataError(f"no raster matched {item!r}", fix="check the glob pattern")
            paths.extend(hits)
        else:
            paths.append(item)
    return paths


def _write(frame: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise ValidationError(
            f"unknown output format {suffix!r}", fix="name the output *.parquet or *.csv"
        )


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f"{path.stem}_{tag}{path.suffix}")


@app.command("lights")
def lights_command(
    rasters: Annotated[
        list[str],
        typer.Argument(help='Raster files or a quoted glob, e.g. "ntl/*.tif" (year in the name).'),
    ],
    zones: Annotated[
        Path, typer.Option("--zones", "-z", help="Polygons: GeoJSON, GeoPackage or shapefile.")
    ],
    id_col: Annotated[str, typer.Option("--id", help="Zone (county code) id column.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output table, .parquet or .csv.")
    ] = Path("lights.parquet"),
    mapping: Annotated[
        str | None,
        typer.Option(
            help="County→city mapping: 'china' for the shipped MCA table, or a CSV with "
            "county_code, city_code[, year]. With it, INDG per city-year is computed too."
        ),
    ] = None,
    vintage: Annotated[
        int | None, typer.Option(help="Use this year's county→city membership for every year.")
    ] = None,
    method: Annotated[
        str, typer.Option(help="coverage (area-weighted, default) or center (ArcGIS rule).")
    ] = "coverage",
    engine: Annotated[
        str, typer.Option(help="Coverage fractions: exact (float64, default) or exactextract.")
    ] = "exact",
    stats: Annotated[
        str, typer.Option(help="Comma-separated statistics without --mapping.")
    ] = "mean,count",
    nodata: Annotated[
        list[float] | None, typer.Option(help="Extra nodata value (repeatable), e.g. 255.")
    ] = None,
    min_units: Annotated[int, typer.Option(help="Counties needed for a city's INDG.")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: in-process).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="Worker threads sharing one overlay (instead of --workers)."),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Cache directory: overlays and per-raster results by content hash."),
    ] = None,
) -> None:
    """Zonal statistics of RASTERS over the --zones polygons, overlay computed once per grid.

    Without --mapping, writes one row per zone and raster. With --mapping, writes the county-year
    light table to --out, INDG per city-year to <out>_indg and the yearly Dagum decomposition to
    <out>_components; unmatched counties go to <out>_unmatched. Method, overlays, empty zones and
    parameters go to <out>_metadata.json. A rerun with --cache skips rasters already done.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    executor = _checked_executor(method, out, threads, workers, scheduler)
    paths = _expand(rasters)
    progress = Progress(
        TextColumn("[bold]lights[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    )
    options: dict[str, Any] = {
        "method": method,
        "engine": engine,
        "nodata": tuple(nodata or ()),
        "executor": executor,
        "cache_dir": cache,
    }
    with progress:
        task = progress.add_task("building overlay", total=len(paths))

        def tick(label: str) -> None:
            progress.update(task, advance=1, description=label)

        if mapping is None:
            stat_names = tuple(s.strip() for s in stats.split(",") if s)
            written, metadata = _zonal(paths, zones, id_col, stat_names, out, tick, options)
        else:
            panel_options = {**options, "vintage": vintage, "min_units": min_units}
            written, metadata = _panel(paths, zones, id_col, mapping, out, tick, panel_options)
    meta_path = out.with_name(f"{out.stem}_metadata.json")
    meta_path.write_text(
        json.dumps({"executor": executor.describe(), **metadata}, indent=1, default=str),
        encoding="utf-8",
    )
    written.append(meta_path)
    for path in written:
        console.print(f"wrote {path}")


def _checked_executor(
    method: str, out: Path, threads: int | None, workers: int | None, scheduler: str | None
) -> Any:
    """Check the options that need no data and build the executor."""
    from didstudy.kernels.resample import get_executor

    if method not in ("coverage", "center"):
        raise ValidationError(f"unknown --method {method!r}", fix="use coverage or center")
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise ValidationError(
            f"unknown output format {out.suffix!r}", fix="name the output *.parquet or *.csv"
        )
    if threads is not None and (workers is not None or scheduler is not None):
        raise ValidationError(
            "--threads cannot be combined with --workers or --scheduler", fix="choose one"
        )
    if threads is not None:
        return get_executor("threads", workers=threads)
    return get_executor(workers=workers, scheduler=scheduler)


def _zonal(
    paths: list[str],
    zones: Path,
    id_col: str,
    stats: tuple[str, ...],
    out: Path,
    tick: Any,
    options: dict[str, Any],
) -> tuple[list[Path], dict[str, Any]]:
    """One row per zone and raster, written to ``out``."""
    from didstudy.lights.zonal import zonal_stats

    table = zonal_stats(paths, zones, id_col, stats=stats, progress=tick, **options)
    metadata = dict(table.attrs.get("lights", {}))
    table.attrs = {}
    _write(table, out)
    return [out], metadata


def _panel(
    paths: list[str],
    zones: Path,
    id_col: str,
    mapping: str,
    out: Path,
    tick: Any,
    options: dict[str, Any],
) -> tuple[list[Path], dict[str, Any]]:
    """County-year light, INDG, Dagum components (and unmatched counties) next to ``out``."""
    from didstudy.lights.pipeline import lights_panel

    panel = lights_panel(
        paths,
        zones,
        id_col,
        mapping=None if mapping == "china" else mapping,
        progress=tick,
        **options,
    )
    written = [out, _sibling(out, "indg"), _sibling(out, "components")]
    _write(panel.county, out)
    _write(panel.indg, written[1])
    _write(panel.components, written[2])
    if len(panel.unmatched):
        written.append(_sibling(out, "unmatched"))
        _write(panel.unmatched, written[-1])
    return written, dict(panel.metadata)
