"""The offline analyzer: deterministic findings from the run's data, each with evidence numbers and advice.

No network, no randomness: the same results give the same findings in the same order. Rules:
- slo-breach / expectation: which faults were active when an SLO or expectation failed, and by how much;
- tail-amplification: p99/p50 under fault vs baseline (and the p99 itself);
- unbounded-wait: calls that waited past a sensible bound because the scenario set no client timeout;
- error-cluster: errors concentrated inside fault windows;
- recovery: how long after a window ended calls were back to baseline;
- bandwidth-sensitivity: latency against payload size under a bandwidth fault;
- no-effect: a fault window whose calls look like the baseline (the fault likely missed the traffic);
- untouched-fault: a fault that touched no packet at all (its windows met no call, or its counters stayed 0);
- driver-lag: the load driver sent calls late (send lag p99 above DRIVER_LAG_BOUND_MS): that much of their
  latency is the driver's, not the service's;
- driver-stalled: the load driver stopped (SIGSTOP, a debugger, a frozen machine) and recorded the calls due
  meanwhile as missed (error_class "missed": not sent, see docs/driver.md): how many and for how long.
The findings are the report's analysis section when no LLM is used, and the evidence handed to the LLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lueur_net.analysis.callstats import (
    call_stats,
    check_failed_mask,
    failed_mask,
    in_window_mask,
    quantile,
    under_fault_mask,
    windows_of,
)
from lueur_net.analysis.model import KIND_SLO, Check, Item, Run, Window
from lueur_net.records.call import ERROR_MISSED
from lueur_net.analysis.stats import DRIVER_LAG_BOUND_MS, FaultSpan, driver_lag, untouched_faults
from lueur_net.analysis.units import format_ms

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
MISSED = ERROR_MISSED  # a call due while the driver was stalled: recorded, not sent

SENSIBLE_WAIT_MS = 2_000.0  # a call without a client timeout that waits longer than this waited too long
MIN_CALLS_FOR_TAIL = 5  # fewer calls per phase than this: no tail-amplification finding
TAIL_RATIO_FACTOR = 2.0  # fault p99/p50 this many times the baseline's is worth a finding
CLUSTER_SHARE = 0.8  # this share of an item's errors inside fault windows makes a cluster
RECOVERY_SLACK_MS = 20.0  # "back to baseline": latency within baseline p95 x 2 + this, no error
RECOVERY_REPORT_S = 0.1  # recoveries shorter than this are not findings
MIN_CALLS_FOR_EFFECT = 3  # a window with fewer calls is not judged for "no effect"
MIN_BASELINE_FOR_EFFECT = 3  # nor an item with fewer calls outside every window
DRIVER_LAG_WARNING_FACTOR = 4.0  # send lag p99 above this many times DRIVER_LAG_BOUND_MS: a warning, else info
RECOVERY_RUN = 5  # "back": this many consecutive normal calls (one noisy call later does not undo it)


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # critical, warning, info
    scenario: str
    endpoint: str
    title: str
    evidence: dict[str, float | int | str] = field(default_factory=dict)
    summary: str = ""  # one or two sentences carrying the evidence numbers
    recommendation: str = ""


def analyze(run: Run) -> list[Finding]:
    """Every finding of the run, most severe first, then in scenario order."""
    findings: list[Finding] = []
    for item in run.items:
        findings += _untouched(item)
        findings += _driver_stalled(item)
        findings += _driver_lag(item)
        findings += _check_findings(item)
        findings += _tail_amplification(item)
        findings += _unbounded_waits(item)
        findings += _error_clusters(item)
        findings += _recoveries(item)
        findings += _bandwidth_sensitivity(item)
        findings += _no_effect(item)
    return sorted(findings, key=lambda finding: SEVERITY_ORDER.get(finding.severity, 9))


def _fmt(value: float | None, unit: str = "ms") -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return format_ms(value)
    if unit == "%":
        return f"{value:.1f}%"
    return f"{value:g}{unit}"


def _faults_text(windows: list[Window]) -> str:
    return "; ".join(dict.fromkeys(window.describe() for window in windows)) or "no fault"


def _advice_for(windows: list[Window], check: Check) -> str:
    types = {window.fault_type for window in windows}
    if check.name == "error" or check.name == "status":
        if types & {"blackhole", "packetloss"}:
            return ("Bound every call with a client timeout shorter than the SLO budget, retry idempotent calls "
                    "once or twice with jittered back-off, and shed load (circuit breaker) while the path is dark.")
        if "httperror" in types:
            return ("Retry idempotent requests on 5xx with back-off and a retry budget; make the caller degrade "
                    "gracefully instead of surfacing the upstream error.")
        return "Retry transient failures with back-off and a budget; alert on the error rate per endpoint."
    if types & {"bandwidth"}:
        return ("Shrink responses (compression, pagination, field selection) and size timeouts to the payload; "
                "stream large bodies.")
    return ("Give the endpoint a latency budget: client timeouts below the SLO threshold, hedged or retried reads "
            "for idempotent calls, and no blocking work on the request path (thread-pool or lock waits amplify "
            "network delay).")


def _check_findings(item: Item) -> list[Finding]:
    findings = []
    for check in item.checks:
        if check.passed:
            continue
        windows = _windows_behind(item, check)
        evidence: dict[str, float | int | str] = {
            "check": check.title,
            "failed_calls": check.failed_calls,
            "total_calls": check.total_calls,
            "faults": _faults_text(windows),
        }
        if check.kind == KIND_SLO:
            if check.observed is not None:
                evidence["observed"] = round(check.observed, 2)
            if check.threshold is not None:
                evidence["threshold"] = check.threshold
            if check.margin is not None:
                evidence["margin"] = round(check.margin, 2)
        else:  # an expectation's `observed` is the share of calls that missed it
            if check.observed is not None:
                evidence["failed_pct"] = round(check.observed, 1)
            if check.threshold is not None:
                evidence["expected_status" if check.name == "status" else "limit_ms"] = check.threshold
        share = f"{check.failed_calls}/{check.total_calls}" if check.total_calls else "some"
        late = _late_failing_calls(item, check)
        if late:
            evidence["failed_calls_sent_late"] = late
        late_text = (f" {late} of the failing calls left more than {DRIVER_LAG_BOUND_MS:g} ms late (the driver's "
                     f"lag, see driver-lag), so part of their time is not the service's." if late else "")
        if check.kind == KIND_SLO:
            unit = "ms" if check.name == "latency" else "%"
            how_much = (
                f"observed {_fmt(check.observed, unit)} against {_fmt(check.threshold, unit)}"
                f" (margin {_signed(check.margin, unit)})"
            )
            summary = (f"SLO '{check.title}' failed under {_faults_text(windows)}: {how_much}; "
                       f"{share} calls missed it.{late_text}")
            kind, severity = "slo-breach", "critical"
        else:
            summary = (f"Expectation '{check.title}' failed for {share} calls under {_faults_text(windows)}"
                       + (f": {check.detail}" if check.detail else ".") + late_text)
            kind, severity = "expectation", "warning"
        findings.append(Finding(
            kind=kind, severity=severity, scenario=item.scenario, endpoint=item.endpoint,
            title=f"{check.title} breached by {item.endpoint}", evidence=evidence, summary=summary,
            recommendation=_advice_for(windows, check),
        ))
    return findings


def _late_failing_calls(item: Item, check: Check) -> int:
    """How many of the check's failing calls the driver sent more than DRIVER_LAG_BOUND_MS late."""
    calls = item.calls
    if calls.empty or "sent_s" not in calls:
        return 0
    if check.window is not None:
        calls = calls[in_window_mask(calls, check.window)]
    bad, _ = check_failed_mask(calls, check.name, check.threshold)
    lag_ms = (calls["sent_s"] - calls["intended_s"]) * 1000.0
    return int((bad & (lag_ms > DRIVER_LAG_BOUND_MS)).sum())


