"""What the nfqueue holder does with each packet, as pure data and pure functions (no kernel, no root).

Delay semantics (netem's, in our units):
- `mean_ns` is added to every packet inside an active window.
- `jitter_ns` spreads it exactly as netem does, so the VM tier's netem and this holder agree: `uniform` draws
  from [mean - jitter, mean + jitter]; `normal`, `pareto` (shape `pareto_shape`) and `paretonormal` draw t from
  the same distribution tables netem loads (lueur_net.plan.netem_tables, generated as iproute2 does) and
  add jitter * t / 8192.
- `min_ns`/`max_ns` clamp the table (as the planner bakes them into netem's table), and the result is clamped
  to [min_ns, max_ns] and never below 0 in every case.
- `keep_order` (default False, netem's behaviour): packets are released by their own due time, so they reorder
  when the jitter exceeds their spacing. `keep_order=True` never releases a packet before one that arrived
  earlier (a shorter sampled delay is stretched to the previous packet's due time): no reordering, but the delay
  distribution is biased upward when packets are closer together than the jitter (measured: 100 +- 20 ms uniform
  at 1000 packets/s gives p50 114 ms instead of 100; see docs/nfqueue.md).
- `redraw_amplitude_ns` / `redraw_hz` (the scenario's `jitter` fault): an extra delay shared by all packets,
  drawn uniformly in [0, amplitude] and redrawn `redraw_hz` times per second (steps aligned on CLOCK_MONOTONIC
  multiples of 1/redraw_hz, each step's value fixed by the seed and the step number).
- Windows: [start_ns, end_ns) on CLOCK_MONOTONIC (absolute, system-wide, shared with the driver). Outside every
  window packets get their verdict at once; packets already held when a window ends keep their delay.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lueur_net.errors import BadInput

DISTRIBUTIONS = ("uniform", "normal", "pareto", "paretonormal")

@dataclass(frozen=True)
class DelaySpec:
    mean_ns: int
    jitter_ns: int = 0
    distribution: str = "uniform"
    min_ns: int = 0
    max_ns: int | None = None
    keep_order: bool = False
    seed: int | None = None
    redraw_amplitude_ns: int = 0
    redraw_hz: float = 0.0
    pareto_shape: float = 3.0

    def __post_init__(self) -> None:
        if self.mean_ns < 0 or self.jitter_ns < 0 or self.min_ns < 0:
            raise BadInput(f"nfqueue delay: mean, jitter and min must be >= 0 (got {self})")
        if self.distribution not in DISTRIBUTIONS:
            raise BadInput(f"nfqueue delay: distribution '{self.distribution}' is not one of "
                           f"{', '.join(DISTRIBUTIONS)}")
        if self.redraw_amplitude_ns < 0 or self.redraw_hz < 0 or (self.redraw_amplitude_ns and not self.redraw_hz):
            raise BadInput("nfqueue delay: redraw amplitude needs a positive redraw frequency")
        if self.max_ns is not None and self.max_ns < self.min_ns:
            raise BadInput(f"nfqueue delay: max ({self.max_ns} ns) is below min ({self.min_ns} ns)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Window:
    """Active from start_ns up to (not including) end_ns on CLOCK_MONOTONIC; end_ns None = no end."""

    start_ns: int
    end_ns: int | None = None

    def contains(self, now_ns: int) -> bool:
        return self.start_ns <= now_ns and (self.end_ns is None or now_ns < self.end_ns)


@dataclass(frozen=True)
class Match:
    """Which packets arriving on the interface are delayed (all of them when every field is None)."""

    source: str | None = None  # address or CIDR
    destination: str | None = None
    protocol: str | None = None  # "tcp" | "udp" | "icmp"
    source_port: int | None = None
    destination_port: int | None = None
    either_port: int | None = None  # source or destination port (iptables multiport --ports)

    def __post_init__(self) -> None:
        if self.protocol not in (None, "tcp", "udp", "icmp"):
            raise BadInput(f"nfqueue match: protocol '{self.protocol}' is not tcp, udp or icmp")
        if (self.source_port or self.destination_port or self.either_port) and self.protocol not in ("tcp", "udp"):
            raise BadInput("nfqueue match: ports need protocol tcp or udp")

    def iptables_args(self) -> list[str]:
        args: list[str] = []
        if self.source:
            args += ["-s", self.source]
        if self.destination:
            args += ["-d", self.destination]
        if self.protocol:
            args += ["-p", self.protocol]
        if self.source_port is not None:
            args += ["--sport", str(self.source_port)]
        if self.destination_port is not None:
            args += ["--dport", str(self.destination_port)]
        if self.either_port is not None:
            args += ["-m", "multiport", "--ports", str(self.either_port)]
        return args


def in_windows(windows: Sequence[Window], now_ns: int) -> bool:
    """No windows means always active."""
    return not windows or any(window.contains(now_ns) for window in windows)


def delay_table(spec: DelaySpec) -> tuple[int, ...] | None:
    """netem's distribution table for `spec`, clamped to its min/max (None for uniform or no jitter)."""
    from lueur_net.plan import netem_tables

    return netem_tables.delay_table(spec.distribution, spec.mean_ns, spec.jitter_ns, spec.min_ns or None,
                                    spec.max_ns, spec.pareto_shape)


