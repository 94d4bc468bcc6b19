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

from lueur_net.analysis.callstats import PERCENTILES, CallStats, errors_by_class, phase_stats
from lueur_net.analysis.findings import Finding
from lueur_net.analysis.model import Check, Item, Run, Scenario, Window
from lueur_net.analysis.overview import (
    COUNTS_LEGEND,
    dashboard_rows,
    item_counts_text,
    objective_text,
    observed_text,
    posture_text,
    slo_failure_rows,
)
from lueur_net.analysis.redact import Redactor
from lueur_net.analysis.units import format_ms

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


def _failures(run: Run) -> str:
    rows = slo_failure_rows(run)
    if not rows:
        return "Every SLO and expectation held."
    return table(
        ["Scenario", "Endpoint", "SLO", "Objective", "Observed", "Margin", "Failure pattern"],
        [[r.scenario, f"`{r.endpoint}`", r.check, r.objective, r.observed, r.margin, r.pattern] for r in rows],
    )


def _dashboard(run: Run) -> str:
    rows = dashboard_rows(run)
    return table(
        ["Scope", "Total scenarios", "Passed", "Failed"],
        [[row.scope if i == 0 else f"`{row.scope}`", row.total, row.passed, row.failed] for i, row in enumerate(rows)],
    )


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


def _stats_row(label: str, stats: CallStats) -> list[object]:
    return [label, stats.calls, f"{stats.errors} ({stats.error_rate:.1f}%)"] + [
        format_ms(stats.p(p)) for p in PERCENTILES
    ] + [format_ms(stats.max_ms)]


def phase_table(item: Item) -> str:
    rows = [_stats_row(label, stats) for label, stats in phase_stats(item.calls, [w.name for w in item.windows])]
    return table(["Phase", "Calls", "Errors"] + [f"p{p}" for p in PERCENTILES] + ["Max"], rows)


def window_text(window: Window) -> str:
    end = f"{window.end_s:.2f} s" if window.end_s is not None else "end"
    return f"{window.start_s:.2f} s - {end}"


def _faults_table(item: Item) -> str:
    rows = []
    for window in item.windows:
        counters = ", ".join(f"{key} {value}" for key, value in window.counters.items()) or "not reported"
        rows.append([window.name, window.describe(), window_text(window), window.backend or "-", counters])
    return table(["Fault", "Settings", "Window", "Backend", "Packet counters"], rows)


def _checks_table(item: Item) -> str:
    rows = [[check.title + (f" ({check.window})" if check.window else ""), check.kind, objective_text(check),
             observed_text(check), "pass" if check.passed else "**FAIL**"] for check in item.checks]
    return table(["Check", "Kind", "Objective", "Observed", "Result"], rows)


def _item(item: Item) -> str:
    lines = []
    timeout = f"{item.timeout_ms:g} ms" if item.timeout_ms is not None else "none set"
    lines += [f"`{item.method.upper()} {item.url}` - strategy: {item.strategy}, client timeout: {timeout}, "
              f"result: **{'pass' if item.passed else 'FAIL'}** ({item_counts_text(item)})", ""]
    lines += [phase_table(item), ""]
    classes = errors_by_class(item.calls)
    if classes:
        lines += ["Errors by class:", "", table(["Class", "Calls"], list(classes.items())), ""]
    if item.windows:
        lines += ["Faults:", "", _faults_table(item), ""]
    if item.notes:
        lines += ["Plan notes:", ""] + [f"- {note}" for note in item.notes] + [""]
    if item.checks:
        lines += ["Expectations and SLOs:", "", _checks_table(item), ""]
    if item.window_checks:
        lines += ["SLOs per fault window (information; the whole-item SLOs above decide):", "",
                  window_checks_table(item), ""]
    return "\n".join(lines)


def window_checks_table(item: Item) -> str:
    rows = [[check.window if check.window != "none" else "no fault active", check.title, objective_text(check),
             slo_value_text(check), f"{check.failed_calls}/{check.total_calls}", "pass" if check.passed else "miss"]
            for check in item.window_checks]
    return table(["Window", "SLO", "Objective", "Observed", "Calls missed", "Result"], rows)


def slo_value_text(check: Check) -> str:
    """An SLO's observed value alone: '236.9 ms' or '10.0%'."""
    if check.observed is None:
        return "n/a"
    return format_ms(check.observed) if check.name == "latency" else f"{check.observed:.1f}%"


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
