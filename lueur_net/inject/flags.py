"""lueur-style fault flags -> the scenario's fault models -> a FaultPlan for one live namespace. Pure.

lueur's proxy flags (`fault run --with-latency --latency-mean 300 ...`) name a fault type, its parameters, a
direction and a schedule (`--latency-sched "start:5%,duration:40%"`). Here each enabled fault becomes the same
pydantic model a scenario file's `faults:` entry becomes, so units, defaults and validation are the scenario's
(docs/scenario.md), and the planner places it: on the target's interface only (ends=("client",)), whose peer is
not ours.

Direction is relative to the target namespace: ingress = arriving in it, egress = leaving it. On the attached
path the namespace is the path's client end, so arriving traffic is what the planner calls responses
(lueur's server/ingress) and leaving traffic requests (server/egress): every flag fault is written with
side=server and the direction asked for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lueur_net.errors import BadInput
from lueur_net.scenario import limits, units
from lueur_net.scenario.faults import Fault, FaultBase

SIDE = "server"  # see the module's docstring: server/ingress = arriving in the target namespace
_FAULT = TypeAdapter(Fault)


@dataclass(frozen=True)
class FlagParam:
    flag: str  # the flag's name without the fault prefix: "mean" -> --latency-mean
    kind: str  # "float" | "int" | "str" | "choice:a,b,c"
    help: str
    scenario_key: str = ""  # the scenario key it sets when that is not the flag's name ("status" -> status_code)

    @property
    def key(self) -> str:
        """The scenario key it sets."""
        return self.scenario_key or self.flag


@dataclass(frozen=True)
class FlagFault:
    """One fault type's flags: --with-PREFIX, --PREFIX-<param>..., --PREFIX-direction, --PREFIX-sched."""

    type: str  # the scenario's `type`
    prefix: str  # lueur's flag prefix
    params: tuple[FlagParam, ...]
    lueur: bool  # a flag family of lueur's (False: lueur-net's extension)
    direction: str = "ingress"  # the default direction, lueur's where lueur has the flag
    directed: bool = True  # has --PREFIX-direction (dns and http-response rewrite answers: no direction)

    def option(self, flag: str) -> str:
        return f"--{self.prefix}-{flag}"

    @property
    def enable(self) -> str:
        return f"--with-{self.prefix}"

    def dest(self, flag: str) -> str:
        """The click parameter name of --PREFIX-flag."""
        return f"{self.prefix}_{flag}".replace("-", "_")

    @property
    def enable_dest(self) -> str:
        return f"with_{self.prefix}".replace("-", "_")


def _rate(help: str, unit_help: str) -> tuple[FlagParam, FlagParam]:
    """A rate and its unit (bandwidth, police): the scenario's rate units."""
    return (FlagParam("rate", "float", help),
            FlagParam("unit", "choice:Bps,KBps,MBps,GBps,KiBps,MiBps,GiBps", unit_help))


def _netem_chance(type: str, probability: str = "required", *more: FlagParam) -> FlagFault:
    """duplicate, corrupt and reorder (lueur-net's): netem's probability of each packet and its correlation."""
    return FlagFault(type, type, (FlagParam("probability", "float", f"0..1 ({probability})."),
                                  FlagParam("correlation", "float", "0..1."), *more), lueur=False)


