"""Address blocks for labs: one /29 per lab from a private pool, never overlapping the host's routes or addresses.

Layout of a lab's /29 (offsets from its network address):
  +1 host end of the client<->host veth      +2 client end of it       (a /30)
  +5 client end of the client<->server veth  +6 server end of it       (a /30)
The host end's /30 appears in the host's routing table while the lab lives, so the next lab (this run or
another) sees the whole /29 as taken. Choosing and creating the host end happen under one lock file, so two
runs starting together cannot pick the same block.
"""

from __future__ import annotations

import bisect
import fcntl
import ipaddress
import os
import socket
import struct
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
    """The addresses of one lab (Block.of lays them out as the module docstring says)."""

    network: ipaddress.IPv4Network
    host: str
    client: str
    client_to_server: str
    server: str

    @classmethod
    def of(cls, network: ipaddress.IPv4Network) -> Block:
        first = network.network_address
        return cls(network, host=str(first + 1), client=str(first + 2), client_to_server=str(first + 5),
                   server=str(first + 6))

    LINK_PREFIX = 30


# The only ranges a lab may take addresses from: RFC 1918 private space and RFC 6598 shared (carrier-grade NAT)
# space. Python's is_private also counts 240.0.0.0/4, 255.255.255.255, documentation and benchmark ranges, which
# are not meant for local networks.
ALLOWED_POOLS: tuple[ipaddress.IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(text) for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# Routes this short are catch-alls (a default route, or the 0.0.0.0/1 + 128.0.0.0/1 pair VPN clients install in
# its place): they overlap everything and say nothing about local use of a block, so they do not mark it taken.
CATCH_ALL_PREFIX = 1


def parse_pool(text: str | None) -> ipaddress.IPv4Network:
    """The pool from an option, else LUEUR_NET_LAB_POOL, else DEFAULT_POOL: an RFC 1918 or RFC 6598 block (or a
    subnet of one), /29 or larger."""
    raw = text or os.environ.get(POOL_ENV) or DEFAULT_POOL
    try:
        pool = ipaddress.IPv4Network(raw, strict=True)
    except ValueError as error:
        raise BadInput(f"lab address pool '{raw}' is not an IPv4 network: {error}") from None
    if not any(pool.subnet_of(allowed) for allowed in ALLOWED_POOLS):
        ranges = ", ".join(str(allowed) for allowed in ALLOWED_POOLS)
        raise BadInput(
            f"lab address pool {pool} is not inside a private range: it must be within one of {ranges} "
            "(RFC 1918, RFC 6598)",
            hint=f"for example --pool {DEFAULT_POOL}",
        )
    if pool.prefixlen > BLOCK_PREFIX:
        raise BadInput(f"lab address pool {pool} is smaller than one lab's /{BLOCK_PREFIX}")
    return pool


def _taken_ranges(
    pool: ipaddress.IPv4Network, used: Iterable[ipaddress.IPv4Network]
) -> list[tuple[int, int]]:
    """The parts of `pool` that `used` covers, as sorted, merged [first, last] integer address ranges."""
    low, high = int(pool.network_address), int(pool.broadcast_address)
    ranges = sorted(
        (max(low, int(network.network_address)), min(high, int(network.broadcast_address)))
        for network in used
        if network.prefixlen > CATCH_ALL_PREFIX and network.overlaps(pool)
    )
    merged: list[tuple[int, int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _first_free(taken: list[tuple[int, int]], first: int, end: int) -> int | None:
    """The address of the first free /29 in [first, end) (both block-aligned), jumping over taken ranges."""
    size = 1 << (32 - BLOCK_PREFIX)
    position = first
    index = bisect.bisect_right(taken, (position, 1 << 32)) - 1  # the last range starting at or before position
    index = max(index, 0)
    while position < end:
        while index < len(taken) and taken[index][1] < position:
            index += 1
        if index == len(taken) or taken[index][0] > position + size - 1:
            return position  # the next taken range starts after this block
        position = (taken[index][1] // size + 1) * size  # the block after the end of that range
    return None


def choose_block(
    pool: ipaddress.IPv4Network, used: Iterable[ipaddress.IPv4Network], start: int = 0
) -> Block:
    """The first /29 of `pool` (from candidate number `start`, wrapping) that overlaps none of `used`.

    Catch-all routes (/0, /1) are not counted as used: they overlap everything and say nothing about local use.
    Taken ranges are merged and skipped whole, so a /8 pool with thousands of routes is searched in microseconds.
    """
    size = 1 << (32 - BLOCK_PREFIX)
    low = int(pool.network_address)
    end = int(pool.broadcast_address) + 1
    count = (end - low) // size
    taken = _taken_ranges(pool, used)
    origin = low + (start % count) * size
    found = _first_free(taken, origin, end)
    if found is None:
        found = _first_free(taken, low, origin)
    if found is None:
        raise BadInput(
            f"no free /{BLOCK_PREFIX} left in the lab address pool {pool}: the host's routes or addresses cover it",
            hint=f"choose another private range with --pool or {POOL_ENV}",
        )
    return Block.of(ipaddress.IPv4Network((found, BLOCK_PREFIX)))


# rtnetlink, read directly: pyroute2 decodes every attribute of every message (measured ~75-150 us per route,
# 0.4-0.75 s for 5120 routes on the 2-core VM), where only the destination and the prefix length are needed.
_NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTATTR = struct.Struct("=HH")  # length, type
_RTM_GETROUTE, _RTM_NEWROUTE, _RTM_GETADDR, _RTM_NEWADDR = 26, 24, 22, 20
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_RTA_DST = 1  # in a route
_IFA_ADDRESS, _IFA_LOCAL = 1, 2  # in an address: the peer's on a point-to-point link, and the interface's own


def _dump(sock: socket.socket, request_type: int, reply_type: int, body: bytes) -> Iterator[bytes]:
    """Send one dump request; yield each reply message's payload (after the netlink header)."""
    sequence = request_type
    header = _NLMSG_HEADER.pack(_NLMSG_HEADER.size + len(body), request_type, _NLM_F_REQUEST | _NLM_F_DUMP,
                                sequence, 0)
    sock.send(header + body)
    while True:
        data = sock.recv(1 << 20)
        offset = 0
        while offset + _NLMSG_HEADER.size <= len(data):
            length, kind, _flags, seq, _port = _NLMSG_HEADER.unpack_from(data, offset)
            if length < _NLMSG_HEADER.size:
                return
            payload = data[offset + _NLMSG_HEADER.size:offset + length]
            offset += (length + 3) & ~3
            if seq != sequence:
                continue
            if kind == _NLMSG_DONE:
                return
            if kind == _NLMSG_ERROR:
                code = -struct.unpack_from("=i", payload)[0]
                if code:
                    raise OSError(code, f"netlink dump: {os.strerror(code)}")
                continue
            if kind == reply_type:
                yield payload


def _attributes(payload: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    while offset + _RTATTR.size <= len(payload):
        length, kind = _RTATTR.unpack_from(payload, offset)
        if length < _RTATTR.size:
            return
        yield kind, payload[offset + _RTATTR.size:offset + length]
        offset += (length + 3) & ~3


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route destination in every routing table, and every IPv4 address's network, of the calling
    thread's network namespace.

    One route dump and one address dump. A route dump without a table filter returns every table (main, local,
    policy tables up to 2**32-1) and every type (unicast, local, broadcast, blackhole, unreachable, prohibit,
    throw); pyroute2 0.9's `get_routes(table=0)` returned nothing at all, so routes used to be ignored.
    """
    networks: list[ipaddress.IPv4Network] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        route_request = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
        for payload in _dump(sock, _RTM_GETROUTE, _RTM_NEWROUTE, route_request):
            family, dst_len = payload[0], payload[1]
            if family != socket.AF_INET:
                continue
            for kind, value in _attributes(payload, _RTMSG.size):
                if kind == _RTA_DST and len(value) == 4:
                    networks.append(ipaddress.IPv4Network((int.from_bytes(value, "big"), dst_len), strict=False))
            # no RTA_DST: a default route (dst_len 0), which marks nothing as used
        address_request = _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0)
        for payload in _dump(sock, _RTM_GETADDR, _RTM_NEWADDR, address_request):
            family, prefix = payload[0], payload[1]
            if family != socket.AF_INET:
                continue
            for kind, value in _attributes(payload, _IFADDRMSG.size):
                if kind in (_IFA_ADDRESS, _IFA_LOCAL) and len(value) == 4:
                    networks.append(ipaddress.IPv4Network((int.from_bytes(value, "big"), prefix), strict=False))
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
