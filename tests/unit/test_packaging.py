"""Every package of the tree is in pyproject's package list: an editable install finds a missing one anyway (it
maps the top folder), so only a wheel or the container image would lose it."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "lueur_net").rglob("__init__.py")}
    folders |= set(config["package-dir"])  # cli/ and analysis/, installed as lueur_net.cli, lueur_net.analysis
    assert folders - listed == set()
