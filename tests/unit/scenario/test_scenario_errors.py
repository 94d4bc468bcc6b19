"""Every class of bad input: one problem each, at the right line and column, with a useful message."""

from __future__ import annotations

import pytest

BASE = """\
title: t
items:
  - call:
      method: GET
      url: http://localhost:9090/
      timeout: 500
    context:
      upstreams: [http://localhost:9090/]
      faults:
        - type: latency
          mean: 100
      strategy:
        mode: load
        duration: 10s
        clients: 2
        rps: 3
    expect:
      status: 200
"""


def test_the_base_document_is_valid(scenarios) -> None:
    assert len(scenarios(BASE)) == 1


# A bad value: the line of BASE it replaces, where a bad value on that line is reported (line, column of the value,
# field path), and what the line becomes with a fragment of the message each time.
BAD_VALUES = [
    ("title: t", (1, 8, "title"), [("title: 12", "must be a string"), ("title: ''", "must not be empty")]),
    ("method: GET", (4, 15, "items[0].call.method"), [
        ("method: GTE", "unknown HTTP method 'GTE'; did you mean 'GET'?"), ("method: 5", "must be a string")]),
    ("url: http://localhost:9090/", (5, 12, "items[0].call.url"), [
        ("url: localhost:9090/", "has no scheme"), ("url: 'http:///x'", "has no host"),
        ("url: ftp://host/", "only http and https")]),
    ("timeout: 500", (6, 16, "items[0].call.timeout"), [
        ("timeout: 0", "must be greater than 0, got integer 0"), ("timeout: -2s", "must be greater than 0"),
        ("timeout: 10sec", "did you mean 's'?"), ("timeout: soon", "cannot read duration 'soon'")]),
    ("upstreams: [http://localhost:9090/]", (8, 19, "items[0].context.upstreams[0]"), [
        ("upstreams: [localhost]", "has no scheme")]),
    ("type: latency", (10, 17, "items[0].context.faults[0].type"), [
        ("type: latncy", "unknown fault type 'latncy'; did you mean 'latency'? (valid: latency, jitter, bandwidth, "
                         "packetloss")]),
    ("mean: 100", (11, 17, "items[0].context.faults[0].mean"), [
        ("mean: -100", "must be greater than 0"), ("mean: 0", "must be greater than 0"),
        ("mean: [1]", "expected a duration"), ("mean: true", "got a boolean")]),
    ("mode: load", (13, 15, "items[0].context.strategy.mode"), [
        ("mode: lod", "unknown strategy mode 'lod'; did you mean 'load'? (valid: single, repeat, load)")]),
    ("duration: 10s", (14, 19, "items[0].context.strategy.duration"), [
        ("duration: 0s", "must be greater than 0"), ("duration: 10 secs", "did you mean 's'?")]),
    ("clients: 2", (15, 18, "items[0].context.strategy.clients"), [
        ("clients: 0", "must be greater than 0"), ("clients: two", "must be a whole number")]),
    ("rps: 3", (16, 14, "items[0].context.strategy.rps"), [
        ("rps: -1", "must be greater than 0"), ("rps: 0", "must be greater than 0")]),
    ("status: 200", (18, 15, "items[0].expect.status"), [
        ("status: 600", "less than or equal to 599"), ("status: 99", "greater than or equal to 100")]),
]
# A misspelt, missing or extra key is reported at the key: (replace, with, line, column, field path, fragment).
BAD_KEYS = [
    ("mean: 100", "stdev: 100", 11, 11, "items[0].context.faults[0].stdev",
     "unknown key 'stdev'; did you mean 'stddev'?"),
    ("type: latency", "kind: latency", 10, 11, "items[0].context.faults[0]", "missing 'type' (one of: latency,"),
    ("duration: 10s", "duraton: 10s", 14, 9, "items[0].context.strategy.duraton", "did you mean 'duration'?"),
    ("status: 200", "statu: 200", 18, 7, "items[0].expect.statu", "did you mean 'status'?"),
    ("title: t", "titel: t", 1, 1, "titel", "unknown key 'titel'; did you mean 'title'?"),
    ("    context:", "    contxt:", 7, 5, "items[0].contxt", "did you mean 'context'?"),
    ("        rps: 3", "        rps: 3\n        count: 2", 17, 9, "items[0].context.strategy.count", "unknown key"),
]
CASES = [(old, new, *at, fragment) for old, at, bad in BAD_VALUES for new, fragment in bad] + BAD_KEYS


@pytest.mark.parametrize(("old", "new", "line", "column", "path", "fragment"), CASES, ids=[c[1] for c in CASES])
def test_each_bad_value_is_one_located_problem(problems, old, new, line, column, path, fragment) -> None:
    assert old in BASE
    found = problems(BASE.replace(old, new, 1))
    assert len(found) == 1, "\n".join(map(str, found))
    problem = found[0]
    assert (problem.line, problem.column, problem.path) == (line, column, path), str(problem)
    assert fragment in problem.message, str(problem)
    assert str(problem).startswith(f"s.yaml:{line}:{column}: {path}: ")


