"""docker: `docker container inspect REF` (ID, unique ID prefix or name)."""

from __future__ import annotations

import os
import shutil

from lueur_net.lab.runtimes import Found
from lueur_net.lab.runtimes._cli import inspect

HAS_PODS = False
SOCKET = "/var/run/docker.sock"


def present() -> str | None:
    if not shutil.which("docker"):
        return "not installed"
    # The CLI is often installed without its daemon; asking it then only adds "Cannot connect" to every message.
    if not os.environ.get("DOCKER_HOST") and not os.path.exists(SOCKET):
        return f"no daemon ({SOCKET} absent, DOCKER_HOST unset)"
    return None


def containers(ref: str) -> list[Found]:
    return inspect("docker", ["docker", "container", "inspect"], ref)