FLAG_FAULTS: tuple[FlagFault, ...] = (
    FlagFault("latency", "latency", (
        FlagParam("distribution", "choice:uniform,normal,pareto,pareto_normal,pareto-normal",
                  "uniform, normal (default), pareto, pareto_normal."),
        FlagParam("mean", "float", "Mean delay, ms (normal, pareto_normal; default 100)."),
        FlagParam("stddev", "float", "Standard deviation, ms (default 20)."),
        FlagParam("min", "float", "Uniform lower bound, ms (default 20)."),
        FlagParam("max", "float", "Uniform upper bound, ms (default 20)."),
        FlagParam("shape", "float", "Pareto shape (default 20)."),
        FlagParam("scale", "float", "Pareto scale, ms (default 20)."),
    ), lueur=True, direction="both"),
    FlagFault("jitter", "jitter", (
        FlagParam("amplitude", "float", "Maximum added delay, ms (default 20)."),
        FlagParam("frequency", "float", "Redraws per second, Hz (default 5)."),
    ), lueur=True),
    FlagFault("bandwidth", "bandwidth", _rate(
        "Rate in --bandwidth-unit (default 1000).", "Bps (default), KBps, MBps, GBps (decimal), KiBps, MiBps, GiBps."
    ), lueur=True),
    FlagFault("packetloss", "packet-loss", (
        FlagParam("rate", "float", "Loss probability 0..1 (lueur-net; default 0.05)."),), lueur=True),
    FlagFault("blackhole", "blackhole", (
        FlagParam("only", "choice:all,new,established", "all (default), new (SYNs), established (lueur-net)."),
    ), lueur=True),
    FlagFault("httperror", "http-response", (
        FlagParam("status", "int", "HTTP status (default 500).", scenario_key="status_code"),
        FlagParam("body", "str", "Body (not sent: the kernel rewrites the status line only)."),
        FlagParam("trigger-probability", "float", "Share of responses, 0..1 (default 1).", scenario_key="probability"),
    ), lueur=True, directed=False),
    FlagFault("dns", "dns", (
        FlagParam("rate", "float", "Share of queries, 0..1 (default 0.5).", scenario_key="probability"),
        FlagParam("kind", "choice:nxdomain,servfail,refused,timeout",
                  "nxdomain (default), servfail, refused, timeout (lueur-net)."),
    ), lueur=True, directed=False),
    FlagFault("reset", "reset", (
        FlagParam("probability", "float", "Share of packets answered by a reset, 0..1 (default 1)."),), lueur=False),
    FlagFault("police", "police", _rate("Rate in --police-unit (required).", "Bps (default) ... GiBps.") + (
        FlagParam("burst", "int", "Bucket, bytes (default max(256 KiB, 10 ms of the rate))."),), lueur=False),
    _netem_chance("duplicate"),
    _netem_chance("corrupt"),
    _netem_chance("reorder", "required; needs --with-latency, same direction",
                  FlagParam("gap", "int", "Reorder every gap-th packet.")),
)


def _flag_error(family: FlagFault, error: ValidationError) -> BadInput:
    """The first problem of a flag fault's validation as one line naming the flag (exit 2)."""
    first = error.errors()[0]
    key = next((str(part) for part in first["loc"] if isinstance(part, str) and part != family.type), None)
    flag = family.enable
    for param in family.params:
        if param.key == key:
            flag = family.option(param.flag)
    if key == "period":
        flag = family.option("sched")
    elif key == "direction":
        flag = family.option("direction")
    message = f"required with {family.enable}" if first["type"] == "missing" else first["msg"]
    return BadInput(f"{flag}: {message}")


def faults_from_flags(values: Mapping[str, Any]) -> tuple[FaultBase, ...]:
    """The scenario fault of every enabled flag family, in FLAG_FAULTS order. A parameter flag given without its
    --with-... is refused (lueur would ignore it silently)."""
    faults: list[FaultBase] = []
    for family in FLAG_FAULTS:
        enabled = bool(values.get(family.enable_dest))
        given = {param: values.get(family.dest(param.flag)) for param in family.params}
        direction = values.get(family.dest("direction")) if family.directed else None
        sched = values.get(family.dest("sched"))
        stray = [family.option(param.flag) for param, value in given.items() if value is not None]
        stray += [family.option(name) for name, value in (("direction", direction), ("sched", sched))
                  if value is not None]
        if not enabled:
            if stray:
                raise BadInput(f"{stray[0]}: given without {family.enable}, which enables that fault")
            continue
        data: dict[str, Any] = {"type": family.type, "side": SIDE,
                                "direction": direction or family.direction}
        for param, value in given.items():
            if value is not None:
                data[param.key] = value.replace("_", "-") if param.key == "distribution" else value
        if sched is not None:
            data["period"] = sched
        try:
            faults.append(_FAULT.validate_python(data))
        except ValidationError as error:
            raise _flag_error(family, error) from None
    return tuple(faults)


