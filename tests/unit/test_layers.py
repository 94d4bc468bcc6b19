"""Layers import downward only (DESIGN.md "The way data flows"): read every import statement of the package with
`ast` and fail on an upward import out of the pure layers or on a circle between lueur_net's packages.

Every import counts, wherever it is written: module level, inside a function, under `if TYPE_CHECKING:` (a type
is a dependency too), `from . import x` and relative imports (resolved against the file's package). `cli/` is
installed as `lueur_net.cli` and `analysis/` as `lueur_net.analysis` (pyproject.toml), so they are read as such.

A "unit" is a subpackage or top-level module of lueur_net (scenario, plan, lab, dataplane, driver, records,
analysis, cli, runner, ledger, removers, errors, and any new one). The checks:
- (a) the pure layers import only pure layers: `distributions` (the Pareto math both scenario and plan need)
  imports nothing of lueur_net; `scenario` imports only itself, `distributions` and `errors`; `plan` only
  itself, `scenario`, `distributions` and `errors`. Anything else (lab, dataplane, driver, runner, cli, records,
  analysis, a results layer, the ledger...) has effects and sits above them.
- (b) the package-level graph has no cycle; each one is printed with the import lines that make it.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "lueur_net"
# Folder -> the dotted name it is installed as (pyproject.toml [tool.setuptools.package-dir]).
SOURCES = {ROOT / "lueur_net": "lueur_net", ROOT / "cli": "lueur_net.cli", ROOT / "analysis": "lueur_net.analysis"}

# What each pure unit may import (besides itself). Everything not listed is a layer with effects above them.
PURE_MAY_IMPORT: dict[str, frozenset[str]] = {
    "distributions": frozenset(),
    "scenario": frozenset({"distributions", "errors"}),
    "plan": frozenset({"scenario", "distributions", "errors"}),
}

# Edges that still make a circle on this branch and belong to another helper's part of issue 12: the lead merges
# their fixes and then empties this table (test_allowlist_is_current fails when an entry is no longer needed).
# (from unit, to unit): who removes it.
# Package edges a circle may still use while a move is under way (none: the records/results split is done).
ALLOWED_FOR_NOW: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    """One import statement's reference from `module` (dotted) to `target` (dotted), at file:line."""

    module: str
    target: str
    file: str
    line: int
    text: str

    def shown(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every .py of the package (cli/ and analysis/ under their installed names)."""
    found: dict[str, Path] = {}
    for folder, dotted in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            if any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(folder).parts):
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([dotted, *parts])] = path
    return found


def _package_of(module: str, path: Path) -> str:
    """The package a relative import in `module` is resolved against (itself when it is a package's __init__)."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str, path: Path, modules: dict[str, Path], root: Path = ROOT) -> list[Import]:
    """Every lueur_net module this file's import statements name (ast.walk: function-level ones too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = path.read_text().splitlines()
    shown = str(path.relative_to(root))
    found: list[Import] = []

    def add(target: str, node: ast.stmt) -> None:
        if target == PACKAGE or target.startswith(PACKAGE + "."):
            one = Import(module, target, shown, node.lineno, lines[node.lineno - 1].strip())
            if one not in found:  # `from m import a, b` is one reference to m
                found.append(one)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                # `from package import module` names the module; `from module import name` names the module.
                candidate = f"{source}.{alias.name}"
                add(candidate if candidate in modules else source, node)
    return found


def unit_of(module: str) -> str:
    """lueur_net.plan.model -> plan; lueur_net.runner -> runner; lueur_net itself -> lueur_net."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def all_imports() -> list[Import]:
    modules = module_files()
    return [found for module, path in modules.items() for found in imports_of(module, path, modules)]


def unit_graph(imports: list[Import]) -> dict[str, dict[str, list[Import]]]:
    """unit -> {imported unit: the import statements making that edge}, without a unit's imports of itself."""
    graph: dict[str, dict[str, list[Import]]] = {}
    for found in imports:
        source, target = unit_of(found.module), unit_of(found.target)
        graph.setdefault(source, {})
        graph.setdefault(target, {})
        if source != target:
            graph[source].setdefault(target, []).append(found)
    return graph


def upward_imports(imports: list[Import]) -> list[Import]:
    """Check (a): imports out of a pure layer into anything not listed in PURE_MAY_IMPORT."""
    bad = []
    for found in imports:
        source, target = unit_of(found.module), unit_of(found.target)
        if source in PURE_MAY_IMPORT and target != source and target not in PURE_MAY_IMPORT[source]:
            bad.append(found)
    return bad


def _path(graph: dict[str, dict[str, list[Import]]], start: str, goal: str, within: set[str]) -> list[str]:
    """The shortest unit path start -> goal inside `within` (breadth first), [] if there is none."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for nxt in sorted(graph[node]):
            if nxt in within and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return []


def cycles(graph: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """One circle per edge that lies on one (u -> v, then the shortest way back v -> u), without repeats.

    An edge u -> v is on a circle exactly when v reaches u; listing one circle per such edge shows every import
    that has to go, not just the first circle found."""
    found: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    nodes = set(graph)
    for source in sorted(graph):
        for target in sorted(graph[source]):
            back = _path(graph, target, source, nodes)
            if not back:
                continue
            circle = [source, *back[:-1]]  # source -> target -> ... -> (source)
            turn = circle.index(min(circle))
            key = tuple(circle[turn:] + circle[:turn])
            if key not in seen:
                seen.add(key)
                found.append(list(key))
    return found


def describe_cycle(circle: list[str], graph: dict[str, dict[str, list[Import]]]) -> str:
    lines = [" -> ".join([*circle, circle[0]])]
    for position, source in enumerate(circle):
        target = circle[(position + 1) % len(circle)]
        lines.append(f"  {source} -> {target}:")
        lines += [f"    {found.shown()}" for found in graph[source][target]]
    return "\n".join(lines)


def _without_allowed(graph: dict[str, dict[str, list[Import]]]) -> dict[str, dict[str, list[Import]]]:
    return {source: {target: found for target, found in targets.items() if (source, target) not in ALLOWED_FOR_NOW}
            for source, targets in graph.items()}


def test_the_pure_layers_import_nothing_above_them() -> None:
    bad = upward_imports(all_imports())
    message = "\n".join(
        f"{found.shown()}\n  {unit_of(found.module)} may import only "
        f"{', '.join(sorted(PURE_MAY_IMPORT[unit_of(found.module)] | {unit_of(found.module)}))}, "
        f"not {unit_of(found.target)}"
        for found in bad
    )
    print(message)
    assert not bad, f"{len(bad)} upward import(s) out of a pure layer:\n{message}"


def test_no_circle_between_packages() -> None:
    graph = _without_allowed(unit_graph(all_imports()))
    found = cycles(graph)
    message = "\n".join(describe_cycle(circle, graph) for circle in found)
    print(message)
    assert not found, f"{len(found)} circle(s) between lueur_net's packages:\n{message}"


def test_allowlist_is_current() -> None:
    """Every temporary exception still names an import that exists and still closes a circle."""
    graph = unit_graph(all_imports())
    stale = [edge for edge in ALLOWED_FOR_NOW
             if edge[1] not in graph.get(edge[0], {}) or not _path(graph, edge[1], edge[0], set(graph))]
    assert not stale, f"remove from ALLOWED_FOR_NOW, no longer needed: {stale}"


# ---- the checker itself, on a small made-up package ----


def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        parts = list(Path(name).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def test_the_reader_sees_function_level_relative_and_type_checking_imports(tmp_path: Path) -> None:
    modules = _fake_package(tmp_path, {
        "lueur_net/__init__.py": "",
        "lueur_net/plan/__init__.py": "from . import model\n",
        "lueur_net/plan/model.py": "def f():\n    from ..dataplane import probe\n",
        "lueur_net/plan/other.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lueur_net.lab\n",
        "lueur_net/dataplane/__init__.py": "",
        "lueur_net/dataplane/probe.py": "from lueur_net.plan.model import f\n",
        "lueur_net/lab/__init__.py": "",
    })
    imports = [found for module, path in modules.items() for found in imports_of(module, path, modules, tmp_path)]
    targets = {(found.module, found.target) for found in imports}
    assert ("lueur_net.plan", "lueur_net.plan.model") in targets
    assert ("lueur_net.plan.model", "lueur_net.dataplane.probe") in targets
    assert ("lueur_net.plan.other", "lueur_net.lab") in targets
    assert {unit_of(found.target) for found in upward_imports(imports)} == {"dataplane", "lab"}
    graph = unit_graph(imports)
    (circle,) = cycles(graph)
    assert circle == ["dataplane", "plan"]
    text = describe_cycle(circle, graph)
    assert "lueur_net/plan/model.py:2: from ..dataplane import probe" in text
    assert "lueur_net/dataplane/probe.py:1: from lueur_net.plan.model import f" in text
