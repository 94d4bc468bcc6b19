"""podman: `podman container inspect REF` (ID, unique ID prefix or name); daemonless, so present when installed.

Run as root, it sees root's containers (the ones with a network namespace lueur-net may fault)."""

from __future__ import annotations

import shutil

from lueur_net.lab.runtimes import Found
from lueur_net.lab.runtimes._cli import inspect

HAS_PODS = False


def present() -> str | None:
    return None if shutil.which("podman") else "not installed"


def containers(ref: str) -> list[Found]:
    return inspect("podman", ["podman", "container", "inspect"], ref)
