from __future__ import annotations

import dnslib
import pytest

from lueur_net.lab.dns import RCODE_NXDOMAIN, answer, build_response, parse_query


def query(name: str, qtype: str = "A") -> bytes:
    return bytes(dnslib.DNSRecord.question(name, qtype).pack())


def test_a_query_is_parsed() -> None:
    parsed = parse_query(query("API.Example.test"))
    assert parsed is not None and (parsed.name, parsed.qtype, parsed.qclass) == ("api.example.test", 1, 1)


def test_known_names_are_answered_with_their_address() -> None:
    reply = dnslib.DNSRecord.parse(answer(query("api.test"), {"api.test": "127.0.0.1"}, lambda name: []))
    assert reply.header.rcode == 0 and reply.header.qr == 1
    assert [str(rr.rdata) for rr in reply.rr] == ["127.0.0.1"]
    assert str(reply.q.qname) == "api.test."


def test_other_names_go_to_the_host_resolver_and_unknown_ones_are_nxdomain() -> None:
    lookup = {"db.test": ["10.1.2.3", "10.1.2.4"]}.get
    reply = dnslib.DNSRecord.parse(answer(query("db.test"), {}, lambda name: lookup(name) or []))
    assert [str(rr.rdata) for rr in reply.rr] == ["10.1.2.3", "10.1.2.4"]
    missing = dnslib.DNSRecord.parse(answer(query("nope.test"), {}, lambda name: []))
    assert missing.header.rcode == RCODE_NXDOMAIN and missing.rr == []


def test_aaaa_for_a_known_name_is_an_empty_success() -> None:
    reply = dnslib.DNSRecord.parse(answer(query("api.test", "AAAA"), {"api.test": "127.0.0.1"}, lambda name: []))
    assert reply.header.rcode == 0 and reply.rr == []


@pytest.mark.parametrize("packet", [b"", b"\x00" * 5, bytes(dnslib.DNSRecord.question("x.test").reply().pack())])
def test_garbage_and_responses_are_ignored(packet: bytes) -> None:
    assert answer(packet, {}, lambda name: []) is None


def test_the_response_echoes_id_and_question() -> None:
    parsed = parse_query(query("a.test"))
    assert parsed is not None
    reply = dnslib.DNSRecord.parse(build_response(parsed, ["192.0.2.9"]))
    assert reply.header.id == parsed.ident and [str(rr.rdata) for rr in reply.rr] == ["192.0.2.9"]
