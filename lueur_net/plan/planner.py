"""Scenario item -> FaultPlan. Pure: reads the item and a Capabilities object, touches nothing.

Where each fault goes (lueur_net/lab/topology.py): requests leave the client end's egress and reach the server end's
ingress; responses leave the server end's egress and reach the client end's ingress.
- tc (netem, TBF): with both veth ends ours (`peer_is_ours`, the lab's normal case) an ingress fault is installed on
  the peer's egress, which carries exactly the same packets; so every tc fault sits on the egress of the sending
  end and faults hitting the same traffic compose in one qdisc tree. Without an owned peer, ingress stays ingress
  and the tc backend redirects it through an IFB device.
- nfqueue: on the receiving end's ingress (holding packets at the sender throttles TCP; machine-facts.md).
- eBPF: where the scenario says.
"""

from __future__ import annotations

import math
from typing import Any

from lueur_net.dataplane.capabilities import Capabilities
from lueur_net.dataplane.netem_tables import pareto_centre, pareto_spread
from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.plan.backends import choose_backend
from lueur_net.plan.compose import compose_hooks
from lueur_net.plan.model import (
    BlackholeParams,
    DelayParams,
    FaultParams,
    FaultPlan,
    Hook,
    JitterParams,
    LossParams,
    PlannedFault,
    ProbabilityParams,
    RateParams,
    Side,
    SourceParams,
    Traffic,
    Window,
)

MS = 1_000_000  # ns per ms
ETHERNET_HEADER = 14
TCP_IP_HEADERS = 52  # IPv4 20 + TCP 20 + timestamps 12: payload of a full segment is MTU - 52
TBF_MIN_QUEUE_BYTES = 64 * 1024
TBF_QUEUE_SECONDS = 0.2
TBF_BURST_SECONDS = 0.004


# Faults that rewrite answers (an HTTP status line, a DNS rcode) act only where responses flow: the response hook
# of the scenario's side (client: ingress, server: egress), whatever `direction` says.
RESPONSE_ONLY = ("httperror", "dns")
RESPONSE_HOOK: dict[str, Hook] = {"client": "ingress", "server": "egress"}


def traffic_of(side: str, hook: str) -> Traffic:
    """Which packets a (side, hook) sees."""
    return "requests" if (side, hook) in (("client", "egress"), ("server", "ingress")) else "responses"


def sending_end(traffic: Traffic) -> Side:
    return "client" if traffic == "requests" else "server"


def receiving_end(traffic: Traffic) -> Side:
    return "server" if traffic == "requests" else "client"


def place(backend: str, side: Side, hook: Hook, *, peer_is_ours: bool) -> tuple[Side, Hook]:
    """Where a backend installs a fault asked for at (side, hook)."""
    traffic = traffic_of(side, hook)
    if backend in ("netem", "tbf"):
        return (sending_end(traffic), "egress") if peer_is_ours else (side, hook)
    if backend == "nfqueue":
        return receiving_end(traffic), "ingress"
    return side, hook


