"""Refuse before touching: which interfaces a fault may go on.

A fault may go on an interface lueur-net created (owned). An interface we did not create is refused when it is
in a host namespace (the one lueur-net runs in, or the machine's initial one: see lab/attach.py) unless the user
passes the explicit flag; the refusal says what makes it the host's (a default route leaving through it, an
address lueur-net did not assign: faulting it can cut the machine off). An interface inside a namespace the user
attached to on purpose (a pod) is allowed: that is what attaching is for, and the data plane restores what it
changes there.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from lueur_net.errors import BadInput
from lueur_net.lab.topology import Endpoint

ALLOW_FLAG = "--allow-host-interface"


def _in_host_netns(endpoint: Endpoint) -> bool:
    if endpoint.netns is None:
        return True
    from lueur_net.lab.attach import is_host_netns

    return is_host_netns(endpoint.netns)


@dataclass(frozen=True)
class InterfaceFacts:
    """What makes an interface part of a machine's own networking, as the guard reports it."""

    ifindex: int
    ifname: str
    default_route: bool  # an IPv4 or IPv6 default route (any table) leaves through it
    addresses: tuple[str, ...]  # "address/prefix", IPv6 link-local left out (the kernel assigns those itself)


def interface_facts(netns: str | None = None) -> list[InterfaceFacts]:
    """Every interface of namespace `netns` (None: lueur-net's own) with its default routes and addresses."""
    from lueur_net.lab.links import open_netns

    ipr = open_netns(netns)
    try:
        names = {int(link["index"]): str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links()}
        defaults: set[int] = set()
        for family in (2, 10):
            for route in ipr.get_routes(family=family):  # no table filter: every table
                if route["dst_len"] != 0:
                    continue
                if route.get_attr("RTA_OIF"):
                    defaults.add(int(route.get_attr("RTA_OIF")))
                for hop in route.get_attr("RTA_MULTIPATH") or []:
                    defaults.add(int(hop["oif"]))
        addresses: dict[int, list[str]] = {}
        for address in ipr.get_addr():
            value = address.get_attr("IFA_LOCAL") or address.get_attr("IFA_ADDRESS")
            if value is None or ipaddress.ip_address(value).is_link_local and address["family"] == 10:
                continue
            addresses.setdefault(int(address["index"]), []).append(f"{value}/{address['prefixlen']}")
    finally:
        ipr.close()
    return [InterfaceFacts(index, name, index in defaults, tuple(addresses.get(index, ())))
            for index, name in sorted(names.items())]


def describe_interfaces(facts: list[InterfaceFacts], limit: int = 3) -> str:
    """'eth0 carries its default route, has 192.0.2.2/24; ...' for the interfaces that show it is a host's."""
    parts = []
    ordered = sorted(facts, key=lambda fact: (not fact.default_route, fact.ifname == "lo", fact.ifindex))
    for fact in ordered:
        if fact.ifname == "lo" or not (fact.default_route or fact.addresses):
            continue
        bits = ["carries its default route"] if fact.default_route else []
        if fact.addresses:
            bits.append("has " + ", ".join(fact.addresses[:2]) + (", ..." if len(fact.addresses) > 2 else ""))
        parts.append(f"{fact.ifname} " + " and ".join(bits))
    more = len(parts) - limit
    return "; ".join(parts[:limit]) + (f"; {more} more" if more > 0 else "")


def host_default_interfaces() -> set[str]:
    """Names of the host's IPv4/IPv6 default-route interfaces (every routing table)."""
    return {fact.ifname for fact in interface_facts(None) if fact.default_route}


def _reason(endpoint: Endpoint) -> str:
    """Why a host interface must not be faulted: what ties it to the host, as far as it can be read."""
    try:
        facts = next((fact for fact in interface_facts(endpoint.netns) if fact.ifindex == endpoint.ifindex), None)
    except Exception:  # noqa: BLE001 - the refusal stands without the details
        facts = None
    if facts is not None and facts.default_route:
        return "it is the host's default-route interface (a default route leaves through it)"
    if facts is not None and facts.addresses:
        return ("it is a host interface lueur-net did not create, with addresses lueur-net did not assign ("
                + ", ".join(facts.addresses[:3]) + ")")
    return "it is a host interface lueur-net did not create"


def check_fault_target(endpoint: Endpoint, *, allow_host_interface: bool = False) -> None:
    """Raise BadInput (exit 2) when a fault must not go on `endpoint`; call before changing anything."""
    if endpoint.ifindex == 0:
        raise BadInput(
            "this end of the path is unknown (the attached interface is not a veth with its peer on the host); "
            "put the fault on the other side"
        )
    if endpoint.owned or allow_host_interface or not _in_host_netns(endpoint):
        return
    where = "" if endpoint.netns is None else f" in {endpoint.netns}"
    raise BadInput(
        f"refusing to put a fault on {endpoint.ifname}{where}: {_reason(endpoint)}",
        hint=f"pass {ALLOW_FLAG} if you really mean it (your connection to this machine may suffer)",
    )


def deadline_after(max_lifetime: float) -> float:
    """A CLOCK_MONOTONIC deadline in seconds (time.monotonic()), the clock BPF's bpf_ktime_get_ns() reads."""
    if max_lifetime <= 0:
        raise BadInput("a fault's maximum lifetime must be positive")
    return time.monotonic() + max_lifetime
