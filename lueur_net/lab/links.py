"""Namespaces, veth pairs, addresses, routes and sysctls through pyroute2 netlink, with errors a person can read.

The caller (Lab) records each object in the ledger before calling the function that creates it, and refuses a
name that is already taken before recording it, so neither close() nor `clean` ever deletes an object someone
else made.
"""

from __future__ import annotations

import errno as errno_codes
import os
from pathlib import Path
from typing import Any

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.enter import NETNS_RUN_DIR, create_named_netns, in_netns_thread

IFNAMSIZ = 15


def netlink_problem(action: str, subject: str, error: Exception) -> EnvironmentProblem:
    """A NetlinkError (or OSError) as one line naming the object and the errno text."""
    code = getattr(error, "code", None) or getattr(error, "errno", None)
    text = os.strerror(code) if isinstance(code, int) and code > 0 else str(error)
    return EnvironmentProblem(f"netlink: cannot {action} {subject}: {text}")


def check_ifname(name: str) -> None:
    if len(name) > IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")


def netns_exists(name: str) -> bool:
    return (NETNS_RUN_DIR / name).exists()


def name_clash(what: str, name: str) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"{what} '{name}' already exists; lueur-net will not reuse or remove an object it did not create",
        hint="if a killed run left it, `sudo lueur-net clean` removes it",
    )


def create_netns(name: str) -> None:
    """Create an `ip netns` namespace (a bind mount under /run/netns); the caller recorded it already."""
    if netns_exists(name):
        raise name_clash("network namespace", name)
    try:
        create_named_netns(name)  # in a thread: no forked helper (pyroute2's netns.create forks one)
    except FileExistsError:
        raise name_clash("network namespace", name) from None
    except OSError as error:
        raise netlink_problem("create network namespace", name, error) from None


def open_netns(name: str | None) -> Any:
    """An IPRoute bound to namespace `name` (None = the host's); never creates a missing namespace.

    The socket is opened by this thread from inside the namespace (lab.enter.inside): pyroute2's own netns=
    forks a helper process per socket (~40 ms each).
    """
    from pyroute2 import IPRoute

    from lueur_net.lab.enter import inside

    with inside(name):
        return IPRoute()


def link_index(ipr: Any, ifname: str, where: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise EnvironmentProblem(f"netlink: interface {ifname} not found in {where}")
    return int(found[0])


def create_veth(ipr: Any, ifname: str, peer: str, peer_netns: str, where: str) -> int:
    """Create a veth pair: `ifname` in ipr's namespace, `peer` directly in namespace `peer_netns`."""
    check_ifname(ifname)
    check_ifname(peer)
    if ipr.link_lookup(ifname=ifname):
        raise name_clash(f"interface (in {where})", ifname)
    fd = os.open(NETNS_RUN_DIR / peer_netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        ipr.link("add", ifname=ifname, kind="veth", peer={"ifname": peer, "net_ns_fd": fd})
    except Exception as error:  # noqa: BLE001
        if getattr(error, "code", None) == errno_codes.EEXIST:
            raise name_clash(f"interface (in {where})", ifname) from None
        raise netlink_problem(f"create veth pair {ifname}/{peer} in", where, error) from None
    finally:
        os.close(fd)
    return link_index(ipr, ifname, where)


def configure(ipr: Any, ifname: str, address: str, prefixlen: int, where: str, gateway: str | None = None) -> int:
    """Give an interface its address, bring it (and lo) up, and add a default route if `gateway`."""
    index = link_index(ipr, ifname, where)
    try:
        ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
        ipr.link("set", index=index, state="up")
        loopback = ipr.link_lookup(ifname="lo")
        if loopback:
            ipr.link("set", index=loopback[0], state="up")
        if gateway is not None:
            ipr.route("add", dst="0.0.0.0/0", gateway=gateway)
    except Exception as error:  # noqa: BLE001
        raise netlink_problem(f"configure {ifname} ({address}/{prefixlen}) in", where, error) from None
    return index


def _write_sysctl(key: str, value: str) -> None:
    Path("/proc/sys", *key.split(".")).write_text(value)


def set_sysctl(namespace: str | None, key: str, value: str) -> None:
    """Write a sysctl such as net.ipv4.conf.IF.route_localnet in `namespace` (None = the host's)."""
    try:
        if namespace is None:
            _write_sysctl(key, value)
        else:
            in_netns_thread(namespace, _write_sysctl, key, value)
    except OSError as error:
        raise EnvironmentProblem(f"cannot set sysctl {key}={value} in {namespace or 'the host'}: {error}") from None