def plan_item(
    item: Any,
    capabilities: Capabilities,
    *,
    iteration: int = 0,
    peer_is_ours: bool = True,
    mtu: int = 1500,
    baseline: bool = False,
) -> FaultPlan:
    """The plan of `item` for `iteration` (0-based; a repeat's latency mean grows by step x iteration).

    `baseline=True` is a repeat's baseline call: no fault at all. Raises BadInput for a fault the kernel objects
    cannot express, EnvironmentProblem when no backend here can realise a fault type.
    """
    strategy = item.context.strategy
    anchor = item.window_anchor
    if baseline:
        return FaultPlan(faults=(), hooks=(), iteration=iteration, anchor=anchor, notes=("baseline call: no fault",))
    step_ms = getattr(strategy, "step", 0.0) if getattr(strategy, "mode", "") == "repeat" else 0.0
    notes: list[str] = []
    planned: list[PlannedFault] = []
    for index, fault in enumerate(item.context.faults):
        if fault.type == "latency" and step_ms and iteration:
            fault = fault.with_step(step_ms * iteration)
        windows = tuple(Window(w.start, w.end) for w in (item.fault_windows(fault) or ()))
        backend = choose_backend(fault.type, capabilities)
        params = fault_params(fault, backend, mtu=mtu)
        refuse_unrealisable(f"f{index}", fault.type, backend, params, windows)
        hooks = fault.directions
        if fault.type in RESPONSE_ONLY:
            hooks = hooks[:1]  # one rewrite of each answer, whatever direction was written
        for direction in hooks:
            side, hook = place(backend, fault.side, direction, peer_is_ours=peer_is_ours)
            if fault.type in RESPONSE_ONLY:
                side, hook = fault.side, RESPONSE_HOOK[fault.side]
            planned.append(
                PlannedFault(
                    id=f"f{index}" if len(hooks) == 1 else f"f{index}.{direction}",
                    type=fault.type,
                    side=side,
                    hook=hook,
                    requested_side=fault.side,
                    requested_direction=direction,
                    traffic=traffic_of(side, hook),
                    backend=backend,  # type: ignore[arg-type]
                    params=params,
                    windows=windows,
                    source=fault,
                )
            )
        if fault.type == "latency" and getattr(fault, "global_", True) is False:
            notes.append(f"f{index}: 'global: false' has no kernel meaning; netem delays every packet once")
    _check_reorder(planned)
    hooks_planned = compose_hooks(planned)
    return FaultPlan(faults=tuple(planned), hooks=hooks_planned, iteration=iteration, anchor=anchor, notes=tuple(notes))


def _check_reorder(planned: list[PlannedFault]) -> None:
    """netem reorders by letting some packets skip the delay: a reorder needs a netem delay on the same hook."""
    delayed = {(f.side, f.hook) for f in planned if f.type == "latency" and f.backend == "netem"}
    for fault in planned:
        if fault.type == "reorder" and (fault.side, fault.hook) not in delayed:
            raise BadInput(
                f"{fault.id}: a reorder fault needs a latency fault on the same side and direction "
                f"({fault.requested_side} {fault.requested_direction}): netem reorders by letting packets skip the delay"
            )


# The eBPF programs read their active windows from a fixed-size map (bpf/lueur_common.h, LUEUR_MAX_WINDOWS).
EBPF_MAX_WINDOWS = 16


def refuse_unrealisable(fault_id: str, fault_type: str, backend: str, params: FaultParams,
                        windows: tuple[Window, ...]) -> None:
    """What the chosen backend cannot express is refused here, at plan time, before any kernel change
    (DESIGN principle 3), not by the backend halfway through a run."""
    if backend == "ebpf" and len(windows) > EBPF_MAX_WINDOWS:
        raise BadInput(f"{fault_id}: {len(windows)} periods; an eBPF fault holds at most {EBPF_MAX_WINDOWS}")
    if backend == "ebpf" and isinstance(params, LossParams) and params.correlation:
        raise EnvironmentProblem(
            f"{fault_id}: packetloss 'correlation' needs netem, which this kernel lacks (the eBPF loss program "
            "draws each packet independently)",
            hint="drop 'correlation' or use 'model: gilbert-elliott' for bursty loss; or load sch_netem",
        )
    if backend == "netem" and isinstance(params, BlackholeParams) and params.only != "all":
        raise EnvironmentProblem(
            f"{fault_id}: blackhole 'only: {params.only}' needs the eBPF backend (netem can only drop everything)",
            hint="run `lueur-net doctor` to see why eBPF is not usable here",
        )


