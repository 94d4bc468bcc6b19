"""Windows and deadline on the kernel's monotonic clock: only packets inside a 300 ms window are hit, and
nothing is hit after the deadline (fail-open).

Each datagram's send time is bracketed by CLOCK_MONOTONIC reads before and after sendto(); a UDP send runs
the egress hook inside the syscall, so the program saw the packet within that bracket. Packets whose bracket
straddles a window edge are not judged.
"""

from __future__ import annotations

import time

from ebpf_lab import Pair
from ebpf_traffic import receive_numbers, udp_receiver, udp_sender

from lueur_net.dataplane.ebpf import Window, attach_loss

PORT = 9100
EDGE_NS = 1_000_000  # 1 ms of slack around the edges, for the clock reads themselves


def _send_bracketed(
    pair: Pair, duration_s: float, pace_s: float = 0.002
) -> tuple[list[tuple[int, int]], set[int]]:
    receiver = udp_receiver(pair.server_ns, pair.server.address, PORT)
    sender = udp_sender(pair.client_ns)
    brackets = []
    end = time.monotonic() + duration_s
    number = 0
    while time.monotonic() < end:
        before = time.monotonic_ns()
        sender.sendto(number.to_bytes(8, "big"), (pair.server.address, PORT))
        brackets.append((before, time.monotonic_ns()))
        number += 1
        time.sleep(pace_s)
    received = receive_numbers(receiver)
    receiver.close()
    sender.close()
    return brackets, received


def test_a_300ms_window_affects_only_packets_inside_it(pair: Pair) -> None:
    window = Window.from_now(start_s=0.3, duration_s=0.3)
    with attach_loss(pair.client, "egress", 1.0, windows=[window], ledger=pair.ledger) as fault:
        brackets, received = _send_bracketed(pair, duration_s=0.9)
        counters = fault.counters()
    inside_window = outside = 0
    for number, (before, after) in enumerate(brackets):
        if after + EDGE_NS < window.start_ns or before - EDGE_NS >= window.end_ns:
            assert number in received, f"datagram {number} outside the window was dropped"
            outside += 1
        elif before - EDGE_NS >= window.start_ns and after + EDGE_NS < window.end_ns:
            assert number not in received, f"datagram {number} inside the window passed"
            inside_window += 1
    assert inside_window >= 20 and outside >= 40  # both sides were really exercised
    assert counters.affected == len(brackets) - len(received)


def test_nothing_is_affected_after_the_deadline(pair: Pair) -> None:
    deadline = time.monotonic_ns() + 300_000_000
    with attach_loss(pair.client, "egress", 1.0, deadline_ns=deadline, ledger=pair.ledger) as fault:
        brackets, received = _send_bracketed(pair, duration_s=0.6)
        counters = fault.counters()
    for number, (before, after) in enumerate(brackets):
        if after + EDGE_NS < deadline:
            assert number not in received
        elif before - EDGE_NS >= deadline:
            assert number in received, f"datagram {number} after the deadline was dropped"
    assert counters.past_deadline >= 10


def test_windows_can_be_replaced_while_attached(pair: Pair) -> None:
    """set_timing() rewrites the map in place: a window in the past stops the fault at once."""
    with attach_loss(pair.client, "egress", 1.0, ledger=pair.ledger) as fault:
        past = Window(1, 2)
        fault.set_timing([past])
        brackets, received = _send_bracketed(pair, duration_s=0.2)
    assert len(received) == len(brackets)
