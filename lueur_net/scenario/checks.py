"""Checks across fields of one item that pydantic's per-field validation cannot see.

Each returns (path, severity, message) tuples with paths relative to the item. Errors: periods running past a load's
duration, a reorder fault without a latency on the same hook. Warnings: percentage periods on a single or repeat
call (they then refer to the call's timeout), absolute periods past the call's timeout, URL placeholders with no
value, a repeat `step` with no latency fault to step, lueur keys that do nothing here (`context.proxy`,
`context.runs_on`) and an `httperror.body` (only the status line is rewritten).
"""

from __future__ import annotations

from typing import Literal

from lueur_net.scenario.faults import HttpErrorFault, LatencyFault, ReorderFault, fault_hooks
from lueur_net.scenario.models import DEFAULT_CALL_TIMEOUT_MS, Item, LoadStrategy, RepeatStrategy, placeholders
from lueur_net.scenario.problems import Path

Finding = tuple[Path, Literal["error", "warning"], str]
_SLACK = 1e-9


def check_item(item: Item, segments: dict[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    findings.extend(_check_periods(item))
    findings.extend(_check_reorder(item))
    findings.extend(_check_lueur_only(item))
    strategy = item.context.strategy
    if isinstance(strategy, RepeatStrategy) and strategy.step > 0:
        if not any(isinstance(fault, LatencyFault) for fault in item.context.faults):
            findings.append((("context", "strategy", "step"), "warning", "step has no latency fault to raise"))
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
                if window.start >= reference - _SLACK:
                    findings.append(
                        (path, "error",
                         f"period '{period.text}' starts at {window.start:g}s, at or after the end of the "
                         f"{reference:g}s load")
                    )
                elif window.end > reference + _SLACK:
                    findings.append(
                        (path, "error",
                         f"period '{period.text}' runs past the end of the {reference:g}s load: "
                         f"it ends at {window.end:g}s")
                    )
                continue
            if period.uses_percent:
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
            elif window.start >= reference - _SLACK:
                findings.append(
                    (path, "warning",
                     f"period '{period.text}' starts at {window.start * 1000:g} ms, at or after the call's timeout "
                     f"({reference * 1000:g} ms): the fault is never active")
                )
            elif window.end > reference + _SLACK:
                findings.append(
                    (path, "warning",
                     f"period '{period.text}' ends at {window.end * 1000:g} ms, after the call's timeout "
                     f"({reference * 1000:g} ms)")
                )
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