def _untouched(item: Item) -> list[Finding]:
    """Faults that touched no packet during the item (lueur_net.analysis.stats.untouched_faults): the experiment
    did not happen for them, whatever the verdict says."""
    spans = [FaultSpan(w.name, w.fault_type, w.start_s, w.end_s, w.anchor, w.counters, w.backend)
             for w in item.windows]
    findings = []
    for entry in untouched_faults(spans, item.calls):
        window = next(w for w in item.windows if w.name == entry["fault"])
        evidence: dict[str, float | int | str] = {"fault": entry["fault"], "type": entry["type"],
                                                  "source": entry["source"], "reason": entry["reason"],
                                                  "calls": len(item.calls)}
        if entry.get("counter"):
            evidence["counter"] = f"{entry['counter']}=0"
        if entry["source"] == "windows":
            advice = ("Place the period where the calls are: for a single or repeat call, periods count from the "
                      "call's send (a few ms for a fast endpoint); use a load item, or a period starting at 0, to "
                      "fault the traffic you mean to test.")
        else:
            advice = ("Check that the traffic takes the path the fault watches: the scenario's side/direction and "
                      "scope, and for DNS faults whether the name is resolved by DNS at all (a hosts file answers "
                      "without a packet); `lueur-net run --dry-run` prints the plan.")
        findings.append(Finding(
            kind="untouched-fault", severity="warning", scenario=item.scenario, endpoint=item.endpoint,
            title=f"{entry['fault']} ({window.describe()}) touched no packet",
            evidence=evidence,
            summary=f"{entry['fault']} ({window.describe()}) touched no packet: {entry['reason']}. The item's "
                    f"verdict says nothing about this fault.",
            recommendation=advice,
        ))
    return findings


