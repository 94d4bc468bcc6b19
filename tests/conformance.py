"""The side/direction conformance table: which traffic each fault hits, proven with packets on a real path.

lueur's meaning (DESIGN.md): server ingress (the default) and client egress hit the responses, server egress and
client ingress the requests, `both` both. Each row plans a one-fault scenario item exactly as `run` does, applies
the plan on a namespace pair of the test's own, sends probes from the client namespace to the server namespace,
and reads from what arrived at each end which traffic the fault touched:
- UDP echo (delay, loss, shaping, duplication, corruption, reordering): the server stamps each request's arrival
  and echoes it at once; CLOCK_MONOTONIC is shared by both namespaces, so one-way delays and losses are exact for
  each direction separately.
- TCP (reset): did the server receive the request's bytes, and did the client receive the answer?
- HTTP (httperror): the server counts the requests it served; the client reads the status.
Importable from every tier (pytest puts tests/ on sys.path); the host tier runs the table on this kernel, the
kernel tier the netem rows in the stock-kernel VM.
"""

from __future__ import annotations

import http.server
import socket
import statistics
import struct
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lueur_net.lab.enter import inside
from netns_pair import NamespacePair
from quiet_http import QuietHandler

TRAFFIC_HIT = {
    ("server", "ingress"): {"responses"},
    ("server", "egress"): {"requests"},
    ("client", "ingress"): {"requests"},
    ("client", "egress"): {"responses"},
    ("server", "both"): {"requests", "responses"},
    ("client", "both"): {"requests", "responses"},
}
SIDES_DIRECTIONS = list(TRAFFIC_HIT)

# One fault per type, strong enough to be unmistakable in a second of probing.
FAULTS: dict[str, list[dict[str, Any]]] = {
    "latency": [{"type": "latency", "mean": 80, "stddev": 0}],
    "jitter": [{"type": "jitter", "amplitude": 150, "frequency": 50}],
    "packetloss": [{"type": "packetloss", "rate": 1.0}],
    "blackhole": [{"type": "blackhole"}],
    "bandwidth": [{"type": "bandwidth", "rate": 200_000, "unit": "Bps"}],
    "police": [{"type": "police", "rate": 2000, "unit": "Bps", "burst": 1500}],
    "reset": [{"type": "reset", "probability": 1.0}],
    "httperror": [{"type": "httperror", "status_code": 503, "probability": 1.0}],
    "duplicate": [{"type": "duplicate", "probability": 1.0}],
    "corrupt": [{"type": "corrupt", "probability": 1.0}],
    "reorder": [{"type": "latency", "mean": 100, "stddev": 0}, {"type": "reorder", "probability": 0.5}],
}
RESPONSE_ONLY = ("httperror",)  # rewrites answers: responses, whatever side/direction say


def expected(fault_type: str, side: str, direction: str) -> set[str]:
    return {"responses"} if fault_type in RESPONSE_ONLY else TRAFFIC_HIT[(side, direction)]


def item_for(fault_type: str, side: str, direction: str) -> Any:
    from lueur_net.scenario import Item

    faults = [{**fault, "side": side, "direction": direction} for fault in FAULTS[fault_type]]
    return Item.model_validate({"call": {"method": "GET", "url": "http://localhost/"},
                                "context": {"faults": faults}})


@contextmanager
def applied(pair: NamespacePair, fault_type: str, side: str, direction: str, capabilities: Any,
            ledger: Any) -> Iterator[Any]:
    """The row's plan, applied on the pair as `run` applies it (both ends ours), reverted on exit."""
    from lueur_net.dataplane.apply import apply_plan
    from lueur_net.plan import plan_item

    plan = plan_item(item_for(fault_type, side, direction), capabilities, peer_is_ours=True)
    now = time.monotonic_ns()
    handle = apply_plan(plan, pair.path, ledger, t0_ns=now, deadline_ns=now + 60 * 10**9)
    try:
        time.sleep(0.05)  # the nfqueue holder's first window edge, tc's first segment: already live, but settle
        yield plan
    finally:
        handle.revert()


# ---- UDP echo ----

RCVBUF = 16 * 1024 * 1024
SO_RCVBUFFORCE = 33
HEADER = struct.Struct("!II")  # sequence number, echo number (0 in a request)


