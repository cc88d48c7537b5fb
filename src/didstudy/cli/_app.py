"""The Typer application object shared by the command modules."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="didstudy",
    help="Staggered difference-in-differences studies from raw data to publication output.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.command()
def version() -> None:
    """Print the didstudy version."""
    from didstudy import __version__

    console.print(f"didstudy {__version__}")


@app.callback()
def _root() -> None:
    """Staggered difference-in-differences studies from raw data to publication output."""