def _driver_lag(item: Item) -> list[Finding]:
    """The driver, not the service, was late: report its lag so no one reads it as service latency."""
    calls = item.calls
    if not calls.empty and "error_class" in calls:
        calls = calls[calls["error_class"] != MISSED]  # never sent: their lateness is the stall's finding
    lag = driver_lag(calls)
    if lag is None:
        return []
    # A few ms over the bound on a busy machine is worth knowing (info); tens of ms rewrite the latencies (warning).
    severity = "warning" if lag["p99_ms"] > DRIVER_LAG_WARNING_FACTOR * lag["bound_ms"] else "info"
    return [Finding(
        kind="driver-lag", severity=severity, scenario=item.scenario, endpoint=item.endpoint,
        title=f"The load driver lagged on {item.endpoint}",
        evidence={"calls": lag["calls"], "late_calls": lag["late_calls"], "send_lag_p50_ms": round(lag["p50_ms"], 2),
                  "send_lag_p99_ms": round(lag["p99_ms"], 2), "send_lag_max_ms": round(lag["max_ms"], 2),
                  "worst_at_s": round(lag["worst_intended_s"], 3), "bound_ms": lag["bound_ms"]},
        summary=(f"The driver sent {lag['late_calls']} of {lag['calls']} calls more than {lag['bound_ms']:g} ms after "
                 f"their intended time (send lag p99 {_fmt(lag['p99_ms'])}, max {_fmt(lag['max_ms'])} at "
                 f"{lag['worst_intended_s']:.2f} s): their latency counts from the intended time, so it includes "
                 f"the driver's delay, not only the service's."),
        recommendation=("Read this item's latency with the lag in mind; rerun on a quieter machine, with fewer "
                        "clients or rps, or with more driver workers (`docs/driver.md`, capacity) to measure the "
                        "service alone."),
    )]


