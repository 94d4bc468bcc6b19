"""nerdctl: `nerdctl container inspect REF` in its containerd namespace (CONTAINERD_NAMESPACE, else "default";
Kubernetes' containers, in "k8s.io", are found through the CRI instead)."""

from __future__ import annotations

import shutil

from lueur_net.lab.runtimes import Found
from lueur_net.lab.runtimes._cli import inspect

HAS_PODS = False


def present() -> str | None:
    return None if shutil.which("nerdctl") else "not installed"


def containers(ref: str) -> list[Found]:
    return inspect("nerdctl", ["nerdctl", "container", "inspect"], ref)
