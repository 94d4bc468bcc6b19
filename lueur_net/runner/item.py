"""One item of a run: apply its faults (once at the start gate, or per iteration of a repeat), drive its calls in
the client namespace, revert, and turn what happened into the item's results document.

Nothing here plans: the item's plans for each path and iteration are made before the run touches the kernel
(lueur_net.runner.plans) and handed in; nothing here touches the machine but through the injected
`apply_plan` and `drive` (lueur_net.runner.environment).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lueur_net.dataplane.deadline import DEADLINE_MARGIN_S, fault_deadline_ns
from lueur_net.runner.timings import RunTimings, item_intrinsic_s

if TYPE_CHECKING:
    from lueur_net.driver.spec import ItemSpec
    from lueur_net.lab.topology import Path
    from lueur_net.ledger import Ledger
    from lueur_net.plan.model import FaultPlan
    from lueur_net.results import RunRecorder
    from lueur_net.runner.environment import AppliedFaults, ApplyPlan, Drive
    from lueur_net.runner.listener import RunListener
    from lueur_net.runner.plans import ItemRef

# A single or load item starts when its driver is ready to send (the start gate, docs/driver.md). The faults are
# applied anchored at t0 = now + what the driver still needs + START_SLACK_S + START_MARGIN_S; applying
# takes from a few ms (tc, eBPF) to ~0.15 s per nfqueue delay (measured), so when it ends past that point the
# running objects are moved to a new t0 in place (one map update or holder message each, ~1 ms), up to
# START_ATTEMPTS times in all, and the first call leaves on schedule instead of carrying the set-up as send lag.
# (Before: t0 was always chosen START_MARGIN_S = 0.4 s ahead, and that wait was idle for tc and eBPF items.)
# Objects that cannot move in place are applied again with twice the measured cost as margin.
# A single or load item's faults are applied while its driver's process starts (prepare()), anchored this far
# ahead; the start gate then only moves them to its t0 in place. Far enough that no window opens before the move.
PREPARE_AHEAD_S = 5.0
# The driver's process is forked (lueur_net.lab.enter.run_in_netns) right after the item starts: the prepared
# apply waits for that fork, so the child never inherits a half-made holder's sockets or a lock the apply holds
# (measured: a holder started across the fork hung the start gate for 60 s). os.fork() runs this hook;
# subprocess's fork_exec does not.
FORK_WAIT_S = 2.0
_forked = threading.Event()
os.register_at_fork(after_in_parent=_forked.set)
START_MARGIN_S = 0.005  # beyond what the driver needs: the prepared objects' move to t0 (~1 ms each) fits in it
START_SLACK_S = 0.005  # the answer's way to the driver (a pipe, ~0.1 ms) and its wake-up, on a busy 2-core machine
START_ATTEMPTS = 3
# Every fault of an item carries a fail-open deadline (ItemSpec.span_s from its t0 + DEADLINE_MARGIN_S):
# lueur_net.dataplane.deadline (imported above), shared with `lueur-net inject`.


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
    start_moves: int = 0  # times the start gate moved the applied faults to a later t0 in place
    apply_hidden_s: float = 0.0  # of apply_s, what ran while the driver's process was starting (prepare())
    _preparing: threading.Thread | None = None
    _prepare_error: BaseException | None = None
    _reverting: threading.Thread | None = None  # revert_beside()'s thread, until wait_reverted()
    reverted_beside_s: float = 0.0  # how long that thread's kernel work took
    _revert_error: BaseException | None = None
    # seconds spent, for `run --timings`: putting faults in the kernel (and changing them), taking them out, and
    # waiting at the start gate between the end of the apply and t0
    apply_s: float = 0.0
    revert_s: float = 0.0
    gate_wait_s: float = 0.0
    start_error: BaseException | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)  # backends that failed while applied
    # What must hold before the item's faults are applied (`run --serve`: the app answers; its readiness probe goes
    # through the lab's paths, which the faults would delay or cut), waited for by the prepared apply's thread, so
    # the driver's start runs beside it, or before a repeat's first call; how long that wait took.
    before_start: Callable[[], object] | None = None
    before_start_s: float = 0.0
    # Called as the item starts, before its driver's fork (`run`: the next item's nfqueue holders are started then,
    # at the lowest CPU priority); a failure there only loses the head start.
    at_start: Callable[[], object] | None = None
    # Called once the item's calls are over (`run`, last item: the app is asked to stop, its shutdown then runs
    # beside the revert, the analysis and results.json); a failure there changes nothing else.
    after_calls: Callable[[], object] | None = None

    def _record(self, entry: PathPlans, plan: FaultPlan, change: str | None = None) -> None:
        shown = {"path": path_name(entry.path), **plan.to_dict()}
        if change is not None:
            shown["change"] = change  # how a repeat's step reached the kernel (results.json, docs/dataplane.md)
        self.plans.append(shown)
        for fault in plan.faults:
            self.backends[fault.id] = {"id": fault.id, "type": fault.type, "backend": fault.backend,
                                       "side": fault.side, "hook": fault.hook, "traffic": fault.traffic,
                                       "requested": f"{fault.requested_side} {fault.requested_direction}"}

    def _apply_path(self, entry: PathPlans, iteration: int, t0_ns: int) -> AppliedFaults:
        return self.apply_plan(entry.plans[iteration], entry.path, self.ledger, t0_ns=t0_ns,
                               deadline_ns=fault_deadline_ns(t0_ns, self.span_s, self.deadline_ns),
                               seed=self.seed + iteration, allow_foreign=self.attached)

    def apply(self, iteration: int, t0_ns: int, *, record: bool = True) -> None:
        """Apply the iteration's plans afresh (whatever ran before is reverted first)."""
        self.revert()
        began = time.monotonic()
        try:
            self._apply_all(iteration, t0_ns, record)
        finally:
            self.apply_s += time.monotonic() - began

    def _apply_all(self, iteration: int, t0_ns: int, record: bool) -> None:
        for entry in self.paths:
            if record:
                self._record(entry, entry.plans[iteration])
            self.applied.append(self._apply_path(entry, iteration, t0_ns))

    def change(self, iteration: int, t0_ns: int) -> None:
        """A repeat's step: the running objects of each path take the iteration's plan in place (no object is
        removed or created, so the call leaves `wait` after the previous one, not a backend restart later). A path
        whose plan changes shape, or whose objects cannot change, is reverted and applied again, and its plan in
        results.json says so."""
        if len(self.applied) != len(self.paths):
            self.apply(iteration, t0_ns)
            for shown in self.plans[-len(self.paths):]:
                shown["change"] = "applied"
            return
        began = time.monotonic()
        try:
            self._change_all(iteration, t0_ns)
        finally:
            self.apply_s += time.monotonic() - began

    def _change_all(self, iteration: int, t0_ns: int) -> None:
        deadline_ns = fault_deadline_ns(t0_ns, self.span_s, self.deadline_ns)
        for index, entry in enumerate(self.paths):
            plan = entry.plans[iteration]
            applied = self.applied[index]
            update = getattr(applied, "update", None)
            refusal = "its backend objects cannot change in place" if update is None else update(
                plan, entry.path, t0_ns=t0_ns, deadline_ns=deadline_ns, seed=self.seed + iteration)
            if refusal is None:
                self._record(entry, plan, "in place")
                continue
            self._retire(applied)
            self.applied[index] = self._apply_path(entry, iteration, t0_ns)
            self._record(entry, plan, f"reverted and applied again: {refusal}")

    def pause(self) -> None:
        """A repeat's baseline call: the faults are put in place first (iteration 0's plan) and made to pass
        everything, so the first faulty call after it is an in-place change too. Objects that cannot pause are
        reverted (and applied at the next step)."""
        if not self.applied:
            self.apply(0, time.monotonic_ns(), record=False)
        began = time.monotonic()
        try:
            if all(callable(getattr(applied, "pause", None)) and applied.pause()  # type: ignore[attr-defined]
                   for applied in self.applied):
                return
        finally:
            self.apply_s += time.monotonic() - began
        self.revert()

    def prepare(self, after_fork: bool = False) -> None:
        """Start applying iteration 0 in a thread now, while the driver's process starts (~0.1-0.3 s: fork, client
        built and warmed), anchored PREPARE_AHEAD_S ahead; the start gate then waits for it and moves the objects
        to its t0 in place. An nfqueue holder's start (~0.15 s) is then off the item's critical path."""
        def body() -> None:
            if after_fork:
                _forked.wait(FORK_WAIT_S)
            try:
                self.await_before_start()
            except BaseException as error:  # noqa: BLE001 - raised by the start gate, nothing was applied
                self._prepare_error = error
                return
            began = time.monotonic()
            try:
                self.apply(0, time.monotonic_ns() + int(PREPARE_AHEAD_S * 1e9))
            except BaseException as error:  # noqa: BLE001 - raised by the start gate, or by revert()
                self._prepare_error = error
            self._prepare_cost_s = time.monotonic() - began

        self._prepare_cost_s = 0.0
        _forked.clear()
        self._preparing = threading.Thread(target=body, name="lueur-prepare-faults", daemon=True)
        self._preparing.start()

    def _prepared(self) -> bool:
        """Wait for prepare(), if one runs; True when it applied the faults (its error is raised)."""
        if self._preparing is None:
            return False
        began = time.monotonic()
        self._preparing.join()
        self._preparing = None
        self.apply_hidden_s = max(0.0, self._prepare_cost_s - (time.monotonic() - began))
        if self._prepare_error is not None:
            error, self._prepare_error = self._prepare_error, None
            raise error
        return True

    def start(self, needed_s: float) -> float:
        """The start gate's answer: apply the item's faults anchored at a t0 the driver can still meet, return t0.

        Runs in the driver hook's thread. An error is kept for `drive_item` to raise with its own type."""
        try:
            lead = needed_s + START_SLACK_S  # what the driver needs between our answer and t0
            if self._prepared():
                t0 = time.monotonic() + lead + START_MARGIN_S
                self.start_attempts = 1
                if self._move(t0):
                    self.gate_wait_s = max(0.0, t0 - time.monotonic())
                    return t0
                self.revert()  # prepared objects that cannot move: applied again below, for a t0 of now
                self.plans.clear()
                self.counters.clear()
            began = time.monotonic()
            t0 = began + lead + START_MARGIN_S
            self.apply(0, int(t0 * 1e9))
            cost = time.monotonic() - began
            self.start_attempts = 1
            for _ in range(START_ATTEMPTS - 1):
                if t0 - time.monotonic() >= lead:
                    break
                began = time.monotonic()
                t0 = began + lead + 0.005  # a move in place costs about a millisecond (measured)
                if self._move(t0):
                    self.start_moves += 1
                    continue
                t0 = began + 2 * cost + lead  # cannot move: apply again, with twice the measured cost as margin
                self.revert()  # the earlier attempt's objects go, with whatever they counted (nothing was sent yet)
                self.plans.clear()
                self.counters.clear()
                self.apply(0, int(t0 * 1e9))
                cost = time.monotonic() - began
                self.start_attempts += 1
            self.gate_wait_s = max(0.0, t0 - time.monotonic())
            return t0
        except BaseException as error:
            self.start_error = error
            raise

    def await_before_start(self) -> None:
        """Wait for `before_start`, once (an error is raised as it came: the app exited or never answered)."""
        if self.before_start is None:
            return
        waiting, self.before_start = self.before_start, None
        began = time.monotonic()
        try:
            waiting()
        finally:
            self.before_start_s = time.monotonic() - began

    def _move(self, t0: float) -> bool:
        """Re-anchor the running objects of iteration 0 at `t0` in place; False if one of them cannot."""
        if len(self.applied) != len(self.paths) or not all(callable(getattr(a, "update", None)) for a in self.applied):
            return False
        t0_ns = int(t0 * 1e9)
        began = time.monotonic()
        try:
            for entry, applied in zip(self.paths, self.applied):
                if applied.update(entry.plans[0], entry.path, t0_ns=t0_ns,  # type: ignore[attr-defined]
                                  deadline_ns=fault_deadline_ns(t0_ns, self.span_s, self.deadline_ns),
                                  seed=self.seed) is not None:
                    return False
        finally:
            self.apply_s += time.monotonic() - began
        return True

    def revert(self) -> None:
        self.wait_reverted()
        self._end_prepare()
        began = time.monotonic()
        try:
            while self.applied:
                self._retire(self.applied.pop())
        finally:
            self.revert_s += time.monotonic() - began

    def _end_prepare(self) -> None:
        if self._preparing is not None and self._preparing is not threading.current_thread():
            # the driver failed before its start gate: let the prepared apply end, then undo it
            self._preparing.join()
            self._preparing = None
            self._prepare_error = None

    def revert_beside(self) -> None:
        """revert(), with the kernel work in a thread: what every object counted (and whether its backend failed)
        is read now, in the caller's thread, and the objects are taken out while the caller analyses the item's
        calls (an nfqueue rule's removal is an `iptables` process, ~20-40 ms). wait_reverted() (revert() too)
        joins it: the next item's faults never meet this one's."""
        self.wait_reverted()
        self._end_prepare()
        began = time.monotonic()
        retiring = []
        while self.applied:
            applied = self.applied.pop()
            self._collect(applied)
            retiring.append(applied)
        self.revert_s += time.monotonic() - began

        def body() -> None:
            started = time.monotonic()
            for applied in retiring:
                try:
                    applied.revert()
                except BaseException as error:  # noqa: BLE001 - raised by wait_reverted(), in the caller's thread
                    self._revert_error = self._revert_error or error
            self.reverted_beside_s = time.monotonic() - started

        self.reverted_beside_s = 0.0
        self._reverting = threading.Thread(target=body, name="lueur-revert-faults", daemon=True)
        self._reverting.start()

    def wait_reverted(self) -> None:
        """Wait for revert_beside()'s thread, if one runs; its first error is raised here."""
        if self._reverting is None:
            return
        began = time.monotonic()
        self._reverting.join()
        self._reverting = None
        self.revert_s += time.monotonic() - began
        if self._revert_error is not None:
            error, self._revert_error = self._revert_error, None
            raise error

    def _collect(self, applied: AppliedFaults) -> None:
        """Keep what `applied` counted and why it failed."""
        for fault_id, values in applied.counters().items():
            total = self.counters.setdefault(fault_id, {})
            for key, value in values.items():
                total[key] = total.get(key, 0) + int(value)
        self.failures.extend(applied.failures())  # after counters(): reading them notices a dead holder

    def _retire(self, applied: AppliedFaults) -> None:
        """Keep what `applied` counted and why it failed, then revert it."""
        self._collect(applied)
        applied.revert()

    def on_iteration(self, iteration: int, phase: str) -> None:
        """The repeat strategy's hook, before each call: the faults pass everything for the baseline call, and
        carry this iteration's plan for the others, changed in place (see change())."""
        if phase == "baseline":
            self.pause()
        else:
            self.change(iteration, time.monotonic_ns())


