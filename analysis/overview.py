"""The run at a glance, shared by every renderer and the LLM prompts: posture, SLO failures, dashboard. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from lueur_net.analysis.callstats import (
    check_failed_mask,
    errors_by_class,
    failed_mask,
    in_window_mask,
    quantile,
    under_fault_mask,
    windows_of,
)
from lueur_net.analysis.findings import Finding
from lueur_net.analysis.model import KIND_SLO, Check, Item, Run
from lueur_net.analysis.units import format_ms

COUNTS_LEGEND = ("Tests: lueur's count (one per call of a single or repeat item, baseline included, and one per "
                 "load item; only a call that misses its expectation fails one). Checks: lueur-net's strict count "
                 "(every expectation and every SLO of every item, each over all of the item's calls); the exit "
                 "status follows the checks by default (`run --fail-on`).")


def item_counts_text(item: Item) -> str:
    """'lueur tests: 1 of 6 failed; checks: 1 of 2 failed' for one item's line."""
    checks_failed = sum(not check.passed for check in item.checks)
    text = f"checks: {checks_failed} of {len(item.checks)} failed"
    if item.tests_run is not None:
        text = f"lueur tests: {item.tests_failed or 0} of {item.tests_run} failed; " + text
    return text


@dataclass(frozen=True)
class FailureRow:
    """A row of the SLO failures table (expectations that failed are included, marked as such)."""

    scenario: str
    endpoint: str
    check: str  # the SLO's title, or the expectation
    objective: str
    observed: str
    margin: str
    pattern: str


@dataclass(frozen=True)
class DashboardRow:
    scope: str  # "All scenarios" or an endpoint
    total: int
    passed: int
    failed: int


def objective_text(check: Check) -> str:
    if check.kind == KIND_SLO and check.name == "latency":
        return f"p{check.objective:g} < {check.threshold:g} ms" if check.objective is not None else "-"
    if check.kind == KIND_SLO and check.name == "error":
        return f"< {check.threshold:g}% errors" if check.threshold is not None else "-"
    if check.name == "status" and check.threshold is not None:
        return f"status {check.threshold:g} on every call"
    if check.name == "response_time_under" and check.threshold is not None:
        return f"every call < {check.threshold:g} ms"
    return check.title


def observed_text(check: Check) -> str:
    if check.kind == KIND_SLO and check.name == "latency":
        return format_ms(check.observed)
    if check.kind == KIND_SLO and check.name == "error":
        share = f"{check.failed_calls}/{check.total_calls} " if check.total_calls else ""
        return f"{share}({check.observed:.1f}%)" if check.observed is not None else share or "n/a"
    if check.total_calls:
        return f"{check.failed_calls}/{check.total_calls} calls failed"
    return "failed" if not check.passed else "ok"


def margin_text(check: Check) -> str:
    margin = check.margin
    if margin is None or check.kind != KIND_SLO:
        return "-"
    return f"{margin:+.1f} pp" if check.name == "error" else f"{margin:+.1f} ms"


def failure_pattern(item: Item, check: Check) -> str:
    """Where the failing calls sit relative to the fault windows, in numbers."""
    calls = item.calls
    if calls.empty:
        return check.detail or "-"
    if check.window is not None:
        calls = calls[in_window_mask(calls, check.window)]
    bad, what = check_failed_mask(calls, check.name, check.threshold)
    count, total = int(bad.sum()), len(calls)
    if total == 0 or count == 0:
        return check.detail or "no failing call recorded"
    text = f"{count}/{total} ({100 * count / total:.1f}%) calls {what}"
    if item.windows:
        inside = bad & under_fault_mask(calls)
        names = windows_of(calls[inside])
        if names:
            where = ", ".join(f"{name} ({n})" for name, n in list(names.items())[:3])
            text += f"; {int(inside.sum())} inside fault windows: {where}"
        else:
            text += "; none inside a fault window"
    classes = errors_by_class(calls[bad])
    if classes:
        text += "; " + ", ".join(f"{label} {n}" for label, n in classes.items())
    if check.kind == KIND_SLO and check.name == "error":
        # Latency of every call, failed ones included (a timeout counts as the time waited).
        p95, p99 = quantile(calls["latency_ms"], 95), quantile(calls["latency_ms"], 99)
        if p95 is not None:
            text += f" (p95={format_ms(p95)}, p99={format_ms(p99)})"
    return text


def slo_failure_rows(run: Run) -> list[FailureRow]:
    rows = []
    for item in run.items:
        for check in item.checks:
            if check.passed:
                continue
            label = check.title if check.kind == KIND_SLO else f"expect: {check.title}"
            rows.append(FailureRow(
                scenario=item.scenario, endpoint=item.endpoint, check=label, objective=objective_text(check),
                observed=observed_text(check), margin=margin_text(check), pattern=failure_pattern(item, check),
            ))
    return rows


def dashboard_rows(run: Run) -> list[DashboardRow]:
    """Scenarios passed/failed overall and per endpoint (a scenario counts once per endpoint it calls)."""
    rows = [DashboardRow("All scenarios", len(run.scenarios), sum(s.passed for s in run.scenarios),
                         sum(not s.passed for s in run.scenarios))]
    endpoints: dict[str, list[bool]] = {}
    for scenario in run.scenarios:
        seen: dict[str, bool] = {}
        for item in scenario.items:
            seen[item.endpoint] = seen.get(item.endpoint, True) and item.passed
        for endpoint, passed in seen.items():
            endpoints.setdefault(endpoint, []).append(passed)
    for endpoint, outcomes in sorted(endpoints.items()):
        rows.append(DashboardRow(endpoint, len(outcomes), sum(outcomes), len(outcomes) - sum(outcomes)))
    return rows


def posture_text(run: Run, findings: list[Finding]) -> str:
    """A short deterministic paragraph: how many scenarios and checks held, and the headline problems."""
    total, failed = len(run.scenarios), sum(not s.passed for s in run.scenarios)
    checks_failed = run.checks_failed
    calls = len(run.records)
    errors = int(failed_mask(run.records).sum()) if calls else 0
    if total == 0:
        return "The results hold no scenario."
    if failed == 0:
        head = (f"All {total} scenarios held: {run.checks_run} expectations and SLOs passed over {calls} calls"
                f" ({errors} errors).")
    else:
        names = ", ".join(f"'{s.title}'" for s in run.scenarios if not s.passed)
        head = (f"{total - failed} of {total} scenarios held; {failed} failed ({names}): {checks_failed} of "
                f"{run.checks_run} expectations and SLOs failed over {calls} calls ({errors} errors).")
    worst = [finding for finding in findings if finding.severity in ("critical", "warning")]
    if worst:
        kinds = Counter(finding.kind for finding in worst)
        labels = {"slo-breach": "SLO breaches", "expectation": "failed expectations",
                  "tail-amplification": "tail amplification", "unbounded-wait": "calls without a timeout",
                  "error-cluster": "errors clustered in fault windows", "recovery": "slow recovery",
                  "bandwidth-sensitivity": "payload-size sensitivity"}
        listed = ", ".join(f"{labels.get(kind, kind)} ({n})" for kind, n in kinds.most_common())
        head += f" Main concerns: {listed}."
    return head
