"""Scope: only packets matching a rule (prefix, port range, protocol) are touched."""

from __future__ import annotations

from ebpf_lab import Pair
from ebpf_traffic import numbers_through

from lueur_net.dataplane.ebpf import PortRange, Rule, Scope, attach_loss


def _delivered(pair: Pair, port: int, count: int = 200) -> int:
    return len(numbers_through(pair, port, count, quiet_s=0.3))


def test_port_range_and_protocol(pair: Pair) -> None:
    scope = Scope((Rule(dst=pair.server.address, dport=PortRange.parse("9200-9201"), protocol="udp"),))
    with attach_loss(pair.client, "egress", 1.0, scope=scope, ledger=pair.ledger) as fault:
        assert _delivered(pair, 9200) == 0
        assert _delivered(pair, 9201) == 0
        assert _delivered(pair, 9202) == 200
        assert fault.counters().affected == 400


def test_prefixes_and_protocol_that_do_not_match(pair: Pair) -> None:
    others = Scope(
        (
            Rule(dst="192.0.2.0/24"),  # another destination
            Rule(src=pair.server.address),  # wrong direction at this hook
            Rule(dst=pair.server.address, protocol="tcp"),  # wrong protocol
        )
    )
    with attach_loss(pair.client, "egress", 1.0, scope=others, ledger=pair.ledger) as fault:
        assert _delivered(pair, 9203) == 200
        assert fault.counters().matched == 0
    subnet = Scope((Rule(dst=f"{pair.server.address}/30"),))
    with attach_loss(pair.client, "egress", 1.0, scope=subnet, ledger=pair.ledger):
        assert _delivered(pair, 9203) == 0


def test_peer_scope_follows_the_hook(pair: Pair) -> None:
    """Scope.peer: the remote end is the destination at egress and the source at ingress."""
    at_ingress = Scope.peer(pair.client.address, protocol="udp")
    with attach_loss(pair.server, "ingress", 1.0, scope=at_ingress, ledger=pair.ledger):
        assert _delivered(pair, 9204) == 0
