"""Fixtures of the tc host tests: a veth pair between two namespaces of our own, and a bulk TCP transfer
measured from outside lueur-net (a receiver process that timestamps the first and the last byte)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from collections.abc import Iterator
from pathlib import Path as FsPath

import bulk_transfer
import pytest

from lueur_net.ledger import Ledger
from netns_pair import NamespacePair, pair_fixture, qdiscs


Pair = NamespacePair
veth_pair = pair_fixture("tc")


@pytest.fixture
def ledger(tmp_path: FsPath) -> Iterator[Ledger]:
    with Ledger.open("tc-test", run_dir=tmp_path) as opened:
        yield opened


# The sender and the receiver run in their namespaces as processes, with the shared transfer of bulk_transfer.
SENDER = textwrap.dedent(f"""
    import socket, sys
    sys.path.insert(0, {str(FsPath(bulk_transfer.__file__).parent)!r})
    from bulk_transfer import send_all
    size = int(sys.argv[1]); port = int(sys.argv[2])
    server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port)); server.listen(1)
    print("ready", flush=True)
    connection, _ = server.accept()
    send_all(connection, size)
""")

RECEIVER = textwrap.dedent(f"""
    import json, socket, sys
    sys.path.insert(0, {str(FsPath(bulk_transfer.__file__).parent)!r})
    from bulk_transfer import receive_all
    host, port = sys.argv[1], int(sys.argv[2])
    print(json.dumps(receive_all(socket.create_connection((host, port), timeout=60))))
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
    result["goodput"] = bulk_transfer.goodput(result)
    return result


def links(netns: str) -> str:
    return subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True, text=True, check=False).stdout


@pytest.fixture
def tc_tools() -> SimpleNamespace:
    """The helpers above, for tests (test folders are not packages, so they are handed over as a fixture)."""
    return SimpleNamespace(transfer=transfer, qdiscs=qdiscs, links=links)
