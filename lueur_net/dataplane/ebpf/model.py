"""What an eBPF fault matches and when it is active: pure data, validated, no kernel access.

- `Rule`/`Scope`: which packets a fault may touch (IPv4 prefixes, port ranges, protocol), OR-ed rules.
- `Window`/`Timing`: when, on CLOCK_MONOTONIC (Python's time.monotonic_ns(), the kernel's bpf_ktime_get_ns()),
  and the deadline after which the program passes everything (fail-open).
- `Hook`: ingress or egress of an interface.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from enum import Enum

from lueur_net.errors import BadInput
from lueur_net.plan.model import EBPF_MAX_WINDOWS

MAX_RULES = 8  # LUEUR_MAX_RULES in bpf/lueur_common.h
MAX_WINDOWS = EBPF_MAX_WINDOWS  # LUEUR_MAX_WINDOWS; the plan owns the number (its planner refuses more)
PROTOCOLS = {"any": 0, "tcp": 6, "udp": 17, "icmp": 1}
PROBABILITY_ONE = 1 << 32  # lueur_roll(): threshold out of 2^32


class Hook(str, Enum):
    INGRESS = "ingress"
    EGRESS = "egress"


@dataclass(frozen=True)
class PortRange:
    low: int = 0
    high: int = 65535

    def __post_init__(self) -> None:
        if not (0 <= self.low <= self.high <= 65535):
            raise BadInput(f"port range {self.low}-{self.high} is not within 0-65535 with low <= high")

    @classmethod
    def parse(cls, text: str | int | None) -> PortRange:
        """None (any), 80, "80" or "8000-8100"."""
        if text is None:
            return cls()
        if isinstance(text, int):
            return cls(text, text)
        low, _, high = str(text).partition("-")
        try:
            return cls(int(low), int(high or low))
        except ValueError:
            raise BadInput(f"'{text}' is not a port or a port range like 8000-8100") from None

    @property
    def is_any(self) -> bool:
        return self.low == 0 and self.high == 65535


@dataclass(frozen=True)
class Rule:
    """Every given field must match; None/any fields match everything."""

    src: str | None = None  # "10.1.2.0/24" or "10.1.2.3"
    dst: str | None = None
    sport: PortRange = field(default_factory=PortRange)
    dport: PortRange = field(default_factory=PortRange)
    protocol: str = "any"

    def __post_init__(self) -> None:
        for address in (self.src, self.dst):
            if address is not None:
                network(address)
        if self.protocol not in PROTOCOLS:
            raise BadInput(f"protocol '{self.protocol}' is not one of {', '.join(PROTOCOLS)}")


def network(text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise BadInput(f"'{text}' is not an IPv4 address or prefix (eBPF faults match IPv4 only)") from None


@dataclass(frozen=True)
class Scope:
    """No rule = every IPv4 packet through the hook."""

    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        if len(self.rules) > MAX_RULES:
            raise BadInput(f"an eBPF scope holds at most {MAX_RULES} rules, got {len(self.rules)}")

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def peer(
        cls,
        address: str,
        ports: PortRange | None = None,
        protocol: str = "any",
        hook: Hook | str = Hook.INGRESS,
    ) -> Scope:
        """Traffic to or from one remote peer, seen at `hook` of a local interface: at ingress the peer is
        the source, at egress the destination (so one call scopes either direction of a path)."""
        ports = ports or PortRange()
        if Hook(hook) is Hook.INGRESS:
            return cls((Rule(src=address, sport=ports, protocol=protocol),))
        return cls((Rule(dst=address, dport=ports, protocol=protocol),))


@dataclass(frozen=True)
class Window:
    """[start, end) in CLOCK_MONOTONIC nanoseconds."""

    start_ns: int
    end_ns: int

    def __post_init__(self) -> None:
        if not (0 <= self.start_ns < self.end_ns):
            raise BadInput(f"window start {self.start_ns} must be before its end {self.end_ns}")

    @classmethod
    def from_now(cls, start_s: float, duration_s: float, now_ns: int | None = None) -> Window:
        now = time.monotonic_ns() if now_ns is None else now_ns
        start = now + round(start_s * 1e9)
        return cls(start, start + round(duration_s * 1e9))


@dataclass(frozen=True)
class Timing:
    """No window = active from attach until the deadline; deadline None = no deadline (not recommended:
    the deadline is what makes a frozen or killed lueur-net harmless for cls_bpf attachments)."""

    windows: tuple[Window, ...] = ()
    deadline_ns: int | None = None

    def __post_init__(self) -> None:
        if len(self.windows) > MAX_WINDOWS:
            raise BadInput(f"an eBPF fault holds at most {MAX_WINDOWS} windows, got {len(self.windows)}")
        if self.deadline_ns is not None and self.deadline_ns <= 0:
            raise BadInput("the deadline must be a positive CLOCK_MONOTONIC time in nanoseconds")


def threshold(probability: float, name: str = "probability") -> int:
    """A probability as lueur_roll()'s threshold out of 2^32."""
    if not (0.0 <= probability <= 1.0):
        raise BadInput(f"{name} must be between 0 and 1, got {probability}")
    return round(probability * PROBABILITY_ONE)
