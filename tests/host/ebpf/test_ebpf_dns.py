"""DNS answer faults against a real DNS server (dnslib) in the server namespace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ebpf_lab import Pair
from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from lueur_net.dataplane.ebpf import attach_dns
from lueur_net.lab.enter import inside


class _FixedResolver(BaseResolver):  # type: ignore[misc]
    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("10.1.2.3"), ttl=60))
        return reply


@pytest.fixture
def dns_server(pair: Pair) -> Iterator[str]:
    with inside(pair.server_ns):
        server = DNSServer(_FixedResolver(), port=53, address=pair.server.address)
    server.start_thread()
    yield pair.server.address
    server.stop()
    server.server.server_close()


def _ask(pair: Pair, server: str, timeout: float = 3.0) -> str:
    with inside(pair.client_ns):
        try:
            answer = DNSRecord.parse(DNSRecord.question("api.example.test").send(server, 53, timeout=timeout))
        except TimeoutError:
            return "timeout"
    return str(RCODE[answer.header.rcode])


def test_dns_answers_as_configured(pair: Pair, dns_server: str) -> None:
    assert _ask(pair, dns_server) == "NOERROR"
    for answer, rcode in (("nxdomain", "NXDOMAIN"), ("servfail", "SERVFAIL"), ("refused", "REFUSED")):
        with attach_dns(pair.client, "ingress", answer, 1.0, ledger=pair.ledger) as fault:
            got = _ask(pair, dns_server)
            counters = fault.counters()
        assert got == rcode, f"{answer}: got {got}, counters {counters}"
        assert counters.affected == 1, f"{answer}: {counters}"
    assert _ask(pair, dns_server) == "NOERROR"


def test_dropped_dns_answers_time_out(pair: Pair, dns_server: str) -> None:
    with attach_dns(pair.server, "egress", "drop", 1.0, ledger=pair.ledger) as fault:
        assert _ask(pair, dns_server, timeout=0.5) == "timeout"
        assert fault.counters().affected == 1


def test_rewritten_answer_carries_no_records(pair: Pair, dns_server: str) -> None:
    with attach_dns(pair.server, "egress", "nxdomain", 1.0, ledger=pair.ledger, mode="cls_bpf"):
        with inside(pair.client_ns):
            answer = DNSRecord.parse(DNSRecord.question("api.example.test").send(dns_server, 53, timeout=3.0))
    assert answer.header.rcode == RCODE.NXDOMAIN and answer.rr == [] and len(answer.questions) == 1
