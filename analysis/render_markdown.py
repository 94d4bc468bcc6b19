"""The Markdown report (`--report report.md`): a pure function from a Run (and findings) to text.

Sections: table of contents, overall posture, SLO failures table, dashboard summary, analysis (offline findings,
or the LLM's text when given), then one section per scenario with its calls, percentiles, errors by class, faults
with their packet counters, and its expectations and SLOs. Every text that came from the user's input goes through
the redactor (the loader redacted URLs and error texts already; this is the second fence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from lueur_net.analysis import report_tables as tables
from lueur_net.analysis.findings import Finding
from lueur_net.analysis.model import Item, Run, Scenario
from lueur_net.analysis.overview import COUNTS_LEGEND, item_counts_text, posture_text
from lueur_net.analysis.redact import Redactor

REPORT_TITLE = "lueur-net resilience report"


def cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip() or "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def anchor(heading: str) -> str:
    """The GitHub-style anchor of a heading (lower case, punctuation dropped, spaces to '-')."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def render_markdown(
    run: Run,
    findings: list[Finding],
    *,
    analysis_markdown: str | None = None,
    source: str | None = None,
    redactor: Redactor | None = None,
) -> str:
    """The whole report. `analysis_markdown` (an LLM's report body) replaces the offline findings section."""
    redactor = redactor or Redactor()
    sections: list[tuple[str, str]] = [
        ("Overall Resilience Posture", posture_text(run, findings)),
        ("SLO Failures", _failures(run)),
        ("Dashboard Summary", _dashboard(run)),
        ("Analysis", ""),  # filled below: the LLM's text is redacted as source (its diffs must stay usable)
    ]
    for scenario in run.scenarios:
        sections.append((f"{scenario.index + 1}. {scenario.title}", _scenario(scenario)))
    sections.append(("Run Details", _details(run, source)))

    out = [f"# {REPORT_TITLE}", ""]
    out += [f"**{'PASSED' if run.passed else 'FAILED'}** - {run.headline()}", "", f"_{COUNTS_LEGEND}_", ""]
    out += ["## Table of Contents", ""]
    for heading, _ in sections:
        out.append(f"- [{heading}](#{anchor(heading)})")
    out.append("")
    out = [redactor.text(line) for line in out]
    for heading, body in sections:
        heading = redactor.text(heading)
        if heading == "Analysis":
            body = (redactor.source(_analysis(findings, analysis_markdown)) if analysis_markdown
                    else redactor.text(_analysis(findings, None)))
        else:
            body = redactor.text(body)
        out += [f"## {heading}", "", body.rstrip(), ""]
    return "\n".join(out).rstrip() + "\n"


def _code(text: str) -> str:
    return f"`{text}`"


def _failures(run: Run) -> str:
    rows = tables.failure_rows(run, _code)
    return table(tables.FAILURE_HEADERS, rows) if rows else "Every SLO and expectation held."


def _dashboard(run: Run) -> str:
    return table(tables.DASHBOARD_HEADERS, tables.dashboard_table_rows(run, _code))


def _analysis(findings: list[Finding], analysis_markdown: str | None) -> str:
    if analysis_markdown:
        return demote_headings(analysis_markdown, top=3)  # below our "## Analysis": one outline
    return findings_markdown(findings)


def demote_headings(markdown: str, top: int) -> str:
    """Shift ATX headings (outside code blocks) so the highest becomes level `top`; never above 6."""
    lines = markdown.splitlines()
    in_code = False
    levels: list[int | None] = []
    for line in lines:
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"^(#{1,6}) ", line)
        levels.append(len(match.group(1)) if match else None)
    present = [level for level in levels if level is not None]
    if not present:
        return markdown
    shift = max(0, top - min(present))
    return "\n".join(
        "#" * min(level + shift, 6) + line[level:] if level is not None else line
        for line, level in zip(lines, levels, strict=True)
    )


def findings_markdown(findings: list[Finding]) -> str:
    """The offline analyzer's findings: one sub-section each, evidence as a list, then the advice."""
    if not findings:
        return "The offline analyzer found nothing worth flagging."
    lines = ["Deterministic findings from the recorded calls (offline analyzer, no LLM).", ""]
    for number, finding in enumerate(findings, start=1):
        lines += [f"### {number}. [{finding.severity}] {finding.title}", ""]
        lines += [f"*{finding.scenario}* - `{finding.endpoint}`", "", finding.summary, ""]
        lines += ["Evidence:", ""]
        lines += [f"- {key}: {value}" for key, value in finding.evidence.items()]
        lines += ["", f"**Recommendation:** {finding.recommendation}", ""]
    return "\n".join(lines)


def phase_table(item: Item) -> str:
    return table(tables.PHASE_HEADERS, tables.phase_rows(item))


def _checks_table(item: Item) -> str:
    rows = [[check.title + (f" ({check.window})" if check.window else ""), *tables.check_cells(check),
             "pass" if check.passed else "**FAIL**"] for check in item.checks]
    return table(tables.CHECK_HEADERS, rows)


def _item(item: Item) -> str:
    lines = []
    timeout = f"{item.timeout_ms:g} ms" if item.timeout_ms is not None else "none set"
    lines += [f"`{item.method.upper()} {item.url}` - strategy: {item.strategy}, client timeout: {timeout}, "
              f"result: **{'pass' if item.passed else 'FAIL'}** ({item_counts_text(item)})", ""]
    lines += [phase_table(item), ""]
    errors = tables.error_rows(item)
    if errors:
        lines += ["Errors by class:", "", table(tables.ERROR_HEADERS, errors), ""]
    if item.windows:
        lines += ["Faults:", "", table(tables.FAULT_HEADERS, tables.fault_rows(item)), ""]
    if item.notes:
        lines += ["Plan notes:", ""] + [f"- {note}" for note in item.notes] + [""]
    if item.checks:
        lines += ["Expectations and SLOs:", "", _checks_table(item), ""]
    if item.window_checks:
        lines += ["SLOs per fault window (information; the whole-item SLOs above decide):", "",
                  window_checks_table(item), ""]
    return "\n".join(lines)


def window_checks_table(item: Item) -> str:
    rows = [tables.window_check_row(check) + ["pass" if check.passed else "miss"] for check in item.window_checks]
    return table(tables.WINDOW_CHECK_HEADERS + ["Result"], rows)


def _scenario(scenario: Scenario) -> str:
    lines = []
    if scenario.description:
        lines += [scenario.description.strip(), ""]
    for item in scenario.items:
        if len(scenario.items) > 1:
            lines += [f"### Item {item.index + 1}: `{item.endpoint}`", ""]
        lines.append(_item(item))
    return "\n".join(lines)


def _details(run: Run, source: str | None) -> str:
    lines = []
    if source:
        lines.append(f"- results: `{source}`")
    for key in ("tool", "started_at", "host", "kernel", "backends"):
        if key in run.meta:
            lines.append(f"- {key}: {cell(_flat(run.meta[key]))}")
    if run.duration_s is not None:
        lines.append(f"- total time: {run.duration_s:.1f} s")
    lines.append(f"- calls recorded: {len(run.records)}")
    return "\n".join(lines)


def _flat(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={_flat(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, dict) for item in value):  # [{type: x, backend: y}] -> "x y; ..."
            return "; ".join(" ".join(str(v) for v in item.values()) for item in value)
        return ", ".join(_flat(item) for item in value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