def _driver_stalled(item: Item) -> list[Finding]:
    """The driver stalled and skipped calls (recorded as missed): the item measured less than it planned."""
    calls = item.calls
    if calls.empty or "error_class" not in calls:
        return []
    missed = calls[calls["error_class"] == MISSED]
    if missed.empty:
        return []
    late_s = pd.to_numeric(missed["sent_s"], errors="coerce") - pd.to_numeric(missed["intended_s"], errors="coerce")
    stalled_s = float(late_s.max())
    first_s = float(pd.to_numeric(missed["intended_s"], errors="coerce").min())
    return [Finding(
        kind="driver-stalled", severity="warning", scenario=item.scenario, endpoint=item.endpoint,
        title=f"The load driver stalled on {item.endpoint}",
        evidence={"missed_calls": int(len(missed)), "calls": int(len(calls)), "stalled_s": round(stalled_s, 2),
                  "from_s": round(first_s, 3)},
        summary=(f"The driver stopped for about {stalled_s:.1f} s from {first_s:.2f} s into the item: the "
                 f"{len(missed)} of {len(calls)} calls due meanwhile were recorded as missed (not sent, counted as "
                 "failed calls) instead of being fired all at once when it resumed."),
        recommendation=("Something froze the run (SIGSTOP, a debugger, a VM pause, memory pressure): rerun this "
                        "item; its error rate and percentiles count the missed calls as failures."),
    )]


def _windows_behind(item: Item, check: Check) -> list[Window]:
    """The windows during which the check's failing calls were sent (all of the item's when none was)."""
    calls = item.calls
    if check.window is not None and not calls.empty:
        calls = calls[in_window_mask(calls, check.window)]
    if not calls.empty:
        bad, _ = check_failed_mask(calls, check.name, check.threshold)
        names = windows_of(calls[bad])
        if names:
            return [window for window in item.windows if window.name in names]
    return [window for window in item.windows if check.window in (None, window.name)]


def _signed(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value:+.1f} pp"
    return f"{value:+.1f} ms"


def _tail_amplification(item: Item) -> list[Finding]:
    calls = item.calls
    if calls.empty:
        return []
    fault_mask = under_fault_mask(calls)
    baseline, faulted = call_stats(calls[~fault_mask]), call_stats(calls[fault_mask])
    answered_base = baseline.calls - baseline.errors
    answered_fault = faulted.calls - faulted.errors
    if answered_base < 1 or answered_fault < 1:
        return []
    b50, b99, f50, f99 = baseline.p(50), baseline.p(99), faulted.p(50), faulted.p(99)
    if not (b50 and b99 and f50 and f99):
        return []
    base_ratio, fault_ratio = b99 / b50, f99 / f50
    evidence: dict[str, float | int | str] = {
        "baseline_calls": baseline.calls, "fault_calls": faulted.calls,
        "baseline_p50_ms": round(b50, 2), "baseline_p99_ms": round(b99, 2),
        "fault_p50_ms": round(f50, 2), "fault_p99_ms": round(f99, 2),
        "baseline_p99_p50": round(base_ratio, 2), "fault_p99_p50": round(fault_ratio, 2),
        "p99_uplift": round(f99 / b99, 2),
        "faults": _faults_text(item.windows),
    }
    enough = answered_base >= MIN_CALLS_FOR_TAIL and answered_fault >= MIN_CALLS_FOR_TAIL
    if enough and fault_ratio >= TAIL_RATIO_FACTOR * base_ratio:
        summary = (f"Under {_faults_text(item.windows)} the tail spreads: p99/p50 = {fault_ratio:.2f} vs "
                   f"{base_ratio:.2f} at baseline (p99 {_fmt(f99)} vs {_fmt(b99)}).")
        severity = "warning"
        title = f"Tail amplification on {item.endpoint}"
    elif f99 >= 3 * b99 and f99 - b99 >= 50:
        summary = (f"Under {_faults_text(item.windows)} p99 rose {f99 / b99:.1f}x to {_fmt(f99)} "
                   f"(baseline {_fmt(b99)}); p50 {_fmt(f50)} vs {_fmt(b50)}.")
        severity = "info"
        title = f"Latency uplift on {item.endpoint}"
    else:
        return []
    return [Finding(
        kind="tail-amplification", severity=severity, scenario=item.scenario, endpoint=item.endpoint,
        title=title, evidence=evidence, summary=summary,
        recommendation=("Watch p99, not the mean, for this endpoint; budget timeouts from the faulted p99 and "
                        "consider hedged requests for idempotent reads so one slow path does not set the tail."),
    )]


