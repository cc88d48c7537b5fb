"""CLI commands: run, validate, demo, schema (the study file)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from didstudy.cli._app import app, console, err_console

__all__ = ["demo", "run", "schema", "validate"]

LangOption = Annotated[
    str | None, typer.Option("--lang", help="Language of tables and figures: zh or en.")
]
RepsOption = Annotated[
    int | None,
    typer.Option("--reps", help="Override the number of placebo/bootstrap draws (quick runs)."),
]


FormatsOption = Annotated[
    str | None,
    typer.Option("--formats", help="Table formats, comma separated (md,csv,tex,xlsx,docx)."),
]


def _formats(text: str | None) -> tuple[str, ...] | None:
    return tuple(f.strip() for f in text.split(",") if f.strip()) if text else None


def _overrides(reps: int | None) -> dict[str, Any]:
    return {"reps": reps} if reps is not None else {}


def _execute(
    study: Path,
    out: Path,
    lang: str | None,
    reps: int | None,
    no_cache: bool,
    strict: bool,
    formats: str | None = None,
    cache_dir: Path | None = None,
) -> None:
    from didstudy.study.run import ProgressEvent, run_study
    from didstudy.study.spec import load_spec

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("study", total=None)

        def progress(event: ProgressEvent) -> None:
            bar.update(task, total=event.total)
            if event.phase == "start":
                bar.update(task, description=f"{event.name} ({event.kind})")
            else:
                bar.advance(task)

        outcome = run_study(
            study,
            out,
            lang=lang,
            overrides=_overrides(reps),
            progress=progress,
            cache=not no_cache,
            strict=strict,
            formats=_formats(formats),
            cache_dir=cache_dir,
        )
    cached = sum(1 for r in outcome.records if r.status == "cached")
    console.print(
        f"wrote [bold]{escape(str(outcome.out))}[/] ({len(outcome.files)} files, "
        f"{len(outcome.records)} steps, {cached} from cache) in {outcome.seconds:.1f} s"
    )
    if load_spec(study).spec.study.seed is None:
        seed = outcome.results["study"]["seed"]
        console.print(f"seed {seed} drawn: write seed = {seed} in [study] to reproduce this run")
    for record in outcome.unavailable:
        err_console.print(f"[yellow]skipped:[/] {escape(record.name)}: {escape(record.message)}")


@app.command()
def run(
    study: Annotated[Path, typer.Argument(help="The study file (TOML).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory.")] = Path("report"),
    lang: LangOption = None,
    reps: RepsOption = None,
    formats: FormatsOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Recompute every step.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when a step kind is unavailable.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Cache directory (default: <out>/.cache)."),
    ] = None,
) -> None:
    """Run a study file and write its report (tables, figures, results.json, manifest.json)."""
    _execute(study, out, lang, reps, no_cache, strict, formats, cache_dir)


@app.command()
def validate(
    study: Annotated[Path, typer.Argument(help="The study file (TOML).")],
    reps: RepsOption = None,
) -> None:
    """Check a study file and its data, and print the plan without running it."""
    from didstudy.study.run import prepare

    plan, context = prepare(study, _overrides(reps))
    table = Table(title=f"plan: {escape(str(study))}")
    for column in ("#", "name", "kind", "function", "status"):
        table.add_column(column, overflow="fold")
    for row in plan.describe():
        status = row["status"] if row["status"] == "ok" else f"[yellow]{row['status']}[/]"
        table.add_row(
            str(row["step"]), escape(row["name"]), row["kind"], escape(row["function"]), status
        )
    console.print(table)
    for entry in context.sample_log:
        console.print(
            f"sample: {escape(entry.rule)}: {entry.units_before} -> {entry.units_after} units"
        )
    unit = context.loaded.spec.panel.unit
    console.print(
        f"ok: {len(plan.steps)} steps, {len(context.frame)} rows, "
        f"{context.frame[unit].nunique()} units after the sample rules"
    )
    for step in plan.unavailable:
        err_console.print(f"[yellow]unavailable:[/] {escape(step.name)}: {escape(step.reason)}")


def demo_study_path() -> Path:
    """The bundled reference study file."""
    return Path(str(resources.files("didstudy.study.examples").joinpath("reference_study.toml")))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory.")] = Path("report"),
    lang: LangOption = None,
    reps: RepsOption = None,
    formats: FormatsOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Recompute every step.")] = False,
) -> None:
    """Run the bundled reference study on SIMULATED data (real Chinese units, known effect)."""
    err_console.print(
        "[bold yellow]didstudy demo:[/] the reference study on SIMULATED data "
        "(real administrative units and policy lists; simulated values with a known effect)."
    )
    _execute(demo_study_path(), out, lang, reps, no_cache, False, formats)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the study file."""
    from didstudy.study.spec import spec_json_schema

    typer.echo(json.dumps(spec_json_schema(), indent=2, ensure_ascii=False))
