"""The nfqueue backend for the data-plane dispatcher (the Backend/Handle contract of docs/dataplane.md).

It realises `latency` (DelayParams) and `jitter` (JitterParams) faults planned with backend "nfqueue". The planner
already moved each such fault to the RECEIVING end of its traffic, so `endpoint` is where the packets arrive:
the rule matches packets arriving on `endpoint.ifname` from the other end of the path (its address), and the
holder runs in `endpoint.netns`. A fault planned on an egress hook (the receiving end was not ours to change)
holds the packets leaving `endpoint.ifname` instead. Windows are turned from the item's clock into CLOCK_MONOTONIC with
`context.t0_ns`, and cut at `context.deadline_ns` (fail-open).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lueur_net.dataplane.nfqueue.delay import NfqueueDelay, prestart, release_spares, start_delay
from lueur_net.dataplane.nfqueue.rule import RuleAllocation, allocate_mark_bits, iptables_save
from lueur_net.dataplane.nfqueue.spec import DelaySpec, Match, Window, clip_windows
from lueur_net.errors import BadInput
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Ledger

if TYPE_CHECKING:
    from lueur_net.plan.model import TrafficScope


def spec_from_params(params: Any) -> DelaySpec:
    """DelayParams or JitterParams (lueur_net.plan.model) as the holder's DelaySpec (read by field name)."""
    if hasattr(params, "delay_ns"):
        if getattr(params, "correlation", 0.0):
            raise BadInput("the nfqueue backend has no delay correlation (netem has): drop `correlation` or run "
                           "where sch_netem is available")
        return DelaySpec(mean_ns=int(params.delay_ns), jitter_ns=int(params.jitter_ns),
                         distribution=str(params.distribution), min_ns=int(params.min_ns or 0),
                         max_ns=None if params.max_ns is None else int(params.max_ns),
                         pareto_shape=float(getattr(params, "pareto_shape", 3.0)))
    if hasattr(params, "amplitude_ns"):
        return DelaySpec(mean_ns=0, redraw_amplitude_ns=int(params.amplitude_ns),
                         redraw_hz=float(params.frequency_hz))
    raise BadInput(f"the nfqueue backend realises latency and jitter only, not {type(params).__name__}")


def monotonic_windows(windows: Any, t0_ns: int) -> tuple[Window, ...]:
    """Plan windows (seconds on the item's clock) as CLOCK_MONOTONIC ns ranges."""
    return tuple(
        Window(t0_ns + int(window.start_s * 1e9), None if window.end_s is None else t0_ns + int(window.end_s * 1e9))
        for window in windows
    )


def match_of(wanted: TrafficScope, leaving: bool) -> Match:
    """A plan's TrafficScope as the iptables match: the peer is the destination of what leaves, the source of what
    arrives. Ports need a protocol in iptables: TCP unless the scope says otherwise."""
    protocol = wanted.protocol or ("tcp" if wanted.peer_port is not None or wanted.port is not None else None)
    peer = {"destination": wanted.peer, "destination_port": wanted.peer_port} if leaving else \
        {"source": wanted.peer, "source_port": wanted.peer_port}
    return Match(protocol=protocol, either_port=wanted.port, **peer)


class NfqueueHandle:
    """The dispatcher's handle on one running delay: update() and pause() are messages to its holder."""

    revert_side_by_side = True  # a plan's delays are independent (own holder, rule and mark bit): AppliedPlan.revert

    def __init__(self, delay: NfqueueDelay, leaving: bool) -> None:
        self.delay = delay
        self.leaving = leaving

    @property
    def failure(self) -> Any:  # read by AppliedPlan.failures()
        return self.delay.failure

    def counters(self) -> dict[str, int]:
        return self.delay.counters()

    def revert(self) -> None:
        self.delay.revert()

    def update(self, fault: Any, context: Any) -> None:
        if (fault.hook == "egress") != self.leaving:
            raise BadInput(f"{fault.id}: the running nfqueue rule is on the other hook; it cannot change in place")
        self.delay.change(spec_from_params(fault.params), windows_of(fault, context))

    def pause(self) -> None:
        self.delay.pause()


def windows_of(fault: Any, context: Any) -> tuple[Window, ...]:
    return clip_windows(monotonic_windows(fault.windows, context.t0_ns), getattr(context, "deadline_ns", None),
                        time.monotonic_ns())


class NfqueueBackend:
    name = "nfqueue"
    concurrent = True  # a holder's start is an interpreter's start (~0.15 s): a plan's holders start side by side

    def prepare(self, pieces: Sequence[tuple[Any, Endpoint]]) -> list[RuleAllocation]:
        """Each piece's packet-mark bit, allocated here for all the plan's delays at once: holders started side by
        side would each see the same free bits (rule.allocate_mark_bits). One `iptables-save` per namespace, whose
        text each delay's start also reads (the queue numbers rules already name) instead of running its own."""
        by_namespace: dict[str | None, list[int]] = {}
        for position, (_, endpoint) in enumerate(pieces):
            by_namespace.setdefault(endpoint.netns, []).append(position)
        allocations: dict[int, RuleAllocation] = {}
        for netns, positions in by_namespace.items():
            save = iptables_save(netns)
            for position, bit in zip(positions, allocate_mark_bits(save, len(positions), netns)):
                allocations[position] = RuleAllocation(bit, save)
        return [allocations[position] for position in range(len(pieces))]

    def prestart(self, pieces: Sequence[tuple[Any, Endpoint]], ledger: Ledger, idle: bool = False) -> None:
        """A holder for each piece, started now in its namespace (delay.prestart, `idle`: under SCHED_IDLE); apply
        takes them."""
        counts: dict[str | None, int] = {}
        for _, endpoint in pieces:
            counts[endpoint.netns] = counts.get(endpoint.netns, 0) + 1
        for netns, count in counts.items():
            prestart(netns, ledger, count, idle)

    def release(self) -> None:
        release_spares()

    def apply(self, fault: Any, endpoint: Endpoint, ledger: Ledger, context: Any) -> NfqueueHandle:
        spec = spec_from_params(fault.params)
        windows = windows_of(fault, context)
        path = getattr(context, "path", None)
        peer = path.other_end(endpoint) if path is not None else None
        leaving = fault.hook == "egress"  # planned on the sending end: its peer is not ours (an attached pod)
        match = Match()
        if peer is not None and peer.address:
            match = Match(destination=peer.address) if leaving else Match(source=peer.address)
        if fault.scope is not None:  # inject's --to/--port/--protocol (or every packet)
            match = match_of(fault.scope, leaving)
        allocation: RuleAllocation | None = getattr(context, "allocation", None)
        return NfqueueHandle(start_delay(endpoint.netns, endpoint.ifname, spec, ledger, match=match,
                                         windows=windows, leaving=leaving,
                                         mark_bit=allocation.mark_bit if allocation else None,
                                         save=allocation.save if allocation else None,
                                         tidy=not endpoint.owned), leaving)


def backend() -> NfqueueBackend:
    """The dispatcher's entry point (docs/dataplane.md)."""
    return NfqueueBackend()
