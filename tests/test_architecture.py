"""Dependency direction of DESIGN.md, kept as a test that can fail.

cli -> study -> {report, inference, estimation, measure, lights}; inference -> estimation ->
kernels -> data; report -> results -> kernels; measure, lights -> data. Everything may import
errors. Nothing imports cli or study; estimation never imports inference. Imports are read from
the source (module level, inside functions and under ``TYPE_CHECKING`` alike) and from the study
registry's ``"didstudy.module:function"`` string targets. No import cycle, neither between
subpackages nor between modules. ``test_*_can_fail`` plant an upward import and a cycle in a
temporary tree and show that the same checks reject them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "didstudy"

# subpackage -> subpackages it may import (besides itself and the top-level helpers)
ALLOWED: dict[str, set[str]] = {
    "data": {"errors"},
    "kernels": {"errors", "data"},
    "results": {"errors", "kernels"},
    "measure": {"data", "results", "errors", "kernels"},
    "lights": {"data", "results", "measure", "errors", "kernels"},
    "estimation": {"data", "results", "errors", "measure", "kernels"},
    "inference": {"data", "results", "errors", "estimation", "kernels"},
    "report": {"results", "errors", "data", "kernels"},
    "study": {
        "data",
        "results",
        "errors",
        "measure",
        "lights",
        "kernels",
        "estimation",
        "inference",
        "report",
    },
    "cli": {
        "data",
        "results",
        "errors",
        "measure",
        "lights",
        "kernels",
        "estimation",
        "inference",
        "report",
        "study",
    },
}
TOP_LEVEL_OK = {"errors", "_version", "_typing"}
#: A string constant naming a function by module path, as the study registry does.
_TARGET = re.compile(r"^didstudy((?:\.\w+)+):\w+$")


def _module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(root: Path, dotted: str) -> str:
    """The module a ``didstudy.<dotted>`` import loads (the longest existing module prefix)."""
    parts = dotted.split(".")
    for stop in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:stop])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return ".".join(parts[:stop])
    return ""  # an attribute of the top-level package (``from didstudy import __version__``)


def _raw_imports(path: Path) -> set[str]:
    """Dotted names below ``didstudy`` imported by a file (statements and registry strings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _TARGET.match(node.value)
            if match:
                names = ["didstudy" + match.group(1)]
        for name in names:
            parts = name.split(".")
            if parts[0] == "didstudy" and len(parts) > 1:
                found.add(".".join(parts[1:]))
    return found


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the didstudy modules it imports (relative dotted names, without itself)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        name = _module_name(root, path)
        targets = {_resolve(root, dotted) for dotted in _raw_imports(path)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def subpackage_of(module: str) -> str:
    return module.split(".")[0]


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import against :data:`ALLOWED`, as ``"module -> module"``."""
    bad = []
    for module, targets in graph.items():
        package = subpackage_of(module)
        if "." not in module and package not in ALLOWED:
            continue  # top-level modules (the lazy API, errors, __main__)
        allowed = ALLOWED.get(package, set()) | {package} | TOP_LEVEL_OK
        bad += [f"{module} -> {t}" for t in sorted(targets) if subpackage_of(t) not in allowed]
    return bad


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Subpackage -> subpackages it imports (top-level modules excluded)."""
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if "." not in module and subpackage_of(module) not in ALLOWED:
            continue
        package = subpackage_of(module)
        out.setdefault(package, set())
        out[package] |= {subpackage_of(t) for t in targets if subpackage_of(t) != package}
    return out


def _package_modules(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The module graph without edges from a package's ``__init__`` to its own submodules.

    A package ``__init__`` that re-exports its submodules is how the package is built, not a
    dependency of those submodules; a submodule importing its package's ``__init__`` still
    counts.
    """
    return {
        module: {t for t in targets if not t.startswith(module + ".")}
        for module, targets in graph.items()
    }


# --------------------------------------------------------------------------------------------
GRAPH = module_graph(SRC)


def test_registry_targets_are_read_as_imports() -> None:
    assert "inference.placebo" in GRAPH["study.registry"]
    assert "estimation.twfe" in GRAPH["study.registry"]


def test_dependency_direction() -> None:
    assert upward_imports(GRAPH) == []


def test_estimation_never_imports_inference() -> None:
    assert not any(
        subpackage_of(t) == "inference"
        for m, targets in GRAPH.items()
        if subpackage_of(m) == "estimation"
        for t in targets
    )


def test_nothing_imports_cli_or_study() -> None:
    for module, targets in GRAPH.items():
        if subpackage_of(module) in {"cli", "study"} or "." not in module:
            continue
        assert not {subpackage_of(t) for t in targets} & {"cli", "study"}, module


def test_no_cycle_between_subpackages() -> None:
    assert cycles(package_graph(GRAPH)) == []


def test_no_cycle_between_modules() -> None:
    assert cycles(_package_modules(GRAPH)) == []


# --------------------------------------------------------------------------------------------
def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / "didstudy"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


_CLEAN = {
    "__init__.py": "",
    "errors.py": "",
    "kernels/__init__.py": "",
    "kernels/demean.py": "from didstudy.errors import DidstudyError\n",
    "estimation/__init__.py": "",
    "estimation/twfe.py": "from didstudy.kernels.demean import demean\n",
    "inference/__init__.py": "",
    "inference/placebo.py": "from didstudy.estimation.twfe import twfe\n",
    "study/__init__.py": "",
    "study/registry.py": 'TARGET = "didstudy.inference.placebo:placebo"\n',
}


def test_the_rules_pass_a_clean_tree(tmp_path: Path) -> None:
    graph = module_graph(_tree(tmp_path, _CLEAN))
    assert graph["study.registry"] == {"inference.placebo"}
    assert upward_imports(graph) == []
    assert cycles(package_graph(graph)) == [] and cycles(graph) == []


def test_the_direction_rule_can_fail(tmp_path: Path) -> None:
    """An estimation module importing inference (inside a function) is rejected."""
    files = dict(_CLEAN)
    files["estimation/twfe.py"] += "def f():\n    from didstudy.inference import placebo\n"
    graph = module_graph(_tree(tmp_path, files))
    assert upward_imports(graph) == ["estimation.twfe -> inference.placebo"]
    assert cycles(package_graph(graph)) == [["estimation", "inference"]]


def test_the_registry_string_rule_can_fail(tmp_path: Path) -> None:
    """A kernel naming a study function by string is an upward import too."""
    files = dict(_CLEAN)
    files["kernels/demean.py"] += 'HOOK = "didstudy.study.registry:TARGET"\n'
    graph = module_graph(_tree(tmp_path, files))
    assert upward_imports(graph) == ["kernels.demean -> study.registry"]


def test_the_module_cycle_rule_can_fail(tmp_path: Path) -> None:
    """Two modules of one subpackage importing each other (lazily) form a cycle."""
    files = dict(_CLEAN)
    files["kernels/ols.py"] = "def f():\n    from didstudy.kernels import demean\n"
    files["kernels/demean.py"] += "from didstudy.kernels.ols import f\n"
    graph = module_graph(_tree(tmp_path, files))
    assert upward_imports(graph) == []
    assert cycles(_package_modules(graph)) == [["kernels.demean", "kernels.ols"]]


def test_every_decision_record_is_in_the_index() -> None:
    """docs/decisions/README.md lists every decision record (the guide links them from there)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "docs" / "decisions"
    index = (folder / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(folder.glob("[0-9]*.md")) if f"]({p.name})" not in index]
    assert not missing, missing
