"""Helpers of the nfqueue host tests: a TCP echo server inside a namespace and round-trip timing from another.

Sockets are created inside a namespace by switching only the calling thread and switching back (a socket stays in
the namespace it was created in), so the test process talks across the pair without forking. The pair itself is
tests/netns_pair.py's.
"""

from __future__ import annotations

import socket
import threading
import time

from lueur_net.lab.enter import inside
from netns_pair import NamespacePair

VethLab = NamespacePair


def socket_in(netns: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A socket created inside `netns` (only this thread switches, and it switches back)."""
    with inside(netns):
        return socket.socket(socket.AF_INET, kind)


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


def round_trips_ms(netns: str, address: tuple[str, int], count: int, gap_s: float = 0.0) -> list[float]:
    """`count` 64-byte request/response round trips on one TCP connection from `netns`, in ms."""
    client = socket_in(netns)
    client.settimeout(10)
    with client:
        client.connect(address)
        return [seconds * 1000 for seconds in echo_round_trips(client, count, gap_s=gap_s)]


def echo_round_trips(connection: socket.socket, count: int, payload: bytes = b"x" * 64,
                     gap_s: float = 0.0) -> list[float]:
    """`count` round trips of `payload` to an echo server on a connected TCP socket (Nagle off), in seconds each."""
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        connection.sendall(payload)
        received = 0
        while received < len(payload):
            received += len(connection.recv(65536))
        times.append(time.perf_counter() - start)
        if gap_s:
            time.sleep(gap_s)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
