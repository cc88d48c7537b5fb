"""Command-line interface: a thin shell over the public API; the only place that prints.

Errors derived from :class:`didstudy.errors.DidstudyError` are printed as a short message and the
process exits with code 2, never with a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from didstudy.cli import estimate, init, lights, panel, study  # noqa: F401  (register commands)
from didstudy.cli._app import app, err_console
from didstudy.errors import DidstudyError

__all__ = ["app", "main"]

EXIT_BAD_INPUT = 2
# usage errors of the click that typer vendors; matched by name so either click works
_CLICK_ERRORS = {
    "ClickException",
    "UsageError",
    "BadParameter",
    "MissingParameter",
    "NoSuchOption",
    "BadOptionUsage",
    "BadArgumentUsage",
    "FileError",
    "NoArgsIsHelpError",
}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input or usage, 1 internal error)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="didstudy", standalone_mode=False)
    except DidstudyError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_BAD_INPUT
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except Exception as exc:
        show = getattr(exc, "show", None)
        if show is None or type(exc).__name__ not in _CLICK_ERRORS:
            raise
        show()
        return EXIT_BAD_INPUT
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_BAD_INPUT
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
