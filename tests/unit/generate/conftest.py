"""The generator tests' fixture: `lueur-net scenario generate` through the real entry point (lueur_net.cli.main.main)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from generate_support import Outcome

from lueur_net.cli.main import main


@pytest.fixture
def generate(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """generate(*args) -> Outcome of `lueur-net scenario generate ARGS`."""

    def run(*args: str) -> Outcome:
        code = main(["scenario", "generate", *map(str, args)])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
