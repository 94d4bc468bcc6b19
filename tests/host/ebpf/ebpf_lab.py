"""The eBPF host tests' pair of namespaces: tests/netns_pair.py's, with the run's ledger alongside.

Both veth ends have tx checksum offload off by default, so a program that breaks a checksum makes the receiver
drop the packet instead of passing unnoticed (machine-facts.md). Used by the benchmarks too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from lueur_net.ledger import Ledger
from netns_pair import NamespacePair
from netns_pair import namespace_pair as _namespace_pair


@dataclass(frozen=True)
class Pair(NamespacePair):
    ledger: Ledger | None = None


@contextmanager
def namespace_pair(ledger: Ledger | None = None, checksum_offload: bool = False) -> Iterator[Pair]:
    with _namespace_pair("ebpf", checksum_offload=checksum_offload) as made:
        yield Pair(made.client, made.server, ledger)
