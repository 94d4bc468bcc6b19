"""Oversized documents are refused before models are built, quickly, with the limit in the message.

Before: a 9 MB file of 12 000 items took 11 s and 569 MB to refuse. Now the file's size is checked before it is
read, the number of documents and of items right after YAML is composed, and alias expansion is capped.
"""

from __future__ import annotations

import time
from pathlib import Path

from lueur_net.cli.main import main
from lueur_net.scenario import limits
from lueur_net.scenario.loader import check, load_text

# CPU time (process_time), generous: the refusals measured here take 0.01-0.3 s; other work on the machine does not count.
QUICK_S = 2.0

ITEM = """  - call:
      method: GET
      url: http://localhost:9090/items/{i}
      headers: {{x-test: "abc"}}
      timeout: 5000
    context:
      faults:
        - type: latency
          mean: 300
          stddev: 40
          period: "start:10%,duration:50%"
        - type: packetloss
          rate: 0.1
    expect: {{status: 200, response_time_under: 2000}}
"""


def _items(count: int, item: str = ITEM) -> str:
    return "title: big\nitems:\n" + "".join(item.format(i=index) for index in range(count))


def _timed_check(path: Path) -> tuple[float, list[str]]:
    started = time.process_time()
    loaded, problems = check(path)
    elapsed = time.process_time() - started
    assert not loaded
    return elapsed, [str(problem) for problem in problems]


def test_a_9_mb_file_of_12000_items_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_items(12_000) + "#" * (9_000_000 - len(_items(12_000))))
    assert path.stat().st_size >= 9_000_000
    elapsed, problems = _timed_check(path)
    assert elapsed < QUICK_S
    assert problems == [f"{path}:1:1: file too large for a scenario: {path.stat().st_size} bytes, above the limit "
                        f"of {limits.MAX_FILE_BYTES} bytes (4 MiB; split it into several files)"]


def test_more_items_than_the_limit_are_refused_after_yaml_and_before_any_model(tmp_path: Path) -> None:
    # Small items, so that the file is under the size limit and the item count is what refuses it.
    path = tmp_path / "many.yaml"
    path.write_text(_items(limits.MAX_ITEMS_PER_SCENARIO * 5, "  - call: {{method: GET, url: 'http://a/{i}'}}\n"))
    assert path.stat().st_size < limits.MAX_FILE_BYTES
    elapsed, problems = _timed_check(path)
    assert elapsed < QUICK_S
    assert problems == [f"{path}:3:3: items: 5000 items, above the limit of 1000 per scenario (split them into "
                        "several scenarios or files)"]


def test_exactly_the_item_limit_is_accepted() -> None:
    small = "  - call: {{method: GET, url: 'http://a/{i}'}}\n"
    loaded, problems = load_text(_items(limits.MAX_ITEMS_PER_SCENARIO, small), "s.yaml")
    assert not [problem for problem in problems if problem.severity == "error"]
    assert len(loaded[0].scenario.items) == limits.MAX_ITEMS_PER_SCENARIO


def test_more_documents_than_the_limit_are_refused_at_the_first_one_past_it() -> None:
    document = "title: t\nitems: [{call: {method: GET, url: 'http://a/'}}]\n"
    text = "---\n".join([document] * (limits.MAX_DOCUMENTS_PER_FILE + 5))
    started = time.process_time()
    loaded, problems = load_text(text, "s.yaml")
    assert time.process_time() - started < QUICK_S
    assert len(loaded) == limits.MAX_DOCUMENTS_PER_FILE
    line = 3 * limits.MAX_DOCUMENTS_PER_FILE + 1
    assert [str(problem) for problem in problems] == [
        f"s.yaml:{line}:1: more than {limits.MAX_DOCUMENTS_PER_FILE} documents in this file (the limit; split the file)"
    ]


def test_an_alias_bomb_is_refused_quickly_with_the_limit() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):  # 10^9 values once expanded
        levels.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    text = "title: t\nitems: [{call: {method: GET, url: 'http://a/'}}]\nbomb:\n" + "\n".join(
        "  " + line for line in levels) + "\n"
    started = time.process_time()
    _, problems = load_text(text, "s.yaml")
    assert time.process_time() - started < QUICK_S
    assert any("more than 100000 values after aliases" in str(problem) for problem in problems), problems


def test_a_huge_string_is_refused_by_size_too() -> None:
    started = time.process_time()
    _, problems = load_text(_items(20_000), "s.yaml")
    assert time.process_time() - started < QUICK_S
    assert len(problems) == 1 and f"above the limit of {limits.MAX_FILE_BYTES} bytes" in problems[0].message


def test_more_faults_than_the_limit_in_one_item_are_refused_at_the_list() -> None:
    faults = ", ".join(["{type: blackhole}"] * (limits.MAX_FAULTS_PER_ITEM + 1))
    _, problems = load_text(f"title: t\nitems:\n- call: {{method: GET, url: 'http://a/'}}\n  context:\n"
                            f"    faults: [{faults}]\n", "s.yaml")
    assert [str(problem) for problem in problems] == [
        "s.yaml:5:13: items[0].context.faults: 33 entries, above the limit of 32: each fault is one or more kernel "
        "objects on every call; split the item"
    ]


def test_the_cli_refuses_a_big_file_with_exit_2_in_well_under_a_second(tmp_path: Path, capsys) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_items(12_000))
    started = time.process_time()
    assert main(["scenario", "validate", str(path)]) == 2
    assert time.process_time() - started < QUICK_S
    out = capsys.readouterr()
    assert f"above the limit of {limits.MAX_FILE_BYTES} bytes" in out.out + out.err
