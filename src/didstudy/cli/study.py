"""CLI commands: study."""

from __future__ import annotations

from didstudy.cli._app import app  # noqa: F401
