"""Fixtures of the nfqueue host tests: a namespace pair (tests/netns_pair.py) and a TCP echo server on its
server side (nfqueue_lab.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nfqueue_lab import EchoServer, VethLab

from netns_pair import pair_fixture

veth_lab = pair_fixture("nfq")


@pytest.fixture
def echo_server(veth_lab: VethLab) -> Iterator[EchoServer]:
    server = EchoServer(veth_lab.server_ns, veth_lab.server_addr)
    yield server
    server.close()
