"""JUnit XML (`--junit junit.xml`): one test suite per scenario, one test case per expectation and SLO.

CI systems (GitLab, Jenkins, GitHub test reporters) then list resilience checks beside unit tests. A failed check
becomes a <failure> whose message carries objective, observed value and margin, and whose text the failure
pattern. Pure: Run -> text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from lueur_net.analysis.model import Check, Item, Run
from lueur_net.analysis.overview import failure_pattern, margin_text, objective_text, observed_text
from lueur_net.analysis.redact import Redactor


def _case_name(item: Item, check: Check) -> str:
    kind = "SLO" if check.kind == "slo" else "expect"
    window = f" [{check.window}]" if check.window else ""
    return f"{item.endpoint}: {kind} {check.title}{window}"


def _item_seconds(item: Item) -> float:
    if item.calls.empty:
        return 0.0
    return max(0.0, float(item.end_s - item.calls["intended_s"].min()))


def render_junit(run: Run, *, redactor: Redactor | None = None) -> str:
    redactor = redactor or Redactor()
    root = ElementTree.Element("testsuites", {
        "name": "lueur-net",
        "tests": str(run.tests_run),
        "failures": str(run.tests_failed),
        "errors": "0",
        "time": f"{run.duration_s or 0.0:.3f}",
    })
    for scenario in run.scenarios:
        checks = scenario.checks
        suite = ElementTree.SubElement(root, "testsuite", {
            "name": redactor.text(scenario.title),
            "tests": str(len(checks)),
            "failures": str(sum(not check.passed for check in checks)),
            "errors": "0",
            "skipped": "0",
            "time": f"{sum(_item_seconds(item) for item in scenario.items):.3f}",
        })
        classname = f"lueur-net.scenario{scenario.index + 1}"
        for item in scenario.items:
            for check in item.checks:
                case = ElementTree.SubElement(suite, "testcase", {
                    "classname": classname,
                    "name": redactor.text(_case_name(item, check)),
                    "time": f"{_item_seconds(item):.3f}",
                })
                if not check.passed:
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
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
