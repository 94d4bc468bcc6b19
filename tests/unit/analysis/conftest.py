"""Fixtures of the analysis tests: a synthetic run (see analysis_fixture.py) and a fake Ollama server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from analysis_fake_ollama import FakeOllama
from analysis_fixture import build_run

from lueur_net.analysis.loading import load_run
from lueur_net.analysis.model import Run


@pytest.fixture(scope="session")
def run_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Built once per session (read-only for the tests)."""
    return build_run(tmp_path_factory.mktemp("analysis-run"))


@pytest.fixture(scope="session")
def sample_run(run_files: tuple[Path, Path]) -> Run:
    return load_run(run_files[0])


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    server.start()
    try:
        yield server
    finally:
        server.stop()
