"""The HTML report (`--html report.html`): one self-contained file, inline CSS and SVG, no script, nothing fetched.

Per scenario item: latency of every call over time with the fault windows shaded, the latency distribution per
phase (baseline vs under fault), errors over time, then the numbers (phases, errors by class, faults and their
counters, checks). A narrow-screen layout keeps it readable on a phone (tables scroll sideways inside their box).
Pure: Run -> text; every user-derived string is redacted and HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from lueur_net.analysis import report_tables as tables
from lueur_net.analysis.callstats import failed_mask, under_fault_mask
from lueur_net.analysis.findings import Finding
from lueur_net.analysis.model import Item, Run
from lueur_net.analysis.overview import COUNTS_LEGEND, item_counts_text, posture_text
from lueur_net.analysis.redact import Redactor
from lueur_net.analysis.render_markdown import REPORT_TITLE
from lueur_net.analysis.svg import COLOUR_FAULT, COLOUR_OK, Band, Point, distribution, error_timeline
from lueur_net.analysis.svg import latency_timeline, thin_points

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 12px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "DejaVu Sans", sans-serif; color: #111827; background: #f9fafb; }
h1 { font-size: 1.5em; margin: 0.3em 0; } h2 { font-size: 1.25em; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 1em 0 0.4em; }
section.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; margin: 12px 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-weight: 600; font-size: 0.85em; }
.pass { background: #dcfce7; color: #166534; } .fail { background: #fee2e2; color: #991b1b; }
.critical { background: #fee2e2; color: #991b1b; } .warning { background: #fef3c7; color: #92400e; }
.info { background: #e0e7ff; color: #3730a3; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin: 6px 0 10px; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
code { font-size: 0.9em; word-break: break-all; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 10px; }
.plots figure:first-child { grid-column: 1 / -1; }
figure { margin: 0; } figcaption { font-size: 0.85em; color: #4b5563; }
svg.plot { display: block; max-width: 100%; height: auto; border: 1px solid #e5e7eb; border-radius: 6px; }
.legend span { display: inline-block; margin-right: 12px; font-size: 0.85em; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
nav ul { padding-left: 18px; } dl.evidence { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px;
  font-size: 0.9em; margin: 4px 0; } dl.evidence dt { color: #4b5563; } dl.evidence dd { margin: 0; }
@media (max-width: 600px) { body { padding: 6px; font-size: 14px; } section.card { padding: 8px; } }
"""


def _e(redactor: Redactor, value: object) -> str:
    return escape(redactor.text("" if value is None else str(value)))


