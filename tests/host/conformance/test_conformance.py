"""Every fault type x side x direction on this kernel: the traffic it hits is lueur's (tests/conformance.py).

One row per case; a fault type this kernel has no backend for (netem's duplicate, corrupt, reorder here) is skipped
with the reason, and the kernel tier runs it in the stock-kernel VM.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance import FAULTS, SIDES_DIRECTIONS, applied, expected, traffic_hit

from lueur_net.errors import EnvironmentProblem
from lueur_net.ledger import Ledger
from netns_pair import NamespacePair, namespace_pair


@pytest.fixture(scope="module")
def capabilities() -> Any:
    from lueur_net.dataplane.probe import probe_capabilities

    return probe_capabilities()


@pytest.fixture
def pair() -> Iterator[NamespacePair]:
    with namespace_pair("cf", permanent_neighbours=True, checksum_offload=False) as made:
        yield made


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open("conformance", run_dir=tmp_path) as opened:
        yield opened


@pytest.mark.parametrize(("side", "direction"), SIDES_DIRECTIONS, ids=[f"{s}-{d}" for s, d in SIDES_DIRECTIONS])
@pytest.mark.parametrize("fault_type", list(FAULTS))
def test_fault_hits_the_traffic_lueur_means(fault_type: str, side: str, direction: str, pair: NamespacePair,
                                            ledger: Ledger, capabilities: Any) -> None:
    try:
        with applied(pair, fault_type, side, direction, capabilities, ledger):
            hit = traffic_hit(pair, fault_type)
    except EnvironmentProblem as problem:
        if capabilities.netem:
            raise
        pytest.skip(f"no backend for {fault_type} on this kernel ({problem}); the kernel tier runs it")
    assert hit == expected(fault_type, side, direction)
