"""nfqueue delay fidelity and cost: configured vs measured one-way delay (p50/p99), holder CPU, pass-through cost.

Two namespaces joined by a veth pair; UDP datagrams carrying their CLOCK_MONOTONIC send time go from the client
namespace to the server namespace at a fixed rate; the receiver (same process, same clock) computes each one's
one-way delay. The delay is installed at the server end (the receiving side). Printed, not asserted.

    sudo .venv/bin/python benchmarks/bench_nfqueue_delay.py [--rate 1000] [--seconds 3]
    sudo .venv/bin/python benchmarks/bench_nfqueue_delay.py --start-stop 10

--start-stop N: only what a run waits for, N times: a delay started on a holder started ahead (as `run` does) and
reverted; median [min-max] of each. To compare with another commit, run this file with that checkout's venv from
its folder (its package is then the one imported).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from lueur_net.dataplane.nfqueue import DelaySpec, Match, start_delay
from lueur_net.lab.enter import setns
from lueur_net.ledger import Ledger

MS = 1_000_000
TICKS = os.sysconf("SC_CLK_TCK")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def veth_lab() -> Iterator[tuple[str, str, str, str]]:
    tag = f"{os.getpid() % 10000}{random.randrange(100, 999)}"
    client, server = f"lueur-bnqc-{tag}", f"lueur-bnqs-{tag}"
    ip("netns", "add", client)
    ip("netns", "add", server)
    try:
        ip("-n", client, "link", "add", "lueurbq0", "type", "veth", "peer", "name", "lueurbq1", "netns", server)
        for ns, ifname, address in ((client, "lueurbq0", "10.232.7.1"), (server, "lueurbq1", "10.232.7.2")):
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", ifname)
            ip("-n", ns, "link", "set", ifname, "up")
        yield client, server, "lueurbq1", "10.232.7.2"
    finally:
        for ns in (client, server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def socket_in(netns: str) -> socket.socket:
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(Path("/run/netns") / netns)
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    finally:
        setns(Path(f"/proc/self/fd/{home}"))
        os.close(home)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_way(client_ns: str, server_ns: str, address: str, rate: int, seconds: float,
            cpu_of: Callable[[], float] | None) -> dict[str, Any]:
    receiver = socket_in(server_ns)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    receiver.bind((address, 0))
    receiver.settimeout(1.0)
    delays: list[float] = []

    def receive() -> None:
        while True:
            try:
                data = receiver.recv(64)
            except (TimeoutError, OSError):
                return
            delays.append((time.monotonic_ns() - struct.unpack("!q", data[:8])[0]) / MS)

    thread = threading.Thread(target=receive)
    thread.start()
    sender = socket_in(client_ns)
    target = receiver.getsockname()
    count = int(rate * seconds)
    cpu_before = cpu_of() if cpu_of else 0.0
    start = time.monotonic()
    for index in range(count):
        pause = start + index / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        sender.sendto(struct.pack("!q", time.monotonic_ns()) + b"x" * 56, target)
    elapsed = time.monotonic() - start
    time.sleep(0.5)  # let held datagrams arrive
    cpu = (cpu_of() - cpu_before) / elapsed * 100 if cpu_of else float("nan")
    thread.join()
    sender.close()
    receiver.close()
    ordered = sorted(delays)
    pick = lambda fraction: ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]  # noqa: E731
    return {"sent": count, "received": len(delays), "p50": pick(0.5), "p99": pick(0.99), "min": ordered[0],
            "max": ordered[-1], "sd": statistics.pstdev(ordered), "cpu": cpu}


def tcp_round_trips(client_ns: str, server_ns: str, address: str, count: int) -> list[float]:
    """64-byte request/response round trips (ms) on one TCP connection with TCP_NODELAY, echo in the server ns."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(Path("/run/netns") / server_ns)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        setns(Path("/run/netns") / client_ns)
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    finally:
        setns(Path(f"/proc/self/fd/{home}"))
        os.close(home)
    listener.bind((address, 0))
    listener.listen(1)

    def echo() -> None:
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with connection:
            while data := connection.recv(4096):
                connection.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.connect(listener.getsockname())
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.sendall(b"x" * 64)
        received = 0
        while received < 64:
            received += len(client.recv(4096))
        times.append((time.perf_counter() - started) * 1000)
    client.close()
    listener.close()
    thread.join(timeout=2)
    return sorted(times)