def _unbounded_waits(item: Item) -> list[Finding]:
    if item.timeout_ms is not None or item.calls.empty:
        return []
    latency = item.calls["latency_ms"]
    long_calls = item.calls[latency > SENSIBLE_WAIT_MS]
    if long_calls.empty:
        return []
    longest = float(long_calls["latency_ms"].max())
    baseline = call_stats(item.calls[~under_fault_mask(item.calls)])
    base_p99 = baseline.p(99)
    suggested = max(250.0, round((base_p99 or 100.0) * 5 / 50) * 50)
    return [Finding(
        kind="unbounded-wait", severity="warning", scenario=item.scenario, endpoint=item.endpoint,
        title=f"Calls to {item.endpoint} waited without a timeout",
        evidence={"long_calls": len(long_calls), "total_calls": len(item.calls), "longest_ms": round(longest, 1),
                  "bound_ms": SENSIBLE_WAIT_MS, "baseline_p99_ms": round(base_p99, 2) if base_p99 else "n/a",
                  "faults": _faults_text(item.windows)},
        summary=(f"{len(long_calls)}/{len(item.calls)} calls waited more than {_fmt(SENSIBLE_WAIT_MS)} "
                 f"(longest {_fmt(longest)}) and the scenario sets no client timeout: a real client would hang "
                 f"as long."),
        recommendation=(f"Set an explicit client timeout (e.g. `timeout: {suggested:g}` ms in the scenario, and the "
                        f"same bound in the calling code) and a server-side deadline, so a dark path fails fast "
                        f"instead of holding a connection and a worker."),
    )]


def _error_clusters(item: Item) -> list[Finding]:
    calls = item.calls
    if calls.empty or not item.windows:
        return []
    failed = failed_mask(calls)
    total_errors = int(failed.sum())
    if total_errors == 0:
        return []
    names = windows_of(calls[failed & under_fault_mask(calls)])
    if not names:
        return []
    # "Inside": sent during one of the windows that had errors (a quiet latency window is not the cluster).
    inside = pd.Series([any(name in names for name in faults) for faults in calls["faults"]], index=calls.index)
    errors_inside = int((failed & inside).sum())
    calls_inside, calls_outside = int(inside.sum()), int((~inside).sum())
    rate_inside = 100.0 * errors_inside / calls_inside if calls_inside else 0.0
    rate_outside = 100.0 * (total_errors - errors_inside) / calls_outside if calls_outside else 0.0
    share = errors_inside / total_errors
    if share < CLUSTER_SHARE or calls_outside == 0:
        return []
    windows = [window for window in item.windows if window.name in names]
    return [Finding(
        kind="error-cluster", severity="warning", scenario=item.scenario, endpoint=item.endpoint,
        title=f"Errors on {item.endpoint} cluster in fault windows",
        evidence={"errors": total_errors, "errors_in_windows": errors_inside, "calls_in_windows": calls_inside,
                  "error_rate_in_windows_pct": round(rate_inside, 1),
                  "error_rate_outside_pct": round(rate_outside, 1), "faults": _faults_text(windows)},
        summary=(f"{errors_inside} of {total_errors} errors ({100 * share:.0f}%) fell inside "
                 f"{', '.join(dict.fromkeys(w.name for w in windows))} ({_faults_text(windows)}): error rate "
                 f"{rate_inside:.1f}% inside vs {rate_outside:.1f}% outside."),
        recommendation=("The failures are the fault's direct effect, not background noise: a retry with back-off "
                        "that outlasts the window, or a fallback response, would hide most of them from users."),
    )]


