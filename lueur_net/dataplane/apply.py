"""The dispatcher: a FaultPlan applied to a lab path, every fault through its backend, reverted in reverse order.

    applied = apply_plan(plan, path, ledger, t0_ns=time.monotonic_ns())
    try: ... the calls ...
    finally: applied.revert()

tc faults (netem, TBF) are grouped per (side, hook) into the plan's HookPlans and applied by the tc backend as one
qdisc tree each; every other fault goes to its backend one by one (`Backend.apply(fault, endpoint, ledger, context)`,
see docs/dataplane.md). Backends are looked up by name in BACKENDS and imported only when a plan needs them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger
from lueur_net.plan.model import FaultPlan, PlannedFault


class Handle(Protocol):
    def revert(self) -> None: ...

    def counters(self) -> dict[str, int]: ...


class Backend(Protocol):
    name: str

    def apply(self, fault: PlannedFault, endpoint: Endpoint, ledger: Ledger, context: ApplyContext) -> Handle: ...


@dataclass(frozen=True)
class ApplyContext:
    """What every backend gets besides the fault: both ends, the item's t0 and the fail-open deadline (monotonic ns)."""

    path: Path
    t0_ns: int
    deadline_ns: int | None = None


# name -> "module:function" returning a Backend (imported lazily), or a factory registered at run time.
BACKENDS: dict[str, str | Callable[[], Backend]] = {
    "ebpf": "lueur_net.dataplane.ebpf:backend",
    "nfqueue": "lueur_net.dataplane.nfqueue:backend",
}
_loaded: dict[str, Backend] = {}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    BACKENDS[name] = factory
    _loaded.pop(name, None)


def backend(name: str) -> Backend:
    if name not in _loaded:
        target = BACKENDS.get(name)
        if target is None:
            raise EnvironmentProblem(f"no '{name}' backend is registered")
        if isinstance(target, str):
            module, attribute = target.split(":")
            try:
                factory = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as error:
                raise EnvironmentProblem(f"the '{name}' backend is not available: {error}") from None
        else:
            factory = target
        _loaded[name] = factory()
    return _loaded[name]


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
        while self.handles:
            ids, handle = self.handles.pop()
            try:
                handle.revert()
            except Exception as error:  # noqa: BLE001 - revert the rest, then report
                errors.append(f"{', '.join(ids)}: {error}")
        if errors:
            raise EnvironmentProblem("could not revert every fault: " + "; ".join(errors),
                                     hint="run `sudo lueur-net clean`")

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


def apply_plan(plan: FaultPlan, path: Path, ledger: Ledger, *, t0_ns: int | None = None,
               deadline_ns: int | None = None, seed: int = 0, allow_foreign: bool = False) -> AppliedPlan:
    """Apply every fault of `plan` on `path`. On any failure, what was applied is reverted and the error raised."""
    check_placement(plan, path, allow_foreign)
    start = time.monotonic_ns() if t0_ns is None else t0_ns
    context = ApplyContext(path=path, t0_ns=start, deadline_ns=deadline_ns)
    applied = AppliedPlan(plan)
    try:
        if plan.hooks:
            from lueur_net.dataplane.tc import TcBackend

            tc = TcBackend()
            for position, hook in enumerate(plan.hooks):
                handle = tc.apply_hook(hook, endpoint_of(path, hook.side), ledger, start, deadline_ns,
                                       seed=seed + position)
                applied.handles.append((hook.fault_ids, handle))
        for fault in plan.other_faults:
            handle = backend(fault.backend).apply(fault, endpoint_of(path, fault.side), ledger, context)
            applied.handles.append(((fault.id,), handle))
    except BaseException:
        applied.revert()
        raise
    return applied
