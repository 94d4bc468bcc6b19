from __future__ import annotations

import pytest

from lueur_net.errors import BadInput
from lueur_net.lab.upstreams import classify, hosts_file, loopback_targets

LOCAL = {"127.0.0.1", "192.0.2.2"}


def fake_resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(name: str) -> list[str]:
        if name not in table:
            raise BadInput(f"upstream host '{name}' does not resolve on this host")
        return table[name]

    return resolve


RESOLVE = fake_resolver({"localhost": ["127.0.0.1"], "api.local": ["192.0.2.2"], "example.com": ["93.184.216.34"]})


def test_localhost_is_a_loopback_upstream_with_its_port() -> None:
    upstream = classify("http://localhost:9090/", LOCAL, RESOLVE)
    assert (upstream.hostname, upstream.port, upstream.address, upstream.where) == ("localhost", 9090, "127.0.0.1", "loopback")
    assert upstream.is_name


def test_default_ports_and_addresses_as_written() -> None:
    assert classify("https://127.0.0.2/x", LOCAL, RESOLVE).port == 443
    plain = classify("http://127.0.0.1/", LOCAL, RESOLVE)
    assert plain.port == 80 and not plain.is_name


def test_a_name_for_another_host_address_goes_direct() -> None:
    assert classify("http://api.local:8080/", LOCAL, RESOLVE).where == "host"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://localhost/", "http:// or https://"),
        ("http://[::1]:9090/", "IPv6"),
        ("http://example.com/", "neither loopback nor an address of this host"),
        ("http://nowhere.invalid/", "does not resolve"),
        ("http://localhost:99999/", "invalid port"),
        ("http:///path", "no host"),
    ],
)
def test_unreachable_or_malformed_upstreams_are_refused(url: str, words: str) -> None:
    with pytest.raises(BadInput) as raised:
        classify(url, LOCAL, RESOLVE)
    assert words in raised.value.message


def test_one_port_cannot_lead_to_two_loopback_addresses() -> None:
    one = classify("http://127.0.0.1:80/", LOCAL, RESOLVE)
    two = classify("http://127.0.0.2:80/", LOCAL, RESOLVE)
    assert loopback_targets([one, classify("http://localhost:80/a", LOCAL, RESOLVE)]) == {80: "127.0.0.1"}
    with pytest.raises(BadInput):
        loopback_targets([one, two])


def test_the_hosts_file_puts_upstream_names_first_and_drops_their_ipv6_lines() -> None:
    upstreams = [classify("http://localhost:9090/", LOCAL, RESOLVE), classify("http://api.local/", LOCAL, RESOLVE)]
    text = hosts_file(upstreams, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.5 other\n")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines[:2] == ["127.0.0.1\tlocalhost", "192.0.2.2\tapi.local"]
    assert "::1 localhost ip6-localhost" not in lines
    assert "10.0.0.5 other" in lines
