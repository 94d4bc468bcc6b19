"""Fixtures of the netem kernel tests (they run in the stock-kernel VM, see docs/vm-tier.md): a veth pair between
two namespaces of our own, and measurements taken from outside lueur-net with sockets opened in each namespace
(one process, both namespaces: a socket stays in the namespace it was created in; CLOCK_MONOTONIC is shared, so
one-way delays are exact)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path as FsPath
from types import SimpleNamespace

import pytest
from bulk_transfer import goodput, receive_all, send_all

from lueur_net.lab.enter import inside
from lueur_net.ledger import Ledger
from netns_pair import NamespacePair, pair_fixture


def netem_available() -> bool:
    """True when this kernel can create a netem qdisc (loading sch_netem on demand)."""
    from lueur_net.dataplane.probe import probe_capabilities

    return probe_capabilities().netem


@pytest.fixture(scope="session", autouse=True)
def require_netem() -> None:
    if not netem_available():
        pytest.skip("this kernel has no sch_netem (modprobe sch_netem failed): the netem tests run in the "
                    "stock-kernel VM tier, `sudo scripts/vm-tier`")


Pair = NamespacePair


veth_pair = pair_fixture("netem", permanent_neighbours=True)


@pytest.fixture
def ledger(tmp_path: FsPath) -> Iterator[Ledger]:
    with Ledger.open("netem-test", run_dir=tmp_path) as opened:
        yield opened


def socket_in(netns_name: str, kind: int) -> socket.socket:
    with inside(netns_name):
        return socket.socket(socket.AF_INET, kind)


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
        send_all(listener.accept()[0], size)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = socket_in(pair.client_ns, socket.SOCK_STREAM)
    client.settimeout(120)
    client.connect((pair.path.server.address, port))
    received = receive_all(client)
    client.close()
    thread.join(timeout=10)
    listener.close()
    assert received["bytes"] == size
    return goodput(received)


@pytest.fixture
def measure() -> SimpleNamespace:
    return SimpleNamespace(one_way=one_way, bulk=bulk)
