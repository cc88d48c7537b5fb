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


EXIT_INTERRUPTED = 130
INTERRUPTED_MESSAGE = "interrupted (Ctrl-C): nothing was written; an earlier report is unchanged"


def _interrupted() -> int:
    err_console.print(f"[bold red]{INTERRUPTED_MESSAGE}[/]", highlight=False)
    return EXIT_INTERRUPTED


def _os_error(exc: OSError) -> int:
    where = f" '{exc.filename}'" if exc.filename else ""
    what = exc.strerror or str(exc)
    err_console.print(
        f"[bold red]error:[/] {escape(what)}{escape(where)}\nFix: check the path exists, is of the "
        "right kind (file or folder) and that you may read or write it, then run again",
        highlight=False,
    )
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input or usage, 130 interrupted, 1 internal
    error)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, prog_name="didstudy", standalone_mode=False)
    except DidstudyError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted()
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except OSError as exc:  # the user's files and folders: missing, unreadable, a file not a dir
        return _os_error(exc)
    except Exception as exc:
        show = getattr(exc, "show", None)
        if show is None or type(exc).__name__ not in _CLICK_ERRORS:
            raise
        show()
        return EXIT_BAD_INPUT
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into 130 when not standalone
        return _interrupted()
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