# A bad fault in place of BASE's latency fault (line 10): the fault, the field reported ("": the fault itself),
# a fragment of the message.
FAULT_CASES = [
    ("{type: packetloss, probability: 1.5}", "probability", "less than or equal to 1"),
    ("{type: packetloss, rate: -0.1}", "rate", "greater than or equal to 0"),
    ("{type: httperror, probability: '150%'}", "probability", "less than or equal to 1"),
    ("{type: httperror, status_code: 700}", "status_code", "less than or equal to 599"),
    ("{type: httperror, status_code: 42}", "status_code", "greater than or equal to 100"),
    ("{type: packetloss, rate: 0.1, probability: 0.2}", "probability",
     "'probability' and 'rate' are the same setting"),
    ("{type: packetloss, model: gilbert-elliott}", "", "needs 'p'"),
    ("{type: packetloss, p: 0.1}", "", "only apply to 'model: gilbert-elliott'"),
    ("{type: packetloss, model: markov}", "model", "not one of random, gilbert-elliott"),
    ("{type: bandwidth, rate: 5, unit: kbps}", "unit", "did you mean 'KBps'?"),
    ("{type: bandwidth, rate: 0}", "rate", "must be greater than 0"),
    ("{type: police}", "rate", "missing required key 'rate'"),
    ("{type: jitter, amplitude: 0, frequency: 8}", "amplitude", "greater than 0"),
    ("{type: jitter, amplitude: 5, frequency: 1000}", "frequency", "200"),
    ("{type: police, rate: 1, unit: MBps, burst: 100}", "burst", "1500"),
    ("{type: blackhole, only: syn}", "only", "all, new, established"),
    ("{type: latency, mean: 5, side: clinet}", "side", "did you mean 'client'?"),
    ("{type: latency, mean: 5, direction: in}", "direction", "not one of ingress, egress, both"),
    ("{type: latency, distribution: uniform, min: 9, max: 3}", "", "must be below max"),
    ("{type: latency, distribution: uniform, min: 30}", "",
     "min (30 ms) must be below max (20 ms); lueur's default for a bound left out is 20 ms"),
    ("{type: dns, kind: truncated}", "kind", "nxdomain, servfail, refused, timeout"),
    ("{type: reorder, probability: 0.1}", "",
     "reorder needs a latency fault on the same side and direction (server ingress)"),
    ("{type: blackhole, period: 'start:90%,duration:20%'}", "period",
     "runs past the end: start 90% + duration 20% = 110% > 100%"),
    ("{type: blackhole, period: 'start:9s,duration:2s'}", "period",
     "runs past the end of the 10s load: it ends at 11s"),
    ("{type: blackhole, period: 'start:9s,duraton:1s'}", "period", "did you mean 'duration'?"),
    ("{type: blackhole, period: 'start:1sec'}", "period", "did you mean 's'?"),
    ("{type: blackhole, period: 7}", "period", "a period is a string"),
    ("{type: duplicate}", "probability", "missing required key 'probability'"),
]


@pytest.mark.parametrize(("fault", "field", "fragment"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES])
def test_each_bad_fault_is_one_located_problem(problems, fault, field, fragment) -> None:
    text = BASE.replace("        - type: latency\n          mean: 100\n", f"        - {fault}\n")
    found = problems(text)
    assert len(found) == 1, "\n".join(map(str, found))
    path = "items[0].context.faults[0]" + (f".{field}" if field else "")
    assert (found[0].line, found[0].path) == (10, path), str(found[0])
    assert fragment in found[0].message, str(found[0])


def test_several_periods_past_the_end_each_point_at_their_own_period(problems) -> None:
    text = BASE.replace(
        "          mean: 100\n",
        "          mean: 100\n          period:\n            - start:1s,duration:1s\n            - start:8s,duration:5s\n",
    )
    found = problems(text)
    assert [(problem.line, problem.column, problem.path) for problem in found] == [
        (14, 15, "items[0].context.faults[0].period[1]")
    ]


def test_every_problem_of_a_file_is_reported_in_line_order(problems) -> None:
    text = (
        BASE.replace("method: GET", "method: GTE")
        .replace("mean: 100", "stdev: 1")
        .replace("clients: 2", "clients: 0")
        .replace("status: 200", "status: 1000")
    )
    found = problems(text)
    assert [(problem.line, problem.path) for problem in found] == [
        (4, "items[0].call.method"),
        (11, "items[0].context.faults[0].stdev"),
        (15, "items[0].context.strategy.clients"),
        (18, "items[0].expect.status"),
    ]


def test_an_error_in_the_second_document_points_into_it(problems) -> None:
    second = BASE.replace("mean: 100", "mean: -1")
    found = problems(BASE + "---\n" + second)
    assert len(found) == 1
    assert (found[0].line, found[0].column, found[0].document) == (19 + 11, 17, 1)


