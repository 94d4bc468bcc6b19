"""lueur_net.generate is pure like scenario and plan (DESIGN.md): its modules import only scenario, errors and
themselves; fetch.py, the one module with effects (HTTP, --serve's lab), is imported by nobody in the package."""

from __future__ import annotations

import ast

from generate_support import REPO

PACKAGE = REPO / "lueur_net" / "generate"
PURE_MAY_IMPORT = ("lueur_net.generate", "lueur_net.scenario", "lueur_net.errors")


def _lueur_imports(path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [name for name in names if name.startswith("lueur_net")]


def test_generate_is_pure_apart_from_fetch() -> None:
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _lueur_imports(path):
            if path.name == "fetch.py":
                continue
            if name == "lueur_net.generate.fetch" or not name.startswith(PURE_MAY_IMPORT):
                bad.append(f"{path.name}: {name}")
    assert bad == []


def test_nothing_network_is_imported_by_the_pure_modules() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "fetch.py":
            continue
        text = path.read_text()
        assert "import httpx" not in text and "socket" not in text, path.name
