"""The ebpf backend for the data-plane dispatcher (the Backend/Handle contract of docs/dataplane.md).

It realises planned faults of type packetloss, blackhole, police, httperror, dns and reset:
- scope: the packets between the two ends of the path (the peer's address is the source at ingress and the
  destination at egress); dns faults match any DNS answer from port 53 on the interface instead, since the
  resolver need not be the peer;
- windows: the plan's windows (seconds on the item's clock) become CLOCK_MONOTONIC instants from
  `context.t0_ns`, and `context.deadline_ns` is the program's fail-open deadline (the run gives the end of the
  item plus a margin); the heartbeat (lueur_net.dataplane.heartbeat) makes a frozen controller fail open sooner;
- repeat steps: update() rewrites the running program's `lueur_params` and `lueur_timing` maps, pause() gives it
  a window long over; the program and its link stay (docs/dataplane.md, "Changes in place");
- parameters: each kind's typed params from the plan (PoliceParams, HttpErrorParams, DnsParams, ResetParams,
  LossParams, BlackholeParams); the planner has already refused what these programs cannot do (more windows than
  the timing map holds), so nothing here re-reads the scenario or repeats its defaults.
"""

from __future__ import annotations

import ctypes
from typing import Any

from lueur_net.dataplane.ebpf.faults import (
    EbpfFault,
    GilbertElliott,
    attach,
    blackhole_params,
    dns_params,
    httperror_params,
    loss_params,
    police_params,
    reset_params,
)
from lueur_net.dataplane.ebpf.model import Hook, PortRange, Rule, Scope, Window
from lueur_net.errors import BadInput
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Ledger
from lueur_net.plan.model import (
    BlackholeParams,
    DnsParams,
    HttpErrorParams,
    LossParams,
    PlannedFault,
    PoliceParams,
    ResetParams,
    TrafficScope,
)

FOREVER_NS = (1 << 63) - 1


class EbpfHandle:
    """What apply() returns: revert() and counters() as the dispatcher expects, and update()/pause() in place."""

    def __init__(self, fault: EbpfFault, kind: str = "") -> None:
        self.fault = fault
        self.kind = kind or fault.kind

    def revert(self) -> None:
        self.fault.revert()

    def update(self, planned: PlannedFault, context: Any) -> None:
        """A repeat's next step on the same program: its parameters and timing maps are rewritten (parameters
        first, so the new windows never run with the old values). The scope stays: same path, same hook."""
        kind, params = fault_params(planned)
        if kind != self.kind:
            raise BadInput(f"{planned.id}: a {kind} fault cannot replace the running {self.kind} program in place")
        deadline_ns = getattr(context, "deadline_ns", None)
        self.fault.set_params(params)
        self.fault.set_timing(monotonic_windows(planned.windows, context.t0_ns, deadline_ns), deadline_ns)

    def pause(self) -> None:
        self.fault.pause()

    def counters(self) -> dict[str, int]:
        counters = self.fault.counters()
        return {
            "packets": counters.seen,
            "matched": counters.matched,
            "eligible": counters.eligible,
            "affected": counters.affected,
            "past_deadline": counters.past_deadline,
            "stale": counters.stale,
        }


def monotonic_windows(windows: Any, t0_ns: int, deadline_ns: int | None) -> list[Window]:
    """Plan windows (seconds on the item's clock, end None = open) as CLOCK_MONOTONIC windows. The planner has
    checked their number (plan_item refuses more than EBPF_MAX_WINDOWS)."""
    result = []
    for window in windows:
        start = t0_ns + round(window.start_s * 1e9)
        if window.end_s is None:
            end = deadline_ns or FOREVER_NS
        else:
            end = t0_ns + round(window.end_s * 1e9)
        if end > start:
            result.append(Window(start, end))
    if windows and not result:
        result.append(Window(1, 2))  # every window is empty: never active (no window would mean always)
    return result


