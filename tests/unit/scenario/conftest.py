"""Helpers for the scenario tests: read YAML text and return its problems or scenarios."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lueur_net.scenario import LoadedScenario, Problem
from lueur_net.scenario.loader import load_text

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fastapi-sqlite" / "scenario.yaml"


def _problems(text: str) -> list[Problem]:
    return load_text(textwrap.dedent(text), "s.yaml")[1]


def _scenarios(text: str) -> list[LoadedScenario]:
    loaded, problems = load_text(textwrap.dedent(text), "s.yaml")
    assert not problems, "\n".join(str(problem) for problem in problems)
    return loaded


@pytest.fixture
def problems() -> Callable[[str], list[Problem]]:
    """problems(yaml_text) -> every error in it (text is dedented; source is 's.yaml')."""
    return _problems


@pytest.fixture
def scenarios() -> Callable[[str], list[LoadedScenario]]:
    """scenarios(yaml_text) -> the loaded scenarios, failing the test if there is any error."""
    return _scenarios


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE
