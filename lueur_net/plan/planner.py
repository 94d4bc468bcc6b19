"""Scenario item -> FaultPlan. Pure: reads the item and a Capabilities object, touches nothing.

What a fault hits is lueur's meaning, kept exactly (DESIGN.md): lueur is a proxy, `side` names the segment
(client <-> proxy or proxy <-> server) and `direction` is seen from the proxy (ingress = what the proxy reads from
that side, egress = what it writes to it). So server/ingress (the default) and client/egress hit the responses,
server/egress and client/ingress the requests (`traffic_hit`).

The lab has no proxy: `side` picks the end of the path that hosts the objects, and on that end the hook is where
that traffic crosses it (lueur_net/lab/topology.py: requests leave the client end's egress and reach the server
end's ingress; responses the other way round). Seen from the end, the proxy's ingress is the end's egress and vice
versa (`hook_for`). Then each backend may move the fault to the end that suits it, on the same traffic:
- tc (netem, TBF): with both veth ends ours (`peer_is_ours`, the lab's normal case) a fault on an end's ingress
  goes on the peer's egress, which carries exactly the same packets; so every tc fault sits on the egress of the
  sending end and faults hitting the same traffic compose in one qdisc tree. Without an owned peer, ingress stays
  ingress and the tc backend redirects it through an IFB device.
- nfqueue: on the receiving end's ingress (holding packets at the sender throttles TCP; machine-facts.md).
- eBPF: on the end `side` names.
"""

from __future__ import annotations

import math
from typing import Any

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.plan.backends import choose_backend
from lueur_net.plan.capabilities import Capabilities
from lueur_net.plan.compose import compose_hooks
from lueur_net.plan.model import (
    EBPF_MAX_WINDOWS,
    BlackholeParams,
    DelayParams,
    DnsParams,
    FaultParams,
    FaultPlan,
    Hook,
    HttpErrorParams,
    JitterParams,
    LossParams,
    PlannedFault,
    PoliceParams,
    ProbabilityParams,
    RateParams,
    ResetParams,
    Side,
    Traffic,
    Window,
)
from lueur_net.plan.netem_tables import pareto_centre, pareto_spread

MS = 1_000_000  # ns per ms
ETHERNET_HEADER = 14
TCP_IP_HEADERS = 52  # IPv4 20 + TCP 20 + timestamps 12: payload of a full segment is MTU - 52
TBF_MIN_QUEUE_BYTES = 64 * 1024
TBF_QUEUE_SECONDS = 0.2
TBF_BURST_SECONDS = 0.004


# Faults that rewrite answers (an HTTP status line, a DNS rcode) act only where responses flow, on the end of the
# scenario's side, whatever `direction` says (lueur's HTTP response fault has no direction either).
RESPONSE_ONLY = ("httperror", "dns")


def traffic_hit(side: str, direction: str) -> Traffic:
    """Which traffic lueur's (side, direction) hits: the proxy reads requests from the client and responses from
    the server (ingress), and writes requests to the server and responses to the client (egress)."""
    reads = direction == "ingress"
    return "requests" if (side == "client") == reads else "responses"


def traffic_of(side: str, hook: str) -> Traffic:
    """Which packets cross a path end's hook: requests leave the client end and arrive at the server end."""
    return "requests" if (side, hook) in (("client", "egress"), ("server", "ingress")) else "responses"


def hook_for(side: Side, traffic: Traffic) -> Hook:
    """The hook of the `side` end where `traffic` crosses it."""
    leaves = (side == "client") == (traffic == "requests")
    return "egress" if leaves else "ingress"


def sending_end(traffic: Traffic) -> Side:
    return "client" if traffic == "requests" else "server"


def receiving_end(traffic: Traffic) -> Side:
    return "server" if traffic == "requests" else "client"


def place(backend: str, side: Side, traffic: Traffic, *, peer_is_ours: bool,
          ends: tuple[Side, ...] = ("client", "server")) -> tuple[Side, Hook]:
    """Where a backend installs a fault on `traffic` asked for on the `side` end, using only the `ends` it may touch.

    An end outside `ends` (the host peer of an attached pod, which lueur-net did not make) is replaced by the other
    end, on the same traffic: the fault then hits the same packets as they cross the end we may touch.
    """
    if backend in ("netem", "tbf"):
        end = sending_end(traffic) if peer_is_ours else side
    elif backend == "nfqueue":
        end = receiving_end(traffic)  # ingress, the holder's best place; the sender's egress only if we must
    else:
        end = side
    if end not in ends:
        end = ends[0]
    return end, hook_for(end, traffic)


