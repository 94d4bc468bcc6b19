"""Resolving `container:REF` and `pod:NAMESPACE/NAME` through the container runtimes a node has.

Every runtime module offers the same three functions, registered in RUNTIMES (the one table):
- `present()`: None when the runtime can be asked on this machine, else why not (one phrase);
- `containers(ref)` / `pods(namespace, name)`: the matches it knows, as `Found`; raises `Unreachable` when it was
  present but could not answer (daemon down, permission, timeout).
All present runtimes are asked, because a node may have more than one (containerd for the kubelet and podman for
the operator) and the ID alone does not say which; the same container seen through two of them (containerd's CRI
and nerdctl, docker and cri-dockerd) is one match, told by its full ID.

Outcomes, as in the rest of the CLI: exactly one running match resolves to its namespace; none, several, or one
that is not running is BadInput (exit 2, one line naming what was asked); no runtime at all, or none found while a
runtime could not answer, is an EnvironmentProblem (exit 3), since the target may well exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from lueur_net.errors import BadInput, EnvironmentProblem


@dataclass(frozen=True)
class Found:
    """One container or pod sandbox as a runtime reports it."""

    runtime: str  # "cri (unix:///run/containerd/containerd.sock)", "podman", ...
    id: str  # full ID
    name: str  # container name, or NAMESPACE/NAME for a pod
    pid: int  # its first process; 0 when not running
    running: bool
    netns: str = ""  # the namespace's path when the runtime gives one but no pid (a sandbox without a process)

    @property
    def target(self) -> str:
        """The namespace as run_in_netns and IPRoute take it: /proc/PID/ns/net when there is a process (so that
        names resolve with the container's own /etc files), else the runtime's netns path."""
        return f"/proc/{self.pid}/ns/net" if self.pid > 0 else self.netns

    def describe(self) -> str:
        return f"{self.runtime} {self.id[:13]} ({self.name})"


class Unreachable(Exception):
    """A present runtime could not answer; the message says which and why."""


class NotThere(Exception):
    """On asking, the runtime turned out not to be there after all (a default socket that is not the runtime's, as
    docker's own containerd, without the CRI plugin, at containerd's path): counted as absent, with the reason."""


# The one table: runtime name -> its module (imported when asked; grpcio only loads for the CRI). The order is the
# order of asking and of the names in messages.
RUNTIMES: dict[str, str] = {
    "cri": "lueur_net.lab.runtimes.cri",
    "docker": "lueur_net.lab.runtimes.docker",
    "podman": "lueur_net.lab.runtimes.podman",
    "nerdctl": "lueur_net.lab.runtimes.nerdctl",
}


def _ask(kind: str, what: str, query: Callable[[ModuleType], list[Found]], pods_only: bool) -> Found:
    found: dict[str, Found] = {}
    asked: list[str] = []
    absent: list[str] = []
    problems: list[str] = []
    for name, module_name in RUNTIMES.items():
        module = importlib.import_module(module_name)
        if pods_only and not getattr(module, "HAS_PODS", False):
            continue
        reason = module.present()
        if reason is not None:
            absent.append(f"{name}: {reason}")
            continue
        try:
            matches = query(module)
        except NotThere as error:
            absent.append(f"{name}: {error}")
            continue
        except Unreachable as error:
            problems.append(str(error))
            matches = []
        asked.append(name)
        for match in matches:
            found.setdefault(match.id, match)
    if not asked:
        raise EnvironmentProblem(
            f"cannot resolve {what}: no container runtime to ask ({'; '.join(absent)})",
            hint="give the namespace as pid:PID or /proc/PID/ns/net instead",
        )
    matches = list(found.values())
    if not matches:
        if problems:
            raise EnvironmentProblem(f"cannot resolve {what}: " + "; ".join(problems))
        raise BadInput(f"{what} not found: no {kind} matches it in {', '.join(asked)}")
    if len(matches) > 1:
        listed = ", ".join(match.describe() for match in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise BadInput(f"{what} is ambiguous: {len(matches)} {kind}s match: {listed}{more}; give a longer ID")
    match = matches[0]
    if not match.running or not match.target:
        raise BadInput(f"{what} is not running ({match.describe()} has no process)")
    return match


def resolve_container(ref: str) -> Found:
    """The one running container whose ID (or unique ID prefix, or name) is `ref`, in any runtime present."""
    if not ref:
        raise BadInput("container: needs an ID (container:ID)")
    return _ask("container", f"container:{ref}", lambda module: module.containers(ref), pods_only=False)


def parse_pod(spec: str) -> tuple[str, str]:
    namespace, slash, name = spec.partition("/")
    if not slash or not namespace or not name or "/" in name:
        raise BadInput(f"pod:{spec} is not pod:NAMESPACE/NAME (the Kubernetes namespace is required)")
    return namespace, name


def resolve_pod(spec: str) -> Found:
    """The ready pod sandbox of Kubernetes pod NAMESPACE/NAME, through the CRI (pods live there only)."""
    namespace, name = parse_pod(spec)
    return _ask("pod", f"pod:{spec}", lambda module: module.pods(namespace, name), pods_only=True)
