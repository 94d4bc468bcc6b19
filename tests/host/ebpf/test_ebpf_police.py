"""Policing: a UDP flood is cut to about burst + rate x time."""

from __future__ import annotations

import time

from ebpf_lab import Pair
from ebpf_traffic import receive_numbers, udp_receiver, udp_sender

from lueur_net.dataplane.ebpf import attach_police

PORT = 9300
PAYLOAD = 1200
WIRE = PAYLOAD + 8 + 20 + 14  # skb->len at tc: UDP, IPv4 and Ethernet headers


def test_police_passes_rate_plus_burst(pair: Pair) -> None:
    # A burst of 0.65 s at the rate: a sender stalled by a busy machine loses no tokens to the bucket's cap.
    rate, burst = 400_000, 256 * 1024
    receiver = udp_receiver(pair.server_ns, pair.server.address, PORT)
    sender = udp_sender(pair.client_ns)
    with attach_police(pair.client, "egress", rate, burst, ledger=pair.ledger) as fault:
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < 1.5:  # ~3 MB/s offered, well above the rate
            for _ in range(25):
                sender.sendto(sent.to_bytes(8, "big") + b"x" * (PAYLOAD - 8), (pair.server.address, PORT))
                sent += 1
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        counters = fault.counters()
    received = receive_numbers(receiver)
    receiver.close()
    sender.close()
    passed_bytes = len(received) * WIRE
    expected = burst + rate * elapsed
    assert 0.75 * expected <= passed_bytes <= 1.25 * expected, (
        f"{passed_bytes} bytes passed, expected ~{expected:.0f}"
    )
    assert counters.affected == sent - len(received)
