"""Attaching to an existing network namespace (a pod, a container, an `ip netns` name, a process's namespace).

Targets: `NAME` (ip netns), `/proc/PID/ns/net` or any nsfs path, `pid:PID`, `container:ID` (resolved with
`crictl inspect`, else `docker inspect`). The fault interface is the namespace's default-route interface or the
one named with --iface; it is not ours (owned=False). Its far end is found when it is a veth whose peer lives in
the host namespace (the usual pod wiring); otherwise the path's server end has ifindex 0 (unknown).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.enter import netns_path
from lueur_net.lab.topology import Endpoint, Path

HOST_NETNS = "/proc/self/ns/net"  # "the host" is the namespace lueur-net runs in (Endpoint.netns None)


def container_pid(container: str) -> int:
    """The pid of a running container's first process, from crictl or docker."""
    if not container:
        raise BadInput("container: needs an ID (container:ID)")
    tools = [tool for tool in ("crictl", "docker") if shutil.which(tool)]
    if not tools:
        raise EnvironmentProblem(
            f"cannot resolve container:{container}: neither crictl nor docker is installed",
            hint="give the namespace as pid:PID or /proc/PID/ns/net instead",
        )
    problems = []
    unknown = True  # every tool answered that the container does not exist (bad input), not that it failed
    for tool in tools:
        if tool == "crictl":
            command = ["crictl", "inspect", container]
        else:
            command = ["docker", "inspect", "--format", "{{json .State.Pid}}", container]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=15, check=False)
        except subprocess.TimeoutExpired:
            problems.append(f"{tool}: timed out")
            unknown = False
            continue
        if done.returncode != 0:
            message = done.stderr.strip() or f"exit status {done.returncode}"
            unknown = unknown and ("no such" in message.lower() or "not found" in message.lower())
            problems.append(f"{tool}: {message}")
            continue
        try:
            data: Any = json.loads(done.stdout)
            pid = int(data["info"]["pid"]) if tool == "crictl" else int(data)
        except (ValueError, KeyError, TypeError):
            problems.append(f"{tool}: unexpected output {done.stdout.strip()[:80]!r}")
            unknown = False
            continue
        if pid <= 0:
            raise BadInput(f"container {container} is not running (no process)")
        return pid
    error = BadInput if unknown else EnvironmentProblem
    raise error(f"cannot resolve container:{container}: " + "; ".join(problems))


def resolve_target(target: str) -> str:
    """The target as a string run_in_netns and IPRoute accept: an `ip netns` name or an nsfs path."""
    if target.startswith("container:"):
        target = f"/proc/{container_pid(target[len('container:'):])}/ns/net"
    elif target.startswith("pid:"):
        target = str(netns_path(target))
    netns_path(target)  # raises BadInput when it does not exist
    return target


def is_host_netns(target: str) -> bool:
    """True when `target` is the namespace lueur-net itself runs in (the host's), where interfaces are host ones."""
    mine = os.stat(netns_path(target))
    host = os.stat(HOST_NETNS)
    return (mine.st_dev, mine.st_ino) == (host.st_dev, host.st_ino)


@dataclass(frozen=True)
class Attachment:
    target: str  # resolved: ip netns name or nsfs path
    path: Path


def _first_ipv4(ipr: Any, index: int) -> str:
    for address in ipr.get_addr(family=2, index=index):
        return str(address.get_attr("IFA_ADDRESS"))
    return ""


def _find_interface(ipr: Any, iface: str | None, target: str) -> tuple[str, int]:
    if iface is not None:
        found = ipr.link_lookup(ifname=iface)
        if not found:
            raise BadInput(f"interface {iface} does not exist in namespace {target}")
        return iface, int(found[0])
    for route in ipr.get_routes(family=2, dst_len=0, table=254):
        index = route.get_attr("RTA_OIF")
        if index:
            link = ipr.get_links(index)[0]
            return str(link.get_attr("IFLA_IFNAME")), int(index)
    raise BadInput(
        f"namespace {target} has no IPv4 default route, so there is no default interface",
        hint="name the interface with --iface",
    )


def _host_peer(ipr_target: Any, index: int) -> Endpoint | None:
    """The veth peer of interface `index` when it lives in the host namespace, else None."""
    from pyroute2 import IPRoute

    link = ipr_target.get_links(index)[0]
    info = link.get_attr("IFLA_LINKINFO")
    if info is None or info.get_attr("IFLA_INFO_KIND") != "veth":
        return None
    peer_index = link.get_attr("IFLA_LINK")
    if not peer_index or link.get_attr("IFLA_LINK_NETNSID") is None:
        return None
    with IPRoute() as host:
        try:
            peer = host.get_links(peer_index)[0]
        except Exception:  # noqa: BLE001 - no such index on the host: the peer is elsewhere
            return None
        if peer.get_attr("IFLA_LINK") != index:
            return None
        name = str(peer.get_attr("IFLA_IFNAME"))
        return Endpoint(None, name, int(peer_index), _first_ipv4(host, int(peer_index)), owned=False)


def attach(target: str, iface: str | None = None) -> Attachment:
    """Resolve the target and its fault interface; changes nothing."""
    from lueur_net.lab.links import open_netns

    resolved = resolve_target(target)
    try:
        ipr = open_netns(resolved)
    except Exception as error:  # noqa: BLE001
        raise EnvironmentProblem(f"cannot open namespace {resolved}: {error}") from None
    try:
        ifname, index = _find_interface(ipr, iface, resolved)
        client = Endpoint(resolved, ifname, index, _first_ipv4(ipr, index), owned=False)
        server = _host_peer(ipr, index) if not is_host_netns(resolved) else None
    finally:
        ipr.close()
    if server is None:
        server = Endpoint(None, "", 0, "", owned=False)
    return Attachment(resolved, Path(client, server))
