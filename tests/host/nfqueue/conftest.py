"""A veth pair between two namespaces of our own, and a TCP echo server on one side (nfqueue host tests).

Sockets are created inside a namespace by switching only the calling thread (setns) and switching back: a
socket stays in the namespace it was created in, so the test process talks across the pair without forking.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lueur_net.lab.enter import setns


@dataclass(frozen=True)
class VethLab:
    client_ns: str
    server_ns: str
    client_if: str
    server_if: str
    client_addr: str
    server_addr: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def veth_lab() -> Iterator[VethLab]:
    tag = f"{os.getpid() % 10000}{random.randrange(100, 999)}"
    octet = random.randrange(1, 250)
    lab = VethLab(f"lueur-nfqc-{tag}", f"lueur-nfqs-{tag}", "lueurnfqc0", "lueurnfqs0",
                  f"10.231.{octet}.1", f"10.231.{octet}.2")
    _ip("netns", "add", lab.client_ns)
    try:
        _ip("netns", "add", lab.server_ns)
        _ip("-n", lab.client_ns, "link", "add", lab.client_if, "type", "veth", "peer", "name", lab.server_if,
            "netns", lab.server_ns)
        for ns, ifname, address in ((lab.client_ns, lab.client_if, lab.client_addr),
                                    (lab.server_ns, lab.server_if, lab.server_addr)):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", ifname)
            _ip("-n", ns, "link", "set", ifname, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield lab
    finally:
        for ns in (lab.client_ns, lab.server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def socket_in(netns: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A socket created inside `netns` (only this thread switches, and it switches back)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(Path("/run/netns") / netns)
        return socket.socket(socket.AF_INET, kind)
    finally:
        setns(Path(f"/proc/self/fd/{home}"))
        os.close(home)


class EchoServer:
    """TCP echo on (address, port) inside a namespace; one thread per connection."""

    def __init__(self, netns: str, address: str) -> None:
        self.listener = socket_in(netns)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((address, 0))
        self.listener.listen(16)
        self.address = (address, self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(connection,), daemon=True).start()

    @staticmethod
    def _echo(connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def echo_server(veth_lab: VethLab) -> Iterator[EchoServer]:
    server = EchoServer(veth_lab.server_ns, veth_lab.server_addr)
    yield server
    server.close()


def round_trips_ms(netns: str, address: tuple[str, int], count: int, gap_s: float = 0.0) -> list[float]:
    """`count` 64-byte request/response round trips on one TCP connection from `netns`, in ms."""
    client = socket_in(netns)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.settimeout(10)
    times = []
    with client:
        client.connect(address)
        payload = b"x" * 64
        for _ in range(count):
            start = time.perf_counter()
            client.sendall(payload)
            received = 0
            while received < len(payload):
                received += len(client.recv(65536))
            times.append((time.perf_counter() - start) * 1000)
            if gap_s:
                time.sleep(gap_s)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
