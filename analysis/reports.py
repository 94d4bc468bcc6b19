"""Write the report files of a run: what `lueur-net report` and `lueur-net run` both call.

One Redactor serves every file of one call, so a secret found while rendering one report is also scrubbed from
the others. Rendering is pure (render_*); this module only writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lueur_net.analysis.findings import Finding, analyze
from lueur_net.analysis.llm import AnalysisOutcome, LlmOptions, Progress, write_analysis
from lueur_net.analysis.loading import run_from_document
from lueur_net.analysis.model import Run
from lueur_net.analysis.redact import Redactor
from lueur_net.analysis.render_html import render_html
from lueur_net.analysis.render_junit import render_junit
from lueur_net.analysis.render_markdown import render_markdown

STDOUT = Path("-")


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path | None = None  # Path("-"): return the text instead of writing it
    html: Path | None = None
    junit: Path | None = None


def write_reports(run: Run, paths: ReportPaths, *, findings: list[Finding] | None = None,
                  redactor: Redactor | None = None, source: str | None = None) -> dict[str, str]:
    """Render and write each requested report; returns {kind: path written or the text for '-'}."""
    redactor = redactor or Redactor()
    findings = analyze(run) if findings is None else findings
    written: dict[str, str] = {}
    outputs = (
        ("markdown", paths.markdown, lambda: render_markdown(run, findings, source=source, redactor=redactor)),
        ("html", paths.html, lambda: render_html(run, findings, redactor=redactor)),
        ("junit", paths.junit, lambda: render_junit(run, redactor=redactor)),
    )
    for kind, path, render in outputs:
        if path is None:
            continue
        text = render()
        if path == STDOUT:
            written[kind] = text
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written[kind] = str(path)
    return written


@dataclass
class RunReports:
    """What `write_run_reports` wrote: {kind: path} and, when the LLM was asked, its outcome."""

    written: dict[str, str]
    analysis: AnalysisOutcome | None = None


def write_run_reports(document: dict[str, Any], records: pd.DataFrame, paths: ReportPaths, *,
                      llm: LlmOptions | None = None, analysis_path: Path = Path("analysis.md"),
                      progress: Progress = lambda _: None) -> RunReports:
    """Everything `run` writes after its results.json: the reports, and with `llm` (run --analyze) the
    Ollama analysis. `document`/`records`: the results_v1 document and the records DataFrame in memory.
    Never raises for an Ollama problem (RunReports.analysis.problem says it), so the run's exit status
    stays the verdict's."""
    redactor = Redactor()
    run = run_from_document(document, records, redactor)
    findings = analyze(run)
    written = write_reports(run, paths, findings=findings, redactor=redactor)
    outcome = None
    if llm is not None:
        outcome = write_analysis(run, analysis_path, llm, progress=progress, findings=findings, redactor=redactor)
        written["analysis"] = str(analysis_path)
    return RunReports(written, outcome)
