from __future__ import annotations

import ipaddress

import pytest

from lueur_net.errors import BadInput
from lueur_net.lab.addressing import Block, choose_block, parse_pool


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text, strict=False)


def test_a_block_skips_every_overlapping_route() -> None:
    pool = net("10.213.0.0/28")  # two /29 blocks
    block = choose_block(pool, [net("10.213.0.1/30")])
    assert block.network == net("10.213.0.8/29")
    assert (block.host, block.client, block.client_to_server, block.server) == (
        "10.213.0.9", "10.213.0.10", "10.213.0.13", "10.213.0.14",
    )


def test_a_default_route_does_not_count_as_used() -> None:
    assert choose_block(net("10.213.0.0/29"), [net("0.0.0.0/0")]).network == net("10.213.0.0/29")


def test_a_covering_route_exhausts_the_pool_with_a_hint() -> None:
    with pytest.raises(BadInput) as raised:
        choose_block(net("10.213.0.0/24"), [net("10.0.0.0/8")])
    assert "no free /29" in raised.value.message
    assert raised.value.hint is not None and "--pool" in raised.value.hint


def test_the_start_offset_spreads_concurrent_labs_and_wraps() -> None:
    pool = net("10.213.0.0/27")  # four blocks
    assert choose_block(pool, [], start=3).network == net("10.213.0.24/29")
    assert choose_block(pool, [net("10.213.0.24/29")], start=3).network == net("10.213.0.0/29")


@pytest.mark.parametrize("text", ["8.8.8.0/24", "127.0.0.0/8", "10.0.0.0/30", "banana", "10.213.0.1/16"])
def test_bad_pools_are_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_pool(text)


def test_the_pool_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUEUR_NET_LAB_POOL", "172.30.0.0/24")
    assert parse_pool(None) == net("172.30.0.0/24")
    assert parse_pool("192.168.77.0/24") == net("192.168.77.0/24")


def test_every_block_fits_one_lab() -> None:
    block = Block(net("10.213.0.0/29"))
    addresses = {block.host, block.client, block.client_to_server, block.server}
    assert len(addresses) == 4 and all(ipaddress.IPv4Address(a) in block.network for a in addresses)
