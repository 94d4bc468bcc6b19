"""The offline analyzer's text for one section of the LLM report, used when the model's answer for that step was
not usable twice, timed out, or was never asked for (total budget spent, Ctrl-C). Pure and deterministic."""

from __future__ import annotations

from lueur_net.analysis.findings import Finding
from lueur_net.analysis.model import Run
from lueur_net.analysis.overview import posture_text, slo_failure_rows
from lueur_net.analysis.render_markdown import findings_markdown, table

PRIORITY = {"critical": "Critical", "warning": "Recommended", "info": "Nice-to-have"}


def marker(reason: str) -> str:
    """The line that opens a replaced section, so a reader never takes it for the model's words."""
    return f"> _Offline analyzer's section: the model's answer was not used ({reason})._"


def _advice(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    kept = []
    for finding in findings:
        if finding.recommendation and finding.recommendation not in seen:
            seen.add(finding.recommendation)
            kept.append(finding)
    return kept


def offline_section(key: str, run: Run, findings: list[Finding]) -> str:
    """The deterministic body for step `key` (posture, slo, causes, recommendations, threats, summary)."""
    if key == "posture":
        return posture_text(run, findings)
    if key == "slo":
        rows = slo_failure_rows(run)
        if not rows:
            return "Every SLO and expectation held."
        return "\n".join(f"- **{row.scenario}** ({row.check}): {row.pattern}." for row in rows)
    if key == "causes":
        return findings_markdown(findings)
    advice = _advice(findings)
    if key == "recommendations":
        if not advice:
            return "The offline analyzer has no recommendation for this run."
        lines = [f"{n}. **{PRIORITY.get(f.severity, 'Recommended')}** ({f.title}, '{f.scenario}'): "
                 f"{f.recommendation}" for n, f in enumerate(advice, start=1)]
        summary = table(["Recommendation", "Priority", "Evidence"],
                        [[f"{n}. {f.recommendation}", PRIORITY.get(f.severity, "Recommended"), f.summary]
                         for n, f in enumerate(advice, start=1)])
        return "\n".join(lines) + "\n\n**Summary & Prioritization**\n\n" + summary
    if key == "threats":
        if not advice:
            return "No recommendation, so no trade-off to watch."
        return table(["Recommendation", "What to watch", "Validate with"],
                     [[f.recommendation, f"'{f.scenario}' ({f.endpoint}): {f.title}",
                       f"re-run '{f.scenario}' with lueur-net"] for f in advice])
    # the executive summary
    lines = ["**Findings**", "", f"- {run.headline()}", f"- {posture_text(run, findings)}"]
    lines += [f"- [{f.severity}] {f.title} ('{f.scenario}'): {f.summary}" for f in findings[:3]]
    if advice:
        lines += ["", "**Recommendations**", ""] + [f"- {f.recommendation}" for f in advice[:3]]
    return "\n".join(lines)
