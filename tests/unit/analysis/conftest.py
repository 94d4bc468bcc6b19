"""Fixtures of the analysis tests: a synthetic run (see analysis_fixture.py) and a fake Ollama server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from analysis_fake_ollama import FakeOllama
from analysis_fixture import build_run


@pytest.fixture
def run_files(tmp_path: Path) -> tuple[Path, Path]:
    return build_run(tmp_path)


@pytest.fixture
def sample_run(run_files: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    from lueur_net.analysis.loading import load_run

    return load_run(run_files[0])


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    server.start()
    try:
        yield server
    finally:
        server.stop()
