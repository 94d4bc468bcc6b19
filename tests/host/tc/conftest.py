"""Fixtures of the tc host tests: a veth pair between two namespaces of our own, and a bulk TCP transfer
measured from outside lueur-net (a receiver process that timestamps the first and the last byte)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath

import pytest

from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger


@dataclass
class Pair:
    client_ns: str
    server_ns: str
    path: Path


@pytest.fixture
def veth_pair() -> Iterator[Pair]:
    from pyroute2 import IPRoute, netns

    tag = secrets.token_hex(3)
    client_ns, server_ns = f"lueurtcc{tag}", f"lueurtcs{tag}"
    client_if, server_if = f"lueurc{tag}", f"lueurs{tag}"
    octet = int(tag[:2], 16)
    client_ip, server_ip = f"10.231.{octet}.2", f"10.231.{octet}.1"
    netns.create(client_ns)
    netns.create(server_ns)
    try:
        with IPRoute(netns=client_ns, flags=0) as ipr:
            ipr.link("add", ifname=client_if, kind="veth", peer={"ifname": server_if, "net_ns_fd": server_ns})
            index = ipr.link_lookup(ifname=client_if)[0]
            ipr.addr("add", index=index, address=client_ip, prefixlen=24)
            ipr.link("set", index=index, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
            client_index = index
        with IPRoute(netns=server_ns, flags=0) as ipr:
            index = ipr.link_lookup(ifname=server_if)[0]
            ipr.addr("add", index=index, address=server_ip, prefixlen=24)
            ipr.link("set", index=index, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
            server_index = index
        path = Path(client=Endpoint(client_ns, client_if, client_index, client_ip),
                    server=Endpoint(server_ns, server_if, server_index, server_ip))
        yield Pair(client_ns, server_ns, path)
    finally:
        for name in (client_ns, server_ns):
            if name in netns.listnetns():
                netns.remove(name)


@pytest.fixture
def ledger(tmp_path: FsPath) -> Iterator[Ledger]:
    with Ledger.open("tc-test", run_dir=tmp_path) as opened:
        yield opened


SENDER = textwrap.dedent("""
    import socket, sys
    size = int(sys.argv[1]); port = int(sys.argv[2])
    server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port)); server.listen(1)
    print("ready", flush=True)
    connection, _ = server.accept()
    block = b"x" * 65536
    sent = 0
    while sent < size:
        sent += connection.send(block[: min(len(block), size - sent)])
    connection.close()
""")

RECEIVER = textwrap.dedent("""
    import json, socket, sys, time
    host, port = sys.argv[1], int(sys.argv[2])
    connection = socket.create_connection((host, port), timeout=60)
    total, first, last = 0, None, None
    while True:
        data = connection.recv(1 << 20)
        if not data:
            break
        now = time.monotonic()
        if first is None:
            first = now
            first_size = len(data)
        total += len(data)
        last = now
    print(json.dumps({"bytes": total, "first": first, "last": last, "first_size": first_size}))
""")


def transfer(pair: Pair, size: int, *, reverse: bool = False, port: int = 45123) -> dict[str, float]:
    """Send `size` bytes server -> client (responses; `reverse`: client -> server) and return the receiver's view:
    bytes, and goodput in bytes/s from the first to the last byte (the first read excluded from the count)."""
    sender_ns, receiver_ns = (pair.server_ns, pair.client_ns) if not reverse else (pair.client_ns, pair.server_ns)
    target = pair.path.server.address if not reverse else pair.path.client.address
    sender = subprocess.Popen(["ip", "netns", "exec", sender_ns, sys.executable, "-c", SENDER, str(size), str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
        done = subprocess.run(["ip", "netns", "exec", receiver_ns, sys.executable, "-c", RECEIVER, target, str(port)],
                              capture_output=True, text=True, timeout=120, check=True)
    finally:
        sender.wait(timeout=30)
    result = json.loads(done.stdout)
    elapsed = result["last"] - result["first"]
    result["goodput"] = (result["bytes"] - result["first_size"]) / elapsed if elapsed > 0 else float("inf")
    return result


def qdiscs(netns: str, ifname: str) -> str:
    return subprocess.run(["tc", "-n", netns, "qdisc", "show", "dev", ifname], capture_output=True, text=True,
                          check=False).stdout


def links(netns: str) -> str:
    return subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True, text=True, check=False).stdout


@pytest.fixture
def tc_tools() -> SimpleNamespace:
    """The helpers above, for tests (test folders are not packages, so they are handed over as a fixture)."""
    return SimpleNamespace(transfer=transfer, qdiscs=qdiscs, links=links)
