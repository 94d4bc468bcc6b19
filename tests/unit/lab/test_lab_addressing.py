from __future__ import annotations

import ipaddress
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lueur_net.errors import BadInput
from lueur_net.lab.addressing import BLOCK_PREFIX, Block, choose_block, parse_pool


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


@pytest.mark.parametrize("text", ["8.8.8.0/24", "127.0.0.0/8", "10.0.0.0/30", "banana", "10.213.0.1/16",
                                  "240.0.0.0/24", "255.255.255.0/24", "192.0.2.0/24", "198.18.0.0/24",
                                  "169.254.0.0/16", "0.0.0.0/8", "172.32.0.0/16", "100.128.0.0/16", "10.0.0.0/7"])
def test_bad_pools_are_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_pool(text)


def test_the_pool_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUEUR_NET_LAB_POOL", "172.30.0.0/24")
    assert parse_pool(None) == net("172.30.0.0/24")
    assert parse_pool("192.168.77.0/24") == net("192.168.77.0/24")


def test_every_block_fits_one_lab() -> None:
    block = Block.of(net("10.213.0.0/29"))
    addresses = {block.host, block.client, block.client_to_server, block.server}
    assert len(addresses) == 4 and all(ipaddress.IPv4Address(a) in block.network for a in addresses)


RFC_BLOCKS = [net("10.0.0.0/8"), net("172.16.0.0/12"), net("192.168.0.0/16"), net("100.64.0.0/10")]


@settings(max_examples=500, deadline=None)
@given(address=st.integers(min_value=0, max_value=2**32 - 1), prefix=st.integers(min_value=0, max_value=32),
       near=st.sampled_from([None, *RFC_BLOCKS]))
def test_only_rfc1918_and_rfc6598_subnets_are_pools(address: int, prefix: int,
                                                     near: ipaddress.IPv4Network | None) -> None:
    """Any network, or one drawn inside/around an allowed block: accepted exactly when it is a subnet of one of
    10/8, 172.16/12, 192.168/16, 100.64/10 and holds one lab's /29; refused (exit 2) with the list otherwise."""
    if near is not None:  # half the draws land in or next to an allowed block, where the edges are
        address = int(near.network_address) + address % (2 * near.num_addresses) - near.num_addresses // 2
        address %= 2**32
    candidate = ipaddress.IPv4Network((address, prefix), strict=False)
    expected = any(candidate.subnet_of(block) for block in RFC_BLOCKS) and prefix <= BLOCK_PREFIX
    if expected:
        assert parse_pool(str(candidate)) == candidate
        return
    with pytest.raises(BadInput) as raised:
        parse_pool(str(candidate))
    assert raised.value.exit_code == 2
    if prefix <= BLOCK_PREFIX:
        assert "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10" in raised.value.message


def test_the_edges_of_the_allowed_ranges() -> None:
    for text in ("10.0.0.0/8", "172.16.0.0/12", "172.31.255.248/29", "192.168.0.0/16", "100.64.0.0/10",
                 "100.127.255.248/29"):
        assert parse_pool(text) == net(text)
    with pytest.raises(BadInput, match="RFC 1918, RFC 6598") as raised:
        parse_pool("240.0.0.0/24")
    assert raised.value.hint is not None and "--pool" in raised.value.hint


def test_catch_all_routes_of_vpn_clients_do_not_count_as_used() -> None:
    """0.0.0.0/1 + 128.0.0.0/1 replace the default route (OpenVPN's def1, wg-quick): like /0, not a use."""
    assert choose_block(net("10.213.0.0/29"), [net("0.0.0.0/1"), net("128.0.0.0/1")]).network == net("10.213.0.0/29")
    with pytest.raises(BadInput):
        choose_block(net("10.213.0.0/29"), [net("0.0.0.0/2")])


def test_a_large_pool_and_many_routes_are_searched_fast() -> None:
    pool = net("10.0.0.0/8")  # 2**21 candidate blocks
    routes = [net(f"10.{a}.{b}.0/24") for a in range(256) for b in range(0, 256, 2)]  # 32768 routes
    began = time.process_time()  # CPU time: other work on a 2-core machine must not fail the test
    block = choose_block(pool, routes, start=12345)
    assert not any(block.network.overlaps(route) for route in routes)
    with pytest.raises(BadInput, match="no free /29"):
        choose_block(pool, [*routes, net("10.0.0.0/9"), net("10.128.0.0/9")])
    assert time.process_time() - began < 1.0


def test_blocks_are_skipped_across_merged_and_unaligned_routes_and_the_search_wraps() -> None:
    pool = net("10.213.0.0/26")  # eight blocks: .0 .8 .16 .24 .32 .40 .48 .56
    used = [net("10.213.0.20/30"), net("10.213.0.8/29"), net("10.213.0.24/32"), net("10.213.0.30/31"),
            net("10.213.0.33/32"), net("10.213.0.40/29"), net("10.213.0.44/30")]
    assert choose_block(pool, used, start=1).network == net("10.213.0.48/29")
    assert choose_block(pool, used, start=7).network == net("10.213.0.56/29")
    assert choose_block(pool, [*used, net("10.213.0.48/28")], start=2).network == net("10.213.0.0/29")
    assert choose_block(pool, used, start=8 + 1).network == net("10.213.0.48/29")  # start wraps modulo the count
