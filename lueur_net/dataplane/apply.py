"""The dispatcher: a FaultPlan applied to a lab path, every piece through its backend, reverted in reverse order.

    applied = apply_plan(plan, path, ledger, t0_ns=time.monotonic_ns())
    try: ... the calls ...
    finally: applied.revert()

The plan is cut into Work: each tc HookPlan (netem and TBF faults composed per (side, hook) by the planner) goes
to the backend named "tc", every other fault to the backend its `backend` field names. All three backends have
one contract (`Backend.apply(item, endpoint, ledger, context) -> Handle`, see docs/dataplane.md), are named in
one registry, BACKENDS, and are imported only when a plan needs them.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger
from lueur_net.plan.model import FaultPlan, HookPlan, PlannedFault


class Handle(Protocol):
    def revert(self) -> None: ...

    def counters(self) -> dict[str, int]: ...


class ChangeableHandle(Handle, Protocol):
    """A handle whose running objects can take a new item of the same shape (see `shape_of`) in place, and be
    made to pass everything while staying in place. All three backends' handles are; a handle without these
    methods is reverted and applied again instead."""

    def update(self, item: HookPlan | PlannedFault, context: ApplyContext) -> None: ...

    def pause(self) -> None: ...


@dataclass(frozen=True)
class ApplyContext:
    """What every backend gets besides its item: both ends, the item's t0 and the fail-open deadline (monotonic
    ns), and a seed for its random draws (the dispatcher gives each piece of work its own: seed + position).
    `allocation`: what the backend's `prepare` handed this piece (an nfqueue rule's packet-mark bit), else None."""

    path: Path
    t0_ns: int
    deadline_ns: int | None = None
    seed: int = 0
    allocation: Any = None


class Backend(Protocol):
    """Optional, read with getattr: `concurrent = True` (the plan's pieces of this backend start side by side:
    its apply mostly waits for a process's start) and `prepare(pieces) -> allocations` (one per (item, endpoint),
    made in the dispatcher's thread before any of them starts: what pieces started at once must not both take)."""

    name: str

    def apply(self, item: HookPlan | PlannedFault, endpoint: Endpoint, ledger: Ledger,
              context: ApplyContext) -> Handle:
        """`item`: a HookPlan for tc, a PlannedFault for the others (what work_of gives each)."""
        ...


@dataclass(frozen=True)
class Work:
    """One thing one backend applies on one end of the path, on behalf of `fault_ids`."""

    backend: str
    side: str
    fault_ids: tuple[str, ...]
    item: HookPlan | PlannedFault


TC = "tc"  # the backend of the plan's HookPlans

# name -> "module:function" returning that Backend, imported on first use.
BACKENDS: dict[str, str] = {
    # module:function, the function in each package's backend.py (a function named like its module on the package
    # itself would be replaced by the module as soon as the module is imported)
    TC: "lueur_net.dataplane.tc.backend:backend",
    "ebpf": "lueur_net.dataplane.ebpf.backend:backend",
    "nfqueue": "lueur_net.dataplane.nfqueue.backend:backend",
}
_loaded: dict[str, Backend] = {}


def backend(name: str) -> Backend:
    if name not in _loaded:
        target = BACKENDS.get(name)
        if target is None:
            raise EnvironmentProblem(f"no '{name}' backend is registered")
        module, attribute = target.split(":")
        try:
            factory = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as error:
            raise EnvironmentProblem(f"the '{name}' backend is not available: {error}") from None
        _loaded[name] = factory()
    return _loaded[name]


def work_of(plan: FaultPlan) -> list[Work]:
    """The plan's HookPlans first (in plan order), then its other faults: the order they are applied in."""
    work = [Work(TC, hook.side, hook.fault_ids, hook) for hook in plan.hooks]
    work += [Work(fault.backend, fault.side, (fault.id,), fault) for fault in plan.other_faults]
    return work


def shape_of(work: Work) -> tuple[str, ...]:
    """What must stay the same for a running object to take a new item in place: the backend, the end, the hook
    and, outside tc (whose qdiscs change kind in place), the fault type (an eBPF program per type, the nfqueue rule
    per hook)."""
    if work.backend == TC:
        return (work.backend, work.side, str(getattr(work.item, "hook", "")))
    return (work.backend, work.side, str(getattr(work.item, "hook", "")), str(getattr(work.item, "type", "")))


def change_refusal(old: FaultPlan, new: FaultPlan) -> str | None:
    """None when every piece of `new` can be put on the running objects of `old` in place, else why not (one
    phrase, for the results)."""
    old_shapes = [shape_of(work) for work in work_of(old)]
    new_shapes = [shape_of(work) for work in work_of(new)]
    if old_shapes != new_shapes:
        def text(shapes: list[tuple[str, ...]]) -> str:
            return ", ".join("/".join(part for part in shape if part) for shape in shapes) or "nothing"
        return f"the plan changes shape ({text(old_shapes)} -> {text(new_shapes)})"
    return None


def endpoint_of(path: Path, side: str) -> Endpoint:
    return path.client if side == "client" else path.server


@dataclass
class AppliedPlan:
    """Handles of everything applied, in order. `revert()` undoes all (reverse order), even after a failure."""

    plan: FaultPlan
    handles: list[tuple[tuple[str, ...], Handle]] = field(default_factory=list)
    reverted: bool = False

    def revert(self) -> None:
        if self.reverted:
            return
        self.reverted = True
        errors: list[str] = []
        handles, self.handles = self.handles, []
        # Handles started side by side (nfqueue: each stop is a holder's exit and an `iptables -D`, ~35 ms) are
        # independent of each other and of the rest: they end side by side too, the rest in reverse order here.
        beside = [entry for entry in handles if getattr(entry[1], "revert_side_by_side", False)]
        if len(beside) < 2:
            beside = []
        threads = [threading.Thread(target=_revert_one, args=(entry, errors), name=f"revert-{entry[0][0]}",
                                    daemon=True) for entry in beside]
        for thread in threads:
            thread.start()
        for entry in reversed(handles):
            if not any(entry is other for other in beside):
                _revert_one(entry, errors)
        _join(threads)
        if errors:
            raise EnvironmentProblem("could not revert every fault: " + "; ".join(errors),
                                     hint="run `sudo lueur-net clean`")

    def update(self, plan: FaultPlan, path: Path, *, t0_ns: int, deadline_ns: int | None = None,
               seed: int = 0) -> str | None:
        """Put `plan` on the running objects in place (netem/TBF `change`, BPF map updates, a message to the nfqueue
        holder): no object is removed or created, so no packet meets a gap. Returns None when done, else why it
        could not be (nothing was touched then: the caller reverts and applies instead)."""
        refusal = change_refusal(self.plan, plan)
        if refusal is None:
            missing = sorted({type(handle).__name__ for _, handle in self.handles if not hasattr(handle, "update")})
            if missing:
                refusal = f"{', '.join(missing)} cannot change in place"
        if refusal is not None:
            return refusal
        context = ApplyContext(path=path, t0_ns=t0_ns, deadline_ns=deadline_ns)
        for position, (work, (_, handle)) in enumerate(zip(work_of(plan), list(self.handles))):
            handle.update(work.item, replace(context, seed=seed + position))  # type: ignore[attr-defined]
            self.handles[position] = (work.fault_ids, handle)
        self.plan = plan
        return None

    def pause(self) -> bool:
        """Make every running object pass everything, in place (a repeat's baseline call). False when a handle
        cannot (the caller reverts instead)."""
        if not all(hasattr(handle, "pause") for _, handle in self.handles):
            return False
        for _, handle in self.handles:
            handle.pause()  # type: ignore[attr-defined]
        return True

    def counters(self) -> dict[str, dict[str, int]]:
        """fault id -> counters (faults composed on one tc hook share that hook's counters)."""
        result: dict[str, dict[str, int]] = {}
        for ids, handle in self.handles:
            try:
                values = handle.counters()
            except Exception:  # noqa: BLE001 - counters are informative only
                values = {}
            for fault_id in ids:
                result[fault_id] = values
        return result

    def failures(self) -> list[dict[str, object]]:
        """Faults whose backend failed while applied (an nfqueue holder that stopped answering or exited, cut out
        of the path by its watchdog): fault id, type, backend, reason and when (CLOCK_MONOTONIC ns). Read before
        revert(), as counters()."""
        planned = {fault.id: fault for fault in self.plan.faults}
        result: list[dict[str, object]] = []
        for ids, handle in self.handles:
            failure = getattr(handle, "failure", None)
            if failure is None:
                continue
            for fault_id in ids:
                fault = planned.get(fault_id)
                result.append({"fault": fault_id, "type": getattr(fault, "type", None),
                               "backend": getattr(fault, "backend", None), "reason": failure.reason,
                               "at_ns": failure.at_ns})
        return result

    def __enter__(self) -> AppliedPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.revert()


def _revert_one(entry: tuple[tuple[str, ...], Handle], errors: list[str]) -> None:
    """Revert one handle; its error is kept (the caller reverts the rest, then reports them all)."""
    ids, handle = entry
    try:
        handle.revert()
    except Exception as error:  # noqa: BLE001 - revert the rest, then report
        errors.append(f"{', '.join(ids)}: {error}")


def check_placement(plan: FaultPlan, path: Path, allow_foreign: bool) -> None:
    for fault in plan.faults:
        if fault.backend in ("netem", "tbf") and not path.peer_is_ours and fault.side != fault.requested_side:
            raise EnvironmentProblem(
                f"{fault.id}: the plan put this fault on the peer's egress, but this path's peer is not ours; "
                "plan it with plan_item(..., peer_is_ours=path.peer_is_ours)"
            )
        endpoint = endpoint_of(path, fault.side)
        if not endpoint.owned and not allow_foreign:
            raise EnvironmentProblem(
                f"{fault.id}: {endpoint.ifname} was not created by lueur-net; refusing to put a fault on it "
                "without an explicit target"
            )


class _SerialLedger:
    """The ledger while pieces are applied side by side: one record or done at a time (Ledger's sequence number
    and its appends are not safe from two threads). Handles keep it, so their later reverts go through it too."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()

    def record(self, kind: str, **fields: Any) -> Any:
        with self._lock:
            return self._ledger.record(kind, **fields)

    def done(self, entry: Any) -> None:
        with self._lock:
            self._ledger.done(entry)

    def __getattr__(self, name: str) -> Any:  # run_id, path, pending: read-only
        return getattr(self._ledger, name)


def _allocations(pieces: Sequence[tuple[int, Work, Endpoint]]) -> dict[int, Any]:
    """position -> what its backend's `prepare` allocated to it, one call per backend for all its pieces."""
    result: dict[int, Any] = {}
    by_backend: dict[str, list[tuple[int, Work, Endpoint]]] = {}
    for piece in pieces:
        by_backend.setdefault(piece[1].backend, []).append(piece)
    for name, group in by_backend.items():
        prepare = getattr(backend(name), "prepare", None)
        if prepare is not None:
            for (position, _, _), allocation in zip(group, prepare([(work.item, end) for _, work, end in group])):
                result[position] = allocation
    return result


def apply_plan(plan: FaultPlan, path: Path, ledger: Ledger, *, t0_ns: int | None = None,
               deadline_ns: int | None = None, seed: int = 0, allow_foreign: bool = False) -> AppliedPlan:
    """Apply every fault of `plan` on `path`. On any failure, what was applied is reverted and the error raised.

    The pieces of a `concurrent` backend (nfqueue: a holder process each, ~0.15 s to start) start in threads,
    side by side with each other and with the other pieces, which are applied in plan order in this thread; the
    handles keep plan order either way (for `update`, and reverse-order reverts)."""
    check_placement(plan, path, allow_foreign)
    start = time.monotonic_ns() if t0_ns is None else t0_ns
    context = ApplyContext(path=path, t0_ns=start, deadline_ns=deadline_ns)
    pieces = [(position, work, endpoint_of(path, work.side)) for position, work in enumerate(work_of(plan))]
    side_by_side = [piece for piece in pieces if getattr(backend(piece[1].backend), "concurrent", False)]
    if len(side_by_side) > 1:
        ledger = cast(Ledger, _SerialLedger(ledger))
    else:
        side_by_side = []  # one: started here, no thread needed
    applied = AppliedPlan(plan)
    handles: dict[int, Handle] = {}
    errors: dict[int, BaseException] = {}

    def apply_one(position: int, work: Work, endpoint: Endpoint, allocation: Any) -> None:
        try:
            handles[position] = backend(work.backend).apply(
                work.item, endpoint, ledger, replace(context, seed=seed + position, allocation=allocation))
        except BaseException as error:  # noqa: BLE001 - raised in the dispatcher's thread below
            errors[position] = error

    threads: list[threading.Thread] = []
    try:
        allocations = _allocations(pieces)
        threads = [threading.Thread(target=apply_one, args=(*piece, allocations.get(piece[0])),
                                    name=f"apply-{piece[1].backend}-{piece[0]}", daemon=True)
                   for piece in side_by_side]
        for thread in threads:
            thread.start()
        in_threads = {position for position, _, _ in side_by_side}
        for position, work, endpoint in pieces:
            if position not in in_threads and not errors:
                apply_one(position, work, endpoint, allocations.get(position))
    except BaseException as error:  # noqa: BLE001 - the allocation or a Ctrl-C: revert below, then raise
        errors[-1] = error
    try:
        _join(threads)  # every started piece must be known before anything can be reverted
    except BaseException as error:  # noqa: BLE001
        errors.setdefault(-1, error)
    applied.handles = [(work.fault_ids, handles[position]) for position, work, _ in pieces if position in handles]
    if errors:
        try:
            applied.revert()
        finally:
            raise errors[min(errors)]  # the dispatcher's own failure, else the first piece's in plan order
    return applied


def _join(threads: Sequence[threading.Thread]) -> None:
    """Join every thread, even through a Ctrl-C (re-raised after): a holder still starting would be left out of
    the revert otherwise. Each start is bounded (the holder's ready timeout)."""
    interrupted: BaseException | None = None
    for thread in threads:
        while thread.is_alive():
            try:
                thread.join()
            except BaseException as error:  # noqa: BLE001
                interrupted = error
    if interrupted is not None:
        raise interrupted


def prestart_plan(plan: FaultPlan, path: Path, ledger: Ledger, idle: bool = False) -> None:
    """Start ahead what applying `plan` on `path` will wait for, for backends that can (`prestart(pieces, ledger,
    idle)`: nfqueue starts its holders' interpreters, which apply_plan then takes; `idle`: at the lowest CPU
    priority until taken). Nothing is put on the path."""
    by_backend: dict[str, list[tuple[HookPlan | PlannedFault, Endpoint]]] = {}
    for work in work_of(plan):
        by_backend.setdefault(work.backend, []).append((work.item, endpoint_of(path, work.side)))
    for name, pieces in by_backend.items():
        prestart = getattr(backend(name), "prestart", None)
        if prestart is not None:
            prestart(pieces, ledger, idle=idle)


def release_prestarted() -> None:
    """End whatever prestart_plan started and no apply took (the loaded backends' `release`)."""
    for loaded in list(_loaded.values()):
        release = getattr(loaded, "release", None)
        if release is not None:
            release()