def recovery_seconds(item: Item, window: Window) -> float | None:
    """Seconds after `window` ends until calls are back to baseline; None when it cannot be measured.

    Looks at calls sent between the window's end and the next window's start (or the item's end). Baseline:
    calls outside every window sent before this window starts. The recovery ends at the first of RECOVERY_RUN
    consecutive normal calls (no error, latency <= 2 x baseline p95 + slack); fewer calls left: all of them.
    """
    if window.end_s is None or window.anchor != "item" or item.calls.empty:
        return None
    calls = item.calls
    outside = calls[~under_fault_mask(calls)]
    before = outside[outside["intended_s"] < window.start_s]
    base_p95 = quantile(before.loc[before["error_class"].isna(), "latency_ms"], 95)
    if base_p95 is None:
        return None
    later_starts = [other.start_s for other in item.windows if other.start_s >= window.end_s]
    horizon = min(later_starts) if later_starts else float("inf")
    after = calls[(calls["intended_s"] >= window.end_s) & (calls["intended_s"] < horizon)]
    after = after[~under_fault_mask(after)].sort_values("intended_s")
    if after.empty:
        return None
    limit = 2 * base_p95 + RECOVERY_SLACK_MS
    normal = ((~failed_mask(after)) & (after["latency_ms"] <= limit)).to_numpy()
    run_length = min(RECOVERY_RUN, len(normal))
    for start in range(len(normal) - run_length + 1):
        if normal[start:start + run_length].all():
            return max(0.0, float(after.iloc[start]["intended_s"]) - window.end_s)
    return float("inf")  # not back to baseline before the next window or the end


def _recoveries(item: Item) -> list[Finding]:
    findings = []
    for window in item.windows:
        seconds = recovery_seconds(item, window)
        if seconds is None or seconds < RECOVERY_REPORT_S:
            continue
        never = seconds == float("inf")
        findings.append(Finding(
            kind="recovery", severity="warning" if never or seconds >= 1.0 else "info",
            scenario=item.scenario, endpoint=item.endpoint,
            title=f"{item.endpoint} slow to recover after {window.name}",
            evidence={"window": window.name, "fault": window.describe(), "window_end_s": round(window.end_s or 0, 3),
                      "recovery_s": "not recovered" if never else round(seconds, 3)},
            summary=(f"After {window.describe()} ended at {window.end_s:.2f} s, calls "
                     + ("had not returned to baseline before the next window or the end of the item."
                        if never else f"took {seconds:.2f} s to return to baseline latency without errors.")),
            recommendation=("Slow recovery after the network heals usually means queued work or broken pooled "
                            "connections: bound queues, drop requests whose caller already gave up, and let the "
                            "client discard dead keep-alive connections (pool timeouts, TCP keepalive)."),
        ))
    return findings


def _covers_whole_calls(window: Window) -> bool:
    """Load windows, and call windows active for the whole call: a call listing them met the fault throughout."""
    return window.anchor == "item" or (window.start_s <= 0.0 and window.end_s is None)


