"""Refuse before touching: which interfaces a fault may go on.

A fault may go on an interface lueur-net created (owned). An interface we did not create is refused when it is
in the host's namespace (the default-route interface above all: faulting it can cut the machine off) unless
the user passes the explicit flag. An interface inside a namespace the user attached to on purpose (a pod) is
allowed: that is what attaching is for, and the data plane restores what it changes there.
"""

from __future__ import annotations

import time

from lueur_net.errors import BadInput
from lueur_net.lab.topology import Endpoint

ALLOW_FLAG = "--allow-host-interface"


def _in_host_netns(endpoint: Endpoint) -> bool:
    if endpoint.netns is None:
        return True
    from lueur_net.lab.attach import is_host_netns

    return is_host_netns(endpoint.netns)


def host_default_interfaces() -> set[str]:
    """Names of the host's IPv4/IPv6 default-route interfaces."""
    from pyroute2 import IPRoute

    names: set[str] = set()
    with IPRoute() as ipr:
        for family in (2, 10):
            for route in ipr.get_routes(family=family, dst_len=0, table=254):
                index = route.get_attr("RTA_OIF")
                if index:
                    names.add(str(ipr.get_links(index)[0].get_attr("IFLA_IFNAME")))
    return names


def check_fault_target(endpoint: Endpoint, *, allow_host_interface: bool = False) -> None:
    """Raise BadInput (exit 2) when a fault must not go on `endpoint`; call before changing anything."""
    if endpoint.ifindex == 0:
        raise BadInput(
            "this end of the path is unknown (the attached interface is not a veth with its peer on the host); "
            "put the fault on the other side"
        )
    if endpoint.owned or not _in_host_netns(endpoint):
        return
    if allow_host_interface:
        return
    reason = (
        "it is the host's default-route interface"
        if endpoint.ifname in host_default_interfaces()
        else "it is a host interface lueur-net did not create"
    )
    raise BadInput(
        f"refusing to put a fault on {endpoint.ifname}: {reason}",
        hint=f"pass {ALLOW_FLAG} if you really mean it (your connection to this machine may suffer)",
    )


def deadline_after(max_lifetime: float) -> float:
    """A CLOCK_MONOTONIC deadline in seconds (time.monotonic()), the clock BPF's bpf_ktime_get_ns() reads."""
    if max_lifetime <= 0:
        raise BadInput("a fault's maximum lifetime must be positive")
    return time.monotonic() + max_lifetime
