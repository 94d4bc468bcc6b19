"""The backends honour a plan's TrafficScope (inject --to/--port/--protocol) instead of their path-peer scope."""

from __future__ import annotations

from lueur_net.dataplane.ebpf.backend import scope_of
from lueur_net.dataplane.ebpf.model import Hook, PortRange, Rule, Scope
from lueur_net.dataplane.nfqueue.backend import match_of
from lueur_net.dataplane.nfqueue.spec import Match
from lueur_net.plan.model import TrafficScope


def test_empty_scope_is_every_packet() -> None:
    assert scope_of(TrafficScope(), Hook.INGRESS) == Scope()
    assert match_of(TrafficScope(), leaving=False) == Match()


def test_peer_is_the_source_at_ingress_and_the_destination_at_egress() -> None:
    wanted = TrafficScope(peer="10.1.0.0/16", peer_port=5432, protocol="tcp")
    assert scope_of(wanted, Hook.INGRESS) == Scope((Rule(src="10.1.0.0/16", sport=PortRange(5432, 5432),
                                                         protocol="tcp"),))
    assert scope_of(wanted, Hook.EGRESS) == Scope((Rule(dst="10.1.0.0/16", dport=PortRange(5432, 5432),
                                                        protocol="tcp"),))
    assert match_of(wanted, leaving=False).iptables_args() == ["-s", "10.1.0.0/16", "-p", "tcp", "--sport", "5432"]
    assert match_of(wanted, leaving=True).iptables_args() == ["-d", "10.1.0.0/16", "-p", "tcp", "--dport", "5432"]


def test_either_port_is_two_rules_or_multiport() -> None:
    wanted = TrafficScope(port=8080)
    assert scope_of(wanted, Hook.INGRESS) == Scope((Rule(sport=PortRange(8080, 8080)),
                                                    Rule(dport=PortRange(8080, 8080))))
    assert match_of(wanted, leaving=False).iptables_args() == ["-p", "tcp", "-m", "multiport", "--ports", "8080"]
