"""Where each URL the client must reach lives, decided on the host before anything is created.

A URL is kept exactly as written; the lab makes it work from inside the client namespace:
- `loopback`: the name resolves (on the host) to 127.0.0.0/8, e.g. http://localhost:9090/. The client
  namespace DNATs that address and port to the host end of its veth (or to the server namespace with --serve),
  and the other side DNATs it back to the loopback address.
- `host`: the name resolves to another address of this host (e.g. its eth0 address): reached directly over
  the client namespace's default route through the host end; no NAT.
Anything else (another machine) is refused for now: the lab does not forward off the host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from lueur_net.errors import BadInput

DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str], list[str]]


@dataclass(frozen=True)
class Upstream:
    url: str  # exactly as written
    hostname: str  # lower-cased host part of the URL
    port: int
    address: str  # the IPv4 address the host resolves hostname to
    where: Literal["loopback", "host"]

    @property
    def is_name(self) -> bool:
        """True when the URL names a host (written into the namespace's hosts file) rather than an address."""
        try:
            ipaddress.ip_address(self.hostname)
        except ValueError:
            return True
        return False


def resolve_ipv4(hostname: str) -> list[str]:
    """IPv4 addresses the host resolves `hostname` to, in resolver order."""
    try:
        infos = socket.getaddrinfo(hostname, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise BadInput(f"upstream host '{hostname}' does not resolve on this host: {error.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def classify(
    url: str, local_addresses: Iterable[str], resolve: Resolver = resolve_ipv4
) -> Upstream:
    """Parse one URL and decide how the client namespace reaches it."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise BadInput(f"upstream '{url}' must be an http:// or https:// URL")
    hostname = (parts.hostname or "").lower()
    if not hostname:
        raise BadInput(f"upstream '{url}' has no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise BadInput(f"upstream '{url}' has an invalid port") from None
    try:
        literal = ipaddress.ip_address(hostname)
    except ValueError:
        literal = None
    if literal is not None and literal.version == 6:
        raise BadInput(
            f"upstream '{url}': IPv6 addresses are not supported by the lab yet",
            hint="use the IPv4 address or a name that resolves to one (e.g. localhost, 127.0.0.1)",
        )
    addresses = [hostname] if literal is not None else resolve(hostname)
    if not addresses:
        raise BadInput(f"upstream host '{hostname}' has no IPv4 address on this host")
    address = addresses[0]
    if ipaddress.IPv4Address(address).is_loopback:
        return Upstream(url, hostname, port, address, "loopback")
    if address in set(local_addresses):
        return Upstream(url, hostname, port, address, "host")
    raise BadInput(
        f"upstream '{url}' resolves to {address}, which is neither loopback nor an address of this host",
        hint="the lab reaches services on this machine only; run the service here or use --serve",
    )


def loopback_targets(upstreams: Iterable[Upstream]) -> dict[int, str]:
    """Port -> loopback address for the host's DNAT map; one port cannot lead to two loopback addresses."""
    targets: dict[int, str] = {}
    for upstream in upstreams:
        if upstream.where != "loopback":
            continue
        known = targets.setdefault(upstream.port, upstream.address)
        if known != upstream.address:
            raise BadInput(
                f"port {upstream.port} is used by upstreams on two loopback addresses ({known} and "
                f"{upstream.address}); the lab maps each port to one of them"
            )
    return targets


def hosts_file(upstreams: Iterable[Upstream], host_hosts: str) -> str:
    """The client namespace's /etc/hosts: each upstream name on the IPv4 address the host resolved, first.

    The host's own lines follow, without IPv6 lines for those names: a lookup of `localhost` then yields
    127.0.0.1 only, so clients do not try ::1 first (the lab does not carry IPv6 to the host's loopback).
    """
    names: dict[str, str] = {}
    for upstream in upstreams:
        if upstream.is_name:
            names.setdefault(upstream.hostname, upstream.address)
    lines = ["# written by lueur-net for this lab: upstream names as the host resolves them"]
    lines += [f"{address}\t{name}" for name, address in names.items()]
    lines.append("# the host's /etc/hosts")
    for line in host_hosts.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and ":" in fields[0] and any(name.lower() in names for name in fields[1:]):
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def accepts(address: str, port: int, *, family: socket.AddressFamily = socket.AF_INET,
            timeout_s: float = 0.3) -> bool:
    """True when a TCP connection to (address, port) from this thread's namespace succeeds within `timeout_s`."""
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout_s)
        try:
            probe.connect((address, port))
        except OSError:
            return False
        return True


def host_listens(address: str, port: int) -> bool:
    """True when something on this host accepts TCP connections on (address, port) right now."""
    return accepts(address, port)


def refuse_ipv6_only(upstream: Upstream) -> None:
    """A host server listening on [::1] only cannot be reached through the lab's IPv4 DNAT: say so up front.

    Checked only when 127.0.0.1 refuses and [::1] accepts, so a server that is not started yet is not an error.
    """
    if upstream.where != "loopback" or accepts(upstream.address, upstream.port):
        return
    if accepts("::1", upstream.port, family=socket.AF_INET6):
        raise BadInput(
            f"upstream '{upstream.url}': the server on this host listens on [::1]:{upstream.port} only, which the "
            "lab cannot reach (it carries IPv4 to the host's loopback)",
            hint=f"make the server listen on 127.0.0.1 or on all addresses (0.0.0.0 or ::) port {upstream.port}",
        )
