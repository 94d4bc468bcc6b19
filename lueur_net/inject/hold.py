"""Holding an inject: attach to the namespace, apply the plan on its interface, wait, revert. The effect side of
`lueur-net inject` (the pure side is lueur_net.inject.flags).

Lifetime (docs/inject.md): the faults carry a fail-open deadline of --duration + DEADLINE_MARGIN_S (run's margin,
lueur_net.dataplane.deadline); without --duration, the attach's maximum lifetime (DEFAULT_MAX_LIFETIME, 1 h), at which the
inject also ends by itself. eBPF and nfqueue faults fail open sooner when the process freezes (heartbeats, README
"Reliability"); SIGINT/SIGTERM revert everything (exit 130); after SIGKILL `lueur-net clean` removes what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lueur_net.inject.flags import InjectRequest, plan_request
from lueur_net.inject.status import KIND, PURPOSE

TICK_S = 0.5  # status line refresh, and how often the end of --duration is checked


@dataclass
class Status:
    """One refresh of the status line."""

    run_id: str
    target: str
    iface: str
    elapsed_s: float
    left_s: float | None
    faults: list[dict[str, Any]]  # id, type, hook, backend, active, counters

    def line(self) -> str:
        parts = []
        for fault in self.faults:
            state = "on" if fault["active"] else "off"
            counted = fault["counters"]
            shown = next((f"{key} {counted[key]}" for key in ("affected", "dropped", "delayed", "matched", "packets")
                          if key in counted), "")
            parts.append(f"{fault['id']} {fault['type']} {fault['hook']} {state}" + (f" ({shown})" if shown else ""))
        left = "until Ctrl-C" if self.left_s is None else f"{self.left_s:.0f}s left"
        return f"inject {self.run_id} {self.target} {self.iface}: {'; '.join(parts)} | {left}"


def _limits(duration_s: float | None) -> tuple[float, float]:
    """(maximum lifetime of the attach, fault deadline span after t0) in seconds."""
    from lueur_net.lab import DEFAULT_MAX_LIFETIME
    from lueur_net.dataplane.deadline import DEADLINE_MARGIN_S

    if duration_s is None:
        return DEFAULT_MAX_LIFETIME, DEFAULT_MAX_LIFETIME
    return duration_s + DEADLINE_MARGIN_S + 5.0, duration_s


def hold(request: InjectRequest, target: str, *, iface: str | None = None, allow_host_interface: bool = False,
         seed: int = 0, on_start: Callable[[Status, Any], None] | None = None,
         on_status: Callable[[Status], None] | None = None) -> Status:
    """Apply `request` on `target` until --duration is over (returns the last Status) or a signal arrives
    (KeyboardInterrupt / Terminated propagate after everything is reverted). Refuses before touching."""
    from lueur_net.dataplane import apply as apply_module
    from lueur_net.dataplane import probe
    from lueur_net.lab import Lab, terminate_on_signals
    from lueur_net.lab.lab import require_root
    from lueur_net.ledger import Ledger
    from lueur_net.dataplane.deadline import fault_deadline_ns

    require_root()
    capabilities = probe.probe_capabilities()
    plan = plan_request(request, capabilities)  # refuse before touching
    max_lifetime, span_s = _limits(request.duration_s)
    with terminate_on_signals(), Ledger.open(PURPOSE) as ledger:
        lab = Lab.attach(target, [], ledger, iface=iface, allow_host_interface=allow_host_interface,
                         max_lifetime=max_lifetime)
        with lab:
            path = lab.host_path
            assert path is not None
            t0_ns = time.monotonic_ns()
            deadline_ns = fault_deadline_ns(t0_ns, span_s, lab.deadline_ns)
            ends = None if request.duration_s is None else time.time() + request.duration_s
            entry = ledger.record(KIND, target=target, resolved=lab.client_netns, iface=path.client.ifname,
                                  faults=[f"{f.id} {f.type} {f.hook} ({f.backend})" for f in plan.faults],
                                  scope=request.scope.describe(), started=time.time(), ends=ends,
                                  deadline_s=round((deadline_ns - t0_ns) / 1e9, 3))
            try:
                applied = apply_module.apply_plan(plan, path, ledger, t0_ns=t0_ns, deadline_ns=deadline_ns,
                                                  seed=seed, allow_foreign=True)
                try:
                    status = _status(lab.run_id, target, path.client.ifname, plan, applied, t0_ns,
                                     request.duration_s)
                    if on_start is not None:
                        on_start(status, plan)
                    end_ns = deadline_ns if request.duration_s is None else t0_ns + int(request.duration_s * 1e9)
                    while time.monotonic_ns() < end_ns:
                        time.sleep(min(TICK_S, max(0.0, (end_ns - time.monotonic_ns()) / 1e9)))
                        status = _status(lab.run_id, target, path.client.ifname, plan, applied, t0_ns,
                                         request.duration_s)
                        if on_status is not None:
                            on_status(status)
                finally:
                    applied.revert()
            finally:
                ledger.done(entry)
    return status


def _status(run_id: str, target: str, iface: str, plan: Any, applied: Any, t0_ns: int,
            duration_s: float | None) -> Status:
    elapsed = (time.monotonic_ns() - t0_ns) / 1e9
    counters = applied.counters()
    faults = [{"id": fault.id, "type": fault.type, "hook": fault.hook, "backend": fault.backend,
               "active": fault.active(elapsed), "counters": dict(counters.get(fault.id, {}))}
              for fault in plan.faults]
    left = None if duration_s is None else max(0.0, duration_s - elapsed)
    return Status(run_id, target, iface, elapsed, left, faults)
