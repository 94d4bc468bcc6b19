"""Attaching to an existing network namespace (a pod, a container, an `ip netns` name, a process's namespace).

Targets: `NAME` (ip netns), `/proc/PID/ns/net` or any nsfs path, `pid:PID`, `container:REF` and
`pod:NAMESPACE/NAME` (resolved through the node's runtimes: the CRI, docker, podman, nerdctl; lab/runtimes).
The fault interface is the namespace's default-route interface or the one named with --iface; it is not ours
(owned=False). Its far end is found when it is a veth whose peer lives in the host namespace (the usual pod
wiring); otherwise the path's server end has ifindex 0 (unknown).

"The host" is two namespaces, not one: the one lueur-net runs in, and the machine's initial one. Run from inside
another namespace (`ip netns exec X lueur-net run --attach pid:<a host process>`), lueur-net's own namespace is
not the host's, and comparing with it alone once let a fault land on the real host's interface.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.enter import netns_path, unreadable
from lueur_net.lab.safety import ALLOW_FLAG
from lueur_net.lab.topology import Endpoint, Path

HOST_NETNS = "/proc/self/ns/net"  # the namespace lueur-net runs in (Endpoint.netns None)
INIT_NETNS = "/proc/1/ns/net"  # the machine's initial namespace, when pid 1 is the machine's init and readable
KTHREADD_PID = 2  # kernel threads all live in the initial namespace; kthreadd is pid 2 outside a PID namespace
PF_KTHREAD = 0x00200000  # /proc/PID/stat flags: a kernel thread (a process in a PID namespace cannot be one)
# The initial network namespace's fixed inode number (include/linux/proc_ns.h, seen on 6.18). Older kernels
# number it dynamically (from 0xF0000000 up, which never collides): then this check adds nothing.
INIT_NETNS_INODE = 0xEFFFFFF9


def resolve_target(target: str) -> str:
    """The target as a string run_in_netns and IPRoute accept: an `ip netns` name or an nsfs path.

    `container:REF` and `pod:NAMESPACE/NAME` are asked of the node's runtimes (lueur_net/lab/runtimes)."""
    if target.startswith("container:"):
        from lueur_net.lab.runtimes import resolve_container

        target = resolve_container(target[len("container:"):]).target
    elif target.startswith("pod:"):
        from lueur_net.lab.runtimes import resolve_pod

        target = resolve_pod(target[len("pod:"):]).target
    elif target.startswith("pid:"):
        target = str(netns_path(target))
    netns_path(target)  # raises BadInput when it does not exist
    return target


def _identity(path: str, target: str) -> tuple[int, int]:
    try:
        found = os.stat(path)
    except PermissionError as error:
        raise unreadable(target, path, error) from None
    except OSError as error:
        raise BadInput(f"network namespace {target} cannot be read ({path}): {error.strerror}") from None
    return found.st_dev, found.st_ino


def _kernel_thread(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return len(fields) > 6 and int(fields[6]) & PF_KTHREAD != 0  # field 9 of stat: flags


def initial_netns_identities() -> list[tuple[int, int]]:
    """(device, inode) of the machine's initial network namespace as far as it can be read: pid 1's, and a kernel
    thread's (kthreadd; root often may not open pid 1's when pid 1 is a supervisor, but may open a kthread's)."""
    identities = []
    candidates = [INIT_NETNS]
    if _kernel_thread(KTHREADD_PID):
        candidates.append(f"/proc/{KTHREADD_PID}/ns/net")
    for path in candidates:
        try:
            found = os.stat(path)
        except OSError:
            continue
        identities.append((found.st_dev, found.st_ino))
    return identities


def host_netns_kind(target: str) -> str | None:
    """'own' when `target` is the namespace lueur-net runs in, 'initial' when it is the machine's initial one,
    'unknown' when that cannot be told (neither pid 1's nor a kernel thread's namespace can be read, and the
    inode is not the fixed one), None when it is neither."""
    mine = _identity(str(netns_path(target)), target)
    if mine == _identity(HOST_NETNS, HOST_NETNS):
        return "own"
    if mine[1] == INIT_NETNS_INODE:
        return "initial"
    initial = initial_netns_identities()
    if mine in initial:
        return "initial"
    return None if initial else "unknown"


def is_host_netns(target: str) -> bool:
    """True when `target` may be the host's: lueur-net's own namespace, the machine's initial one, or one that
    cannot be told apart from it (the guard errs on the side of the host)."""
    return host_netns_kind(target) is not None


def refuse_host_netns(target: str, resolved: str, kind: str | None) -> None:
    """Refuse an attach target that is (or may be) the host's namespace: every interface there is the host's.

    BadInput (exit 2) naming what makes its interfaces the host's (a default route through them, addresses
    lueur-net did not assign); EnvironmentProblem (exit 3) when it cannot be told."""
    if kind is None:
        return
    hint = f"pass {ALLOW_FLAG} if you really mean it (your connection to this machine may suffer)"
    if kind == "unknown":
        raise EnvironmentProblem(
            f"cannot tell whether {target} is the host's network namespace: neither {INIT_NETNS} nor a kernel "
            "thread's namespace can be read to compare",
            hint=hint,
        )
    if kind == "own":
        what = f"{target} is the host's own network namespace (the one lueur-net runs in)"
    else:
        what = f"{target} is the machine's initial network namespace (the host's, that of {INIT_NETNS})"
    from lueur_net.lab.safety import describe_interfaces, interface_facts

    try:
        details = describe_interfaces(interface_facts(resolved))
    except Exception:  # noqa: BLE001 - the refusal stands; the details are a courtesy
        details = ""
    raise BadInput(
        f"{what}: faults there would hit the host's interfaces" + (f" ({details})" if details else ""), hint=hint
    )


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


def attach(target: str, iface: str | None = None, *, allow_host_interface: bool = False) -> Attachment:
    """Resolve the target and its fault interface; changes nothing.

    Refuses (BadInput, exit 2) a target that is the host's namespace (lueur-net's own or the machine's initial
    one) unless `allow_host_interface`; a namespace it may not open is an EnvironmentProblem (exit 3).
    """
    from lueur_net.lab.links import open_netns

    resolved = resolve_target(target)
    kind = host_netns_kind(resolved)
    if not allow_host_interface:
        refuse_host_netns(target, resolved, kind)
    try:
        ipr = open_netns(resolved)
    except EnvironmentProblem:
        raise
    except Exception as error:  # noqa: BLE001
        raise EnvironmentProblem(f"cannot open namespace {resolved}: {error}") from None
    try:
        ifname, index = _find_interface(ipr, iface, resolved)
        client = Endpoint(resolved, ifname, index, _first_ipv4(ipr, index), owned=False)
        server = _host_peer(ipr, index) if kind is None else None
    finally:
        ipr.close()
    if server is None:
        server = Endpoint(None, "", 0, "", owned=False)
    return Attachment(resolved, Path(client, server))
