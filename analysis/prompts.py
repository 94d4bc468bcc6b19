"""The prompts of the LLM analysis, built from the run and the offline findings. Pure: no network.

The chain follows the reference report: posture -> SLO deep dive -> cause hypotheses -> recommendations (unified
diffs when source is given) -> threats and next steps -> executive summary (written last, shown first). Every
step sees the same facts block (numbers from the run and the offline findings, already redacted) plus the
sections written before it. Nothing here reads a secret: the run's URLs were redacted on load, and everything
is passed through the Redactor again before it is returned.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lueur_net.analysis.budget import Part
from lueur_net.analysis.callstats import call_stats, errors_by_class
from lueur_net.analysis.findings import Finding
from lueur_net.analysis.model import Run
from lueur_net.analysis.overview import dashboard_rows, posture_text, slo_failure_rows
from lueur_net.analysis.redact import Redactor
from lueur_net.analysis.units import format_ms

# Upper bounds; what is sent is then fitted to the model's context by budget.fit (which drops in a stated order).
MAX_SECTION_CHARS = 2_500  # a previous section longer than this is cut when handed to the next step
SOURCE_BUDGET_CHARS = 16_000  # source code sent with --source-dir, all files together
# A file larger than the whole budget could never be sent: skipped unread (generated, vendored, data).
SOURCE_FILE_MAX_BYTES = SOURCE_BUDGET_CHARS
SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".ts", ".go", ".java", ".kt", ".rb", ".rs", ".cs", ".php", ".ex", ".scala",
                   ".yaml", ".yml", ".toml", ".cfg", ".ini", ".conf")
# Folders never entered: dependencies, virtual environments, caches, build outputs. Any folder holding a
# pyvenv.cfg is a virtual environment whatever its name; names starting with "." are skipped too.
SKIPPED_DIRS = {".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", "dist", "build", "target",
                ".tox", ".mypy_cache", ".pytest_cache", "vendor", "site-packages", "dist-packages", ".eggs",
                "htmlcov", "coverage"}
LOCK_FILES = {"poetry.lock", "Pipfile.lock", "pdm.lock", "uv.lock", "pnpm-lock.yaml", "yarn.lock", "Cargo.lock",
              "Gemfile.lock", "composer.lock", "go.sum", "package-lock.json", "mix.lock"}
BINARY_SNIFF_BYTES = 8_192  # a NUL byte in the first 8 KiB, or text that is not UTF-8, means a binary file

SYSTEM = {
    "developer": (
        "You are a senior software engineer reviewing the results of network fault-injection tests "
        "(lueur-net) against an HTTP service. Be concrete and evidence-driven: cite the numbers you are given "
        "(percentiles, error rates, margins, fault windows) and never invent measurements. Focus on what the "
        "code can change: timeouts, retries, connection pools, blocking calls, payload sizes. Answer in "
        "Markdown, without a top-level title."
    ),
    "sre": (
        "You are a site reliability engineer reviewing the results of network fault-injection tests "
        "(lueur-net) against an HTTP service. Be concrete and evidence-driven: cite the numbers you are given "
        "(percentiles, error rates, margins, fault windows) and never invent measurements. Focus on operations: "
        "SLOs and error budgets, alerting, dashboards, timeouts and retries in proxies and clients, capacity, "
        "rollout safety and runbooks. Answer in Markdown, without a top-level title."
    ),
}


@dataclass(frozen=True)
class Step:
    key: str
    heading: str
    instruction: str


def steps(role: str, with_source: bool) -> list[Step]:
    """The chain, in the order it runs (the executive summary is written last)."""
    audience = "developers" if role == "developer" else "SREs and on-call engineers"
    fix = (
        "For each recommendation give a priority (Critical, Recommended, Nice-to-have), the rationale tied to "
        "the evidence, and the proposed change as a unified diff (```diff, with --- a/PATH and +++ b/PATH "
        "headers, paths relative to the source directory) against the source code provided. Only change code "
        "you were shown."
        if with_source else
        "For each recommendation give a priority (Critical, Recommended, Nice-to-have), the rationale tied to "
        "the evidence, and a short example of the change (configuration or code)."
    )
    return [
        Step("posture", "Overall Resilience Posture",
             f"Write one paragraph for {audience} on the overall resilience posture: which faults the service "
             "withstood and which broke it, citing the pass/fail counts and the worst numbers."),
        Step("slo", "SLO Failures Deep Dive",
             "For each failed SLO or expectation in the facts, explain the failure pattern: which fault window "
             "caused it, how far past the objective it went (margin), and what the latency and error numbers "
             "inside vs outside the windows show. If nothing failed, say which checks came closest."),
        Step("causes", "Potential Cause Hypotheses",
             "List the three to five most plausible root causes in the service, each with a 'Symptom mapping' "
             "(the evidence numbers it explains) and a 'Hypothesis'. Prefer causes a developer can verify."),
        Step("recommendations", "Recommendations",
             f"Propose three or four numbered recommendations that address the hypotheses. {fix} End with a "
             "'Summary & Prioritization' Markdown table: Recommendation | Priority | Complexity | Expected benefit."),
        Step("threats", "Threats & Next Steps",
             "For each recommendation, give the business risk or trade-off it introduces, how that risk could "
             "materialise, and how to monitor and validate it (metrics, alerts, follow-up fault-injection "
             "scenarios to run with lueur-net). Use a Markdown table, then a short list of next steps."),
        Step("summary", "Executive Summary",
             "Write the executive summary of the sections above for a busy reader: 'Findings' (3-5 bullets with "
             "numbers), 'Recommendations' (the prioritised fixes, one line each), 'Key Trade-offs & Threats' "
             "(bullets) and 'Next Steps & Validation' (bullets). At most 300 words."),
    ]


def fact_parts(run: Run, findings: list[Finding], redactor: Redactor) -> list[Part]:
    """The evidence every step sees, as budget parts: the headline, posture, failed checks and dashboard are kept
    whatever the context; per-scenario lines (failed scenarios first) and offline findings (most severe first)
    can be shortened or dropped (budget.DROP_ORDER)."""
    fixed = ["## Facts from the run (measured; use these numbers)", "", f"- {run.headline()}",
             f"- posture: {posture_text(run, findings)}"]
    failures = slo_failure_rows(run)
    fixed += ["", "### Failed SLOs and expectations", ""]
    if failures:
        for row in failures:
            fixed.append(f"- scenario '{row.scenario}', endpoint {row.endpoint}: {row.check}; objective "
                         f"{row.objective}; observed {row.observed}; margin {row.margin}; pattern: {row.pattern}")
    else:
        fixed.append("- none: every SLO and expectation held")
    fixed += ["", "### Dashboard (scenarios passed/failed)", ""]
    for dash in dashboard_rows(run):
        fixed.append(f"- {dash.scope}: {dash.total} scenarios, {dash.passed} passed, {dash.failed} failed")
    fixed += ["", "### Scenarios", ""]
    parts = [Part("facts", "facts", redactor.text("\n".join(fixed)))]
    scenario_parts: list[Part] = []
    for item in run.items:
        stats = call_stats(item.calls)
        faults = "; ".join(
            f"{w.name}: {w.describe()} from {w.start_s:g}s to "
            f"{'end' if w.end_s is None else f'{w.end_s:g}s'}"
            + (" of each call" if w.anchor == "call" else "")
            for w in item.windows) or "none"
        timeout = f"{item.timeout_ms:g} ms" if item.timeout_ms is not None else "none set"
        percentiles = ", ".join(f"p{p}={format_ms(stats.p(p))}" for p in (50, 95, 99))
        classes = ", ".join(f"{k} {v}" for k, v in errors_by_class(item.calls).items()) or "none"
        checks = "; ".join(f"{c.title}: {'pass' if c.passed else 'FAIL'}" for c in item.checks) or "none"
        head = f"- '{item.scenario}' {item.endpoint}"
        numbers = f"{stats.calls} calls, {stats.errors} errors ({stats.error_rate:.1f}%), {percentiles}"
        failed = any(not check.passed for check in item.checks)
        scenario_parts.append(Part(
            "scenario-failed" if failed else "scenario-passed", f"scenario '{item.scenario}'",
            redactor.text(f"{head} ({item.strategy}, client timeout {timeout}): {numbers}; errors by class: "
                          f"{classes}; faults: {faults}; checks: {checks}"),
            short=redactor.text(f"{head}: {numbers}; checks: {checks}")))
    # failed scenarios first, so they are listed before (and dropped after) the ones that held
    parts += sorted(scenario_parts, key=lambda part: part.kind != "scenario-failed")
    parts.append(Part("facts", "findings heading", "\n### Offline analyzer findings\n"))
    if findings:
        for number, finding in enumerate(findings, start=1):
            evidence = ", ".join(f"{key}={value}" for key, value in finding.evidence.items())
            head = f"- [{finding.severity}] {finding.title} ('{finding.scenario}'): {finding.summary}"
            parts.append(Part("finding", f"finding {number} ({finding.kind})",
                              redactor.text(f"{head} Evidence: {evidence}. Suggested: {finding.recommendation}"),
                              short=redactor.text(head)))
    else:
        parts.append(Part("facts", "no findings", "- none"))
    return parts


def facts_text(run: Run, findings: list[Finding], redactor: Redactor) -> str:
    """The whole facts block, nothing dropped (what the facts check compares the model's numbers with)."""
    return "\n".join(part.text for part in fact_parts(run, findings, redactor))


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the source directory
    text: str  # redacted


@dataclass
class SourceSelection:
    """What `--source-dir` sends: the files, and what was left out (counted, by reason)."""

    directory: Path
    files: list[SourceFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> files
    skipped_dirs: list[str] = field(default_factory=list)  # folders not entered (relative paths)
    budget: int = SOURCE_BUDGET_CHARS

    @property
    def chars(self) -> int:
        return sum(len(source.text) for source in self.files)

    def summary(self) -> str:
        """One line for the terminal: what was sent and what was skipped."""
        text = (f"source: {len(self.files)} files, {self.chars:,} characters sent (budget {self.budget:,}) "
                f"from {self.directory}")
        skipped = sum(self.skipped.values())
        parts = []
        if skipped:
            reasons = ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())
            parts.append(f"{skipped} files ({reasons})")
        if self.skipped_dirs:
            shown = ", ".join(self.skipped_dirs[:5]) + (", ..." if len(self.skipped_dirs) > 5 else "")
            parts.append(f"{len(self.skipped_dirs)} folders ({shown})")
        return text + ("; skipped " + " and ".join(parts) if parts else "; nothing skipped")


def _is_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(BINARY_SNIFF_BYTES)
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:  # a multi-byte character cut at the sniff's end is still text
        return error.start < len(head) - 3
    return False


def _skip_reason(path: Path) -> str | None:
    """Why a file is not application source text, or None when it may be sent."""
    if path.is_symlink():
        return "symlinks"  # could point outside the source directory
    if path.name.startswith("."):
        return "hidden files"  # .env and friends: never read
    if path.name in LOCK_FILES:
        return "lock files"
    if path.suffix not in SOURCE_SUFFIXES or path.name.endswith((".min.js", ".min.mjs")):
        return "not source"  # data, databases, images, docs, minified bundles
    try:
        if path.stat().st_size > SOURCE_FILE_MAX_BYTES:
            return f"over {SOURCE_FILE_MAX_BYTES:,} bytes"
        if _is_binary(path):
            return "binary"
    except OSError:
        return "unreadable"
    return None


def select_source(directory: Path, run: Run, redactor: Redactor,
                  budget: int = SOURCE_BUDGET_CHARS) -> SourceSelection:
    """The application's source text most related to the tested endpoints, redacted, within `budget` characters
    in total, and what was skipped.

    Only text files with a source or configuration suffix are read; dependency, virtual-environment, cache and
    build folders are not entered; hidden files (.env), lock files, binaries and files over SOURCE_FILE_MAX_BYTES
    are skipped. Relevance: files that mention a tested path or route first (more mentions first), then the rest
    by size; a file that no longer fits the budget is skipped ("over the budget").
    """
    selection = SourceSelection(directory=directory, budget=budget)
    paths = sorted({item.endpoint.split(" ", 1)[1] for item in run.items})
    needles = [path for path in paths if path != "/"] + ["@app.", "route", "router", "handler", "timeout"]
    candidates: list[tuple[int, int, Path, str]] = []
    for root, dirs, names in os.walk(directory):
        here = Path(root)
        kept = []
        for name in sorted(dirs):
            folder = here / name
            if name in SKIPPED_DIRS or name.startswith(".") or name.endswith(".egg-info") \
                    or (folder / "pyvenv.cfg").exists() or folder.is_symlink():
                selection.skipped_dirs.append(str(folder.relative_to(directory)))
            else:
                kept.append(name)
        dirs[:] = kept  # os.walk enters only these
        for name in sorted(names):
            path = here / name
            reason = _skip_reason(path)
            if reason is None:
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    reason = "binary"
                else:
                    score = sum(text.count(needle) for needle in needles)
                    candidates.append((-score, len(text), path, text))
            if reason is not None:
                selection.skipped[reason] += 1
    used = 0
    for _, _, path, raw in sorted(candidates, key=lambda entry: entry[:3]):
        text = redactor.source(raw)
        if used + len(text) > budget:
            selection.skipped["over the budget"] += 1
            continue
        selection.files.append(SourceFile(str(path.relative_to(directory)), text))
        used += len(text)
    return selection


def collect_source(directory: Path, run: Run, redactor: Redactor,
                   budget: int = SOURCE_BUDGET_CHARS) -> list[SourceFile]:
    """The files `select_source` chooses (without the account of what was skipped)."""
    return select_source(directory, run, redactor, budget).files


def source_text(files: list[SourceFile]) -> str:
    if not files:
        return ""
    parts = ["## Source code of the service (relevant files; secrets redacted)", ""]
    for source in files:
        parts += [f"### {source.path}", "", "```", source.text.rstrip(), "```", ""]
    return "\n".join(parts)


STRICT = ("Your previous answer could not be used ({reason}). Answer again, in English, in Markdown, in at most "
          "{words} words, using only the numbers in the facts above, without repeating any sentence.")
TABLE_STEPS = {"recommendations": "a Markdown table (a header row, a |---| row, then one row per recommendation)",
               "threats": "a Markdown table (a header row, a |---| row, then one row per recommendation)"}


def step_parts(step: Step, facts: list[Part], source: list[SourceFile], previous: dict[str, str],
               redactor: Redactor, strict_reason: str | None = None) -> list[Part]:
    """The user message of one step as budget parts: facts, source (cause and recommendation steps only; most
    relevant file first), the sections written so far (newest first, so the oldest is dropped first), the task."""
    parts = list(facts)
    if source and step.key in ("causes", "recommendations"):
        parts.append(Part("facts", "source heading", "\n## Source code of the service (relevant files; secrets "
                                                     "redacted)\n"))
        for file in source:
            parts.append(Part("source", f"source {file.path}",
                              f"### {file.path}\n\n```\n{file.text.rstrip()}\n```\n"))
    if previous:
        parts.append(Part("facts", "sections heading", "\n## Sections written so far\n"))
        for heading, text in reversed(list(previous.items())):
            cut = text if len(text) <= MAX_SECTION_CHARS else text[:MAX_SECTION_CHARS] + "\n[...]"
            first = cut.strip().split("\n\n", 1)[0]
            parts.append(Part("section", f"section '{heading}'", redactor.source(f"### {heading}\n\n{cut}\n"),
                              short=redactor.source(f"### {heading}\n\n{first}\n[...]\n")))
    task = f"\n## Your task: {step.heading}\n\n{step.instruction}"
    if strict_reason is not None:
        task += "\n\n" + STRICT.format(reason=strict_reason, words=STRICT_WORDS)
        if step.key in TABLE_STEPS:
            task += f" It must contain {TABLE_STEPS[step.key]}."
    parts.append(Part("task", "task", task))
    return parts


STRICT_WORDS = 250


def system_prompt(role: str, redactor: Redactor) -> str:
    return redactor.text(SYSTEM[role])


def messages_of(role: str, user: str, redactor: Redactor) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt(role, redactor)},
            {"role": "user", "content": redactor.source(user)}]
