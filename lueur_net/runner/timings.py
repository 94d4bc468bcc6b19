"""Where a run's wall time goes, phase by phase (`run --timings`, results.json `timings`).

Pure bookkeeping: the run measures (time.monotonic) and adds; this module sums, orders and renders. The
`intrinsic` time is what the scenarios ask for themselves (each load item's duration, each single or repeat
item's call times plus its waits): a run can never be shorter, and `overhead` is everything else.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# The order phases are shown in (a run goes through them in this order); a phase nobody measured shows 0.
PHASES = (
    "start-up",  # `run`: the interpreter's start and the imports before the run began (from the process's start)
    "validate/plan",  # load the files, probe the kernel, plan every item
    "lab set-up",  # namespaces, links, addresses, routes, NAT (without the app's start)
    "app start",  # --serve: the command until its port answers
    "apply",  # faults put in the kernel (the start gate's apply, a repeat's steps)
    "start-gate wait",  # applied, waiting for the item's t0 (the margin the driver asked for)
    "driving",  # the calls themselves: the driver's process from its fork to its last record
    "load drain",  # a load item: after its duration, until its last call came back and its workers ended
    "revert",  # faults taken out of the kernel, counters read
    "analysis",  # statistics, expectations, SLOs, verdicts of each item
    "writing results",  # calls file and results.json
    "reports",  # the CLI's report.md / html / junit (after results.json: shown, not stored)
    "lab tear-down",  # the lab and the app stopped (after the reports, but with --analyze: before them)
)


@dataclass
class RunTimings:
    """Seconds per phase, summed over items; `intrinsic_s` from the items' own durations."""

    seconds: dict[str, float] = field(default_factory=dict)
    intrinsic_s: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def add(self, phase: str, seconds: float) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r} (known: {', '.join(PHASES)})")
        self.seconds[phase] = self.seconds.get(phase, 0.0) + max(0.0, seconds)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - began)

    def to_dict(self, total_s: float | None = None) -> dict[str, Any]:
        """results.json's `timings`: every phase in order (seconds, 3 decimals), the total so far, the intrinsic
        time and the overhead (total - intrinsic)."""
        total = time.monotonic() - self.started if total_s is None else total_s
        return {
            "phases_s": {name: round(self.seconds.get(name, 0.0), 3) for name in PHASES},
            "total_s": round(total, 3),
            "intrinsic_s": round(self.intrinsic_s, 3),
            "overhead_s": round(total - self.intrinsic_s, 3),
        }


def render(timings: dict[str, Any]) -> str:
    """The table `run --timings` prints (from a `timings` dict, so it can be re-shown from results.json)."""
    phases: dict[str, float] = timings["phases_s"]
    measured = sum(phases.values())
    lines = ["Timings (seconds):"]
    lines += [f"  {name:<16} {seconds:8.3f}" for name, seconds in phases.items()]
    lines.append(f"  {'unaccounted':<16} {max(0.0, timings['total_s'] - measured):8.3f}")
    lines.append(f"  {'total':<16} {timings['total_s']:8.3f}  (intrinsic {timings['intrinsic_s']:.3f}, "
                 f"overhead {timings['overhead_s']:.3f})")
    return "\n".join(lines)


def item_intrinsic_s(spec: Any, call_seconds: list[float]) -> float:
    """What an item needs by itself: a load item its duration; a single or repeat item its calls' own times
    (`call_seconds`, each call's total) plus the waits between them."""
    load = getattr(spec, "load", None)
    if load is not None:
        return float(load.duration_s)
    repeat = getattr(spec, "repeat", None)
    waits = (len(call_seconds) - 1) * float(repeat.wait_s) if repeat is not None and call_seconds else 0.0
    return float(sum(call_seconds)) + waits
