"""lueur's test count and our check count in every report; JUnit cases for items without checks, real times."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from analysis_fixture import planned_spec

from lueur_net.analysis.findings import analyze
from lueur_net.analysis.loading import run_from_document
from lueur_net.analysis.model import Run
from lueur_net.analysis.render_html import render_html
from lueur_net.analysis.render_junit import render_junit
from lueur_net.analysis.render_markdown import render_markdown
from lueur_net.driver.driving import ItemRun
from lueur_net.records.call import CallRecord
from lueur_net.records.frame import records_frame
from lueur_net.results import item_document, results_document
from lueur_net.scenario.loader import loads

# Neither item declares an expectation or an SLO; the load's last call times out (500 ms client timeout).
NO_CHECKS = """
title: Single call, nothing expected
items:
  - call: {method: GET, url: "http://localhost:9090/"}
    context:
      upstreams: ["http://localhost:9090/"]
      strategy: {mode: repeat, count: 2, add_baseline_call: true}
---
title: Load, nothing expected
items:
  - call: {method: GET, url: "http://localhost:9090/", timeout: 500}
    context:
      upstreams: ["http://localhost:9090/"]
      faults: [{type: blackhole, period: "start:60%,duration:40%"}]
      strategy: {mode: load, duration: 10s, clients: 1, rps: 1}
"""


def _record(scenario_index: int, seq: int, t: float, latency: float, *, phase: str = "fault",
            error_class: str | None = None) -> CallRecord:
    return CallRecord(
        scenario="s", scenario_index=scenario_index, item=0, iteration=max(0, seq - 1), phase=phase, client=0,
        seq=seq, method="GET", url="http://localhost:9090/", intended_s=t, sent_s=t, latency_ms=latency,
        total_ms=latency, status=None if error_class else 200, error_class=error_class,
    )


def _no_checks_run() -> Run:
    loaded = loads(NO_CHECKS, source="scenario.yaml")
    calls = [
        [_record(0, 0, 0.0, 4.0, phase="baseline"), _record(0, 1, 0.1, 12.5), _record(0, 2, 0.2, 30.0)],
        # the load's calls run from 0 s to 6 s: the last is cut by the blackhole and times out after 500 ms
        [_record(1, k, float(k), 5.0) for k in range(6)] + [_record(1, 6, 6.0, 500.0, error_class="timeout")],
    ]
    scenario_docs: list[tuple[Any, str | None, list[dict[str, Any]]]] = []
    for index, entry in enumerate(loaded):
        spec = planned_spec(entry.scenario, 0, scenario_index=index)
        document = item_document(entry.scenario, 0, spec, ItemRun(records=calls[index], t0=0.0),
                                 records_frame(calls[index]))
        scenario_docs.append((entry.scenario, "scenario.yaml", [document]))
    started = datetime(2026, 12, 1, tzinfo=timezone.utc)
    document = results_document(scenario_docs, started_at=started, finished_at=started + timedelta(seconds=12),
                                host={"kernel": "test"})
    return run_from_document(document, records_frame(calls[0] + calls[1]))


def test_reports_print_lueurs_line_and_the_checks_line(sample_run: Run) -> None:
    # the fixture: 12 lueur tests (1 + 6 + 1 + 1 + 1 + 2), one failed (the POST over 1000 ms); 7 checks, 3 failed
    assert (sample_run.tests_run, sample_run.tests_failed) == (12, 1)
    assert (sample_run.checks_run, sample_run.checks_failed) == (7, 3)
    assert sample_run.headline().startswith("Tests run: 12, Tests failed: 1; Checks: 7, failed: 3")
    assert not sample_run.passed
    markdown = render_markdown(sample_run, analyze(sample_run))
    assert "Tests run: 12, Tests failed: 1; Checks: 7, failed: 3" in markdown.split("## ", 1)[0]
    assert "lueur tests: 0 of 1 failed; checks: 1 of 2 failed" in markdown  # the pulses item: only its SLO
    html = render_html(sample_run, analyze(sample_run))
    assert "Tests run: 12, Tests failed: 1; Checks: 7, failed: 3" in html


def test_junit_keeps_both_counts_per_suite(sample_run: Run) -> None:
    root = ElementTree.fromstring(render_junit(sample_run))
    pulses = root.findall("testsuite")[2]
    properties = {p.get("name"): p.get("value") for p in pulses.iter("property")}
    assert properties == {"lueur.tests_run": "1", "lueur.tests_failed": "0",
                          "lueur-net.checks_run": "2", "lueur-net.checks_failed": "1"}


def test_junit_gives_items_without_checks_their_test_cases() -> None:
    run = _no_checks_run()
    assert (run.tests_run, run.tests_failed, run.checks_run, run.checks_failed) == (4, 0, 0, 0)
    root = ElementTree.fromstring(render_junit(run))
    repeat, load = root.findall("testsuite")
    cases = repeat.findall("testcase")
    assert [case.get("name") for case in cases] == [
        "GET /: call 1/3 (baseline, iteration 0)", "GET /: call 2/3 (fault, iteration 0)",
        "GET /: call 3/3 (fault, iteration 1)"]
    assert [case.get("time") for case in cases] == ["0.004", "0.013", "0.030"]
    assert all(case.find("failure") is None for case in cases)
    assert "call completed: status 200 in 12.5 ms" in (cases[1].findtext("system-out") or "")
    (load_case,) = load.findall("testcase")
    assert load_case.get("name") == "GET /: load (7 calls)" and load_case.find("failure") is None
    assert "7 calls, 6 answered, 1 without response" in (load_case.findtext("system-out") or "")
    assert int(root.get("tests", "0")) == 4 and root.get("failures") == "0"


def test_junit_time_of_a_load_is_its_real_elapsed_time(sample_run: Run) -> None:
    run = _no_checks_run()
    root = ElementTree.fromstring(render_junit(run))
    load = root.findall("testsuite")[1]
    # first intended send at 0 s, last call ended at 6 s + 500 ms: not the planned 10 s, not the timeout
    assert float(load.find("testcase").get("time", "0")) == pytest.approx(6.5)
    assert float(load.get("time", "0")) == pytest.approx(6.5)

    # the failing blackhole load of the fixture (10 s planned, 500 ms timeout): its calls' own span, ~9.77 s
    blackhole = ElementTree.fromstring(render_junit(sample_run)).findall("testsuite")[4]
    item = sample_run.scenarios[4].items[0]
    span = float((item.calls["intended_s"] + item.calls["latency_ms"] / 1000).max() - item.calls["intended_s"].min())
    (case,) = blackhole.findall("testcase")
    assert case.find("failure") is not None and float(case.get("time", "0")) == pytest.approx(span, abs=1e-3)
    assert 9.7 < span < 9.8
