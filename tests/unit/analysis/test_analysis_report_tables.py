"""The tables both reports show are built once (report_tables): the Markdown and the HTML report hold the same
headers and cells, each in its own formatting."""

from __future__ import annotations

from html import escape

from lueur_net.analysis import report_tables as tables
from lueur_net.analysis.findings import analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.render_html import render_html
from lueur_net.analysis.render_markdown import cell, render_markdown


def test_both_reports_show_the_same_table_cells(sample_run: Run) -> None:
    findings = analyze(sample_run)
    markdown, html = render_markdown(sample_run, findings), render_html(sample_run, findings)
    items = [item for scenario in sample_run.scenarios for item in scenario.items]
    rows = [row for item in items for row in tables.phase_rows(item) + tables.fault_rows(item)]
    rows += [tables.window_check_row(check) for item in items for check in item.window_checks]
    assert any(item.windows for item in items) and any(item.window_checks for item in items)
    failures = tables.failure_rows(sample_run)
    assert failures
    for row in rows + failures:
        for value in row:
            assert f">{escape(str(value))}</td>" in html, (value, row)
    for row in rows + tables.failure_rows(sample_run, code=lambda text: f"`{text}`"):  # Markdown: code spans
        assert "| " + " | ".join(cell(value) for value in row) + " |" in markdown, row
    for headers in (tables.PHASE_HEADERS, tables.FAULT_HEADERS, tables.CHECK_HEADERS, tables.WINDOW_CHECK_HEADERS,
                    tables.FAILURE_HEADERS, tables.DASHBOARD_HEADERS):
        assert "| " + " | ".join(headers) + " |" in markdown or "| " + " | ".join(headers) + " | Result |" in markdown
        assert "".join(f"<th>{escape(header)}</th>" for header in headers) in html
