"""HTTP status rewrite on a real server's responses: every call at p=1, about p of the calls at p<1."""

from __future__ import annotations

import math

from ebpf_lab import Pair
from ebpf_traffic import http_get, http_server

from lueur_net.dataplane.ebpf import attach_httperror

PORT = 8080


def test_every_response_becomes_503_at_probability_one(pair: Pair) -> None:
    with http_server(pair.server_ns, pair.server.address, PORT) as url:
        with attach_httperror(pair.client, "ingress", 503, 1.0, ledger=pair.ledger) as fault:
            statuses = [http_get(pair.client_ns, url) for _ in range(20)]
            counters = fault.counters()
        assert statuses == [503] * 20
        assert counters.eligible == 20 and counters.affected == 20
        assert http_get(pair.client_ns, url) == 200


def test_about_probability_of_calls_are_rewritten(pair: Pair) -> None:
    calls, probability = 200, 0.3
    with http_server(pair.server_ns, pair.server.address, PORT) as url:
        # Server egress through cls_bpf: the other hook, the other mechanism, checksum-offload-off sender.
        with attach_httperror(
            pair.server, "egress", 429, probability, ledger=pair.ledger, mode="cls_bpf"
        ) as fault:
            statuses = [http_get(pair.client_ns, url) for _ in range(calls)]
            counters = fault.counters()
    assert set(statuses) <= {200, 429}, f"unexpected outcomes: {set(statuses)}"
    rewritten = statuses.count(429)
    sigma = math.sqrt(calls * probability * (1 - probability))
    assert abs(rewritten - calls * probability) <= 4 * sigma, f"{rewritten} of {calls} rewritten"
    assert counters.affected == rewritten
