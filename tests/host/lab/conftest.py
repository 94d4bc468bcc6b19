"""Fixtures for the lab's host tests (helpers live in lab_helpers.py, a name unique across the repo)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_helpers import leftovers, start_server

from lueur_net.ledger import Ledger


@pytest.fixture
def loopback_server() -> Iterator[int]:
    """A real HTTP server on the host's 127.0.0.1; yields its port."""
    server = start_server()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A private run directory, so `clean` in a test sees only this test's ledgers."""
    directory = tmp_path / "run"
    directory.mkdir()
    return directory


@pytest.fixture
def journal(run_dir: Path) -> Iterator[Ledger]:
    with Ledger.open("lab-test", run_dir=run_dir) as ledger:
        yield ledger
        assert ledger.pending == 0, "the lab left ledger entries open"
    assert leftovers(ledger.run_id) == []
