"""JUnit XML (`--junit junit.xml`): one test suite per scenario, one test case per expectation and SLO.

CI systems (GitLab, Jenkins, GitHub test reporters) then list resilience checks beside unit tests. A failed check
becomes a <failure> whose message carries objective, observed value and margin, and whose text the failure
pattern. An item that declares no expectation and no SLO still gets test cases: lueur's tests of it (one per call
of a single/repeat item, one for a load item), which pass when the calls were made, and say in <system-out> what
was checked. Each suite carries both counts as properties (lueur's tests, our checks). Times are real: a case's
time is the elapsed time of the calls it judged (first intended send to the last call's end), never the planned
duration or a timeout. Pure: Run -> text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import pandas as pd

from lueur_net.analysis.model import Check, Item, Run
from lueur_net.analysis.overview import failure_pattern, margin_text, objective_text, observed_text
from lueur_net.analysis.redact import Redactor


def _case_name(item: Item, check: Check) -> str:
    kind = "SLO" if check.kind == "slo" else "expect"
    window = f" [{check.window}]" if check.window else ""
    return f"{item.endpoint}: {kind} {check.title}{window}"


def elapsed_seconds(calls: pd.DataFrame) -> float:
    """Real elapsed time of these calls: first intended send to the end of the last one to finish (latency is
    measured from the intended send, so intended + latency is when a call ended, answered or not)."""
    if calls.empty:
        return 0.0
    ends = calls["intended_s"] + calls["latency_ms"].fillna(0.0) / 1000.0
    return max(0.0, float(ends.max() - calls["intended_s"].min()))


def _call_outcome(row: pd.Series | None) -> str:
    if row is None:
        return "the call's record is not available"
    latency = row["latency_ms"]
    took = f"{latency:.1f} ms" if not pd.isna(latency) else "an unknown time"
    if isinstance(row["error_class"], str):
        return f"the call got no response ({row['error_class']} after {took})"
    status = "none" if pd.isna(row["status"]) else str(int(row["status"]))
    return f"the call completed: status {status} in {took}"


def _unchecked_cases(item: Item) -> list[tuple[str, float, str, str | None]]:
    """(name, seconds, what was checked, failure or None) for an item with no expectation and no SLO."""
    note = "no expectation or SLO declared: checked that the call was made"
    tests: list[dict[str, Any]] = item.tests or []
    calls = item.calls
    if not tests:  # results written before tests were recorded: one case per item
        text = f"{note}; {len(calls)} calls recorded" if not calls.empty else f"{note}; no call recorded"
        return [(f"{item.endpoint}: calls made", elapsed_seconds(calls), text, None if not calls.empty else
                 "no call made")]
    cases = []
    for test in tests:
        label = str(test.get("label", "test"))
        name = f"{item.endpoint}: {label}"
        if not test.get("passed", True):
            reasons = "; ".join(str(reason) for reason in test.get("reasons", []) or []) or "failed"
            cases.append((name, 0.0, note, reasons))
        elif item.strategy == "load":
            answered = int(calls["error_class"].isna().sum()) if not calls.empty else 0
            text = (f"no expectation or SLO declared: checked that the load ran; {len(calls)} calls, {answered} "
                    f"answered, {len(calls) - answered} without response (nothing fails a load item without checks)")
            cases.append((name, elapsed_seconds(calls), text, None))
        else:
            row = None
            if not calls.empty and test.get("seq") is not None:
                match = calls[calls["seq"] == test["seq"]]
                row = match.iloc[0] if len(match) else None
            seconds = 0.0 if row is None or pd.isna(row["latency_ms"]) else float(row["latency_ms"]) / 1000.0
            cases.append((name, seconds, f"{note}; {_call_outcome(row)}", None))
    return cases


def _properties(suite: ElementTree.Element, values: dict[str, int]) -> None:
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in values.items():
        ElementTree.SubElement(properties, "property", {"name": name, "value": str(value)})


def render_junit(run: Run, *, redactor: Redactor | None = None) -> str:
    redactor = redactor or Redactor()
    root = ElementTree.Element("testsuites", {"name": "lueur-net", "errors": "0",
                                              "time": f"{run.duration_s or 0.0:.3f}"})
    total_cases = total_failures = 0
    for scenario in run.scenarios:
        suite = ElementTree.SubElement(root, "testsuite", {"name": redactor.text(scenario.title)})
        _properties(suite, {
            "lueur.tests_run": sum(item.tests_run or 0 for item in scenario.items),
            "lueur.tests_failed": sum(item.tests_failed or 0 for item in scenario.items),
            "lueur-net.checks_run": len(scenario.checks),
            "lueur-net.checks_failed": sum(not check.passed for check in scenario.checks),
        })
        classname = f"lueur-net.scenario{scenario.index + 1}"
        cases = failures = 0
        seconds = 0.0
        for item in scenario.items:
            item_seconds = elapsed_seconds(item.calls)
            seconds += item_seconds
            for check in item.checks:
                cases += 1
                case = ElementTree.SubElement(suite, "testcase", {
                    "classname": classname,
                    "name": redactor.text(_case_name(item, check)),
                    "time": f"{item_seconds:.3f}",
                })
                if not check.passed:
                    failures += 1
                    message = (f"{objective_text(check)}; observed {observed_text(check)}; "
                               f"margin {margin_text(check)}")
                    failure = ElementTree.SubElement(case, "failure", {
                        "message": redactor.text(message),
                        "type": "SLOFailure" if check.kind == "slo" else "ExpectationFailure",
                    })
                    body = failure_pattern(item, check)
                    if check.detail:
                        body = f"{check.detail}\n{body}"
                    failure.text = redactor.text(f"{item.method.upper()} {item.url}\n{body}")
            if item.checks:
                continue
            for name, case_seconds, checked, failed in _unchecked_cases(item):
                cases += 1
                case = ElementTree.SubElement(suite, "testcase", {
                    "classname": classname, "name": redactor.text(name), "time": f"{case_seconds:.3f}"})
                if failed is not None:
                    failures += 1
                    ElementTree.SubElement(case, "failure", {"message": redactor.text(failed),
                                                             "type": "NoCall"}).text = redactor.text(failed)
                ElementTree.SubElement(case, "system-out").text = redactor.text(checked)
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", f"{seconds:.3f}")
        total_cases += cases
        total_failures += failures
    root.set("tests", str(total_cases))
    root.set("failures", str(total_failures))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
