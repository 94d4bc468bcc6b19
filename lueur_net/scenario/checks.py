"""Checks across fields of one item that pydantic's per-field validation cannot see.

Each returns (path, severity, message) tuples with paths relative to the item. Errors: periods running past a load's
duration, a reorder fault without a latency on the same hook, values that are each within their field's range but
together exceed what the kernel can realise (limits.py: a rate in its unit, a delay's spread, a repeat's growing
mean, a load's number of calls). Warnings: percentage periods on a single or repeat
call (they then refer to the call's timeout), absolute periods past the call's timeout, URL placeholders with no
value, a repeat `step` with no latency fault to step, lueur keys that do nothing here (`context.proxy`,
`context.runs_on`) and an `httperror.body` (only the status line is rewritten).
"""

from __future__ import annotations

from typing import Literal

from lueur_net.distributions import pareto_centre, pareto_spread
from lueur_net.scenario import limits, urls
from lueur_net.scenario.faults import (
    BandwidthFault,
    HttpErrorFault,
    LatencyFault,
    PoliceFault,
    ReorderFault,
    fault_hooks,
)
from lueur_net.scenario.models import (
    DEFAULT_CALL_TIMEOUT_MS,
    Item,
    LoadStrategy,
    RepeatStrategy,
    fill_placeholders,
    placeholders,
)
from lueur_net.scenario.problems import Path

Finding = tuple[Path, Literal["error", "warning"], str]
_SLACK = 1e-9


