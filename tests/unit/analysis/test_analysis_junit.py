"""JUnit XML: parses, one test case per expectation and SLO, failures match the verdicts, no secret."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from analysis_fixture import API_KEY, SECRET
from lueur_net.analysis.model import Run
from lueur_net.analysis.render_junit import render_junit


def test_junit_counts_match_verdicts(sample_run: Run) -> None:
    text = render_junit(sample_run)
    root = ElementTree.fromstring(text)
    cases = root.findall(".//testcase")
    assert len(cases) == sample_run.checks_run == 7  # one per expectation and SLO (every item has one)
    assert len(root.findall(".//testcase/failure")) == sample_run.checks_failed == 3
    assert int(root.get("tests", "0")) == 7 and int(root.get("failures", "0")) == 3
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == [scenario.title for scenario in sample_run.scenarios]
    for suite, scenario in zip(suites, sample_run.scenarios, strict=True):
        assert int(suite.get("failures", "0")) == sum(not check.passed for check in scenario.checks)


def test_junit_failure_carries_numbers_and_no_secret(sample_run: Run) -> None:
    text = render_junit(sample_run)
    assert SECRET not in text and API_KEY not in text
    root = ElementTree.fromstring(text)
    messages = [failure.get("message", "") for failure in root.iter("failure")]
    check = next(c for c in sample_run.checks if c.title == "P95 < 300ms")
    assert any("p95 < 300 ms" in message and f"+{check.margin:.1f} ms" in message for message in messages)