def _table(redactor: Redactor, headers: Sequence[str], rows: Sequence[Sequence[object]],
           numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(redactor, h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for position, value in enumerate(row):
            css = ' class="num"' if position in numeric else ""
            text = value if isinstance(value, _Raw) else _e(redactor, value)
            cells.append(f"<td{css}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def _badge(passed: bool) -> _Raw:
    return _Raw(f'<span class="badge {"pass" if passed else "fail"}">{"pass" if passed else "FAIL"}</span>')


def _points(item: Item) -> list[Point]:
    calls = item.calls
    if calls.empty:
        return []
    failed = failed_mask(calls)
    fault = under_fault_mask(calls)
    points = []
    for t, latency, is_error, is_fault in zip(calls["intended_s"], calls["latency_ms"], failed, fault, strict=True):
        points.append(Point(t=float(t), value=float(latency) if latency == latency and latency is not None else 0.0,
                            error=bool(is_error), under_fault=bool(is_fault)))
    return points


def _plots(item: Item, redactor: Redactor) -> str:
    end = item.end_s
    # Call-anchored windows (single/repeat) repeat with every call: the points' colour shows them instead.
    bands = [Band(w.start_s, w.end_s if w.end_s is not None else end, redactor.text(w.name))
             for w in item.windows if w.anchor == "item"]
    points = _points(item)
    calls = item.calls
    answered = calls[calls["error_class"].isna()] if not calls.empty else calls
    series: dict[str, list[float]] = {}
    if not answered.empty:
        fault = under_fault_mask(answered)
        base_values = answered.loc[~fault, "latency_ms"].dropna().tolist()
        fault_values = answered.loc[fault, "latency_ms"].dropna().tolist()
        if base_values:
            series["baseline"] = base_values
        if fault_values:
            series["under fault"] = fault_values
    label = redactor.text(f"{item.scenario}: {item.endpoint}")
    shown = thin_points(points)
    thinned = (f" {len(shown)} of {len(points)} calls drawn: every error, the slowest 1% and an even sample."
               if len(shown) < len(points) else "")
    figures = [
        (latency_timeline(shown, bands, end, f"Latency of every call over time - {label}"),
         "Latency of every call at its intended send time; shaded: fault windows; crosses: errors." + thinned),
        (distribution(series, {"baseline": COLOUR_OK, "under fault": COLOUR_FAULT},
                      f"Latency distribution per phase - {label}"),
         "Share of answered calls per latency bin, baseline vs under fault."),
        (error_timeline(points, bands, end, f"Errors over time - {label}"),
         "Calls per time slot: answered (blue) and errors (red); shaded: fault windows."),
    ]
    return '<div class="plots">' + "".join(
        f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>" for svg, caption in figures
    ) + "</div>"


def _item(item: Item, redactor: Redactor, multiple: bool) -> str:
    parts = []
    if multiple:
        parts.append(f"<h3>Item {item.index + 1}: <code>{_e(redactor, item.endpoint)}</code></h3>")
    timeout = f"{item.timeout_ms:g} ms" if item.timeout_ms is not None else "none set"
    parts.append(f"<p><code>{_e(redactor, item.method.upper() + ' ' + item.url)}</code><br>strategy "
                 f"{_e(redactor, item.strategy)}, client timeout {_e(redactor, timeout)} "
                 f"{_badge(item.passed)} {escape(item_counts_text(item))}</p>")
    parts.append(_plots(item, redactor))
    parts.append("<h3>Calls and latency percentiles</h3>")
    parts.append(_table(redactor, tables.PHASE_HEADERS, tables.phase_rows(item), numeric=range(1, 9)))
    errors = tables.error_rows(item)
    if errors:
        parts.append("<h3>Errors by class</h3>")
        parts.append(_table(redactor, tables.ERROR_HEADERS, errors, numeric=(1,)))
    if item.windows:
        parts.append("<h3>Faults</h3>")
        parts.append(_table(redactor, tables.FAULT_HEADERS, tables.fault_rows(item)))
    if item.notes:
        parts.append("<h3>Plan notes</h3><ul>" + "".join(f"<li>{escape(redactor.text(note))}</li>"
                                                         for note in item.notes) + "</ul>")
    if item.checks:
        parts.append("<h3>Expectations and SLOs</h3>")
        parts.append(_table(redactor, tables.CHECK_HEADERS, [
            [c.title, *tables.check_cells(c), _badge(c.passed)] for c in item.checks]))
    if item.window_checks:
        parts.append("<h3>SLOs per fault window</h3><p>Information: the whole-item SLOs above decide.</p>")
        parts.append(_table(redactor, tables.WINDOW_CHECK_HEADERS,
                            [tables.window_check_row(c) for c in item.window_checks]))
    return "".join(parts)


def _findings(findings: list[Finding], redactor: Redactor) -> str:
    if not findings:
        return "<p>The offline analyzer found nothing worth flagging.</p>"
    parts = []
    for finding in findings:
        evidence = "".join(f"<dt>{_e(redactor, k)}</dt><dd>{_e(redactor, v)}</dd>" for k, v in finding.evidence.items())
        parts.append(
            f'<section class="card"><h3><span class="badge {escape(finding.severity)}">'
            f"{escape(finding.severity)}</span> {_e(redactor, finding.title)}</h3>"
            f"<p><em>{_e(redactor, finding.scenario)}</em></p><p>{_e(redactor, finding.summary)}</p>"
            f'<dl class="evidence">{evidence}</dl><p><strong>Recommendation:</strong> '
            f"{_e(redactor, finding.recommendation)}</p></section>")
    return "".join(parts)


def render_html(run: Run, findings: list[Finding], *, redactor: Redactor | None = None) -> str:
    redactor = redactor or Redactor()
    passed = run.passed
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(REPORT_TITLE)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{escape(REPORT_TITLE)}</h1><p>{_badge(passed)} {escape(run.headline())}</p>"
        f'<p class="legend">{escape(COUNTS_LEGEND)}</p></header>',
        '<nav class="card"><strong>Contents</strong><ul><li><a href="#posture">Overall posture</a></li>'
        '<li><a href="#failures">SLO failures</a></li><li><a href="#dashboard">Dashboard</a></li>'
        '<li><a href="#analysis">Analysis</a></li>'
        + "".join(f'<li><a href="#scenario-{s.index + 1}">{s.index + 1}. {_e(redactor, s.title)}</a> '
                  f"{_badge(s.passed)}</li>" for s in run.scenarios)
        + "</ul></nav>",
        f'<h2 id="posture">Overall resilience posture</h2><p>{_e(redactor, posture_text(run, findings))}</p>',
        '<h2 id="failures">SLO failures</h2>',
    ]
    failures = tables.failure_rows(run)
    out.append(_table(redactor, tables.FAILURE_HEADERS, failures) if failures
               else "<p>Every SLO and expectation held.</p>")
    out.append('<h2 id="dashboard">Dashboard summary</h2>')
    out.append(_table(redactor, tables.DASHBOARD_HEADERS, tables.dashboard_table_rows(run), numeric=(1, 2, 3)))
    out.append('<h2 id="analysis">Analysis</h2>')
    out.append(_findings(findings, redactor))
    out.append('<p class="legend"><span><i style="background:#2563eb"></i>baseline call</span>'
               '<span><i style="background:#f59e0b"></i>call under fault</span>'
               '<span><i style="background:#dc2626"></i>error</span>'
               '<span><i style="background:#fde68a"></i>fault window</span></p>')
    for scenario in run.scenarios:
        out.append(f'<section class="card" id="scenario-{scenario.index + 1}"><h2>{scenario.index + 1}. '
                   f"{_e(redactor, scenario.title)} {_badge(scenario.passed)}</h2>")
        if scenario.description:
            out.append(f"<p>{_e(redactor, scenario.description)}</p>")
        for item in scenario.items:
            out.append(_item(item, redactor, len(scenario.items) > 1))
        out.append("</section>")
    out.append(f"<footer><p>{len(run.records)} calls recorded.</p></footer></body></html>")
    return "\n".join(out) + "\n"
