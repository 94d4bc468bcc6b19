from __future__ import annotations

from lueur_net.lab.lab import Names
from lueur_net.lab.nat import Redirect, arrival_ruleset, client_ruleset


def test_the_client_ruleset_redirects_each_loopback_upstream_and_snats_loopback_sources() -> None:
    text = client_ruleset([Redirect("127.0.0.1", 9090, "10.213.0.1")], {"lueurabcdefc": "10.213.0.2"})
    assert "type nat hook output priority -100" in text
    assert "ip daddr 127.0.0.1 tcp dport 9090 dnat to 10.213.0.1" in text
    assert 'oifname "lueurabcdefc" ip saddr 127.0.0.0/8 snat to 10.213.0.2' in text


def test_the_arrival_side_guards_loopback_and_maps_ports_back() -> None:
    text = arrival_ruleset("lueurabcdef", "lueurabcdefh", "10.213.0.1", {9090: "127.0.0.1", 80: "127.0.0.2"})
    assert "type filter hook prerouting priority -300" in text
    assert 'iifname "lueurabcdefh" ip daddr 127.0.0.0/8 drop' in text
    assert 'iifname "lueurabcdefh" ip saddr 127.0.0.0/8 drop' in text
    assert 'iifname "lueurabcdefh" ip daddr 10.213.0.1 tcp dport 9090 dnat to 127.0.0.1:9090' in text
    assert text.index("dport 80 ") < text.index("dport 9090 ")


def test_the_guard_is_there_even_without_mapped_ports() -> None:
    assert "ip daddr 127.0.0.0/8 drop" in arrival_ruleset("lueurx", "lueurxh", "10.213.0.1", {})


def test_every_name_carries_the_prefix_and_run_id_and_fits_ifnamsiz() -> None:
    names = Names.for_run("abcdef")
    every = [names.client_netns, names.server_netns, names.host_end, names.client_end, names.client_to_server,
             names.server_end, names.host_table]
    assert all(name.startswith("lueurabcdef") for name in every)
    assert len(set(every) - {names.host_table}) == len(every) - 1
    assert all(len(name) <= 15 for name in (names.host_end, names.client_end, names.client_to_server, names.server_end))


def test_forwarded_sources_from_the_server_namespace_leave_with_the_client_address() -> None:
    text = client_ruleset([], {"lueurabcdefc": "10.213.0.2"}, {"10.213.0.6": ("lueurabcdefc", "10.213.0.2")})
    assert 'oifname "lueurabcdefc" ip saddr 10.213.0.6 snat to 10.213.0.2' in text