def scope_of(wanted: TrafficScope, hook: Hook) -> Scope:
    """A plan's TrafficScope as the programs' rules: the peer is the source at ingress, the destination at egress;
    `port` (either end) is two rules, OR-ed by the programs."""
    ingress = hook is Hook.INGRESS
    protocol = wanted.protocol or "any"
    peer_ports = PortRange(wanted.peer_port, wanted.peer_port) if wanted.peer_port is not None else PortRange()
    if ingress:
        base: dict[str, Any] = {"src": wanted.peer, "sport": peer_ports, "protocol": protocol}
    else:
        base = {"dst": wanted.peer, "dport": peer_ports, "protocol": protocol}
    if wanted.port is None:
        return Scope(() if wanted.everything else (Rule(**base),))
    either = PortRange(wanted.port, wanted.port)
    return Scope((Rule(**{**base, "sport": either}), Rule(**{**base, "dport": either})))


def fault_scope(fault: PlannedFault, peer_address: str, hook: Hook) -> Scope:
    """The traffic a fault's program touches: inject's own scope (--to/--port/--protocol, or every packet); else the
    path's peer, or every packet where the peer has no address we know (an attached namespace whose veth peer is
    not on the host) and for DNS answers (they come from whichever resolver)."""
    if fault.scope is not None:
        return scope_of(fault.scope, hook)
    if peer_address and fault.type != "dns":
        return Scope.peer(peer_address, hook=hook)
    return Scope()


def fault_params(fault: PlannedFault) -> tuple[str, ctypes.Structure]:
    """The program kind that realises `fault` and its `lueur_params` value (shared by apply and update)."""
    params = fault.params
    if isinstance(params, LossParams):
        if params.correlation:
            raise BadInput(
                f"{fault.id}: the eBPF loss program has no correlation (use model: gilbert-elliott)"
            )
        if params.model == "gilbert-elliott":
            model = GilbertElliott(params.p, params.r, params.loss_bad, params.loss_good)
            return "loss", loss_params(gilbert_elliott=model)
        if params.model != "random":
            raise BadInput(
                f"{fault.id}: the eBPF loss program realises random and gilbert-elliott loss only"
            )
        return "loss", loss_params(params.probability)
    if isinstance(params, BlackholeParams):
        return "blackhole", blackhole_params(params.only)
    if isinstance(params, PoliceParams):
        return "police", police_params(params.rate_bytes_per_s, params.burst_bytes)
    if isinstance(params, HttpErrorParams):
        return "httperror", httperror_params(params.status_code, params.probability)
    if isinstance(params, DnsParams):
        # The program's word for a timeout is what it does: drop the answer.
        answer = "drop" if params.answer == "timeout" else params.answer
        return "dns", dns_params(answer, params.probability)
    if isinstance(params, ResetParams):
        return "reset", reset_params(params.probability)
    raise BadInput(f"{fault.id}: the eBPF backend cannot realise a '{fault.type}' fault")


class EbpfBackend:
    name = "ebpf"

    def apply(self, fault: PlannedFault, endpoint: Endpoint, ledger: Ledger, context: Any) -> EbpfHandle:
        hook = Hook(fault.hook)  # the planner already put answer rewrites (httperror, dns) on the response hook
        deadline_ns = getattr(context, "deadline_ns", None)
        path = getattr(context, "path", None)
        peer = path.other_end(endpoint) if path is not None else None
        scope = fault_scope(fault, peer.address if peer is not None else "", hook)
        kind, params = fault_params(fault)
        return EbpfHandle(attach(kind, params, endpoint, hook, scope=scope, ledger=ledger, deadline_ns=deadline_ns,
                                 windows=monotonic_windows(fault.windows, context.t0_ns, deadline_ns)), kind)


def backend() -> EbpfBackend:
    """The dispatcher's entry point (docs/dataplane.md)."""
    return EbpfBackend()