def sample_delay_ns(spec: DelaySpec, rng: random.Random, table: tuple[int, ...] | None = None) -> int:
    """One packet's delay before the order rule (see the module docstring); `table` from delay_table(spec)."""
    from lueur_net.plan import netem_tables

    value = netem_tables.sample_delay_ns(table, spec.mean_ns, spec.jitter_ns, rng.random())
    value = max(value, float(spec.min_ns), 0.0)
    if spec.max_ns is not None:
        value = min(value, float(spec.max_ns))
    return int(value)


@dataclass
class DuePlanner:
    """Turns arrival times into release times: sampling, the order rule and the windows (pure, clock passed in)."""

    spec: DelaySpec
    windows: tuple[Window, ...] = ()
    rng: random.Random = field(default_factory=random.Random)
    _last_due_ns: int = 0
    _step: int = -1
    _step_extra_ns: int = 0

    def __post_init__(self) -> None:
        if self.spec.seed is not None:
            self.rng.seed(self.spec.seed)
        self._table = delay_table(self.spec)

    def due_ns(self, arrival_ns: int) -> int | None:
        """Release time for a packet arriving at `arrival_ns`; None = outside every window, release at once."""
        if not in_windows(self.windows, arrival_ns):
            return None
        due = arrival_ns + sample_delay_ns(self.spec, self.rng, self._table) + self.redraw_extra_ns(arrival_ns)
        if self.spec.keep_order:
            due = max(due, self._last_due_ns)
            self._last_due_ns = due
        return due

    def redraw_extra_ns(self, now_ns: int) -> int:
        """The shared extra delay of the step containing `now_ns` (0 without redraw)."""
        if not self.spec.redraw_amplitude_ns:
            return 0
        step = int(now_ns * self.spec.redraw_hz // 1_000_000_000)
        if step != self._step:
            self._step = step
            draw = random.Random(f"{self.spec.seed}:{step}").random()
            self._step_extra_ns = int(draw * self.spec.redraw_amplitude_ns)
        return self._step_extra_ns


def clip_windows(windows: Sequence[Window], deadline_ns: int | None, now_ns: int) -> tuple[Window, ...]:
    """Windows cut at a fail-open deadline (none given: active from now until the deadline)."""
    if deadline_ns is None:
        return tuple(windows)
    source = windows or (Window(now_ns, None),)
    clipped = []
    for window in source:
        end = deadline_ns if window.end_ns is None else min(window.end_ns, deadline_ns)
        if window.start_ns < end:
            clipped.append(Window(window.start_ns, end))
    return tuple(clipped) or (Window(now_ns, now_ns),)  # an empty window: never active
