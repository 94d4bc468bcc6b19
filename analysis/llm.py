"""The Ollama analysis: chained prompts to a local model, assembled into one Markdown report like the reference.

`write_analysis()` is what `lueur-net analyze` and `run --analyze` call. It always writes a report: the LLM's when
the server answers, else the offline one (render_markdown with the deterministic findings) with a note saying why.
It never raises for a server problem, so `run`'s exit status does not depend on Ollama; `analyze` turns the
outcome into its own exit status.

Talks to the server only through the `ollama` Python client: /api/tags (which models exist), /api/show (the
model's context length), /api/chat with streaming (each chunk goes to the progress callback as it arrives).

What a real local model needs (issue 16): every prompt fitted to `num_ctx` (set explicitly, capped at the model's
context length) with room for the answer (budget.py); per-step and total time limits; an answer that is empty,
looping, in another language or missing its table retried once with a stricter prompt, then replaced by the
offline analyzer's section (quality.py, fallback.py); the figures of the executive summary and SLO deep dive
checked against the results (facts.py); Ctrl-C writes what is done, then propagates.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from lueur_net.analysis.budget import Fitted, PromptTooLarge, estimate_tokens, fit, prompt_budget
from lueur_net.analysis.defaults import (
    DEFAULT_HOST,
    DEFAULT_MODEL,
    DEFAULT_NUM_CTX,
    DEFAULT_NUM_PREDICT,
    DEFAULT_TIMEOUT_S,
    MIN_NUM_CTX,
    MODEL_ENV,
    RETRY_REPEAT_PENALTY,
    ROLES,
)
from lueur_net.analysis.facts import FLAG, check_figures, known_values
from lueur_net.analysis.fallback import marker, offline_section
from lueur_net.analysis.findings import Finding, analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.overview import dashboard_rows, slo_failure_rows
from lueur_net.analysis.prompts import (
    TABLE_STEPS,
    Step,
    fact_parts,
    facts_text,
    messages_of,
    select_source,
    step_parts,
    steps,
    system_prompt,
)
from lueur_net.analysis.quality import unusable
from lueur_net.analysis.redact import Redactor
from lueur_net.analysis.render_markdown import anchor, demote_headings, findings_markdown, render_markdown, table
from lueur_net.errors import BadInput

if TYPE_CHECKING:
    import ollama

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


class StepTimeout(Exception):
    """A step's answer was still streaming at its deadline; `text` is what had arrived."""

    def __init__(self, text: str) -> None:
        super().__init__("step timed out")
        self.text = text


@dataclass(frozen=True)
class LlmOptions:
    model: str | None = DEFAULT_MODEL  # None: $LUEUR_NET_MODEL, else the first installed model that fits
    host: str | None = None  # None: $OLLAMA_HOST, else DEFAULT_HOST
    role: str = "developer"
    source_dir: Path | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S  # per step (one chat, or two with the retry)
    total_timeout_s: float | None = None  # the whole chain; None: no limit beyond the steps'
    temperature: float = 0.2
    num_ctx: int | None = None  # tokens asked of the model; None: DEFAULT_NUM_CTX; capped at the model's length
    num_predict: int = DEFAULT_NUM_PREDICT  # room kept for each answer, and its maximum length

    def resolved_host(self) -> str:
        return self.host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST


@dataclass
class StepReport:
    """What happened in one step: for the terminal, the outcome and the tests."""

    key: str
    heading: str
    prompt_tokens: int = 0  # our estimate of the user message (budget.estimate_tokens)
    budget_tokens: int = 0
    dropped: list[str] = field(default_factory=list)
    shrunk: list[str] = field(default_factory=list)
    attempts: int = 0
    rejected: list[str] = field(default_factory=list)  # why each rejected answer was not usable
    replaced: str | None = None  # why the offline section stands in its place, or None
    tokens: int = 0
    seconds: float = 0.0
    flagged: list[str] = field(default_factory=list)  # figures the facts check did not find in the results


