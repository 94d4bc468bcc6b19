"""What the driver needs to run one scenario item: plain, picklable dataclasses (no pydantic).

`lueur_net.driver.build.item_spec()` builds an ItemSpec from the scenario model; tests and other callers can
build one by hand. Everything here crosses the fork in `lueur_net.lab.enter.run_in_netns`, so it must stay
picklable: plain values, and for hooks a module-level function, a functools.partial of one, or a
`lueur_net.driver.hooks.PipeHook`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_S = 30.0  # a call without `timeout` in the scenario: never unbounded
DEFAULT_MAX_IN_FLIGHT = 2048  # load: cap on calls in flight at once (per item, all clients together)


@dataclass(frozen=True)
class CallSpec:
    """The HTTP request, with `{param}` segments already filled and headers already merged."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S  # bounds the whole call, connect to last byte


@dataclass(frozen=True)
class RepeatSpec:
    count: int
    step: float = 0.0  # informational: the planner raises the fault per iteration, through `hook`
    wait_s: float = 0.0  # pause between calls
    failfast: bool = False  # stop at the first call that misses its expectations
    add_baseline_call: bool = False  # one call with no fault first (phase "baseline")


@dataclass(frozen=True)
class LoadSpec:
    duration_s: float
    clients: int
    rps: float  # per client
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    workers: int = 0  # processes sharing the clients; 0 = chosen from the total rate and the CPU count

    def calls_of_client(self, client: int) -> int:
        """Calls client `client` sends: its sends at (k + client/clients)/rps that fall before `duration_s`.

        Over all clients this adds up to ceil(clients x rps x duration) (Hermite's identity), so the total is
        within one call of the product, and every intended send time lies inside [0, duration).
        """
        per_client = round(self.duration_s * self.rps, 9)  # 29.999999999 is 30
        return max(0, math.ceil(round(per_client - client / self.clients, 9)))

    @property
    def total_calls(self) -> int:
        return sum(self.calls_of_client(client) for client in range(self.clients))


ANCHOR_ITEM = "item"
ANCHOR_CALL = "call"


@dataclass(frozen=True)
class FaultWindow:
    """When a fault is active: from `start_s` to `end_s` (exclusive; None = until the item ends).

    `anchor` "item": seconds from the item's t0 (load; the planner's windows). `anchor` "call": seconds from each
    call's own send (lueur's periods for single and repeat items, where 100% is the call's timeout). Either way a
    call lists the fault when the window overlaps the call, from its actual send to its end (`lists_fault`): only
    then can the fault have touched the call's packets. `name` is `f<index>`, the fault's place in the item (the planner's ids are
    `f<index>`, or `f<index>.ingress`/`.egress` for `direction: both`): the records' `faults` column carries it.
    """

    name: str
    start_s: float = 0.0
    end_s: float | None = None
    anchor: str = ANCHOR_ITEM

    def active_at(self, t: float) -> bool:
        return self.start_s <= t and (self.end_s is None or t < self.end_s)

    def overlaps(self, start: float, end: float) -> bool:
        return self.start_s <= end and (self.end_s is None or start < self.end_s)


@dataclass(frozen=True)
class Expect:
    status: int | None = None
    response_time_under_ms: float | None = None


# hook(iteration, phase) runs in the driver's process before each repeat call (and before the single call),
# so the data plane can set the fault for that iteration; "baseline" means: no fault now.
IterationHook = Callable[[int, str], None]

# start(needed_s) runs once in the driver's process when it is ready to send (clients built, code warmed), and
# returns the item's t0 (a time.monotonic() value at least `needed_s` away): the run applies the item's faults
# anchored at that t0 only then, so neither the driver's start-up nor the data plane's set-up makes the first
# calls late. See lueur_net.driver.hooks.PipeStart.
StartGate = Callable[[float], float]


@dataclass(frozen=True)
class ItemSpec:
    scenario: str
    scenario_index: int
    item: int
    call: CallSpec
    repeat: RepeatSpec | None = None
    load: LoadSpec | None = None
    expect: Expect = field(default_factory=Expect)
    windows: tuple[FaultWindow, ...] = ()
    t0: float | None = None  # time.monotonic() origin of the item; None = when the driver is ready (or `start`'s)
    hook: IterationHook | None = None
    progress_fd: int | None = None  # where to write progress lines (lueur_net.driver.progress)
    start: StartGate | None = None  # single/load: asks the run for t0 once the driver is ready (overrides t0)

    @property
    def strategy(self) -> str:
        return "load" if self.load is not None else "repeat" if self.repeat is not None else "single"

    @property
    def is_repeat(self) -> bool:
        """The one question "is this a repeat?": the run then applies iteration i's faults before call i (none before
        the baseline call) through `hook`, instead of once at the start gate."""
        return self.repeat is not None

    @property
    def fault_iterations(self) -> int:
        """How many distinct fault plans the item runs under: a repeat's count (its step grows the delay per
        iteration), else one."""
        return self.repeat.count if self.repeat is not None else 1

    @property
    def span_s(self) -> float:
        """The longest the faults applied at one t0 are needed: a load's duration plus one call's timeout (its last
        call may leave just before the end); a single call's timeout; for a repeat, one call's timeout (the run
        applies the faults again before each call). The run's fail-open deadline is t0 + this + a margin."""
        if self.load is not None:
            return self.load.duration_s + self.call.timeout_s
        return self.call.timeout_s

    @property
    def planned_calls(self) -> int:
        """How many calls the item will make (before failfast), for progress displays."""
        if self.load is not None:
            return self.load.total_calls
        if self.repeat is not None:
            return self.repeat.count + (1 if self.repeat.add_baseline_call else 0)
        return 1