def check_item(item: Item, segments: dict[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    findings.extend(_check_periods(item))
    findings.extend(_check_reorder(item))
    findings.extend(_check_lueur_only(item))
    findings.extend(check_limits(item))
    strategy = item.context.strategy
    if isinstance(strategy, RepeatStrategy) and strategy.step > 0:
        if not any(isinstance(fault, LatencyFault) for fault in item.context.faults):
            findings.append((("context", "strategy", "step"), "warning", "step has no latency fault to raise"))
    findings.extend(_check_filled_url(item, segments))
    for name in placeholders(item.call.url):
        if name not in segments:
            findings.append(
                (("call", "url"), "warning",
                 f"placeholder '{{{name}}}' has no value in config.http.paths.segments; it is sent as written")
            )
    return findings


def _check_periods(item: Item) -> list[Finding]:
    findings: list[Finding] = []
    strategy = item.context.strategy
    reference = item.period_reference_s
    for index, fault in enumerate(item.context.faults):
        for period in fault.period:
            # The element of a `period` list the window was written in; a single string is the value itself.
            path: Path = ("context", "faults", index, "period") + (() if period.source is None else (period.source,))
            window = period.window(reference)
            if isinstance(strategy, LoadStrategy):
                severity = "error"
                starts = f"starts at {window.start:g}s, at or after the end of the {reference:g}s load"
                ends = f"runs past the end of the {reference:g}s load: it ends at {window.end:g}s"
            elif period.uses_percent:
                basis = (
                    f"the call's timeout ({item.call.timeout:g} ms)" if item.call.timeout is not None
                    else f"the default call timeout ({DEFAULT_CALL_TIMEOUT_MS:g} ms; the call sets no timeout)"
                )
                findings.append(
                    (path, "warning",
                     f"percentage period '{period.text}' on a {strategy.mode} call that has no duration: "
                     f"percentages refer to {basis}, so the fault is active from "
                     f"{window.start * 1000:g} ms to {window.end * 1000:g} ms after each call starts")
                )
                continue
            else:
                severity = "warning"
                timeout = f"the call's timeout ({reference * 1000:g} ms)"
                starts = f"starts at {window.start * 1000:g} ms, at or after {timeout}: the fault is never active"
                ends = f"ends at {window.end * 1000:g} ms, after {timeout}"
            if window.start >= reference - _SLACK:
                findings.append((path, severity, f"period '{period.text}' {starts}"))
            elif window.end > reference + _SLACK:
                findings.append((path, severity, f"period '{period.text}' {ends}"))
    return findings


def _check_reorder(item: Item) -> list[Finding]:
    findings: list[Finding] = []
    faults = item.context.faults
    latency_hooks: set[tuple[str, str]] = set()
    for fault in faults:
        if isinstance(fault, LatencyFault):
            latency_hooks |= fault_hooks(fault)
    for index, fault in enumerate(faults):
        if isinstance(fault, ReorderFault):
            missing = sorted(fault_hooks(fault) - latency_hooks)
            if missing:
                hooks = ", ".join(f"{side} {direction}" for side, direction in missing)
                findings.append(
                    (("context", "faults", index), "error",
                     f"reorder needs a latency fault on the same side and direction ({hooks}): "
                     "packets are reordered by letting some skip the delay")
                )
    return findings


def _check_lueur_only(item: Item) -> list[Finding]:
    """lueur settings that lueur-net reads but that cannot mean here what they mean in lueur: say so, never silently."""
    findings: list[Finding] = []
    context = item.context
    if context.proxy is not None:
        findings.append(
            (("context", "proxy"), "warning",
             "changes nothing here: lueur-net has no proxy (the calls go from the lab's client straight to the "
             "server, and the faults are in the kernel), so disable_http_proxies and proxies are ignored")
        )
    if context.runs_on is not None:
        runs_on = context.runs_on
        findings.append(
            (("context", "runs_on"), "warning",
             f"ignored: lueur deploys its proxy in front of the Kubernetes service '{runs_on.ns}/{runs_on.service}' "
             "and runs this item through it; lueur-net runs the item in its own lab. To fault a pod, run on its "
             "node with --attach container:ID (the pod's network namespace)")
        )
    for index, fault in enumerate(context.faults):
        if isinstance(fault, HttpErrorFault) and fault.body is not None:
            findings.append(
                (("context", "faults", index, "body"), "warning",
                 "only the status is rewritten; the body is the server's (lueur replaces the body; the kernel "
                 "rewrite changes only the status line)")
            )
    return findings


def check_limits(item: Item) -> list[Finding]:
    """Limits that depend on several fields (each field alone is bounded by its type; see limits.py)."""
    findings: list[Finding] = []
    for index, fault in enumerate(item.context.faults):
        at: Path = ("context", "faults", index)
        if isinstance(fault, (BandwidthFault, PoliceFault)):
            rate = fault.bytes_per_second
            if rate > limits.MAX_BYTES_PER_SECOND:
                findings.append(
                    ((*at, "rate"), "error",
                     f"{limits.shown(fault.rate)} {fault.unit} ({limits.shown(rate)} B/s) is above the limit of "
                     f"100 Gbit/s ({limits.MAX_BYTES_PER_SECOND} B/s): TBF's burst and queue are u32 bytes sized "
                     "from the rate, and the eBPF policer's refill is a u64")
                )
            elif rate < limits.MIN_BYTES_PER_SECOND:
                findings.append(
                    ((*at, "rate"), "error",
                     f"{limits.shown(fault.rate)} {fault.unit} ({limits.shown(rate)} B/s) is below 1 byte per "
                     "second: TBF and the eBPF policer count whole bytes per second")
                )
        if isinstance(fault, LatencyFault):
            findings.extend(_latency_limits(fault, at))
    findings.extend(_strategy_limits(item))
    return findings


def _spread_finding(path: Path, what: str, spread_ms: float) -> Finding:
    return (path, "error",
            f"{what} gives a spread (netem's sigma) of {limits.shown(spread_ms)} ms, above the limit of "
            f"{limits.shown(limits.MAX_SPREAD_MS)} ms: {limits.WHY_SPREAD}")


def _latency_limits(fault: LatencyFault, at: Path) -> list[Finding]:
    """The (mean, spread) the planner gives netem and the nfqueue holder (plan/planner.py `delay_params`) must fit."""
    findings: list[Finding] = []
    if fault.distribution == "uniform" and fault.min is not None and fault.max is not None:
        spread = (fault.max - fault.min) / 2
        if spread > limits.MAX_SPREAD_MS:
            findings.append(_spread_finding((*at, "max"), f"max - min = {limits.shown(fault.max - fault.min)} ms "
                                            "(uniform: the delay is (min + max) / 2 +- half of it)", spread))
    elif fault.distribution == "pareto" and fault.shape is not None and fault.scale is not None:
        centre = fault.scale * pareto_centre(fault.shape)
        spread = fault.scale * pareto_spread(fault.shape)
        what = f"scale {limits.shown(fault.scale)} ms with shape {limits.shown(fault.shape)}"
        if spread > limits.MAX_SPREAD_MS:
            findings.append(_spread_finding((*at, "scale"), what, spread))
        elif centre > limits.MAX_DELAY_MS:
            findings.append(
                ((*at, "scale"), "error",
                 f"{what} centres the delay at {limits.shown(centre)} ms, above the limit of "
                 f"{limits.shown(limits.MAX_DELAY_MS)} ms: {limits.WHY_DELAY}")
            )
    elif fault.distribution == "pareto-normal" and not fault.stddev and fault.scale is not None:
        if fault.scale > limits.MAX_SPREAD_MS:  # with no stddev, the pareto scale is the spread
            findings.append(_spread_finding((*at, "scale"), f"scale {limits.shown(fault.scale)} ms (pareto-normal "
                                            "with stddev 0 spreads by the scale)", fault.scale))
    return findings


def _strategy_limits(item: Item) -> list[Finding]:
    findings: list[Finding] = []
    strategy = item.context.strategy
    if isinstance(strategy, RepeatStrategy) and strategy.step > 0:
        growth = strategy.step * (strategy.count - 1)
        for index, fault in enumerate(item.context.faults):
            if isinstance(fault, LatencyFault) and (fault.mean or 0.0) + growth > limits.MAX_DELAY_MS:
                findings.append(
                    (("context", "strategy", "step"), "error",
                     f"the last of {strategy.count} calls would delay by {limits.shown((fault.mean or 0.0) + growth)}"
                     f" ms (faults[{index}]'s mean + step x {strategy.count - 1}), above the limit of "
                     f"{limits.shown(limits.MAX_DELAY_MS)} ms: {limits.WHY_DELAY}")
                )
                break
    if isinstance(strategy, LoadStrategy) and strategy.total_calls > limits.MAX_LOAD_CALLS:
        findings.append(
            (("context", "strategy"), "error",
             f"clients x rps x duration = {strategy.clients} x {limits.shown(strategy.rps)} x "
             f"{limits.shown(strategy.duration)} s = {strategy.total_calls} calls, above the limit of "
             f"{limits.MAX_LOAD_CALLS}: the load keeps its whole schedule and every call's record in memory")
        )
    return findings


def _check_filled_url(item: Item, segments: dict[str, str]) -> list[Finding]:
    """The URL as it is called, with config.http.paths.segments filled in, must still be a URL (a segment value
    such as 'a:b' in the host makes a bad port; '{host}' left without a value is no host name)."""
    names = placeholders(item.call.url)
    if not names:
        return []
    sent = fill_placeholders(item.call.url, segments)  # a placeholder with no value is sent as written
    problem = urls.url_problem(sent)
    if problem is None:
        return []
    used = [name for name in names if name in segments]
    how = (f"with config.http.paths.segments {', '.join(repr(name) for name in used)} filled in" if used
           else "as sent, its placeholders having no value")
    return [(("call", "url"), "error", f"URL '{sent}' ({how}) {problem}")]