def fault_params(fault: Any, backend: str, *, mtu: int = 1500) -> FaultParams:
    """The scenario fault's parameters in kernel units."""
    kind = fault.type
    if kind == "latency":
        return delay_params(fault)
    if kind == "jitter":
        return JitterParams(amplitude_ns=round(fault.amplitude * MS), frequency_hz=float(fault.frequency))
    if kind == "bandwidth":
        return rate_params(fault.bytes_per_second, mtu)
    if kind == "packetloss":
        if fault.model == "gilbert-elliott":
            p, r, loss_bad, loss_good = fault.gilbert_elliott
            return LossParams(model="gilbert-elliott", p=p, r=r, loss_bad=loss_bad, loss_good=loss_good)
        return LossParams(model="random", probability=fault.loss_probability, correlation=fault.correlation)
    if kind == "blackhole":
        return BlackholeParams(only=fault.only)
    if kind in ("duplicate", "corrupt"):
        return ProbabilityParams(probability=fault.probability, correlation=fault.correlation)
    if kind == "reorder":
        return ProbabilityParams(probability=fault.probability, correlation=fault.correlation, gap=fault.gap or 0)
    return SourceParams(values=fault.model_dump(mode="json", by_alias=True))


def delay_params(fault: Any) -> DelayParams:
    """A latency fault as netem's (mu, sigma, table). See docs/dataplane.md "Latency semantics"."""
    clamp_min = None if fault.min is None else round(fault.min * MS)
    clamp_max = None if fault.max is None else round(fault.max * MS)
    if fault.distribution == "uniform":
        low, high = fault.min * MS, fault.max * MS
        return DelayParams(delay_ns=round((low + high) / 2), jitter_ns=round((high - low) / 2), distribution="uniform")
    if fault.distribution == "normal":
        stddev = fault.stddev or 0.0
        if stddev == 0:
            return DelayParams(delay_ns=round(fault.mean * MS))
        return DelayParams(delay_ns=round(fault.mean * MS), jitter_ns=round(stddev * MS), distribution="normal",
                           min_ns=clamp_min, max_ns=clamp_max)
    if fault.distribution == "pareto":
        shape, scale = float(fault.shape), float(fault.scale)
        return DelayParams(
            delay_ns=round(scale * pareto_centre(shape) * MS),
            jitter_ns=round(scale * pareto_spread(shape) * MS),
            distribution="pareto",
            pareto_shape=shape,
            min_ns=clamp_min,
            max_ns=clamp_max,
        )
    # pareto-normal: netem's paretonormal table around `mean`; spread `stddev`, else the pareto `scale`.
    spread = fault.stddev if fault.stddev else fault.scale
    return DelayParams(delay_ns=round(fault.mean * MS), jitter_ns=round(spread * MS), distribution="paretonormal",
                       min_ns=clamp_min, max_ns=clamp_max)


def rate_params(bytes_per_second: float, mtu: int = 1500) -> RateParams:
    """TBF settings for a goodput of `bytes_per_second`.

    - The fault's rate is payload bytes per second (what lueur's proxy limits and what a user measures). TBF counts
      whole frames, so it runs at rate x (MTU + 14) / (MTU - 52): full-size TCP segments then deliver the rate.
    - burst: 4 ms worth of the wire rate (the HZ=250 rule of thumb), at least two full frames (TBF must fit one).
    - limit (queue bytes): 200 ms worth at the wire rate, at least 64 KiB (one GSO super-packet), plus the burst.
    """
    if bytes_per_second < 1:
        raise BadInput(f"bandwidth rate {bytes_per_second:g} B/s is below 1 byte per second")
    frame = mtu + ETHERNET_HEADER
    wire = math.ceil(bytes_per_second * frame / (mtu - TCP_IP_HEADERS))
    burst = max(2 * frame, math.ceil(wire * TBF_BURST_SECONDS))
    limit = burst + max(TBF_MIN_QUEUE_BYTES, math.ceil(wire * TBF_QUEUE_SECONDS))
    return RateParams(rate_bytes_per_s=round(bytes_per_second), wire_rate_bytes_per_s=wire, burst_bytes=burst,
                      limit_bytes=limit, mtu=mtu)
