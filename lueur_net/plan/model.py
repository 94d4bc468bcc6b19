"""The FaultPlan: pure, frozen data saying which fault goes where, through which backend, when, with what.

Units are the kernel's: times in nanoseconds, rates in bytes per second, sizes in bytes, probabilities as 0..1
floats (the netlink encoder scales them to u32). Windows are seconds on the item's clock (0 = the item's start,
see `Item.window_anchor`); the apply step turns them into CLOCK_MONOTONIC instants with its t0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, Literal, Union, get_args

Side = Literal["client", "server"]
Hook = Literal["ingress", "egress"]
BackendName = Literal["netem", "tbf", "nfqueue", "ebpf"]
Traffic = Literal["requests", "responses"]
Distribution = Literal["uniform", "normal", "pareto", "paretonormal"]

TC_BACKENDS: tuple[str, ...] = ("netem", "tbf")


@dataclass(frozen=True)
class Window:
    """Active from `start_s` (inclusive) to `end_s` (exclusive; None = to the end of the item)."""

    start_s: float
    end_s: float | None = None

    def contains(self, t: float) -> bool:
        return t >= self.start_s and (self.end_s is None or t < self.end_s)


# ---- per-fault parameters (kernel units) ----


@dataclass(frozen=True)
class DelayParams:
    """A netem-style delay: `delay_ns` (mu) and `jitter_ns` (sigma) shaped by `distribution`.

    uniform: mu +- sigma, no table. normal/paretonormal: iproute2's tables, delay = mu + sigma * t.
    pareto: a table with `pareto_shape` (iproute2's has 3). `min_ns`/`max_ns` clamp the table (baked into it).
    """

    delay_ns: int
    jitter_ns: int = 0
    distribution: Distribution = "uniform"
    correlation: float = 0.0
    min_ns: int | None = None
    max_ns: int | None = None
    pareto_shape: float = 3.0


@dataclass(frozen=True)
class JitterParams:
    """The path's extra delay is redrawn uniformly in [0, amplitude] `frequency_hz` times per second."""

    amplitude_ns: int
    frequency_hz: float


@dataclass(frozen=True)
class RateParams:
    """Shaping with TBF. `rate` is the goodput asked for; TBF runs at `wire_rate` (header overhead added)."""

    rate_bytes_per_s: int
    wire_rate_bytes_per_s: int
    burst_bytes: int
    limit_bytes: int
    mtu: int


@dataclass(frozen=True)
class LossParams:
    """random: `probability` with `correlation`. gilbert-elliott: p, r, loss_bad (1-h), loss_good (1-k).
    4-state (netem's GI model): p13, p31, p32, p14, p23."""

    model: Literal["random", "gilbert-elliott", "4-state"] = "random"
    probability: float = 0.0
    correlation: float = 0.0
    p: float = 0.0
    r: float = 1.0
    loss_bad: float = 1.0
    loss_good: float = 0.0
    p13: float = 0.0
    p31: float = 1.0
    p32: float = 0.0
    p14: float = 0.0
    p23: float = 1.0


@dataclass(frozen=True)
class ProbabilityParams:
    """duplicate, corrupt, reorder (`gap` only for reorder)."""

    probability: float
    correlation: float = 0.0
    gap: int = 0


@dataclass(frozen=True)
class BlackholeParams:
    """Drop everything on the hook (eBPF; netem loss 100% as fallback, for `only="all"` alone).

    `only`: "all", "new" (connection attempts: SYNs) or "established" (packets after the handshake).
    """

    only: str = "all"


@dataclass(frozen=True)
class PoliceParams:
    """Police to `rate_bytes_per_s` (payload bytes, as lueur's rate) with a token bucket of `burst_bytes` (eBPF):
    packets above the rate are dropped, not queued (that is `bandwidth`)."""

    rate_bytes_per_s: int
    burst_bytes: int


@dataclass(frozen=True)
class HttpErrorParams:
    """Rewrite the status line of a share `probability` of HTTP responses to `status_code` (eBPF). `body` is what
    the scenario asked for; the kernel keeps the server's body (the plan carries a note saying so)."""

    status_code: int
    probability: float
    body: str | None = None


@dataclass(frozen=True)
class DnsParams:
    """Answer a share `probability` of DNS queries with `answer` (eBPF): the scenario's `kind`, nxdomain,
    servfail, refused, or timeout (the answer is dropped). Named `answer`, not `kind`: `to_dict` tags every
    params dict with its type under "kind"."""

    answer: Literal["nxdomain", "servfail", "refused", "timeout"]
    probability: float


@dataclass(frozen=True)
class ResetParams:
    """Reset a share `probability` of TCP packets' connections with an RST (eBPF)."""

    probability: float


FaultParams = Union[
    DelayParams, JitterParams, RateParams, LossParams, ProbabilityParams, BlackholeParams, PoliceParams,
    HttpErrorParams, DnsParams, ResetParams,
]

# The eBPF programs read a fault's active windows from a fixed-size array (bpf/lueur_common.h LUEUR_MAX_WINDOWS):
# the one definition; the planner refuses more windows, and the eBPF map layout (dataplane/ebpf/model.py) imports it.
EBPF_MAX_WINDOWS = 16


@dataclass(frozen=True)
class TrafficScope:
    """Which packets crossing the hook a fault may touch (`inject --to/--port/--protocol`; docs/inject.md).

    `peer` (IPv4 CIDR) and `peer_port` name the far side of the traffic: the source of what arrives (ingress), the
    destination of what leaves (egress). `port` matches either port of a packet. `protocol` tcp|udp (None: any).
    """

    peer: str | None = None
    peer_port: int | None = None
    port: int | None = None
    protocol: str | None = None

    @property
    def everything(self) -> bool:
        return self.peer is None and self.peer_port is None and self.port is None and self.protocol is None

    def describe(self) -> str:
        parts = []
        if self.peer is not None:
            parts.append(f"peer {self.peer}" + (f" port {self.peer_port}" if self.peer_port is not None else ""))
        if self.port is not None:
            parts.append(f"port {self.port}")
        if self.protocol is not None:
            parts.append(self.protocol)
        return ", ".join(parts) or "every packet"


@dataclass(frozen=True)
class PlannedFault:
    """One fault on one hook. See docs/dataplane.md for every field."""

    id: str
    type: str
    side: Side
    hook: Hook
    requested_side: Side
    requested_direction: Hook
    traffic: Traffic
    backend: BackendName
    params: FaultParams
    windows: tuple[Window, ...] = ()
    # None: the backend's own scope (the traffic with the path's other end, as `run` has it); a TrafficScope (even
    # an empty one: every packet) is what `inject` asked for, honoured by the eBPF and nfqueue backends only.
    scope: TrafficScope | None = None

    @property
    def always(self) -> bool:
        return not self.windows

    def active(self, t: float) -> bool:
        return self.always or any(window.contains(t) for window in self.windows)

    def to_dict(self) -> dict[str, Any]:
        shown = {
            "id": self.id,
            "type": self.type,
            "side": self.side,
            "hook": self.hook,
            "requested": {"side": self.requested_side, "direction": self.requested_direction},
            "traffic": self.traffic,
            "backend": self.backend,
            "params": _plain(self.params),
            "windows": [_plain(window) for window in self.windows],
        }
        if self.scope is not None:
            shown["scope"] = _plain(self.scope)
        return shown


# ---- composition of tc faults on one hook ----


@dataclass(frozen=True)
class NetemConfig:
    """Everything one netem qdisc does (several faults composed). Probabilities 0..1."""

    delay: DelayParams | None = None
    loss: LossParams | None = None
    duplicate: ProbabilityParams | None = None
    corrupt: ProbabilityParams | None = None
    reorder: ProbabilityParams | None = None
    rate_bytes_per_s: int = 0
    limit_packets: int = 10000

    def with_extra_delay(self, extra_ns: int) -> NetemConfig:
        """This config with `extra_ns` added to the delay mean (a jitter step)."""
        base = self.delay or DelayParams(delay_ns=0)
        return NetemConfig(
            delay=DelayParams(
                delay_ns=base.delay_ns + extra_ns,
                jitter_ns=base.jitter_ns,
                distribution=base.distribution,
                correlation=base.correlation,
                min_ns=None if base.min_ns is None else base.min_ns + extra_ns,
                max_ns=None if base.max_ns is None else base.max_ns + extra_ns,
                pareto_shape=base.pareto_shape,
            ),
            loss=self.loss,
            duplicate=self.duplicate,
            corrupt=self.corrupt,
            reorder=self.reorder,
            rate_bytes_per_s=self.rate_bytes_per_s,
            limit_packets=self.limit_packets,
        )


@dataclass(frozen=True)
class HookConfig:
    """The qdiscs on one hook during one segment: netem at the root (4c4e:) with TBF as its child (4c4f: under 4c4e:1)
    when both are present, else whichever is present at the root. Jitter faults active in the segment add a
    step-wise delay on top of `netem` (the scheduler redraws it)."""

    netem: NetemConfig | None = None
    tbf: RateParams | None = None
    jitter: tuple[JitterParams, ...] = ()

    @property
    def empty(self) -> bool:
        return self.netem is None and self.tbf is None and not self.jitter


@dataclass(frozen=True)
class Segment:
    """[start_s, end_s) of the item's clock during which `config` holds; `fault_ids` are the faults active."""

    start_s: float
    end_s: float | None
    fault_ids: tuple[str, ...]
    config: HookConfig


@dataclass(frozen=True)
class HookPlan:
    """All tc faults on one (side, hook), composed into time segments."""

    side: Side
    hook: Hook
    fault_ids: tuple[str, ...]
    segments: tuple[Segment, ...]

    @property
    def key(self) -> str:
        return f"{self.side}/{self.hook}"

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "hook": self.hook, "faults": list(self.fault_ids),
                "segments": [_plain(segment) for segment in self.segments]}


@dataclass(frozen=True)
class FaultPlan:
    """The plan of one scenario item (one iteration of a repeat)."""

    faults: tuple[PlannedFault, ...]
    hooks: tuple[HookPlan, ...]
    iteration: int = 0
    anchor: Literal["run", "call"] = "call"
    notes: tuple[str, ...] = ()

    @property
    def other_faults(self) -> tuple[PlannedFault, ...]:
        return tuple(fault for fault in self.faults if fault.backend not in TC_BACKENDS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "anchor": self.anchor,
            "faults": [fault.to_dict() for fault in self.faults],
            "hooks": [hook.to_dict() for hook in self.hooks],
            "notes": list(self.notes),
        }


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {"kind": type(value).__name__, **asdict(value)} if isinstance(value, _PARAM_TYPES) else asdict(value)
    return value


_PARAM_TYPES: tuple[type, ...] = get_args(FaultParams)
