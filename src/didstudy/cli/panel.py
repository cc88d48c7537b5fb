"""CLI commands: panel."""

from __future__ import annotations

from didstudy.cli._app import app  # noqa: F401
