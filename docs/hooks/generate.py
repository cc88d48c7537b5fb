"""MkDocs hook: pages generated from the code at build time, so that they cannot drift.

* ``reference/study-file.md``: :func:`didstudy.study.docgen.study_file_reference` (schema models,
  step registry, signatures and docstrings of the step functions).
* ``reference/api.md``: one mkdocstrings block per name of ``didstudy``'s public API (the lazy
  ``didstudy._API`` table), grouped by layer; new public names appear without editing the docs.
* ``reference/cli.md``: the help text of every ``didstudy`` command (from the Typer app).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

LAYERS = {
    "data": "Data: reading tables, panels, bundled data",
    "measure": "Measurement: inequality and agglomeration",
    "lights": "Night-time lights",
    "estimation": "Estimation",
    "inference": "Inference",
    "results": "Results",
    "report": "Tables and figures",
    "study": "Study files",
}


def api_page() -> str:
    """Markdown of the API reference: a mkdocstrings block per public name."""
    import didstudy

    table: dict[str, str] = didstudy._API
    lines = [
        "# Python API",
        "",
        "Every public name of `didstudy` (`import didstudy as ds; ds.<name>`), generated from the",
        "package's public table and rendered from the NumPy docstrings.",
        "",
    ]
    for layer, title in LAYERS.items():
        names = sorted(n for n, m in table.items() if m.split(".")[1] == layer)
        if not names:
            continue
        lines += [f"## {title}", ""]
        for name in names:
            lines += [f"::: {table[name]}.{name}", "    options:", "      heading_level: 3", ""]
    unknown = sorted(n for n, m in table.items() if m.split(".")[1] not in LAYERS)
    for name in unknown:
        lines += [f"::: {table[name]}.{name}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines)


def cli_page() -> str:
    """Markdown of every command's ``--help``."""
    import typer
    from typer.testing import CliRunner

    from didstudy.cli import app

    group: Any = typer.main.get_command(app)
    lines = ["# Command line", "", "The help text of every `didstudy` command.", ""]
    context = group.make_context("didstudy", [], resilient_parsing=True)
    runner = CliRunner()
    for name in sorted(group.list_commands(context)):
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
        if result.exit_code != 0:
            raise RuntimeError(f"didstudy {name} --help failed: {result.output}")
        lines += [f"## `didstudy {name}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(lines)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    from didstudy.study.docgen import study_file_reference

    pages = {
        "reference/study-file.md": study_file_reference(),
        "reference/api.md": api_page(),
        "reference/cli.md": cli_page(),
    }
    for path, content in pages.items():
        files.append(File.generated(config, path, content=content))
    return files
