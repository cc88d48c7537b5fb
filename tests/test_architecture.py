"""Dependency direction of DESIGN.md, kept as a test.

cli -> study -> report -> results <- inference <- estimation <- data;
measure and lights depend only on data (and results). Nothing imports cli or study.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "didstudy"

# subpackage -> subpackages it may import (besides itself and the top-level helpers)
ALLOWED: dict[str, set[str]] = {
    "data": {"errors"},
    "results": {"errors"},
    "measure": {"data", "results", "errors"},
    "lights": {"data", "results", "measure", "errors"},
    "estimation": {"data", "results", "errors", "measure", "inference"},
    "inference": {"data", "results", "errors", "estimation"},
    "report": {"results", "errors", "data"},
    "study": {
        "data", "results", "errors", "measure", "lights", "estimation", "inference", "report",
    },
    "cli": {
        "data", "results", "errors", "measure", "lights", "estimation", "inference", "report",
        "study",
    },
}
TOP_LEVEL_OK = {"errors", "_version", "_typing"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "didstudy" and len(parts) > 1:
                found.add(parts[1])
    return found


def _files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.parent != SRC)


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(SRC)))
def test_dependency_direction(path: Path) -> None:
    package = path.relative_to(SRC).parts[0]
    allowed = ALLOWED.get(package, set()) | {package} | TOP_LEVEL_OK
    bad = _imports(path) - allowed
    assert not bad, f"{path.relative_to(SRC)} imports didstudy.{sorted(bad)}, against DESIGN.md"


def test_nothing_imports_cli_or_study() -> None:
    for path in _files():
        package = path.relative_to(SRC).parts[0]
        if package in {"cli", "study"}:
            continue
        assert not (_imports(path) & {"cli", "study"}), path


def test_the_rule_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from didstudy.cli import app\nimport didstudy.study.run\n")
    assert _imports(bad) == {"cli", "study"}