@dataclass
class ChainResult:
    model: str
    num_ctx: int
    sections: dict[str, str]
    steps: list[StepReport]
    interrupted: bool = False


@dataclass
class AnalysisOutcome:
    path: Path
    used_llm: bool
    problem: str | None = None  # why the offline analysis was written instead
    unknown_model: bool = False  # or another problem of the command line: exit 2
    sections: dict[str, str] = field(default_factory=dict)
    steps: list[StepReport] = field(default_factory=list)
    model: str | None = None
    num_ctx: int | None = None
    interrupted: bool = False


def _is_loopback(host: str) -> bool:
    name = urlsplit(host if "://" in host else f"http://{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def make_client(options: LlmOptions) -> ollama.Client:
    import ollama  # its models take ~0.13 s to import: only once a model is asked for (run's reports never are)

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


def _listed(client: ollama.Client, host: str) -> list[Any]:
    """The server's /api/tags entries that name a model, in its order."""
    import ollama

    try:
        listing = client.list()
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise _server_problem(host, error) from None
    except ollama.ResponseError as error:
        raise OllamaUnavailable(f"the Ollama server at {host} refused to list models: {error.error}") from None
    return [model for model in listing.models if model.model]


def available_models(client: ollama.Client, host: str) -> list[str]:
    return [str(model.model) for model in _listed(client, host)]


def _matches(wanted: str, available: list[str]) -> str | None:
    """'llama3.1' matches 'llama3.1:latest' (Ollama's default tag)."""
    for name in available:
        if name == wanted or (":" not in wanted and name == f"{wanted}:latest"):
            return name
    return None


@dataclass(frozen=True)
class ModelInfo:
    """One installed model as /api/tags and /api/show describe it."""

    name: str
    size: int | None = None
    parameter_size: str = ""
    quantization: str = ""
    context_length: int | None = None  # None: /api/show did not say
    capabilities: tuple[str, ...] = ()

    def fits(self) -> str | None:
        """Why this model cannot write the analysis, or None."""
        if self.capabilities and "completion" not in self.capabilities:
            return "not a completion model (" + ", ".join(self.capabilities) + ")"
        if self.context_length is not None and self.context_length < MIN_NUM_CTX:
            return f"context {self.context_length} tokens < {MIN_NUM_CTX}"
        return None


def context_length(model_info: Any) -> int | None:
    """The context length in /api/show's model_info: '<architecture>.context_length'."""
    if not model_info:
        return None
    info = dict(model_info)
    arch = info.get("general.architecture")
    value = info.get(f"{arch}.context_length") if arch else None
    if value is None:
        value = next((v for k, v in info.items() if k.endswith(".context_length")), None)
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _show(client: ollama.Client, name: str, models: list[str], host: str, wanted: str) -> Any:
    import ollama

    try:
        return client.show(name)
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise UnknownModel(wanted, models) from None
        raise OllamaUnavailable(f"the Ollama server at {host} cannot show model '{name}': {error.error}") from None
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise _server_problem(host, error) from None


def list_models(client: ollama.Client, host: str) -> list[ModelInfo]:
    """Every model the server has, in its order (Ollama lists the most recently changed first), with the context
    length and capabilities of each (one /api/show per model)."""
    listed = _listed(client, host)
    names = [str(model.model) for model in listed]
    out = []
    for model in listed:
        shown = _show(client, str(model.model), names, host, str(model.model))
        details = model.details
        out.append(ModelInfo(str(model.model), model.size,
                             str(getattr(details, "parameter_size", "") or ""),
                             str(getattr(details, "quantization_level", "") or ""),
                             context_length(shown.modelinfo), tuple(shown.capabilities or ())))
    return out


def check_model(client: ollama.Client, options: LlmOptions) -> ModelInfo:
    """The model to use: --model, else $LUEUR_NET_MODEL, else the first installed model that fits. UnknownModel
    (with the list) when the named one is not there or none fits."""
    host = options.resolved_host()
    wanted = options.model or os.environ.get(MODEL_ENV) or None
    models = available_models(client, host)
    if wanted is None:
        for info in list_models(client, host):
            if info.fits() is None:
                return info
        raise UnknownModel(f"(first that fits: a completion model with >= {MIN_NUM_CTX} tokens of context)",
                           models)
    name = _matches(wanted, models)
    if name is None:
        raise UnknownModel(wanted, models)
    shown = _show(client, name, models, host, wanted)
    return ModelInfo(name, context_length=context_length(shown.modelinfo),
                     capabilities=tuple(shown.capabilities or ()))


def resolve_num_ctx(options: LlmOptions, model_context: int | None) -> tuple[int, str | None]:
    """The num_ctx every chat sends, and a note when the model's context length capped what was asked."""
    asked = options.num_ctx or DEFAULT_NUM_CTX
    if model_context is not None and asked > model_context:
        return model_context, f"num_ctx {asked} capped at the model's context length {model_context}"
    return asked, None


@dataclass
class _Answer:
    text: str
    tokens: int
    seconds: float
    timed_out: bool = False


def _chat(client: ollama.Client, model: str, messages: list[dict[str, str]], options: LlmOptions,
          progress: Progress, *, num_ctx: int, num_predict: int, temperature: float, deadline: float,
          strict: bool = False) -> _Answer:
    """One streamed chat. Stops at `deadline` (monotonic) with what had arrived (timed_out); a server that sends
    nothing for the client's read timeout is a server problem (OllamaUnavailable)."""
    import ollama

    host = options.resolved_host()
    pieces: list[str] = []
    began = time.monotonic()
    tokens = 0
    eval_count = eval_ns = None
    stream = None
    try:
        settings: dict[str, Any] = {"temperature": temperature, "num_ctx": num_ctx, "num_predict": num_predict}
        if strict:
            settings["repeat_penalty"] = RETRY_REPEAT_PENALTY
        stream = client.chat(model=model, messages=messages, stream=True, options=settings)
        for part in stream:
            text = part.message.content or ""
            if text:
                pieces.append(text)
                tokens += 1  # Ollama streams about one token per chunk
                progress(text)
            if part.done:
                eval_count, eval_ns = part.eval_count, part.eval_duration
            if time.monotonic() > deadline:
                stream.close()  # closes the response: the server stops generating
                return _Answer("".join(pieces).strip(), tokens, time.monotonic() - began, timed_out=True)
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise UnknownModel(model, []) from None
        raise OllamaUnavailable(f"the Ollama server at {host} failed: {error.error}") from None
    except (ConnectionError, httpx.HTTPError, OSError) as error:
        raise _server_problem(host, error) from None
    # the server's own count and generation time when it gives them (the final chunk), else ours
    if eval_count and eval_ns:
        return _Answer("".join(pieces).strip(), int(eval_count), eval_ns / 1e9)
    return _Answer("".join(pieces).strip(), tokens, time.monotonic() - began)


def _rate(answer: _Answer) -> str:
    rate = answer.tokens / answer.seconds if answer.seconds > 0 else 0.0
    return f"{answer.tokens} tokens in {answer.seconds:.1f} s ({rate:.1f} tokens/s)"


def _fit_step(step: Step, facts: list[Any], source: list[Any], previous: dict[str, str], redactor: Redactor,
              role: str, num_ctx: int, num_predict: int, strict: str | None) -> Fitted:
    parts = step_parts(step, facts, source, previous, redactor, strict_reason=strict)
    fixed = estimate_tokens(system_prompt(role, redactor))
    return fit(parts, prompt_budget(num_ctx, num_predict, fixed))


def run_chain(run: Run, findings: list[Finding], options: LlmOptions, progress: Progress,
              redactor: Redactor, client: ollama.Client | None = None,
              notice: Progress | None = None) -> ChainResult:
    """Check the model, then run every step; each section is the model's usable answer or the offline analyzer's,
    marked. `notice` gets the lines a person must see even when the model's stream is hidden (what --source-dir
    sends and skips, what a prompt dropped, each step's speed). KeyboardInterrupt is caught once to finish the
    result with what is done (ChainResult.interrupted); write_analysis then writes it and re-raises."""
    if options.role not in ROLES:
        raise BadInput(f"unknown role '{options.role}' (choose from {', '.join(ROLES)})")
    say = notice or progress
    client = client or make_client(options)
    info = check_model(client, options)
    num_ctx, capped = resolve_num_ctx(options, info.context_length)
    num_predict = max(64, min(options.num_predict, num_ctx // 4))  # an answer never takes most of the context
    say(f"[model {info.name}: context {info.context_length or 'not reported'}, num_ctx {num_ctx}, "
        f"answers up to {num_predict} tokens" + (f"; {capped}" if capped else "") + "]\n")
    facts = fact_parts(run, findings, redactor)
    source = []
    if options.source_dir is not None:
        selection = select_source(options.source_dir, run, redactor)
        say(f"[{selection.summary()}]\n")
        source = selection.files
    began = time.monotonic()
    total_deadline = began + options.total_timeout_s if options.total_timeout_s else float("inf")
    chain = steps(options.role, with_source=bool(source))
    sections: dict[str, str] = {}
    previous: dict[str, str] = {}
    reports: list[StepReport] = []
    interrupted = False
    for number, step in enumerate(chain, start=1):
        report = StepReport(step.key, step.heading)
        reports.append(report)
        if interrupted or time.monotonic() >= total_deadline:
            report.replaced = ("interrupted (Ctrl-C)" if interrupted else
                               f"the total time budget (--timeout {options.total_timeout_s:g} s) was spent")
        else:
            try:
                text = _run_step(client, info.name, step, number, len(chain), report, options, facts, source,
                                 previous, redactor, progress, say, num_ctx, num_predict, total_deadline)
                if text is not None:
                    sections[step.key] = text
            except KeyboardInterrupt:
                interrupted = True
                report.replaced = "interrupted (Ctrl-C)"
                say(f"\n[{number}/{len(chain)}] interrupted: writing what is done\n")
        if report.replaced is not None:
            sections[step.key] = marker(report.replaced) + "\n\n" + offline_section(step.key, run, findings)
            say(f"[{number}/{len(chain)}] {step.heading}: offline analyzer's section ({report.replaced})\n")
        previous[step.heading] = sections[step.key]
    progress("\n")
    _check_facts(run, findings, redactor, sections, reports)
    return ChainResult(info.name, num_ctx, sections, reports, interrupted)


def _run_step(client: ollama.Client, model: str, step: Step, number: int, count: int, report: StepReport,
              options: LlmOptions, facts: list[Any], source: list[Any], previous: dict[str, str],
              redactor: Redactor, progress: Progress, say: Progress, num_ctx: int, num_predict: int,
              total_deadline: float) -> str | None:
    """One step: up to two chats (the second stricter, at temperature 0). Returns the usable answer, or None
    with report.replaced saying why neither was usable."""
    deadline = min(time.monotonic() + options.timeout_s, total_deadline)
    strict: str | None = None
    for attempt in (1, 2):
        fitted = _fit_step(step, facts, source, previous, redactor, options.role, num_ctx, num_predict, strict)
        report.prompt_tokens, report.budget_tokens = fitted.prompt_tokens, fitted.budget_tokens
        report.dropped, report.shrunk = fitted.dropped, fitted.shrunk
        label = f"[{number}/{count}] {step.heading}" + (" (retry, stricter)" if attempt == 2 else "")
        progress(f"\n{label}\n")
        if notice_needed := fitted.summary():
            say(f"[{number}/{count}] prompt ~{fitted.prompt_tokens} of {fitted.budget_tokens} tokens: "
                f"{notice_needed}\n")
        messages = messages_of(options.role, fitted.text(), redactor)
        answer = _chat(client, model, messages, options, progress, num_ctx=num_ctx, num_predict=num_predict,
                       temperature=options.temperature if attempt == 1 else 0.0, deadline=deadline,
                       strict=attempt == 2)
        report.attempts = attempt
        report.tokens += answer.tokens
        report.seconds += answer.seconds
        say(f"\n[{number}/{count}] {_rate(answer)}" + (" - step timeout reached" if answer.timed_out else "")
            + "\n")
        reason = unusable(answer.text, wants_table=step.key in TABLE_STEPS)
        if reason is None:
            return answer.text
        report.rejected.append(reason)
        if answer.timed_out or time.monotonic() >= deadline:  # no time left for a retry
            spent = (f"the total time budget (--timeout {options.total_timeout_s:g} s) was spent"
                     if time.monotonic() >= total_deadline else f"step timeout {options.timeout_s:g} s reached")
            report.replaced = f"{reason}; {spent}"
            return None
        strict = reason
    report.replaced = f"{report.rejected[0]}, then {report.rejected[1]} on the stricter retry"
    return None


FACT_CHECKED = ("summary", "slo")  # the sections a reader quotes


def _check_facts(run: Run, findings: list[Finding], redactor: Redactor, sections: dict[str, str],
                 reports: list[StepReport]) -> None:
    """Flag the model's figures that appear nowhere in the results (the offline sections are from the data)."""
    known = known_values(facts_text(run, findings, redactor))
    for report in reports:
        if report.key in FACT_CHECKED and report.replaced is None and report.key in sections:
            checked = check_figures(sections[report.key], known)
            sections[report.key] = checked.text
            report.flagged = checked.unmatched
def assemble(run: Run, findings: list[Finding], sections: dict[str, str], *, model: str, host: str,
             role: str, redactor: Redactor, now: datetime | None = None, num_ctx: int | None = None) -> str:
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
    context = f", num_ctx {num_ctx}" if num_ctx else ""
    out.append(f"Generated on {stamp} by model `{model}` ({role} view{context}) on {host}; numbers from the run, "
               "narrative from the model: check it against the tables. Figures marked "
               f"{FLAG} appear nowhere in the results.")
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
    for server problems (see AnalysisOutcome.problem); BadInput only for a bad role. On Ctrl-C the report is
    written with the sections done (the others are the offline analyzer's, marked) and KeyboardInterrupt is
    raised again."""
    redactor = redactor or Redactor()
    findings = analyze(run) if findings is None else findings
    host = options.resolved_host()
    try:
        result = run_chain(run, findings, options, progress, redactor, client=client, notice=notice)
    except UnknownModel as error:
        output.write_text(_offline(run, findings, redactor, str(error)), encoding="utf-8")
        return AnalysisOutcome(output, used_llm=False, problem=str(error), unknown_model=True)
    except PromptTooLarge as error:
        output.write_text(_offline(run, findings, redactor, str(error)), encoding="utf-8")
        return AnalysisOutcome(output, used_llm=False, problem=str(error), unknown_model=True)
    except OllamaUnavailable as error:
        output.write_text(_offline(run, findings, redactor, str(error)), encoding="utf-8")
        return AnalysisOutcome(output, used_llm=False, problem=str(error))
    output.write_text(assemble(run, findings, result.sections, model=result.model, host=host, role=options.role,
                               redactor=redactor, num_ctx=result.num_ctx), encoding="utf-8")
    outcome = AnalysisOutcome(output, used_llm=True, sections=result.sections, steps=result.steps,
                              model=result.model, num_ctx=result.num_ctx, interrupted=result.interrupted)
    if result.interrupted:
        raise KeyboardInterrupt
    return outcome


def _offline(run: Run, findings: list[Finding], redactor: Redactor, problem: str) -> str:
    note = f"> The LLM analysis was not produced ({problem}); this is the offline analysis.\n\n"
    report = render_markdown(run, findings, redactor=redactor)
    title, _, rest = report.partition("\n\n")
    return f"{title}\n\n{redactor.text(note)}{rest}"