@dataclass
class Direction:
    """What one direction of the echo saw: per sent number, its send time and the arrival times of its copies."""

    sent: dict[int, int] = field(default_factory=dict)
    arrived: dict[int, list[int]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)

    @property
    def loss(self) -> float:
        return 1.0 - len(self.arrived) / len(self.sent) if self.sent else 0.0

    @property
    def median_delay_ms(self) -> float:
        delays = [(times[0] - self.sent[number]) / 1e6 for number, times in self.arrived.items()]
        return statistics.median(delays) if delays else 0.0

    @property
    def duplicates(self) -> int:
        return sum(len(times) - 1 for times in self.arrived.values())

    @property
    def inversions(self) -> int:
        """Packets that arrived after a later-sent one (first copies only)."""
        seen, late, highest = set(), 0, -1
        for number in self.order:
            if number in seen:
                continue
            seen.add(number)
            late += number < highest
            highest = max(highest, number)
        return late


@dataclass
class Echo:
    requests: Direction
    responses: Direction

    def of(self, traffic: str) -> Direction:
        return self.requests if traffic == "requests" else self.responses


def _socket(netns: str, address: str, port: int) -> socket.socket:
    with inside(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    sock.bind((address, port))
    return sock


def udp_echo(pair: NamespacePair, *, count: int = 60, interval_s: float = 0.01, size: int = 64,
             quiet_s: float = 1.0, port: int = 47100, reverse: bool = False, echo_factor: int = 1) -> Echo:
    """`count` numbered datagrams client -> server, each echoed at once with its own echo number. `reverse`: the
    server namespace sends and the client echoes (to see the responses' direction when no request gets through);
    the result still names the client -> server packets `requests`."""
    requests, responses = Direction(), Direction()
    sender_ns, sender_addr, echo_ns, echo_addr = pair.client_ns, pair.client_addr, pair.server_ns, pair.server_addr
    if reverse:
        sender_ns, sender_addr, echo_ns, echo_addr = echo_ns, echo_addr, sender_ns, sender_addr
    server = _socket(echo_ns, echo_addr, port)
    client = _socket(sender_ns, sender_addr, port + 1)
    padding = b"x" * max(0, size - HEADER.size)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        echoes = 0
        while not stop.is_set():
            try:
                data, peer = server.recvfrom(65536)
            except TimeoutError:
                continue
            now = time.monotonic_ns()
            number, _ = HEADER.unpack_from(data)
            requests.arrived.setdefault(number, []).append(now)
            requests.order.append(number)
            responses.sent[echoes] = time.monotonic_ns()
            server.sendto(HEADER.pack(number, echoes) + data[HEADER.size:] * echo_factor, peer)
            echoes += 1

    def receive() -> None:
        client.settimeout(0.05)
        while not stop.is_set():
            try:
                data = client.recv(65536)
            except TimeoutError:
                continue
            _, echo = HEADER.unpack_from(data)
            responses.arrived.setdefault(echo, []).append(time.monotonic_ns())
            responses.order.append(echo)

    threads = [threading.Thread(target=serve, daemon=True), threading.Thread(target=receive, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        for number in range(count):
            requests.sent[number] = time.monotonic_ns()
            client.sendto(HEADER.pack(number, 0) + padding, (echo_addr, port))
            if interval_s:
                time.sleep(interval_s)
        last = time.monotonic()
        seen = -1
        while time.monotonic() - last < quiet_s:  # until nothing more arrives for quiet_s
            total = sum(map(len, requests.arrived.values())) + sum(map(len, responses.arrived.values()))
            if total != seen:
                seen, last = total, time.monotonic()
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(2)
        server.close()
        client.close()
    return Echo(responses, requests) if reverse else Echo(requests, responses)


# ---- TCP and HTTP ----


def tcp_delivered(pair: NamespacePair, traffic: str, *, port: int = 47200, timeout_s: float = 2.0) -> bool:
    """Whether 16 bytes of `traffic` arrive whole on a fresh connection: the client sends them (requests), or
    the server sends them first, as a greeting (responses). Each direction is judged on its own connection."""
    with inside(pair.server_ns):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((pair.server_addr, port))
    listener.listen(1)
    listener.settimeout(timeout_s)
    payload = b"ping" * 4
    received = {"server": b"", "client": b""}

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(timeout_s)
            try:
                if traffic == "responses":
                    connection.sendall(payload)
                received["server"] = connection.recv(100)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with inside(pair.client_ns):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.settimeout(timeout_s)
    try:
        client.connect((pair.server_addr, port))
        if traffic == "requests":
            client.sendall(payload)
            thread.join(timeout_s + 1)
        else:
            received["client"] = client.recv(100)
    except OSError:
        pass
    finally:
        client.close()
        thread.join(timeout_s + 1)
        listener.close()
    return received["server" if traffic == "requests" else "client"] == payload


class _Counting(QuietHandler):
    protocol_version = "HTTP/1.0"
    served = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).served += 1
        self.reply(b"ok\n")


def http_statuses(pair: NamespacePair, *, calls: int = 3, port: int = 47300) -> tuple[int, list[int | str]]:
    """(requests the server served, statuses the client read)."""
    handler = type("Handler", (_Counting,), {"served": 0})
    with inside(pair.server_ns):
        server = http.server.ThreadingHTTPServer((pair.server_addr, port), handler, bind_and_activate=False)
    server.allow_reuse_address = True
    server.server_bind()
    server.server_activate()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    statuses: list[int | str] = []
    try:
        for _ in range(calls):
            with inside(pair.client_ns):
                connection = socket.create_connection((pair.server_addr, port), timeout=3)
            with connection:
                connection.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                status_line = connection.makefile("rb").readline()
            statuses.append(int(status_line.split()[1]) if status_line else "no answer")
    finally:
        server.shutdown()
        server.server_close()
    return handler.served, statuses


# ---- the judge ----


@dataclass(frozen=True)
class Thresholds:
    """Hit vs untouched, far apart so no run on a busy machine lands between (the VM under TCG is slower)."""

    delay_hit_ms: float = 30.0
    delay_clean_ms: float = 10.0


def traffic_hit(pair: NamespacePair, fault_type: str, limits: Thresholds = Thresholds()) -> set[str]:
    """Probe the path (a fault is applied) and say which traffic the fault touched. Raises AssertionError when a
    direction is neither clearly hit nor clearly untouched."""
    if fault_type == "reset":
        return {traffic for traffic in ("requests", "responses") if not tcp_delivered(pair, traffic)}
    if fault_type == "httperror":
        served, statuses = http_statuses(pair)
        assert served == len(statuses), f"the server served {served} of {len(statuses)} requests"
        return {"responses"} if all(status == 503 for status in statuses) else set()
    kwargs: dict[str, Any] = {}
    if fault_type == "bandwidth":
        # 70 kB at once through a 200 KB/s cap, echoed twice as large so that 'both' still queues the echoes
        kwargs = {"count": 100, "interval_s": 0.0, "size": 700, "echo_factor": 2}
    if fault_type == "police":
        kwargs = {"count": 40, "interval_s": 0.0, "size": 1000}  # 40 kB at once into a 1.5 kB bucket
    echo = udp_echo(pair, **kwargs)
    if fault_type in LOSSY:
        # A lossy fault on the requests leaves nothing to echo: the responses' direction gets its own probe.
        echo = Echo(echo.requests, udp_echo(pair, reverse=True, port=47150, **kwargs).responses)
    hit = set()
    for traffic in ("requests", "responses"):
        seen = echo.of(traffic)
        if fault_type in LOSSY:
            touched, untouched = seen.loss > 0.5, seen.loss < 0.05
        elif fault_type == "duplicate":
            touched, untouched = seen.duplicates >= 0.8 * len(seen.sent), seen.duplicates == 0
        elif fault_type == "reorder":
            touched, untouched = seen.inversions > 0, seen.inversions == 0
        else:  # latency, jitter, bandwidth: packets held
            delay = seen.median_delay_ms
            touched, untouched = delay > limits.delay_hit_ms, delay < limits.delay_clean_ms
        assert touched or untouched, (f"{fault_type}: {traffic} neither clearly hit nor untouched: loss "
                                      f"{seen.loss:.2f}, median delay {seen.median_delay_ms:.1f} ms, duplicates "
                                      f"{seen.duplicates}, inversions {seen.inversions}")
        if touched:
            hit.add(traffic)
    return hit


LOSSY = ("packetloss", "blackhole", "police", "corrupt")
