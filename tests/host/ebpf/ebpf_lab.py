"""A throw-away pair of namespaces joined by a veth, for the eBPF host tests and benchmarks.

Names: namespaces lueur-ebpf-<pid>-<tag>-{c,s}, interfaces lueurE<tag>{c,s}, addresses 10.2xx.y.{1,2}/30, all
removed on exit. Both veth ends have tx checksum offload off, so a program that breaks a checksum makes the
receiver drop the packet instead of passing unnoticed (machine-facts.md).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import secrets
import socket
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from lueur_net.lab.enter import inside
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Ledger

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def tx_checksum_off(ifname: str) -> None:
    """ethtool -K IFNAME tx off, through the legacy ioctl (no ethtool binary needed); call in the netns."""
    command = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    request = struct.pack("16sP", ifname.encode(), ctypes.addressof(command))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCETHTOOL, request)


@dataclass
class Pair:
    """Client namespace <-> server namespace over one veth; `client`/`server` are the two ends."""

    client: Endpoint
    server: Endpoint
    ledger: Ledger | None

    @property
    def client_ns(self) -> str:
        assert self.client.netns is not None
        return self.client.netns

    @property
    def server_ns(self) -> str:
        assert self.server.netns is not None
        return self.server.netns

    def socket_in(self, netns: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
        with inside(netns):
            return socket.socket(socket.AF_INET, kind)


@contextmanager
def namespace_pair(ledger: Ledger | None = None, checksum_offload: bool = False) -> Iterator[Pair]:
    tag = secrets.token_hex(2)
    pid = os.getpid()
    client_ns, server_ns = f"lueur-ebpf-{pid}-{tag}-c", f"lueur-ebpf-{pid}-{tag}-s"
    client_if, server_if = f"lueurE{tag}c", f"lueurE{tag}s"
    subnet = f"10.{200 + int(tag[0], 16)}.{int(tag[1:], 16) % 256}"
    client_addr, server_addr = f"{subnet}.1", f"{subnet}.2"
    try:
        _ip("netns", "add", client_ns)
        _ip("netns", "add", server_ns)
        _ip(
            "link",
            "add",
            client_if,
            "netns",
            client_ns,
            "type",
            "veth",
            "peer",
            "name",
            server_if,
            "netns",
            server_ns,
        )
        for ns, ifname, address in ((client_ns, client_if, client_addr), (server_ns, server_if, server_addr)):
            _ip("-n", ns, "addr", "add", f"{address}/30", "dev", ifname)
            _ip("-n", ns, "link", "set", ifname, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            if not checksum_offload:
                with inside(ns):
                    tx_checksum_off(ifname)
        with inside(client_ns):
            client_index = socket.if_nametoindex(client_if)
        with inside(server_ns):
            server_index = socket.if_nametoindex(server_if)
        yield Pair(
            Endpoint(client_ns, client_if, client_index, client_addr),
            Endpoint(server_ns, server_if, server_index, server_addr),
            ledger,
        )
    finally:
        for ns in (client_ns, server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
