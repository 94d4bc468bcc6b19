"""Traffic helpers for the eBPF host tests (servers as threads on sockets made inside a namespace)."""

from __future__ import annotations

import errno
import http.server
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from lueur_net.lab.enter import inside
from netns_pair import NamespacePair

RCVBUF = 32 * 1024 * 1024
SO_RCVBUFFORCE = 33


def udp_receiver(netns: str, address: str, port: int) -> socket.socket:
    with inside(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)  # or bursts look like loss
    sock.bind((address, port))
    return sock


def udp_sender(netns: str) -> socket.socket:
    with inside(netns):
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def send_numbered(
    sender: socket.socket, target: tuple[str, int], count: int, size: int = 64, pace_s: float = 0.0
) -> list[int]:
    """Send `count` datagrams carrying their number; returns each one's CLOCK_MONOTONIC send time (ns)."""
    sent = []
    padding = b"x" * max(0, size - 8)
    for number in range(count):
        sent.append(time.monotonic_ns())
        sender.sendto(number.to_bytes(8, "big") + padding, target)
        if pace_s:
            time.sleep(pace_s)
        elif number % 200 == 199:
            time.sleep(0.001)  # let the receiver keep up on a busy machine
    return sent


def receive_numbers(receiver: socket.socket, quiet_s: float = 0.5) -> set[int]:
    """The numbers of every datagram received until the socket stays quiet for `quiet_s`."""
    receiver.settimeout(quiet_s)
    numbers = set()
    while True:
        try:
            data = receiver.recv(65536)
        except TimeoutError:
            return numbers
        numbers.add(int.from_bytes(data[:8], "big"))


def numbers_through(pair: NamespacePair, port: int, count: int, quiet_s: float = 0.5) -> set[int]:
    """Send `count` numbered datagrams from the client namespace to the server's `port`; the numbers received."""
    receiver = udp_receiver(pair.server_ns, pair.server.address, port)
    sender = udp_sender(pair.client_ns)
    try:
        send_numbered(sender, (pair.server.address, port), count)
        return receive_numbers(receiver, quiet_s)
    finally:
        receiver.close()
        sender.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: no Nagle/delayed-ACK stalls

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"hello from the server under test\n" * 4
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


@contextmanager
def http_server(netns: str, address: str, port: int = 8080) -> Iterator[str]:
    """A threaded HTTP/1.0 server in `netns`; yields its URL."""
    server = http.server.ThreadingHTTPServer((address, port), _Handler, bind_and_activate=False)
    server.socket.close()
    with inside(netns):
        server.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.server_bind()
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{port}/"
    finally:
        server.shutdown()
        server.server_close()


def http_get(netns: str, url: str, timeout: float = 2.0) -> int | str:
    """GET from inside `netns`: the status code, or the error's class ("timeout", "reset", ...)."""
    with inside(netns):  # the connection's socket is created here, so it lives in `netns`
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.read()
            return int(error.code)
        except TimeoutError:
            return "timeout"
        except ConnectionResetError as error:
            return "reset" if error.errno == errno.ECONNRESET else f"error: {error!r}"
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                return "timeout"
            if isinstance(reason, ConnectionResetError) and reason.errno == errno.ECONNRESET:
                return "reset"
            return f"error: {reason!r}"
        except OSError as error:
            return f"error: {error!r}"
