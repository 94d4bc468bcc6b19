"""Loss program on real traffic: rate within 4 sigma of the binomial, counters equal to what was lost."""

from __future__ import annotations

import math

from ebpf_lab import Pair
from ebpf_traffic import numbers_through

from lueur_net.dataplane.ebpf import GilbertElliott, PortRange, Rule, Scope, attach_loss

COUNT = 6000
PORT = 9000


def _scope_to_receiver(pair: Pair) -> Scope:
    return Scope((Rule(dst=pair.server.address, dport=PortRange(PORT, PORT), protocol="udp"),))


def test_bernoulli_loss_rate_is_binomial_and_counted(pair: Pair) -> None:
    probability = 0.2
    scope = _scope_to_receiver(pair)
    with attach_loss(pair.client, "egress", probability, scope=scope, ledger=pair.ledger) as fault:
        received = numbers_through(pair, PORT, COUNT)
        counters = fault.counters()
    lost = COUNT - len(received)
    sigma = math.sqrt(COUNT * probability * (1 - probability))
    assert abs(lost - COUNT * probability) <= 4 * sigma, (
        f"lost {lost} of {COUNT}, expected {COUNT * probability:.0f}"
    )
    assert counters.matched == COUNT  # the scope holds exactly our datagrams
    assert counters.affected == lost  # every loss is the program's, and counted
    assert counters.seen >= COUNT


def test_loss_at_ingress_with_cls_bpf(pair: Pair) -> None:
    """The fallback mechanism and the other hook: same behaviour."""
    probability = 0.5
    scope = _scope_to_receiver(pair)
    fault = attach_loss(pair.server, "ingress", probability, scope=scope, ledger=pair.ledger, mode="cls_bpf")
    with fault:
        assert fault.mechanism == "cls_bpf"
        received = numbers_through(pair, PORT, COUNT)
        counters = fault.counters()
    lost = COUNT - len(received)
    sigma = math.sqrt(COUNT * probability * (1 - probability))
    assert abs(lost - COUNT * probability) <= 4 * sigma
    assert counters.affected == lost


def test_gilbert_elliott_loses_in_bursts(pair: Pair) -> None:
    model = GilbertElliott(p=0.02, r=0.25)  # stationary loss 0.02 / 0.27 = 7.4 %, mean burst 4 packets
    scope = _scope_to_receiver(pair)
    with attach_loss(pair.client, "egress", gilbert_elliott=model, scope=scope, ledger=pair.ledger) as fault:
        received = numbers_through(pair, PORT, COUNT)
        counters = fault.counters()
    lost = sorted(set(range(COUNT)) - received)
    assert counters.affected == len(lost)
    rate = len(lost) / COUNT
    assert 0.03 < rate < 0.15, f"loss rate {rate:.3f}, stationary 0.074"
    bursts = 1 + sum(1 for a, b in zip(lost, lost[1:]) if b != a + 1)
    mean_burst = len(lost) / bursts
    assert mean_burst > 2.0, f"mean burst {mean_burst:.2f} packets: not bursty (Bernoulli would give ~1.08)"


def test_zero_probability_passes_everything(pair: Pair) -> None:
    with attach_loss(pair.client, "egress", 0.0, ledger=pair.ledger) as fault:
        received = numbers_through(pair, PORT, 1000)
        counters = fault.counters()
    assert len(received) == 1000
    assert counters.affected == 0 and counters.matched >= 1000
