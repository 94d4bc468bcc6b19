"""Two throw-away network namespaces joined by one veth: the test hosts of the host and kernel tiers.

    with namespace_pair("tc") as pair:        # lueur-tc-<tag>-c <-> lueur-tc-<tag>-s, 10.2xx.y.1 <-> .2 (/30)
        pair.path                               # lueur_net.lab.topology.Path, what the data plane takes
        pair.socket_in(pair.server_ns)          # a socket living in that namespace, made from this thread

Names carry a random tag, so tests of several areas (and several runs) never collide; both namespaces (and with
them the veth) are removed on exit, also after a failure. Importable from every test folder: pytest puts tests/
on sys.path for tests/conftest.py. A conftest makes a fixture of it with `pair_fixture`.
"""

from __future__ import annotations

import ctypes
import fcntl
import secrets
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from lueur_net.lab.enter import inside
from lueur_net.lab.topology import Endpoint, Path

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17
SIOCGIFHWADDR = 0x8927


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def qdiscs(netns: str, ifname: str) -> str:
    """`tc qdisc show` of one interface in `netns`, as text ("" when the interface is gone)."""
    return subprocess.run(["tc", "-n", netns, "qdisc", "show", "dev", ifname], capture_output=True, text=True,
                          check=False).stdout


class _End:
    """`pair.server_if` for `pair.server.ifname`: the short names the tests use, read from an end (never None)."""

    def __init__(self, end: str, attribute: str) -> None:
        self.end, self.attribute = end, attribute

    def __get__(self, pair: Path, owner: type | None = None) -> str:
        value = getattr(getattr(pair, self.end), self.attribute)
        assert value is not None, f"{self.end} has no {self.attribute}"
        return str(value)


@dataclass(frozen=True)
class NamespacePair(Path):
    """A Path whose `client` and `server` are the two veth ends (Endpoint: netns, ifname, ifindex, address)."""

    client_ns = _End("client", "netns")
    server_ns = _End("server", "netns")
    client_if = _End("client", "ifname")
    server_if = _End("server", "ifname")
    client_addr = _End("client", "address")
    server_addr = _End("server", "address")

    @property
    def path(self) -> Path:
        return Path(client=self.client, server=self.server)

    def socket_in(self, netns: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket created inside `netns` (only this thread switches, and back): it stays there."""
        with inside(netns):
            return socket.socket(socket.AF_INET, kind)


def tx_checksum_off(ifname: str) -> None:
    """ethtool -K IFNAME tx off, through the legacy ioctl (no ethtool binary needed); call inside the netns."""
    command = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    request = struct.pack("16sP", ifname.encode(), ctypes.addressof(command))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCETHTOOL, request)


def _mac_ioctl(ifname: str) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        raw = fcntl.ioctl(sock, SIOCGIFHWADDR, struct.pack("256s", ifname.encode()))
    return ":".join(f"{byte:02x}" for byte in raw[18:24])


@contextmanager
def namespace_pair(area: str, *, checksum_offload: bool = True, permanent_neighbours: bool = False
                   ) -> Iterator[NamespacePair]:
    """A fresh pair for `area` (a short word: it names the objects).

    checksum_offload=False turns tx checksum offload off on both ends, so a program that breaks a checksum makes
    the receiver drop the packet instead of passing unnoticed. permanent_neighbours=True pins each end's MAC in
    the other's neighbour table, so no ARP exchange crosses a fault during a test.
    """
    tag = secrets.token_hex(2)
    client_ns, server_ns = f"lueur-{area}-{tag}-c", f"lueur-{area}-{tag}-s"
    client_if, server_if = f"lueur{area[:3]}{tag}c", f"lueur{area[:3]}{tag}s"
    subnet = f"10.{200 + int(tag[0], 16)}.{int(tag[1:], 16) % 256}"
    ends = ((client_ns, client_if, f"{subnet}.1"), (server_ns, server_if, f"{subnet}.2"))
    try:
        ip("netns", "add", client_ns)
        ip("netns", "add", server_ns)
        ip("link", "add", client_if, "netns", client_ns, "type", "veth", "peer", "name", server_if,
           "netns", server_ns)
        indexes = {}
        for netns, ifname, address in ends:
            ip("-n", netns, "addr", "add", f"{address}/30", "dev", ifname)
            ip("-n", netns, "link", "set", ifname, "up")
            ip("-n", netns, "link", "set", "lo", "up")
            with inside(netns):
                if not checksum_offload:
                    tx_checksum_off(ifname)
                indexes[netns] = socket.if_nametoindex(ifname)
        if permanent_neighbours:
            for (netns, ifname, _), (peer, peer_if, peer_addr) in ((ends[0], ends[1]), (ends[1], ends[0])):
                with inside(peer):
                    mac = _mac_ioctl(peer_if)
                ip("-n", netns, "neigh", "replace", peer_addr, "lladdr", mac, "dev", ifname, "nud", "permanent")
        yield NamespacePair(
            Endpoint(client_ns, client_if, indexes[client_ns], ends[0][2]),
            Endpoint(server_ns, server_if, indexes[server_ns], ends[1][2]),
        )
    finally:
        for netns in (client_ns, server_ns):
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)


def pair_fixture(area: str, **options: bool) -> Any:
    """A pytest fixture giving each test a fresh `namespace_pair(area, **options)`; a conftest names it by the
    attribute it assigns it to (`veth_pair = pair_fixture("tc")`)."""

    @pytest.fixture
    def fixture() -> Iterator[NamespacePair]:
        with namespace_pair(area, **options) as pair:
            yield pair

    return fixture


def first_datagram_through(sender: socket.socket, receiver: socket.socket, target: tuple[str, int],
                           within_s: float, every_s: float) -> float | None:
    """Seconds until the first of a probe stream (one datagram every `every_s`) reaches the non-blocking
    `receiver` (None: none within `within_s`): how long a fault took to let traffic through."""
    began = time.monotonic()
    while (elapsed := time.monotonic() - began) < within_s:
        sender.sendto(b"probe", target)
        time.sleep(every_s)
        try:
            receiver.recv(64)
            return elapsed
        except BlockingIOError:
            continue
    return None
