"""The backends honour a plan's TrafficScope (inject --to/--port/--protocol) instead of their path-peer scope."""

from __future__ import annotations

import dataclasses
import importlib

from capability_sets import host_like
from lueur_net.dataplane.ebpf.model import Hook, PortRange, Rule, Scope
from lueur_net.dataplane.nfqueue.backend import match_of
from lueur_net.dataplane.nfqueue.spec import Match
from lueur_net.plan import PlannedFault, plan_item
from lueur_net.plan.model import TrafficScope
from lueur_net.scenario import Item

# The package exports a function named `backend`, which hides the module of the same name from `from ... import`.
ebpf_backend = importlib.import_module("lueur_net.dataplane.ebpf.backend")
scope_of, fault_scope = ebpf_backend.scope_of, ebpf_backend.fault_scope


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


def planned(fault_type: str) -> PlannedFault:
    item = Item.model_validate({"call": {"method": "GET", "url": "http://localhost:9090/"},
                                "context": {"upstreams": ["http://localhost:9090/"], "faults": [{"type": fault_type}]}})
    (one,) = plan_item(item, host_like()).faults
    return one


def test_a_run_fault_is_scoped_to_the_path_peer_and_to_every_packet_when_the_peer_is_unknown() -> None:
    loss = planned("blackhole")
    assert fault_scope(loss, "10.9.0.1", Hook.INGRESS) == Scope.peer("10.9.0.1", hook=Hook.INGRESS)
    # run --attach on a namespace whose veth peer is not on the host: no address to scope by (an empty one crashed)
    assert fault_scope(loss, "", Hook.INGRESS) == Scope()
    assert fault_scope(planned("dns"), "10.9.0.1", Hook.INGRESS) == Scope()  # answers from whichever resolver
    scoped = dataclasses.replace(loss, scope=TrafficScope(port=53))
    assert fault_scope(scoped, "10.9.0.1", Hook.INGRESS) == scope_of(TrafficScope(port=53), Hook.INGRESS)
