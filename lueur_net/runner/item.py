"""One item of a run: apply its faults (once at the start gate, or per iteration of a repeat), drive its calls in
the client namespace, revert, and turn what happened into the item's results document.

Nothing here plans: the item's plans for each path and iteration are made before the run touches the kernel
(lueur_net.runner.plans) and handed in; nothing here touches the machine but through the injected
`apply_plan` and `drive` (lueur_net.runner.environment).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lueur_net.records.frame import records_frame
from lueur_net.results import attach_data_plane, mark_backend_failures

if TYPE_CHECKING:
    from lueur_net.driver.spec import ItemSpec
    from lueur_net.lab.topology import Path
    from lueur_net.ledger import Ledger
    from lueur_net.plan.model import FaultPlan
    from lueur_net.results import RunRecorder
    from lueur_net.runner.environment import AppliedFaults, ApplyPlan, Drive
    from lueur_net.runner.listener import RunListener
    from lueur_net.runner.plans import ItemRef

# A single or load item starts when its driver is ready to send (the start gate, docs/driver.md): t0 is then
# chosen this far ahead and the faults are applied anchored at it. Applying takes from a few ms (tc) to ~0.45 s
# (three nfqueue delays, measured); when it ends less than START_SLACK_S before t0 (plus what the driver still
# needs), the faults are applied again with twice the measured cost as margin, up to START_ATTEMPTS times, so the
# first call leaves on schedule instead of carrying the set-up as send lag.
START_MARGIN_S = 0.4
START_SLACK_S = 0.02
START_ATTEMPTS = 3
# Every fault of an item carries a fail-open deadline: the end of what it was applied for (ItemSpec.span_s from its
# t0) plus this margin, never later than the lab's own lifetime. Past it, eBPF programs pass everything in the
# kernel and nfqueue holders pass everything, even while the run is frozen (their heartbeats lift them sooner:
# README "Reliability"); tc's scheduler thread removes the qdiscs, once the run is running again.
DEADLINE_MARGIN_S = 3.0


def fault_deadline_ns(t0_ns: int, span_s: float, lab_deadline_ns: int) -> int:
    """The fail-open deadline of faults applied at `t0_ns` for `span_s` seconds (CLOCK_MONOTONIC ns)."""
    return min(lab_deadline_ns, t0_ns + int((span_s + DEADLINE_MARGIN_S) * 1e9))


@dataclass(frozen=True)
class PathPlans:
    """One lab path of an item and its plan for each iteration (index = iteration; one entry unless a repeat)."""

    path: Path
    plans: tuple[FaultPlan, ...]


def path_name(path: Path) -> str:
    return f"{path.client.ifname}<->{path.server.ifname}"


@dataclass
class ItemFaults:
    """One item's faults on its lab paths: applied, reverted, and what they counted and reported meanwhile."""

    paths: Sequence[PathPlans]
    apply_plan: ApplyPlan
    ledger: Ledger | None
    deadline_ns: int  # the lab's: no fault outlives it
    seed: int
    span_s: float = 0.0  # ItemSpec.span_s: each application's deadline is t0 + this + DEADLINE_MARGIN_S
    attached: bool = False
    applied: list[AppliedFaults] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)  # each applied plan, as results.json shows it
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    backends: dict[str, dict[str, str]] = field(default_factory=dict)
    start_attempts: int = 0
    start_error: BaseException | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)  # backends that failed while applied

    def apply(self, iteration: int, t0_ns: int) -> None:
        self.revert()
        deadline_ns = fault_deadline_ns(t0_ns, self.span_s, self.deadline_ns)
        for entry in self.paths:
            plan = entry.plans[iteration]
            self.plans.append({"path": path_name(entry.path), **plan.to_dict()})
            for fault in plan.faults:
                self.backends[fault.id] = {"id": fault.id, "type": fault.type, "backend": fault.backend,
                                           "side": fault.side, "hook": fault.hook, "traffic": fault.traffic,
                                           "requested": f"{fault.requested_side} {fault.requested_direction}"}
            self.applied.append(self.apply_plan(plan, entry.path, self.ledger, t0_ns=t0_ns, deadline_ns=deadline_ns,
                                                seed=self.seed + iteration, allow_foreign=self.attached))

    def start(self, needed_s: float) -> float:
        """The start gate's answer: apply the item's faults anchored at a t0 the driver can still meet, return t0.

        Runs in the driver hook's thread. An error is kept for `drive_item` to raise with its own type."""
        try:
            margin = max(START_MARGIN_S, needed_s + START_SLACK_S)
            for attempt in range(START_ATTEMPTS):
                began = time.monotonic()
                t0 = began + margin
                if attempt:  # the earlier attempt's objects go, with whatever they counted (nothing was sent yet)
                    self.revert()
                    self.plans.clear()
                    self.counters.clear()
                self.apply(0, int(t0 * 1e9))
                self.start_attempts = attempt + 1
                if t0 - time.monotonic() >= needed_s + START_SLACK_S:
                    break
                margin = 2 * (time.monotonic() - began) + needed_s + START_SLACK_S
            return t0
        except BaseException as error:
            self.start_error = error
            raise

    def revert(self) -> None:
        while self.applied:
            applied = self.applied.pop()
            for fault_id, values in applied.counters().items():
                total = self.counters.setdefault(fault_id, {})
                for key, value in values.items():
                    total[key] = total.get(key, 0) + int(value)
            self.failures.extend(applied.failures())  # after counters(): reading them notices a dead holder
            applied.revert()

    def on_iteration(self, iteration: int, phase: str) -> None:
        """The repeat strategy's hook: the fault for this call (none for the baseline call)."""
        if phase == "baseline":
            self.revert()
        else:
            self.apply(iteration, time.monotonic_ns())


