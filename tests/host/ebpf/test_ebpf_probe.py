"""The capability probe finds what this kernel has (machine-facts: tcx and cls_bpf both present)."""

from __future__ import annotations

from ebpf_lab import Pair
from netns_pair import qdiscs

from lueur_net.dataplane.ebpf.probe import probe


def test_probe_finds_tcx_and_cls_bpf_and_leaves_nothing(pair: Pair) -> None:
    result = probe(pair.client_ns, pair.client.ifname)
    assert result.libbpf is not None and result.libbpf.startswith("1.")
    assert (result.bpf_load, result.tcx, result.cls_bpf) == (True, True, True), result.errors
    assert "clsact" not in qdiscs(pair.client_ns, pair.client.ifname)