def faults_from_file(path: str) -> tuple[FaultBase, ...]:
    """The fault list of a scenario file (its one item with faults), validated and with errors pointing into the
    file as `run` reports them. Its `side` is kept as written and means what it means in the file (lueur's
    proxy meaning, DESIGN.md): server/ingress hits what arrives in the namespace."""
    from lueur_net.scenario import load

    loaded = load([path])
    with_faults = [(entry, item) for entry in loaded for item in entry.scenario.items if item.context.faults]
    if not with_faults:
        raise BadInput(f"{path}: no item of this file has faults")
    if len(with_faults) > 1:
        raise BadInput(f"{path}: {len(with_faults)} items have faults; inject holds one fault list: keep one item")
    return tuple(with_faults[0][1].context.faults)


def parse_duration(text: str | None) -> float | None:
    """--duration as seconds ('5m', '30s', '90' = seconds, as lueur); None: until Ctrl-C."""
    if text is None:
        return None
    try:
        seconds = units.seconds(text)
    except Exception as error:  # noqa: BLE001 - pydantic's custom error: its message is the reason
        message = error.message() if hasattr(error, "message") else str(error)
        raise BadInput(f"--duration: {message}") from None
    if seconds <= 0:
        raise BadInput("--duration: must be greater than 0")
    if seconds > limits.MAX_RUN_S:
        raise BadInput(f"--duration: {seconds:g} s is above the limit of {limits.MAX_RUN_S:g} s (a day)")
    return seconds