def _no_effect(item: Item) -> list[Finding]:
    """Windows whose calls look like the baseline although the fault should show: a latency fault of mean M
    that raised the median by less than M/4, an httperror fault that produced no 5xx where several were due, a
    blackhole whose calls neither failed nor slowed. Usually the fault did not reach this traffic."""
    calls = item.calls
    if calls.empty:
        return []
    baseline = calls[~under_fault_mask(calls)]
    base_p50 = quantile(baseline["latency_ms"], 50) if len(baseline) >= MIN_BASELINE_FOR_EFFECT else None
    findings = []
    spans = [FaultSpan(w.name, w.fault_type, w.start_s, w.end_s, w.anchor, w.counters, w.backend)
             for w in item.windows]
    untouched = {entry["fault"] for entry in untouched_faults(spans, calls)}  # reported as untouched-fault
    for name in dict.fromkeys(w.name for w in item.windows):
        if name in untouched:
            continue
        window = next(w for w in item.windows if w.name == name)
        inside = calls[in_window_mask(calls, name)]
        if len(inside) < MIN_CALLS_FOR_EFFECT or not _covers_whole_calls(window):
            continue
        p50 = quantile(inside["latency_ms"], 50)
        errors = int(failed_mask(inside).sum())
        params = window.params
        expected = ""
        if window.fault_type == "latency" and isinstance(params.get("mean"), (int, float)) and base_p50 is not None:
            mean = float(params["mean"])
            if mean >= 20.0 and p50 is not None and p50 - base_p50 < mean / 4:
                expected = f"a median near {base_p50 + mean:.0f} ms (baseline {base_p50:.1f} ms + mean {mean:g} ms)"
        elif window.fault_type == "httperror" and isinstance(params.get("probability"), (int, float)):
            due = float(params["probability"]) * len(inside)
            server_errors = int((pd.to_numeric(inside["status"], errors="coerce").fillna(0) >= 500).sum())
            if due >= 3.0 and server_errors == 0:
                expected = f"about {due:.0f} HTTP {params.get('status_code', '5xx')} answers"
        elif window.fault_type == "blackhole" and base_p50 is not None and p50 is not None:
            if errors == 0 and p50 - base_p50 < 100.0:
                expected = "timeouts or long waits"
        if not expected:
            continue
        findings.append(Finding(
            kind="no-effect", severity="warning", scenario=item.scenario, endpoint=item.endpoint,
            title=f"{window.name} ({window.describe()}) left no trace in the calls",
            evidence={"window": name, "fault": window.describe(), "calls_in_window": len(inside),
                      "p50_in_window_ms": round(p50, 2) if p50 is not None else "n/a",
                      "baseline_p50_ms": round(base_p50, 2) if base_p50 is not None else "n/a",
                      "errors_in_window": errors, "expected": expected},
            summary=(f"{len(inside)} calls sent during {name} ({window.describe()}) had a median of "
                     f"{_fmt(p50)} and {errors} errors, where the fault should give {expected}."),
            recommendation=("Check that the fault reached this traffic before trusting the verdict: the scenario's "
                            "side/direction against the path the calls take, `lueur-net run --dry-run` for the "
                            "plan, and the fault's packet counters in this report."),
        ))
    return findings


def _bandwidth_sensitivity(item: Item) -> list[Finding]:
    windows = [window for window in item.windows if window.fault_type == "bandwidth"]
    if not windows or item.calls.empty:
        return []
    calls = item.calls[under_fault_mask(item.calls) & item.calls["error_class"].isna()]
    calls = calls.dropna(subset=["latency_ms"])
    if len(calls) < 3 or calls["bytes_in"].nunique() < 2:
        return []
    sizes = calls["bytes_in"].astype("float64").to_numpy()
    latencies = calls["latency_ms"].to_numpy(dtype="float64")
    slope, intercept = np.polyfit(sizes, latencies, 1)  # ms per byte
    ms_per_kb = float(slope) * 1000.0
    effective_kbps = 1000.0 / ms_per_kb if ms_per_kb > 0 else None  # KB per second
    buckets = pd.qcut(calls["bytes_in"].rank(method="first"), q=min(3, calls["bytes_in"].nunique()), labels=False)
    rows = []
    for _, group in calls.groupby(buckets):
        rows.append(f"~{group['bytes_in'].median() / 1000:.0f} KB: p50 {_fmt(quantile(group['latency_ms'], 50))}")
    evidence: dict[str, float | int | str] = {
        "calls": len(calls), "ms_per_kb": round(ms_per_kb, 3), "fixed_ms": round(float(intercept), 1),
        "by_size": "; ".join(rows), "fault": windows[0].describe(),
    }
    if effective_kbps is not None:
        evidence["effective_kB_per_s"] = round(effective_kbps, 1)
    return [Finding(
        kind="bandwidth-sensitivity", severity="info", scenario=item.scenario, endpoint=item.endpoint,
        title=f"{item.endpoint} latency grows with payload size under {windows[0].describe()}",
        evidence=evidence,
        summary=(f"Each KB of response costs {ms_per_kb:.2f} ms under the cap (fixed part {intercept:.0f} ms): "
                 + "; ".join(rows) + "."),
        recommendation=("Large responses dominate latency on slow links: compress, paginate or trim payloads, "
                        "and derive timeouts from the expected size rather than one constant."),
    )]
