"""Mutations of the reference file: the CLI either accepts them or exits 2 with located one-line problems.

Never a traceback, never another exit status. Bounded (max_examples) so the unit tier stays fast.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lueur_net.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fastapi-sqlite" / "scenario.yaml"
TEXT = EXAMPLE.read_text()
DOCUMENTS = list(yaml.safe_load_all(TEXT))
# 200 keeps the unit tier fast; LUEUR_FUZZ_EXAMPLES=5000 for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("LUEUR_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["10s", "10sec", "-1ms", "50%", "start:10%,duration:95%", "http://", "GET", "load", "1e309"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=6), scalars, max_size=3))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenario-fuzz")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.extend(_paths(child, (*prefix, index)))
    return found


ALL_PATHS = [(index, path) for index, document in enumerate(DOCUMENTS) for path in _paths(document)]


def _apply(documents: list[Any], index: int, path: tuple[Any, ...], action: str, value: Any) -> list[Any]:
    documents = copy.deepcopy(documents)
    parent = documents[index]
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "swap":
        current = parent[key]
        parent[key] = [current] if not isinstance(current, list) else {"x": current}
    else:
        parent[key] = value
    return documents


def _run(workdir: Path, content: bytes | str) -> tuple[int, str, str]:
    path = workdir / "mutated.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["scenario", "validate", str(path)])
    return status, out.getvalue(), err.getvalue()


def _assert_clean(workdir: Path, status: int, out: str, err: str) -> None:
    assert status in (0, 2), (status, out, err)
    assert "Traceback" not in out + err
    if status == 2:
        lines = err.splitlines()
        assert lines, "exit 2 without a message"
        problem_lines = lines[:-1]
        assert problem_lines, err
        location = re.compile(re.escape(str(workdir / "mutated.yaml")) + r":\d+:\d+: \S")
        for line in problem_lines:
            assert location.match(line), line
        assert re.search(r"\d+ errors? in 1 file$", lines[-1]), lines[-1]


@SETTINGS
@given(
    choice=st.sampled_from(ALL_PATHS),
    action=st.sampled_from(["delete", "swap", "replace"]),
    value=values,
)
def test_mutated_structure_is_valid_or_a_clean_error(workdir: Path, choice, action: str, value: Any) -> None:
    index, path = choice
    documents = _apply(DOCUMENTS, index, path, action, value)
    text = yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True)
    _assert_clean(workdir, *_run(workdir, text))


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(TEXT)))
def test_truncated_file_is_valid_or_a_clean_error(workdir: Path, cut: int) -> None:
    _assert_clean(workdir, *_run(workdir, TEXT[:cut]))


@SETTINGS
@given(
    position=st.integers(min_value=0, max_value=len(TEXT.encode()) - 1),
    garbage=st.binary(min_size=1, max_size=8),
)
def test_corrupted_bytes_are_valid_or_a_clean_error(workdir: Path, position: int, garbage: bytes) -> None:
    raw = TEXT.encode()
    _assert_clean(workdir, *_run(workdir, raw[:position] + garbage + raw[position + len(garbage):]))


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"%@`#,? \n\tabc01")), max_size=60))
def test_yaml_punctuation_soup_is_a_clean_error(workdir: Path, text: str) -> None:
    _assert_clean(workdir, *_run(workdir, text))
