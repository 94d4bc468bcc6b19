"""The Markdown report: parses as CommonMark+tables, has the reference's sections, numbers, and no secret."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from analysis_fixture import API_KEY, SECRET
from lueur_net.analysis.findings import analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.render_markdown import anchor, cell, render_markdown


def _tokens(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def test_report_structure(sample_run: Run) -> None:
    text = render_markdown(sample_run, analyze(sample_run))
    tokens = _tokens(text)
    headings = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"
                and token.tag == "h2"]
    for wanted in ("Table of Contents", "Overall Resilience Posture", "SLO Failures", "Dashboard Summary",
                   "Analysis"):
        assert wanted in headings
    assert [h for h in headings if h[0].isdigit()] == [f"{s.index + 1}. {s.title}" for s in sample_run.scenarios]
    # every table of contents link points at a heading
    anchors = {anchor(h) for h in headings}
    links = [child.attrs["href"] for token in tokens if token.type == "inline" for child in token.children or []
             if child.type == "link_open"]
    assert links and all(link.lstrip("#") in anchors for link in links)
    # tables parse as tables: failures, dashboard, and per scenario at least calls + checks
    assert sum(token.type == "table_open" for token in tokens) >= 2 + 2 * len(sample_run.scenarios)


def test_failure_table_rows_carry_evidence(sample_run: Run) -> None:
    text = render_markdown(sample_run, analyze(sample_run))
    section = text.split("## SLO Failures", 1)[1].split("## Dashboard Summary", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "Scenario" not in line]
    assert len(rows) == sample_run.checks_failed
    latency = next(row for row in rows if "P95 < 300ms" in row)
    check = next(c for c in sample_run.checks if c.title == "P95 < 300ms")
    assert check.observed is not None and check.observed > 300
    assert f"{check.observed:.1f} ms" in latency and f"+{check.observed - 300:.1f} ms" in latency
    assert "f1" in latency  # the 250 ms pulse is the window that broke the p95
    blackhole = next(row for row in rows if "error rate" in row)
    assert "6/60" in blackhole and "+9.0 pp" in blackhole and "timeout 6" in blackhole


def test_no_secret_anywhere(sample_run: Run) -> None:
    text = render_markdown(sample_run, analyze(sample_run))
    assert SECRET not in text and API_KEY not in text
    assert "secret_password=[redacted]" in text


def test_llm_text_replaces_findings_with_demoted_headings(sample_run: Run) -> None:
    text = render_markdown(sample_run, analyze(sample_run), analysis_markdown="# Executive Summary\n\nAll good.")
    assert "### Executive Summary" in text and "offline analyzer" not in text


def test_cell_escapes_pipes_and_newlines() -> None:
    assert cell("a|b\nc") == "a\\|b c"
    assert cell(None) == "-"


def test_each_fault_says_which_traffic_it_hit_and_the_plan_notes_are_shown(sample_run: Run) -> None:
    text = render_markdown(sample_run, analyze(sample_run))
    assert "ingress: responses)" in text  # lueur's meaning of the default side/direction, spelled out
    assert "Plan notes:" in text and "f0: a plan note" in text
