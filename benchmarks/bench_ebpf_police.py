"""eBPF policing and TCP: goodput of one TCP stream through the police program for several bursts, one rate,
against the configured rate. Printed, not asserted. Shows the GSO caveat: a bucket smaller than one GSO packet
(64 KiB) drops whole super-packets and TCP collapses; the default burst (max(256 KiB, 10 ms of rate)) holds.

    sudo .venv/bin/python benchmarks/bench_ebpf_police.py [--rate 524288] [--seconds 5]
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

for _helpers in ("tests", "tests/host/ebpf"):  # the tests' namespace pair and traffic helpers
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / _helpers))
from ebpf_lab import Pair, namespace_pair  # noqa: E402

from lueur_net.dataplane.ebpf import attach_police, default_police_burst  # noqa: E402

PORT = 9800


def goodput(pair: Pair, seconds: float) -> tuple[float, list[float]]:
    """Mean bytes/s received over `seconds` of a TCP stream, and each second's rate."""
    listener = pair.socket_in(pair.server_ns)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((pair.server.address, PORT))
    listener.listen(1)
    marks: list[tuple[float, int]] = []

    def sink() -> None:
        connection, _ = listener.accept()
        total = 0
        buffer = bytearray(1 << 16)
        start = time.monotonic()
        marks.append((start, 0))
        while (n := connection.recv_into(buffer)) > 0:
            total += n
            now = time.monotonic()
            if now - marks[-1][0] >= 1.0:
                marks.append((now, total))
        marks.append((time.monotonic(), total))
        connection.close()

    thread = threading.Thread(target=sink)
    thread.start()
    client = pair.socket_in(pair.client_ns)
    client.connect((pair.server.address, PORT))
    client.settimeout(0.5)
    chunk = b"\0" * 65536
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            client.send(chunk)
        except TimeoutError:
            pass
    client.close()
    thread.join(timeout=30)
    listener.close()
    (t0, _), (t1, total) = marks[0], marks[-1]
    per_second = [(b1 - b0) / (u1 - u0) for (u0, b0), (u1, b1) in zip(marks, marks[1:]) if u1 > u0]
    return total / (t1 - t0), per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=512 * 1024)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    default = default_police_burst(args.rate)
    print(
        f"TCP goodput through the police program at {args.rate / 1024:.0f} KiB/s,"
        f" {args.seconds:g} s per burst"
    )
    with namespace_pair(checksum_offload=True) as pair:
        for burst in (16 * 1024, 64 * 1024, default, 1024 * 1024):
            label = f"{burst // 1024} KiB" + (" (default)" if burst == default else "")
            with attach_police(pair.client, "egress", args.rate, burst) as fault:
                mean, seconds = goodput(pair, args.seconds)
                dropped = fault.counters().affected
            spread = ", ".join(f"{rate / 1024:.0f}" for rate in seconds)
            print(
                f"  burst {label:18} {mean / 1024:7.0f} KiB/s = {100 * mean / args.rate:5.1f} % of the rate;"
                f" per second: {spread}; {dropped} packets dropped"
            )


if __name__ == "__main__":
    main()