def start_stop(tries: int) -> None:
    """Start and revert times of a delay on a holder started ahead, as in a run."""
    from lueur_net.dataplane.nfqueue.delay import prestart, release_spares

    starts, stops = [], []
    with veth_lab() as (_, server_ns, server_if, _), tempfile.TemporaryDirectory() as run_dir, \
            Ledger.open("bench-nfqueue", run_dir=Path(run_dir)) as ledger:
        for _ in range(tries):
            prestart(server_ns, ledger)
            time.sleep(0.5)  # the spare's interpreter is up, as after an item's calls
            began = time.perf_counter()
            delay = start_delay(server_ns, server_if, DelaySpec(mean_ns=MS), ledger)
            starts.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            delay.revert()
            stops.append((time.perf_counter() - began) * 1000)
        release_spares()
    print(f"load average {os.getloadavg()[0]:.2f}; ms, median [min-max] of {tries}")
    for name, values in (("start (holder started ahead)", starts), ("revert", stops)):
        print(f"{name:30} {statistics.median(values):7.1f} [{min(values):.1f}-{max(values):.1f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="datagrams per second (1000)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--start-stop", type=int, metavar="N", help="only the start and revert times, N tries")
    args = parser.parse_args()
    if args.start_stop:
        start_stop(args.start_stop)
        return
    cases: list[tuple[str, DelaySpec | None]] = [
        ("no rule (baseline)", None),
        ("pass-through (0 ms)", DelaySpec(mean_ns=0)),
        *[(f"{ms} ms", DelaySpec(mean_ns=ms * MS)) for ms in (1, 10, 50, 100, 200)],
        ("100 +- 20 ms uniform", DelaySpec(mean_ns=100 * MS, jitter_ns=20 * MS)),
        ("100 sd 20 ms normal", DelaySpec(mean_ns=100 * MS, jitter_ns=20 * MS, distribution="normal")),
        ("100 sd 20 ms pareto", DelaySpec(mean_ns=100 * MS, jitter_ns=20 * MS, distribution="pareto")),
        ("100 +- 20 ms uniform, keep_order", DelaySpec(mean_ns=100 * MS, jitter_ns=20 * MS, keep_order=True)),
    ]
    print(f"nfqueue one-way delay, UDP {args.rate}/s for {args.seconds:.0f} s per case (ms; cpu = holder % of "
          "one core)")
    print(f"{'case':34} {'p50':>8} {'p99':>8} {'min':>8} {'max':>8} {'sd':>6} {'recv':>11} {'cpu%':>5}")
    with veth_lab() as (client_ns, server_ns, server_if, server_addr), \
            tempfile.TemporaryDirectory() as run_dir, Ledger.open("bench-nfqueue", run_dir=Path(run_dir)) as ledger:
        for name, spec in cases:
            context: Any = (start_delay(server_ns, server_if, spec, ledger, match=Match(protocol="udp"))
                            if spec else nullcontext())
            with context as delay:
                cpu_of = (lambda: cpu_seconds(delay._process.pid)) if spec else None  # noqa: B023
                result = one_way(client_ns, server_ns, server_addr, args.rate, args.seconds, cpu_of)
            print(f"{name:34} {result['p50']:8.3f} {result['p99']:8.3f} {result['min']:8.3f} {result['max']:8.3f}"
                  f" {result['sd']:6.2f} {result['received']:5}/{result['sent']:<5} {result['cpu']:5.1f}")
        for ms in (0, 100):
            context = start_delay(server_ns, server_if, DelaySpec(mean_ns=ms * MS), ledger,
                                  match=Match(protocol="tcp")) if ms else nullcontext()
            with context:
                times = tcp_round_trips(client_ns, server_ns, server_addr, 100)
            label = f"TCP echo round trip, {ms} ms at the server end" if ms else "TCP echo round trip, no rule"
            print(f"{label:48} p50 {times[50]:8.3f}  p99 {times[98]:8.3f}  max {times[-1]:8.3f}")
        started = time.perf_counter()
        delay = start_delay(server_ns, server_if, DelaySpec(mean_ns=MS), ledger)
        applied = time.perf_counter() - started
        started = time.perf_counter()
        delay.revert()
        print(f"apply (holder start + rule) {applied * 1000:.0f} ms, revert {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
