"""The netem rows of the conformance table (tests/conformance.py) on a stock kernel: latency, loss, duplicate,
corrupt, reorder and the TBF cap hit exactly the traffic lueur's side/direction name, for every side x direction.

Thresholds are wider than on the host (Python runs ~14x slower under TCG): a hit adds 80 ms or more, an untouched
direction stays well under 40 ms."""

from __future__ import annotations

from typing import Any

import pytest
from conformance import SIDES_DIRECTIONS, Thresholds, applied, expected, traffic_hit

from lueur_net.ledger import Ledger
from netns_pair import NamespacePair

NETEM_ROWS = ("latency", "packetloss", "duplicate", "corrupt", "reorder", "bandwidth")
VM_LIMITS = Thresholds(delay_hit_ms=55.0, delay_clean_ms=40.0)


@pytest.fixture(scope="module")
def capabilities() -> Any:
    from lueur_net.dataplane.probe import probe_capabilities

    return probe_capabilities()


@pytest.mark.parametrize(("side", "direction"), SIDES_DIRECTIONS, ids=[f"{s}-{d}" for s, d in SIDES_DIRECTIONS])
@pytest.mark.parametrize("fault_type", NETEM_ROWS)
def test_netem_fault_hits_the_traffic_lueur_means(fault_type: str, side: str, direction: str,
                                                  veth_pair: NamespacePair, ledger: Ledger,
                                                  capabilities: Any) -> None:
    with applied(veth_pair, fault_type, side, direction, capabilities, ledger) as plan:
        backends = {fault.backend for fault in plan.faults}
        assert backends <= {"netem", "tbf"}, backends  # the stock kernel's backends, not the fallbacks
        hit = traffic_hit(veth_pair, fault_type, VM_LIMITS)
    assert hit == expected(fault_type, side, direction)
