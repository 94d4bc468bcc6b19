"""Fixtures for the driver's host tests: local servers from driver_servers.py, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from driver_servers import LocalServer


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalServer]]:
    started: list[LocalServer] = []

    def make(behaviour: str = "ok", delay_s: float = 0.0) -> LocalServer:
        server = LocalServer(behaviour=behaviour, delay_s=delay_s).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
