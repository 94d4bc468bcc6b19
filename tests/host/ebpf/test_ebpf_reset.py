"""Reset program: a data segment becomes a RST and the client sees ECONNRESET."""

from __future__ import annotations

from ebpf_lab import Pair
from ebpf_traffic import http_get, http_server

from lueur_net.dataplane.ebpf import attach_reset

PORT = 8080


def test_reset_gives_econnreset(pair: Pair) -> None:
    with http_server(pair.server_ns, pair.server.address, PORT) as url:
        with attach_reset(pair.client, "ingress", 1.0, ledger=pair.ledger) as fault:
            outcomes = [http_get(pair.client_ns, url) for _ in range(5)]
            counters = fault.counters()
        assert outcomes == ["reset"] * 5
        assert counters.affected >= 5
        assert http_get(pair.client_ns, url) == 200


def test_reset_at_server_egress_with_cls_bpf(pair: Pair) -> None:
    with http_server(pair.server_ns, pair.server.address, PORT) as url:
        with attach_reset(pair.server, "egress", 1.0, ledger=pair.ledger, mode="cls_bpf"):
            assert http_get(pair.client_ns, url) == "reset"