def drive_item(drive: Drive, netns: str, ref: ItemRef, spec: ItemSpec, faults: ItemFaults, recorder: RunRecorder,
               listener: RunListener) -> dict[str, Any]:
    """Apply the item's faults (per iteration for a repeat), drive its calls in the client namespace, revert."""
    try:
        if spec.is_repeat:
            run = drive(netns, spec, on_progress=listener.progress, on_iteration=faults.on_iteration)
        else:
            run = drive(netns, spec, on_progress=listener.progress, on_ready=faults.start)
    except Exception:
        if faults.start_error is not None:  # applying the faults failed: say so with its own type and words
            raise faults.start_error from None
        raise
    faults.revert()
    document = recorder.add(ref.scenario_index, ref.scenario, ref.source, ref.item_index, spec, run)
    if faults.start_attempts > 1:
        document["driver"]["start_attempts"] = faults.start_attempts
    attach_data_plane(document, counters=faults.counters, backends=list(faults.backends.values()),
                      plan=faults.plans, calls=records_frame(run.records))
    mark_backend_failures(document, faults.failures, run.t0)
    warn_untouched(listener, ref.scenario.title, ref.item_index, document)
    return document


def backend_failure_message(title: str, item_index: int, failures: Sequence[dict[str, Any]]) -> str:
    """The one-line error a run ends with when a backend failed (exit 3)."""
    parts = [f"the {failure['backend']} backend of fault {failure['fault']} ({failure['type']}) failed "
             f"{failure['at_s']:.1f} s into the item: {failure['reason']}" for failure in failures]
    return (f"{title} / item {item_index}: " + "; ".join(parts)
            + ". The run stopped; results.json marks the item (backend_failures).")


def warn_untouched(listener: RunListener, title: str, item_index: int, document: dict[str, Any]) -> None:
    """One warning per fault of the item that touched no packet (the item document's `untouched`), through the
    listener's `warning` (stderr in the CLI), or `note` for a listener without one."""
    warning = getattr(listener, "warning", None)
    say = warning if callable(warning) else listener.note
    for untouched in document.get("untouched", []):
        say(f"{title} / item {item_index}: fault {untouched['fault']} ({untouched['type']}) touched no packet: "
            f"{untouched['reason']}")