def plan_item(
    item: Any,
    capabilities: Capabilities,
    *,
    iteration: int = 0,
    peer_is_ours: bool = True,
    mtu: int = 1500,
    baseline: bool = False,
    ends: tuple[Side, ...] = ("client", "server"),
) -> FaultPlan:
    """The plan of `item` for `iteration` (0-based; a repeat's latency mean grows by step x iteration).

    `ends`: the path ends faults may go on (an attached pod's host peer is not ours: `("client",)`); a fault asked
    for on another end is placed on an allowed one, on the same traffic, with a note.

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
        directions = fault.directions
        if fault.type in RESPONSE_ONLY:
            directions = directions[:1]  # one rewrite of each answer, whatever direction was written
        for direction in directions:
            traffic = "responses" if fault.type in RESPONSE_ONLY else traffic_hit(fault.side, direction)
            side, hook = place(backend, fault.side, traffic, peer_is_ours=peer_is_ours, ends=ends)
            if fault.side not in ends and direction == directions[0]:
                notes.append(f"f{index}: the {fault.side} end is not one lueur-net may change here; the fault hits "
                             f"the same {traffic} on the {side} end ({hook})")
            planned.append(
                PlannedFault(
                    id=f"f{index}" if len(directions) == 1 else f"f{index}.{direction}",
                    type=fault.type,
                    side=side,
                    hook=hook,
                    requested_side=fault.side,
                    requested_direction=direction,
                    traffic=traffic,
                    backend=backend,  # type: ignore[arg-type]
                    params=params,
                    windows=windows,
                )
            )
        if isinstance(params, JitterParams):
            hit = " and ".join(traffic_hit(fault.side, d) for d in directions)
            notes.append(f"f{index}: every packet of the {hit} waits an extra 0..{params.amplitude_ns / MS:g} ms, "
                         f"redrawn {params.frequency_hz:g} times a second (twice per direction on a new connection)")
        if isinstance(params, DelayParams) and params.delay_ns:
            notes.append(call_expectation(f"f{index}", params.delay_ns, [traffic_hit(fault.side, d) for d in directions]))
        if isinstance(params, HttpErrorParams) and params.body is not None:
            notes.append(f"f{index}: 'body' is not sent: the kernel rewrites the status line of the server's answer "
                         "in place and keeps its body (lueur replaces the body)")
        if fault.type == "latency" and getattr(fault, "global_", True) is False:
            notes.append(f"f{index}: 'global: false' has no kernel meaning; netem delays every packet once")
    _check_reorder(planned)
    hooks_planned = compose_hooks(planned)
    return FaultPlan(faults=tuple(planned), hooks=hooks_planned, iteration=iteration, anchor=anchor, notes=tuple(notes))


def call_expectation(fault_id: str, delay_ns: int, traffic: list[Traffic]) -> str:
    """What a call should expect from a per-packet delay, so that a 1.6 s call under an 800 ms fault surprises no
    one: a new connection pays it on its handshake (SYN or SYN-ACK) and again on the request or response."""
    mean = f"{delay_ns / MS:g} ms"
    hit = " and ".join(traffic)
    one_each = " and ".join(kind[:-1] for kind in traffic)
    handshake = " and ".join("SYN" if kind == "requests" else "SYN-ACK" for kind in traffic)
    per_call = len(traffic)
    return (f"{fault_id}: every packet of the {hit} waits {mean}: a call on a new connection should take about "
            f"{2 * per_call} x {mean} more (the handshake's {handshake}, then the {one_each}); on a kept-alive "
            f"connection about {per_call} x {mean}")


def _check_reorder(planned: list[PlannedFault]) -> None:
    """netem reorders by letting some packets skip the delay: a reorder needs a netem delay on the same hook."""
    delayed = {(f.side, f.hook) for f in planned if f.type == "latency" and f.backend == "netem"}
    for fault in planned:
        if fault.type == "reorder" and (fault.side, fault.hook) not in delayed:
            raise BadInput(
                f"{fault.id}: a reorder fault needs a latency fault on the same side and direction "
                f"({fault.requested_side} {fault.requested_direction}): netem reorders by letting packets skip the delay"
            )


def refuse_unrealisable(fault_id: str, fault_type: str, backend: str, params: FaultParams,
                        windows: tuple[Window, ...]) -> None:
    """What the chosen backend cannot express is refused here, at plan time, before any kernel change
    (DESIGN principle 3), not by the backend halfway through a run. The only place the eBPF window count is
    checked: the backends trust the plan."""
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
    if kind == "police":
        return PoliceParams(rate_bytes_per_s=int(fault.bytes_per_second), burst_bytes=int(fault.burst_bytes))
    if kind == "httperror":
        return HttpErrorParams(status_code=int(fault.status_code), probability=float(fault.probability),
                               body=fault.body)
    if kind == "dns":
        return DnsParams(answer=fault.kind, probability=float(fault.probability))
    if kind == "reset":
        return ResetParams(probability=float(fault.probability))
    raise BadInput(f"no kernel parameters for a '{kind}' fault")


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
