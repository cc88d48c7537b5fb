"""CLI command: init (propose a study file for a panel file; never asks anything)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from didstudy.cli._app import app, console

__all__ = ["init"]


def _names(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text is not None else None


@app.command()
def init(
    data: Annotated[
        str, typer.Argument(help="Panel file (csv, tsv, xlsx, dta, parquet) or a bundled dataset.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Study file to write.")] = Path(
        "study.toml"
    ),
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="Unit column.")] = None,
    time: Annotated[str | None, typer.Option("--time", "-t", help="Period column.")] = None,
    treat: Annotated[
        str | None, typer.Option("--treat", "-d", help="0/1 treatment indicator column.")
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option("--cohort", "-g", help="First treated period column (0/empty/9999 = never)."),
    ] = None,
    y: Annotated[str | None, typer.Option("--y", help="Outcome column.")] = None,
    controls: Annotated[
        str | None, typer.Option("--controls", help="Control columns, comma separated.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name or 0-based index.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
    title: Annotated[str | None, typer.Option(help="Title of the study.")] = None,
    lang: Annotated[str, typer.Option(help="Language of tables and figures: zh or en.")] = "en",
    seed: Annotated[int, typer.Option(help="Seed of the random draws.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented study file for a panel file: roles detected, every step of the study."""
    from didstudy.study.init_template import init_study

    page: str | int | None = int(sheet) if sheet is not None and sheet.isdigit() else sheet
    done = init_study(
        data, out, unit=unit, time=time, treat=treat, cohort=cohort, y=y,
        controls=_names(controls), sheet=page, encoding=encoding, title=title, lang=lang,
        seed=seed, overwrite=force,
    )  # fmt: skip
    for note in done.roles.notes:
        console.print(f"detected: {escape(note)}", highlight=False)
    console.print(
        f"wrote [bold]{escape(str(done.path))}[/] ({done.steps} steps, {done.disabled} "
        "placeholders disabled). Next: didstudy validate, then didstudy run."
    )
