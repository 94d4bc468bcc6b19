"""Files, directories, encodings, and the load()/check() API."""

from __future__ import annotations

from pathlib import Path

import pytest

from lueur_net.errors import BadInput
from lueur_net.scenario import ScenarioError, check, load, loads

VALID = "title: {title}\nitems:\n  - call: {{method: GET, url: 'http://localhost:9090/'}}\n"


def test_a_directory_means_its_yaml_files_sorted_recursively(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(VALID.format(title="b"))
    (tmp_path / "a.yml").write_text(VALID.format(title="a"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text(VALID.format(title="c") + "---\n" + VALID.format(title="d"))
    (tmp_path / "notes.txt").write_text("not a scenario")
    loaded = load(tmp_path)
    assert [entry.scenario.title for entry in loaded] == ["a", "b", "c", "d"]
    assert [entry.document for entry in loaded] == [0, 0, 0, 1]
    assert loaded[3].source == str(tmp_path / "sub" / "c.yaml")


def test_several_paths_and_every_error_of_every_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID.format(title="good"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: bad\nitems: []\n")
    worse = tmp_path / "worse.yaml"
    worse.write_text("titl: x\nitems: []\n")
    with pytest.raises(ScenarioError) as raised:
        load([good, bad, worse])
    lines = str(raised.value).splitlines()
    assert lines == [
        f"{bad}:2:8: items: is empty; needs at least 1 item",
        f"{worse}:1:1: titl: unknown key 'titl'; did you mean 'title'? (valid keys: title, description, items, config)",
        f"{worse}:2:8: items: is empty; needs at least 1 item",
    ]
    assert raised.value.exit_code == 2
    loaded, problems = check([good, bad])
    assert [entry.scenario.title for entry in loaded] == ["good"] and len(problems) == 1


def test_missing_path_and_empty_directory_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file or directory"):
        load(tmp_path / "absent.yaml")
    with pytest.raises(BadInput, match=r"no \*\.yaml or \*\.yml file"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("content", "line", "column", "fragment"),
    [
        (b"title: t\nitems:\x00\x01\x02", 2, 7, "not a text file (NUL byte at offset 15)"),
        (b"title: t\n\xff\xfe garbage", 2, 1, "not UTF-8 text (byte 0xff at offset 9)"),
        (b"title: t\x07\n", 1, 9, "not a text file"),
    ],
)
def test_binary_and_garbage_files(tmp_path: Path, content: bytes, line: int, column: int, fragment: str) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(content)
    loaded, problems = check(path)
    assert not loaded
    assert [(problem.line, problem.column) for problem in problems] == [(line, column)]
    assert fragment in problems[0].message


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeff".encode() + VALID.format(title="é").encode())
    assert load(path)[0].scenario.title == "é"


def test_loads_raises_with_problems() -> None:
    with pytest.raises(ScenarioError) as raised:
        loads("title: t\nitems: 3\n", source="inline")
    assert [str(problem) for problem in raised.value.problems] == [
        "inline:2:8: items: must be a list, got integer 3"
    ]


def test_warnings_ride_on_the_scenario_not_as_errors() -> None:
    loaded = loads(
        "title: t\nitems:\n  - call: {method: GET, url: 'http://a/{id}'}\n"
        "    context:\n      faults: [{type: blackhole, period: 'start:10%,duration:10%'}]\n"
    )
    messages = [warning.message for warning in loaded[0].warnings]
    assert any("default call timeout (30000 ms" in message and "3000 ms to 6000 ms" in message for message in messages)
    assert any("placeholder '{id}' has no value" in message for message in messages)
    assert all(warning.severity == "warning" for warning in loaded[0].warnings)
    assert "warning: " in str(loaded[0].warnings[0])


def test_a_repeat_step_without_latency_is_a_warning() -> None:
    loaded = loads(
        "title: t\nitems:\n  - call: {method: GET, url: 'http://a/'}\n"
        "    context: {strategy: {mode: repeat, count: 2, step: 10}}\n"
    )
    assert [(w.line, w.path) for w in loaded[0].warnings] == [(4, "items[0].context.strategy.step")]
