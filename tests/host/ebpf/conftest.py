"""Fixtures for the eBPF host tests: a throw-away pair of namespaces joined by a veth (see ebpf_lab).

Sockets are created with the calling thread inside the namespace (lueur_net.lab.enter.inside)
and stay bound to it afterwards, so servers run as threads of the test and clients call from the test's own
thread: no subprocess to start, fail or leak.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ebpf_lab import Pair, namespace_pair

from lueur_net.ledger import Ledger

__all__ = ["Pair"]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    ledger = Ledger.open("ebpf host test", run_dir=tmp_path / "run")
    try:
        with namespace_pair(ledger) as made:
            yield made
            assert ledger.pending == 0, "a fault left an entry open in the ledger"
    finally:
        ledger.close()