def _port(text: str, flag: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise BadInput(f"{flag}: port '{text}' is not a number") from None
    if not 1 <= port <= 65535:
        raise BadInput(f"{flag}: port {port} is not within 1..65535")
    return port


def parse_scope(to: str | None, port: str | int | None, protocol: str | None) -> Any:
    """--to CIDR[:PORT], --port PORT (either end of a packet), --protocol tcp|udp -> a plan TrafficScope."""
    from lueur_net.plan.model import TrafficScope

    peer = peer_port = None
    if to is not None:
        address, colon, after = to.rpartition(":") if ":" in to else (to, "", "")
        if colon:
            peer_port = _port(after, "--to")
        try:
            peer = str(ipaddress.IPv4Network(address, strict=False))
        except ValueError:
            raise BadInput(f"--to: '{address}' is not an IPv4 address or CIDR (the scope matches IPv4 only)") from None
    either = None if port is None else _port(str(port), "--port")
    if either is not None and peer_port is not None:
        raise BadInput("--port and --to CIDR:PORT both name a port: give one")
    if protocol is not None and protocol not in ("tcp", "udp"):
        raise BadInput(f"--protocol: '{protocol}' is not tcp or udp")
    return TrafficScope(peer=peer, peer_port=peer_port, port=either, protocol=protocol)


@dataclass(frozen=True)
class WindowSeconds:
    """A resolved window (what the planner reads of a scenario Window): `end` None = until the inject ends."""

    start: float
    end: float | None


@dataclass(frozen=True)
class _Context:
    faults: tuple[FaultBase, ...]
    strategy: None = None


@dataclass(frozen=True)
class InjectItem:
    """What plan_item reads of a scenario item, for a live inject: the faults, windows from the inject's start,
    percentages of `duration_s` (lueur's `--duration`), no strategy."""

    faults: tuple[FaultBase, ...]
    duration_s: float | None

    @property
    def context(self) -> _Context:
        return _Context(self.faults)

    @property
    def window_anchor(self) -> str:
        return "run"

    def fault_windows(self, fault: FaultBase) -> tuple[WindowSeconds, ...] | None:
        if not fault.period:
            return None
        windows = []
        for period in fault.period:
            if period.uses_percent and self.duration_s is None:
                raise BadInput(f"period '{period.text}' is relative (%): it needs --duration, as in lueur")
            reference = self.duration_s if self.duration_s is not None else 0.0
            start = period.start.resolve(reference)
            if period.duration is None:
                end = self.duration_s  # until the end of --duration, or until Ctrl-C
            else:
                end = start + period.duration.resolve(reference)
            windows.append(WindowSeconds(start, end))
        return tuple(windows)


@dataclass(frozen=True)
class InjectRequest:
    faults: tuple[FaultBase, ...]
    duration_s: float | None
    scope: Any  # TrafficScope

    @property
    def item(self) -> InjectItem:
        return InjectItem(self.faults, self.duration_s)


def build_request(values: Mapping[str, Any], *, duration: str | None, faults_file: str | None,
                  to: str | None = None, port: str | int | None = None, protocol: str | None = None
                  ) -> InjectRequest:
    """Every flag read and checked, nothing touched: BadInput (exit 2, one line) for the first problem."""
    duration_s = parse_duration(duration)
    from_flags = faults_from_flags(values)
    if faults_file is not None and from_flags:
        raise BadInput("--faults FILE and fault flags exclude each other: give the faults one way")
    faults = faults_from_file(faults_file) if faults_file is not None else from_flags
    if not faults:
        raise BadInput("no fault given: enable one (e.g. --with-latency) or give --faults FILE")
    request = InjectRequest(faults, duration_s, parse_scope(to, port, protocol))
    for fault in faults:
        request.item.fault_windows(fault)  # a relative period without --duration is refused now
    return request


TC_SCOPE_REASON = ("the tc backend ({backend}) puts one qdisc on the whole interface and has no classifier "
                   "scoping yet; only the eBPF and nfqueue backends honour --to/--port/--protocol")


def scoped(plan: Any, scope: Any) -> Any:
    """The plan with every fault carrying `scope` (empty: every packet of the interface, not only the path's
    peer as in `run`). A scope the fault's backend cannot honour is refused, never ignored."""
    if not scope.everything:
        for fault in plan.faults:
            if fault.backend in ("netem", "tbf"):
                raise BadInput(f"{fault.id} ({fault.type}): cannot be limited to {scope.describe()}: "
                               + TC_SCOPE_REASON.format(backend=fault.backend))
    return replace(plan, faults=tuple(replace(fault, scope=scope) for fault in plan.faults))


def plan_request(request: InjectRequest, capabilities: Any) -> Any:
    """The FaultPlan for the target's interface (the path's client end; its peer is not ours), scoped.

    With a scope, a fault the kernel would give netem (latency, jitter, packet loss) goes to the backend that can
    honour the scope (nfqueue, eBPF) when this kernel has it; a fault only tc can realise is refused (`scoped`)."""
    from lueur_net.plan import plan_item
    from lueur_net.plan.backends import PREFERENCES, usable

    plan = plan_item(request.item, capabilities, peer_is_ours=False, ends=("client",))
    if not request.scope.everything:
        on_tc = {fault.type for fault in plan.faults if fault.backend in ("netem", "tbf")}
        movable = all(any(backend not in ("netem", "tbf") and usable(backend, capabilities)
                          for backend in PREFERENCES[kind]) for kind in on_tc)
        if on_tc and movable:
            plan = plan_item(request.item, replace(capabilities, netem=False), peer_is_ours=False, ends=("client",))
    # The planner's note that the (lab's) server end may not be changed says nothing to an inject: every fault
    # goes on the namespace's interface by design.
    notes = tuple(note for note in plan.notes if "end is not one lueur-net may change" not in note)
    return scoped(replace(plan, notes=notes), request.scope)


def directions_hit(faults: Sequence[FaultBase]) -> list[str]:
    """For the status line: each fault as `type direction`."""
    return [f"{fault.type} {fault.direction}" for fault in faults]
