"""Checks across fields of one item that pydantic's per-field validation cannot see.

Each returns (path, severity, message) tuples with paths relative to the item. Errors: periods running past a load's
duration, a reorder fault without a latency on the same hook. Warnings: percentage periods on a single or repeat
call (they then refer to the call's timeout), absolute periods past the call's timeout, URL placeholders with no
value, a repeat `step` with no latency fault to step.
"""

from __future__ import annotations

from typing import Literal

from lueur_net.scenario.faults import LatencyFault, ReorderFault, fault_hooks
from lueur_net.scenario.models import DEFAULT_CALL_TIMEOUT_MS, Item, LoadStrategy, RepeatStrategy, placeholders
from lueur_net.scenario.problems import Path

Finding = tuple[Path, Literal["error", "warning"], str]
_SLACK = 1e-9


def check_item(item: Item, segments: dict[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    findings.extend(_check_periods(item))
    findings.extend(_check_reorder(item))
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
        for number, period in enumerate(fault.period):
            path: Path = ("context", "faults", index, "period") + ((number,) if len(fault.period) > 1 else ())
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
