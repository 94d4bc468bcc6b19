"""The lab's block never overlaps a route of any table (any type) or an address, seen from inside a namespace the
test creates and fills with routes (the allocator runs there, so the machine's own tables are never touched)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from lueur_net.errors import BadInput
from lueur_net.lab.addressing import choose_block, host_networks, parse_pool
from lueur_net.lab.enter import in_netns_thread


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def netns() -> Iterator[str]:
    """A namespace with one veth pair (10.99.7.1/24 on one end) and routes into 10.213.0.0/16 in several tables."""
    name = f"lueur-pool-{os.getpid() % 100000}"
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "add", "lueurpa", "type", "veth", "peer", "name", "lueurpb")
        for dev in ("lo", "lueurpa", "lueurpb"):
            ip("-n", name, "link", "set", dev, "up")
        ip("-n", name, "addr", "add", "10.99.7.1/24", "dev", "lueurpa")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _allocate(pool: str, start: int) -> ipaddress.IPv4Network:
    """The allocator as a lab runs it, in the calling thread's namespace."""
    return choose_block(parse_pool(pool), host_networks(), start=start).network


def test_routes_of_every_table_and_type_and_addresses_are_avoided(netns: str) -> None:
    # 10.213.0.0/16 = main /17 + blackhole /18 (table 100) + unreachable /19 (table 4000000) + prohibit /20
    # (main) + an address's /21 (10.213.240.0/21) + throw /22 (table 300): free only 10.213.252.0/22.
    ip("-n", netns, "route", "add", "10.213.0.0/17", "via", "10.99.7.2")
    ip("-n", netns, "route", "add", "blackhole", "10.213.128.0/18", "table", "100")
    ip("-n", netns, "route", "add", "unreachable", "10.213.192.0/19", "table", "4000000")
    ip("-n", netns, "route", "add", "prohibit", "10.213.224.0/20")
    ip("-n", netns, "addr", "add", "10.213.240.9/21", "dev", "lueurpb", "noprefixroute")
    ip("-n", netns, "route", "add", "throw", "10.213.248.0/22", "table", "300")
    free = ipaddress.IPv4Network("10.213.252.0/22")
    for start in (0, 1, 4000, 8191, 8190, 12345):
        block = in_netns_thread(netns, _allocate, "10.213.0.0/16", start)
        assert block.subnet_of(free), (start, block)
    # Cover the last free part too, with a route in yet another table: a clear error, exit 2.
    ip("-n", netns, "route", "add", "blackhole", "10.213.252.0/22", "table", "7")
    with pytest.raises(BadInput) as raised:
        in_netns_thread(netns, _allocate, "10.213.0.0/16", 0)
    assert raised.value.message.startswith("no free /29 left in the lab address pool 10.213.0.0/16")
    assert raised.value.exit_code == 2


def test_one_dump_handles_thousands_of_routes_quickly(netns: str) -> None:
    batch = "".join(f"route add blackhole 10.{a}.{b}.0/24 table 200\n" for a in range(200, 220) for b in range(256))
    subprocess.run(["ip", "-n", netns, "-batch", "-"], input=batch, text=True, check=True, capture_output=True)
    in_netns_thread(netns, host_networks)  # pyroute2's first-use costs out of the measurement
    began = time.monotonic()
    networks = in_netns_thread(netns, host_networks)
    block = choose_block(parse_pool("10.0.0.0/8"), networks, start=200 * 8192)  # starts inside the routes
    elapsed = time.monotonic() - began
    assert len(networks) >= 20 * 256
    assert not block.network.overlaps(ipaddress.IPv4Network("10.200.0.0/13"))
    assert not block.network.overlaps(ipaddress.IPv4Network("10.208.0.0/14"))
    assert block.network.network_address == ipaddress.IPv4Address("10.220.0.0")
    assert elapsed < 1.0, elapsed
