"""Fixtures of the netem kernel tests (they run in the stock-kernel VM, see docs/vm-tier.md): a veth pair between
two namespaces of our own, and measurements taken from outside lueur-net with sockets opened in each namespace
(one process, both namespaces: a socket stays in the namespace it was created in; CLOCK_MONOTONIC is shared, so
one-way delays are exact)."""

from __future__ import annotations

import secrets
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from types import SimpleNamespace

import pytest

from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger


def netem_available() -> bool:
    """True when this kernel can create a netem qdisc (loading sch_netem on demand)."""
    from lueur_net.dataplane.capabilities import probe_capabilities

    return probe_capabilities().netem


@pytest.fixture(scope="session", autouse=True)
def require_netem() -> None:
    if not netem_available():
        pytest.skip("this kernel has no sch_netem (modprobe sch_netem failed): the netem tests run in the "
                    "stock-kernel VM tier, `sudo scripts/vm-tier`")


@dataclass
class Pair:
    client_ns: str
    server_ns: str
    path: Path


@pytest.fixture
def veth_pair() -> Iterator[Pair]:
    from pyroute2 import IPRoute, netns

    tag = secrets.token_hex(3)
    client_ns, server_ns = f"lueurnmc{tag}", f"lueurnms{tag}"
    client_if, server_if = f"lueurc{tag}", f"lueurs{tag}"
    octet = int(tag[:2], 16)
    client_ip, server_ip = f"10.232.{octet}.2", f"10.232.{octet}.1"
    netns.create(client_ns)
    netns.create(server_ns)
    try:
        indexes = {}
        with IPRoute(netns=client_ns, flags=0) as ipr:
            ipr.link("add", ifname=client_if, kind="veth", peer={"ifname": server_if, "net_ns_fd": server_ns})
        for name, ifname, address in ((client_ns, client_if, client_ip), (server_ns, server_if, server_ip)):
            with IPRoute(netns=name, flags=0) as ipr:
                index = ipr.link_lookup(ifname=ifname)[0]
                ipr.addr("add", index=index, address=address, prefixlen=24)
                ipr.link("set", index=index, state="up")
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
                indexes[name] = index
        _permanent_neighbours(((client_ns, client_if, client_ip), (server_ns, server_if, server_ip)))
        yield Pair(client_ns, server_ns,
                   Path(client=Endpoint(client_ns, client_if, indexes[client_ns], client_ip),
                        server=Endpoint(server_ns, server_if, indexes[server_ns], server_ip)))
    finally:
        for name in (client_ns, server_ns):
            if name in netns.listnetns():
                netns.remove(name)


def _permanent_neighbours(ends: tuple[tuple[str, str, str], ...]) -> None:
    """Each end knows the other's MAC for good: no ARP exchange (which would cross the faults) during a test."""
    from pyroute2 import IPRoute

    macs = {}
    for name, ifname, _ in ends:
        with IPRoute(netns=name, flags=0) as ipr:
            macs[name] = ipr.get_links(ipr.link_lookup(ifname=ifname)[0])[0].get_attr("IFLA_ADDRESS")
    for (name, ifname, _), (peer, _, peer_ip) in ((ends[0], ends[1]), (ends[1], ends[0])):
        with IPRoute(netns=name, flags=0) as ipr:
            ipr.neigh("replace", dst=peer_ip, lladdr=macs[peer], ifindex=ipr.link_lookup(ifname=ifname)[0],
                      state=0x80)  # NUD_PERMANENT


@pytest.fixture
def ledger(tmp_path: FsPath) -> Iterator[Ledger]:
    with Ledger.open("netem-test", run_dir=tmp_path) as opened:
        yield opened


def socket_in(netns_name: str, kind: int) -> socket.socket:
    from pyroute2 import netns

    netns.pushns(netns_name)
    try:
        return socket.socket(socket.AF_INET, kind)
    finally:
        netns.popns()


def one_way(pair: Pair, count: int, interval_s: float, *, responses: bool = False,
            port: int = 47000) -> list[tuple[int, float, float | None]]:
    """Send `count` datagrams (client -> server; `responses`: server -> client) every `interval_s`.
    Returns (seq, send time from the first send in s, one-way delay in ms or None when lost)."""
    sender_ns, receiver_ns = (pair.server_ns, pair.client_ns) if responses else (pair.client_ns, pair.server_ns)
    target = pair.path.client.address if responses else pair.path.server.address
    receiver = socket_in(receiver_ns, socket.SOCK_DGRAM)
    sender = socket_in(sender_ns, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    receiver.bind((target, port))
    receiver.settimeout(1.5)
    arrivals: dict[int, float] = {}

    def receive() -> None:
        while True:
            try:
                data = receiver.recv(64)
            except TimeoutError:
                return
            now = time.monotonic_ns()
            seq, sent = struct.unpack("!QQ", data[:16])
            arrivals.setdefault(seq, (now - sent) / 1e6)

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    sends: list[float] = []
    start = time.monotonic()
    for seq in range(count):
        wait = start + seq * interval_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        sends.append(time.monotonic() - start)
        sender.sendto(struct.pack("!QQ", seq, time.monotonic_ns()) + b"p" * 48, (target, port))
    thread.join(timeout=30)
    sender.close()
    receiver.close()
    return [(seq, sends[seq], arrivals.get(seq)) for seq in range(count)]


def bulk(pair: Pair, size: int, *, port: int = 47100) -> float:
    """Goodput in bytes/s of `size` bytes server -> client over TCP (first to last byte at the receiver)."""
    listener = socket_in(pair.server_ns, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((pair.path.server.address, port))
    listener.listen(1)

    def serve() -> None:
        connection, _ = listener.accept()
        block = b"x" * 65536
        sent = 0
        while sent < size:
            sent += connection.send(block[: min(len(block), size - sent)])
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = socket_in(pair.client_ns, socket.SOCK_STREAM)
    client.settimeout(120)
    client.connect((pair.path.server.address, port))
    total, first, last, first_size = 0, 0.0, 0.0, 0
    while True:
        data = client.recv(1 << 20)
        if not data:
            break
        now = time.monotonic()
        if not total:
            first, first_size = now, len(data)
        total += len(data)
        last = now
    client.close()
    thread.join(timeout=10)
    listener.close()
    assert total == size
    return (total - first_size) / (last - first)


@pytest.fixture
def measure() -> SimpleNamespace:
    return SimpleNamespace(one_way=one_way, bulk=bulk)
