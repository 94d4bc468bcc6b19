"""Address blocks for labs: one /29 per lab from a private pool, never overlapping the host's routes.

Layout of a lab's /29 (offsets from its network address):
  +1 host end of the client<->host veth      +2 client end of it       (a /30)
  +5 client end of the client<->server veth  +6 server end of it       (a /30)
The host end's /30 appears in the host's routing table while the lab lives, so the next lab (this run or
another) sees the whole /29 as taken. Choosing and creating the host end happen under one lock file, so two
runs starting together cannot pick the same block.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lueur_net.errors import BadInput

DEFAULT_POOL = "10.213.0.0/16"
POOL_ENV = "LUEUR_NET_LAB_POOL"
BLOCK_PREFIX = 29
# One lock for every run on this machine, whatever their run directory (tests use private run directories).
ALLOCATION_LOCK = Path("/run/lueur-net-addresses.lock")


@dataclass(frozen=True)
class Block:
    """The addresses of one lab."""

    network: ipaddress.IPv4Network

    def _at(self, offset: int) -> str:
        return str(self.network.network_address + offset)

    @property
    def host(self) -> str:
        return self._at(1)

    @property
    def client(self) -> str:
        return self._at(2)

    @property
    def client_to_server(self) -> str:
        return self._at(5)

    @property
    def server(self) -> str:
        return self._at(6)

    LINK_PREFIX = 30


def parse_pool(text: str | None) -> ipaddress.IPv4Network:
    """The pool from an option, else LUEUR_NET_LAB_POOL, else DEFAULT_POOL; it must be private IPv4, /29 or larger."""
    raw = text or os.environ.get(POOL_ENV) or DEFAULT_POOL
    try:
        pool = ipaddress.IPv4Network(raw, strict=True)
    except ValueError as error:
        raise BadInput(f"lab address pool '{raw}' is not an IPv4 network: {error}") from None
    if not pool.is_private or pool.is_loopback or pool.is_link_local:
        raise BadInput(f"lab address pool {pool} must be a private range (e.g. {DEFAULT_POOL})")
    if pool.prefixlen > BLOCK_PREFIX:
        raise BadInput(f"lab address pool {pool} is smaller than one lab's /{BLOCK_PREFIX}")
    return pool


def choose_block(
    pool: ipaddress.IPv4Network, used: Iterable[ipaddress.IPv4Network], start: int = 0
) -> Block:
    """The first /29 of `pool` (from candidate number `start`, wrapping) that overlaps none of `used`.

    Default routes (/0) are not counted as used: they overlap everything and say nothing about local use.
    """
    taken = [network for network in used if network.prefixlen > 0]
    candidates = list(pool.subnets(new_prefix=BLOCK_PREFIX))
    for index in range(len(candidates)):
        candidate = candidates[(start + index) % len(candidates)]
        if not any(candidate.overlaps(network) for network in taken):
            return Block(candidate)
    raise BadInput(
        f"no free /{BLOCK_PREFIX} left in the lab address pool {pool}: the host's routes cover it",
        hint=f"choose another private range with --pool or {POOL_ENV}",
    )


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination in the host's routing tables and every network of its addresses."""
    from pyroute2 import IPRoute

    networks: list[ipaddress.IPv4Network] = []
    with IPRoute() as ipr:
        for route in ipr.get_routes(family=2, table=0):  # table 0: every table, not only main
            destination = route.get_attr("RTA_DST")
            if destination is None:
                continue
            networks.append(ipaddress.IPv4Network(f"{destination}/{route['dst_len']}", strict=False))
        for address in ipr.get_addr(family=2):
            networks.append(
                ipaddress.IPv4Network(f"{address.get_attr('IFA_ADDRESS')}/{address['prefixlen']}", strict=False)
            )
    return networks


@contextmanager
def allocation_lock() -> Iterator[None]:
    """Held while a lab chooses its block and puts its host end in place."""
    fd = os.open(ALLOCATION_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