def test_cross_checks_still_run_on_valid_items_when_another_item_fails(problems) -> None:
    bad_item = "  - call: {method: GET, url: nowhere}\n"
    reorder = BASE.replace("          mean: 100\n", "          mean: 100\n        - {type: reorder, probability: 0.5, side: client}\n")
    found = problems(reorder.replace("items:\n", "items:\n" + bad_item, 1))
    assert [problem.path for problem in found] == ["items[0].call.url", "items[1].context.faults[1]"]


def test_empty_and_missing_items(problems) -> None:
    found = problems("title: t\nitems: []\n")
    assert [(p.line, p.column, p.path, p.message) for p in found] == [(2, 8, "items", "is empty; needs at least 1 item")]
    found = problems("title: t\n")
    assert [(p.line, p.path, p.message) for p in found] == [(1, "items", "missing required key 'items'")]
    found = problems("title: t\nitems:\n")
    assert [(p.line, p.path) for p in found] == [(2, "items")]
    assert "must be a list" in found[0].message


def test_yaml_syntax_errors_are_located(problems) -> None:
    found = problems("title: t\nitems:\n  - call: {method: GET\n    url: x\n")
    assert len(found) == 1
    assert found[0].line == 4 and found[0].path == ""
    assert found[0].message.startswith("YAML syntax error:")


def test_syntax_error_in_a_later_document_keeps_earlier_documents_checked(problems) -> None:
    found = problems(BASE.replace("rps: 3", "rps: 0") + "---\ntitle: [unclosed\n")
    assert [problem.line for problem in found] == [16, 21]


def test_duplicate_keys_are_errors(problems) -> None:
    found = problems(BASE.replace("      timeout: 500\n", "      timeout: 500\n      timeout: 600\n"))
    assert [(p.line, p.column, p.message) for p in found] == [
        (7, 7, "duplicate key 'timeout' (first given at line 6)")
    ]


def test_a_document_that_is_not_a_mapping(problems) -> None:
    found = problems("- just\n- a list\n")
    assert len(found) == 1 and "a scenario is a mapping with 'title' and 'items', got a list" in found[0].message
    found = problems("hello\n")
    assert "got 'hello'" in found[0].message


def test_an_empty_file_is_an_error(problems) -> None:
    found = problems("")
    assert [(p.line, p.message) for p in found] == [(1, "no scenario in this file (it is empty)")]


def test_an_empty_document_is_skipped_with_a_warning(scenarios) -> None:
    loaded = scenarios(BASE + "---\n---\n" + BASE)
    assert len(loaded) == 2
    assert any("empty document skipped" in warning.message for warning in loaded[0].warnings)


def test_recursive_alias_is_an_error(problems) -> None:
    found = problems("title: t\nitems: &a\n  - *a\n")
    assert found and "recursive alias" in found[0].message


def test_non_scalar_mapping_key_is_an_error(problems) -> None:
    found = problems("title: t\n? [a, b]\n: 1\nitems: []\n")
    assert any("mapping key must be a plain value" in problem.message for problem in found)


def test_a_period_starting_after_the_load_is_an_error(problems) -> None:
    found = problems(BASE.replace("          mean: 100\n", "          mean: 100\n          period: start:12s\n"))
    assert [(p.line, p.column, p.path) for p in found] == [(12, 19, "items[0].context.faults[0].period")]
    assert "starts at 12s, at or after the end of the 10s load" in found[0].message


def test_a_period_starting_after_the_call_timeout_is_a_warning(scenarios) -> None:
    text = (
        "title: t\nitems:\n  - call: {method: GET, url: 'http://a/', timeout: 500}\n"
        "    context:\n      faults: [{type: blackhole, period: 'start:1s'}]\n"
    )
    loaded = scenarios(text)
    assert "the fault is never active" in loaded[0].warnings[0].message
    windows = loaded[0].scenario.items[0].windows[0]
    assert windows is not None and windows[0].start == windows[0].end == 1.0


def test_infinities_and_nan_are_errors(problems) -> None:
    text = BASE.replace("rps: 3", "rps: .inf").replace("mean: 100", "mean: .nan").replace("timeout: 500", "timeout: 1e999s")
    found = problems(text)
    assert [(p.line, p.path) for p in found] == [
        (6, "items[0].call.timeout"), (11, "items[0].context.faults[0].mean"), (16, "items[0].context.strategy.rps")
    ]
    assert "too large" in found[0].message and "finite" in found[1].message and "finite" in found[2].message


def test_merge_keys_and_anchors_are_read_and_located(problems, scenarios) -> None:
    text = "title: t\nitems:\n  - call: &c {method: GET, url: 'http://x/'}\n  - call:\n      <<: *c\n      timeout: 5\n"
    assert scenarios(text)[0].scenario.items[1].call.timeout == 5.0
    found = problems(text + "      mathod: GET\n")
    assert [(p.line, p.column, p.path) for p in found] == [(7, 7, "items[1].call.mathod")]
