"""The Ollama analysis: chained prompts to a local model, assembled into one Markdown report like the reference.

`write_analysis()` is what `lueur-net analyze` and `run --analyze` call. It always writes a report: the LLM's when
the server answers, else the offline one (render_markdown with the deterministic findings) with a note saying why.
It never raises for a server problem, so `run`'s exit status does not depend on Ollama; `analyze` turns the
outcome into its own exit status.

Talks to the server only through the `ollama` Python client: /api/tags (which models exist), /api/show (the
model is usable), /api/chat with streaming (each chunk goes to the progress callback as it arrives).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import ollama

from lueur_net.analysis.defaults import DEFAULT_HOST, DEFAULT_MODEL, DEFAULT_NUM_CTX, DEFAULT_TIMEOUT_S, ROLES
from lueur_net.analysis.findings import Finding, analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.overview import dashboard_rows, slo_failure_rows
from lueur_net.analysis.prompts import (
    facts_text,
    select_source,
    source_text,
    step_messages,
    steps,
)
from lueur_net.analysis.redact import Redactor
from lueur_net.analysis.render_markdown import anchor, demote_headings, findings_markdown, render_markdown, table
from lueur_net.errors import BadInput

CONNECT_TIMEOUT_S = 5.0
REPORT_TITLE = "lueur-net resilience report analysis"

Progress = Callable[[str], None]


class OllamaUnavailable(Exception):
    """The server could not be reached, timed out, or failed mid-answer (message says which)."""


class UnknownModel(Exception):
    """The server does not have the model; `available` lists what it has."""

    def __init__(self, model: str, available: list[str]) -> None:
        listed = ", ".join(available) if available else "none (pull one with `ollama pull MODEL`)"
        super().__init__(f"model '{model}' is not on the Ollama server; it has: {listed}")
        self.model = model
        self.available = available


@dataclass(frozen=True)
class LlmOptions:
    model: str = DEFAULT_MODEL
    host: str | None = None  # None: $OLLAMA_HOST, else DEFAULT_HOST
    role: str = "developer"
    source_dir: Path | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    temperature: float = 0.2
    num_ctx: int = DEFAULT_NUM_CTX  # context window asked of the model (Ollama's default is smaller)

    def resolved_host(self) -> str:
        return self.host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST


@dataclass
class AnalysisOutcome:
    path: Path
    used_llm: bool
    problem: str | None = None  # why the offline analysis was written instead
    unknown_model: bool = False
    sections: dict[str, str] = field(default_factory=dict)


def _is_loopback(host: str) -> bool:
    name = urlsplit(host if "://" in host else f"http://{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def make_client(options: LlmOptions) -> ollama.Client:
    host = options.resolved_host()
    return ollama.Client(
        host=host,
        timeout=httpx.Timeout(options.timeout_s, connect=CONNECT_TIMEOUT_S),
        trust_env=not _is_loopback(host),  # a proxy from the environment must not capture a local server
    )


def _server_problem(host: str, error: BaseException) -> OllamaUnavailable:
    if isinstance(error, httpx.TimeoutException):
        return OllamaUnavailable(f"the Ollama server at {host} did not answer in time ({type(error).__name__})")
    if isinstance(error, (ConnectionError, httpx.ConnectError)):
        return OllamaUnavailable(f"cannot reach the Ollama server at {host}: connection failed (is `ollama serve` "
                                 "running there? set --ollama-host or OLLAMA_HOST)")
    return OllamaUnavailable(f"cannot reach the Ollama server at {host}: {type(error).__name__}: {error}")


def available_models(client: ollama.Client, host: str) -> list[str]:
    try:
        listing = client.list()
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise _server_problem(host, error) from None
    except ollama.ResponseError as error:
        raise OllamaUnavailable(f"the Ollama server at {host} refused to list models: {error.error}") from None
    return [str(model.model) for model in listing.models if model.model]


def _matches(wanted: str, available: list[str]) -> str | None:
    """'llama3.1' matches 'llama3.1:latest' (Ollama's default tag)."""
    for name in available:
        if name == wanted or (":" not in wanted and name == f"{wanted}:latest"):
            return name
    return None


def check_model(client: ollama.Client, options: LlmOptions) -> str:
    """The model's full name on the server; UnknownModel (with the list) when it is not there."""
    host = options.resolved_host()
    models = available_models(client, host)
    name = _matches(options.model, models)
    if name is None:
        raise UnknownModel(options.model, models)
    try:
        client.show(name)
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise UnknownModel(options.model, models) from None
        raise OllamaUnavailable(f"the Ollama server at {host} cannot show model '{name}': {error.error}") from None
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise _server_problem(host, error) from None
    return name


def _chat(client: ollama.Client, model: str, messages: list[dict[str, str]], options: LlmOptions,
          progress: Progress) -> str:
    host = options.resolved_host()
    pieces: list[str] = []
    try:
        for part in client.chat(model=model, messages=messages, stream=True,
                                options={"temperature": options.temperature, "num_ctx": options.num_ctx}):
            text = part.message.content or ""
            if text:
                pieces.append(text)
                progress(text)
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise UnknownModel(options.model, []) from None
        raise OllamaUnavailable(f"the Ollama server at {host} failed: {error.error}") from None
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise _server_problem(host, error) from None
    return "".join(pieces).strip()


def run_chain(run: Run, findings: list[Finding], options: LlmOptions, progress: Progress,
              redactor: Redactor, client: ollama.Client | None = None,
              notice: Progress | None = None) -> tuple[str, dict[str, str]]:
    """Check the model, then run every step; returns (model name, {step key: Markdown}). `notice` gets the
    lines a person must see even when the model's stream is hidden (what --source-dir sends and skips)."""
    if options.role not in ROLES:
        raise BadInput(f"unknown role '{options.role}' (choose from {', '.join(ROLES)})")
    client = client or make_client(options)
    model = check_model(client, options)
    facts = facts_text(run, findings, redactor)
    source = ""
    if options.source_dir is not None:
        selection = select_source(options.source_dir, run, redactor)
        (notice or progress)(f"[{selection.summary()}]\n")
        source = source_text(selection.files)
    sections: dict[str, str] = {}
    previous: dict[str, str] = {}
    chain = steps(options.role, with_source=bool(source))
    for number, step in enumerate(chain, start=1):
        progress(f"\n[{number}/{len(chain)}] {step.heading}\n")
        messages = step_messages(step, options.role, facts, source, previous, redactor)
        text = _chat(client, model, messages, options, progress)
        sections[step.key] = text
        previous[step.heading] = text
    progress("\n")
    return model, sections


def assemble(run: Run, findings: list[Finding], sections: dict[str, str], *, model: str, host: str,
             role: str, redactor: Redactor, now: datetime | None = None) -> str:
    """The report: title, table of contents, executive summary first, then the chain's sections with the
    deterministic SLO and dashboard tables beside the model's text, and the offline findings as an appendix."""
    failures = slo_failure_rows(run)
    failures_table = table(
        ["Scenario", "Endpoint", "SLO", "Objective", "Observed", "Margin", "Failure pattern"],
        [[r.scenario, f"`{r.endpoint}`", r.check, r.objective, r.observed, r.margin, r.pattern] for r in failures],
    ) if failures else "Every SLO and expectation held."
    dashboard = table(["Scope", "Total scenarios", "Passed", "Failed"],
                      [[d.scope, d.total, d.passed, d.failed] for d in dashboard_rows(run)])
    ordered: list[tuple[str, str]] = [
        ("Executive Summary", sections.get("summary", "")),
        ("Overall Resilience Posture", sections.get("posture", "")),
        ("SLO Failures Deep Dive", "In-depth look at scenarios breaching one or more SLOs.\n\n" + failures_table
         + "\n\n" + sections.get("slo", "")),
        ("Dashboard Summary", dashboard),
        ("Potential Cause Hypotheses", sections.get("causes", "")),
        ("Recommendations", sections.get("recommendations", "")),
        ("Threats & Next Steps", sections.get("threats", "")),
        ("Appendix: Offline Findings", findings_markdown(findings)),
    ]
    out = [f"# {REPORT_TITLE}", "", f"**{'PASSED' if run.passed else 'FAILED'}** - {run.headline()}", "",
           "## Table of Contents", ""]
    for heading, body in ordered:
        out.append(f"- [{heading}](#{anchor(heading)})")
        for sub in _subheadings(body):
            out.append(f"  - [{sub}](#{anchor(sub)})")
    out.append("")
    for heading, body in ordered:
        out += [f"## {heading}", "", _demote(body).strip() or "_(no answer)_", ""]
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    out.append(f"Generated on {stamp} by model `{model}` ({role} view) on {host}; numbers from the run, "
               "narrative from the model: check it against the tables.")
    return redactor.source("\n".join(out).rstrip() + "\n")


def _demote(markdown: str) -> str:
    """The model's headings go below our section headings: its highest level becomes ###."""
    return demote_headings(markdown, top=3)


def _subheadings(markdown: str) -> list[str]:
    subs = []
    in_code = False
    for line in _demote(markdown).splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("### "):
            subs.append(line[4:].strip())
    return subs


def write_analysis(run: Run, output: Path, options: LlmOptions, *, progress: Progress = lambda _: None,
                   findings: list[Finding] | None = None, redactor: Redactor | None = None,
                   client: Any = None, notice: Progress | None = None) -> AnalysisOutcome:
    """Write the LLM report to `output`, or the offline report when the model cannot be used. Never raises
    for server problems (see AnalysisOutcome.problem); BadInput only for a bad role."""
    redactor = redactor or Redactor()
    findings = analyze(run) if findings is None else findings
    host = options.resolved_host()
    try:
        model, sections = run_chain(run, findings, options, progress, redactor, client=client, notice=notice)
    except UnknownModel as error:
        output.write_text(_offline(run, findings, redactor, str(error)), encoding="utf-8")
        return AnalysisOutcome(output, used_llm=False, problem=str(error), unknown_model=True)
    except OllamaUnavailable as error:
        output.write_text(_offline(run, findings, redactor, str(error)), encoding="utf-8")
        return AnalysisOutcome(output, used_llm=False, problem=str(error))
    output.write_text(assemble(run, findings, sections, model=model, host=host, role=options.role,
                               redactor=redactor), encoding="utf-8")
    return AnalysisOutcome(output, used_llm=True, sections=sections)


def _offline(run: Run, findings: list[Finding], redactor: Redactor, problem: str) -> str:
    note = f"> The LLM analysis was not produced ({problem}); this is the offline analysis.\n\n"
    report = render_markdown(run, findings, redactor=redactor)
    title, _, rest = report.partition("\n\n")
    return f"{title}\n\n{redactor.text(note)}{rest}"