def drive_item(drive: Drive, netns: str, ref: ItemRef, spec: ItemSpec, faults: ItemFaults, recorder: RunRecorder,
               listener: RunListener, timings: RunTimings | None = None, drive_forks: bool = False
               ) -> dict[str, Any]:
    """Apply the item's faults (per iteration for a repeat), drive its calls in the client namespace, revert.
    With `timings`, where the item's time went is added to them (lueur_net.runner.timings)."""
    head_start = time.monotonic()
    _call_quietly(faults.at_start)
    began = time.monotonic()
    head_start_s = began - head_start  # counted with the apply: data-plane work (the next item's holders)
    try:
        if spec.is_repeat:
            faults.await_before_start()  # no start gate: the app must answer before the baseline call
            run = drive(netns, spec, on_progress=listener.progress, on_iteration=faults.on_iteration)
        else:
            faults.prepare(after_fork=drive_forks and netns is not None)  # no namespace: driven here, no fork
            run = drive(netns, spec, on_progress=listener.progress, on_ready=faults.start)
    except Exception:
        if faults.start_error is not None:  # applying the faults failed: say so with its own type and words
            raise faults.start_error from None
        raise
    driven = time.monotonic()
    _call_quietly(faults.after_calls)
    faults.revert_beside()  # counters read now; the objects go while the calls are analysed below
    collected = time.monotonic()
    # pandas and the results document: imported beside the run's start (lueur_net.runner.later_imports)
    from lueur_net.records.frame import records_frame
    from lueur_net.results import attach_data_plane, mark_backend_failures

    calls = records_frame(run.records)
    document = recorder.add(ref.scenario_index, ref.scenario, ref.source, ref.item_index, spec, run, frame=calls)
    if faults.start_attempts > 1:
        document["driver"]["start_attempts"] = faults.start_attempts
    if faults.start_moves:
        document["driver"]["start_moves"] = faults.start_moves
    attach_data_plane(document, counters=faults.counters, backends=list(faults.backends.values()),
                      plan=faults.plans, calls=calls)
    mark_backend_failures(document, faults.failures, run.t0)
    warn_untouched(listener, ref.scenario.title, ref.item_index, document)
    analysed = time.monotonic()
    faults.wait_reverted()
    reverted = time.monotonic()
    # The load's drain: from the end of its duration until the driver's process had handed every record back.
    drain = max(0.0, driven - (run.t0 + spec.load.duration_s)) if spec.load is not None else 0.0
    applying = faults.apply_s - faults.apply_hidden_s  # what the item waited for (the rest ran beside the driver)
    spent = {"apply": applying + head_start_s, "start-gate wait": faults.gate_wait_s, "load drain": drain,
             "driving": max(0.0, (driven - began) - applying - faults.gate_wait_s - drain - faults.before_start_s),
             "revert": (collected - driven) + (reverted - analysed), "analysis": analysed - collected}
    if faults.before_start_s:
        spent["app start"] = faults.before_start_s  # the rest of the app's start, not hidden by the item's own
    document["timings_s"] = {phase: round(seconds, 4) for phase, seconds in spent.items()}  # this item's share
    document["timings_s"]["apply beside the driver's start"] = round(faults.apply_hidden_s, 4)
    # of the revert's kernel work, what ran while the calls were analysed (not waited for)
    document["timings_s"]["revert beside the analysis"] = round(
        max(0.0, faults.reverted_beside_s - (reverted - analysed)), 4)
    if timings is not None:
        for phase, seconds in spent.items():
            timings.add(phase, seconds)
        timings.intrinsic_s += item_intrinsic_s(spec, [(record.total_ms or 0.0) / 1000 for record in run.records])
    return document


def _call_quietly(hook: Callable[[], object] | None) -> None:
    """An item's at_start or after_calls: a head start only (the next item's holders, the app's early stop), whose
    failure changes nothing else (the next apply starts what it needs itself; the lab's close stops the app)."""
    if hook is None:
        return
    try:
        hook()
    except Exception:  # noqa: BLE001 - see above
        pass


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
