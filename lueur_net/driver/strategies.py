"""The three ways an item sends calls: single, repeat (sequential) and load (open-loop schedule).

All coroutines here run in one event loop in one process; `lueur_net.driver.driving` spreads a heavy load
over several processes, each running `run_load` for its share of the virtual clients.
"""

from __future__ import annotations

import asyncio
import gc
import os
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from lueur_net.driver import h1
from lueur_net.driver.call import ShardedClient, make_client, perform_call, tls_context, warm_up_request
from lueur_net.driver.progress import ProgressWriter
from lueur_net.driver.spec import ANCHOR_ITEM, FaultWindow, ItemSpec, LoadSpec
from lueur_net.records.call import ERROR_MISSED, PHASE_BASELINE, PHASE_FAULT, CallRecord, call_failures

# Open loop, bounded: a call the driver reaches more than this long after its intended send time (the driver was
# stalled: SIGSTOP, a debugger, a frozen VM) is not sent but recorded as missed. Sending every missed call at once
# after a stall would hit the service with a burst it never asked for (measured before: send lag up to 91 s).
MISSED_AFTER_S = 1.0

# The load path's HTTP client (docs/driver.md, "How the load is held"): "llhttp" (lueur_net.driver.h1, plain
# http:// URLs; https:// loads fall back to httpx) or "httpx". Measured side by side by the capacity benchmark,
# which adds its own candidates to LOAD_CLIENTS.
LOAD_CLIENT_ENV = "LUEUR_NET_LOAD_CLIENT"
DEFAULT_LOAD_CLIENT = "llhttp"


class LoadClient(Protocol):
    """One virtual client's connections: `acquire()` gives the handle `perform_call` takes for one call."""

    def acquire(self) -> Any: ...
    def release(self, handle: Any) -> None: ...
    def warm_up(self) -> None: ...
    async def aclose(self) -> None: ...


def _llhttp_client(call: Any, verify: ssl.SSLContext | bool) -> LoadClient:
    return h1.H1Pool(call) if h1.serves(call) else ShardedClient(call, verify)


LOAD_CLIENTS: dict[str, Callable[[Any, ssl.SSLContext | bool], LoadClient]] = {
    "llhttp": _llhttp_client,
    "httpx": ShardedClient,
}


def load_client_name() -> str:
    name = os.environ.get(LOAD_CLIENT_ENV, DEFAULT_LOAD_CLIENT)
    if name not in LOAD_CLIENTS:
        raise ValueError(f"{LOAD_CLIENT_ENV}={name!r}: one of {', '.join(sorted(LOAD_CLIENTS))}")
    return name



def lists_fault(window: FaultWindow, record: CallRecord) -> bool:
    """Whether `window` overlaps the call from its actual send to its end, on the window's own clock.

    Item anchor: the call spans [sent_s, sent_s + total_ms] on the item's clock. Call anchor: [0, total_ms] on the
    call's clock (the run re-arms those windows as the call leaves). A fault can only touch the call's packets
    (its handshake, request and response) inside that span, so this is what "the fault was active at this call"
    means in the records: the send lag before it (the driver's, not the network's) does not count.
    """
    duration_s = max(0.0, (record.total_ms or 0.0) / 1000.0)
    start = record.sent_s if window.anchor == ANCHOR_ITEM else 0.0
    return window.overlaps(start, start + duration_s)


def settle_faults(spec: ItemSpec, record: CallRecord) -> None:
    """After the call: `faults` = the windows that overlapped it (`lists_fault`), and `phase` "fault" when there
    is one, else "baseline" (no fault active during the call). A repeat's baseline call (no fault applied at all)
    stays "baseline" with no fault listed."""
    if record.phase == PHASE_BASELINE:
        record.faults = []
        return
    record.faults = _unique(w.name for w in spec.windows if lists_fault(w, record))
    record.phase = PHASE_FAULT if record.faults else PHASE_BASELINE


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def new_record(spec: ItemSpec, *, iteration: int, phase: str, client: int, seq: int, intended_s: float) -> CallRecord:
    """A call about to be sent; `settle_faults` fills `faults` and the final `phase` once it has ended."""
    return CallRecord(
        scenario=spec.scenario,
        scenario_index=spec.scenario_index,
        item=spec.item,
        iteration=iteration,
        phase=phase,
        client=client,
        seq=seq,
        method=spec.call.method,
        url=spec.call.url,
        intended_s=intended_s,
        sent_s=intended_s,
    )


def missed(spec: ItemSpec, record: CallRecord) -> bool:
    """The call got no response or missed the item's expectations (for progress and failfast)."""
    return record.error_class is not None or bool(
        call_failures(record, status=spec.expect.status, response_time_under=spec.expect.response_time_under_ms)
    )


async def run_sequential(
    spec: ItemSpec, start: Callable[[], float], progress: ProgressWriter
) -> tuple[list[CallRecord], float]:
    """single: one call; repeat: optional baseline call, then `count` calls, `hook` before each.

    `start()` gives t0 once the client is built (the run may arm the fault windows for it); returns the records
    and that t0."""
    plan: list[tuple[int, str]] = []
    if spec.repeat is None:
        plan.append((0, PHASE_FAULT))
    else:
        if spec.repeat.add_baseline_call:
            plan.append((0, PHASE_BASELINE))
        plan.extend((iteration, PHASE_FAULT) for iteration in range(spec.repeat.count))
    records: list[CallRecord] = []
    async with make_client(spec.call, max_connections=1, verify=tls_context(spec.call)) as client:
        warm_up(client, spec)
        t0 = start()
        await sleep_until(t0)  # the run may have armed the fault windows for t0: the first call goes out then
        for seq, (iteration, phase) in enumerate(plan):
            if seq and spec.repeat is not None and spec.repeat.wait_s > 0:
                await asyncio.sleep(spec.repeat.wait_s)
            if spec.repeat is not None and spec.hook is not None:
                spec.hook(iteration, phase)
            intended = time.monotonic() - t0
            record = new_record(spec, iteration=iteration, phase=phase, client=0, seq=seq, intended_s=intended)
            await perform_call(client, spec.call, record, t0)
            settle_faults(spec, record)
            records.append(record)
            failed = missed(spec, record)
            progress.call_finished(failed)
            if failed and spec.repeat is not None and spec.repeat.failfast:
                break
    return records, t0


def warm_up(client: httpx.AsyncClient, spec: ItemSpec) -> None:
    """httpx's request-building code once before t0 (~5 ms on the first call otherwise); nothing goes on the wire."""
    warm_up_request(client, spec.call)


# uvloop's timers count whole milliseconds: a shorter sleep fires on the next loop turn, so waiting for a call due
# in 0.3 ms spun the loop (at 1000 rps ~1/3 of a core, taken from the server under test on a small machine). Sleeps
# are at least this long; a call then leaves up to ~1 ms late (its send lag), never early. Measured: 15-25% less
# CPU per call at 1000 and 3000 rps, send lag p50 +0.2..1 ms (docs/driver.md).
SLEEP_FLOOR_S = 0.001


async def sleep_until(moment: float) -> None:
    """Sleep until time.monotonic() >= moment (uvloop's timers have millisecond resolution and may wake early)."""
    while (remaining := moment - time.monotonic()) > 0:
        await asyncio.sleep(max(remaining, SLEEP_FLOOR_S))


def load_schedule(load: LoadSpec) -> list[tuple[float, int]]:
    """(intended seconds from t0, client) of every call of a load item, in send order (index = `seq`).

    Client c sends at (k + c / clients) / rps for every k >= 0 that falls before the duration: every client at
    its own rate, the clients staggered evenly across one interval so the total rate is smooth. The total is
    ceil(clients x rps x duration) (see LoadSpec.calls_of_client).
    """
    interval = 1.0 / load.rps
    schedule = [
        ((k + c / load.clients) * interval, c) for c in range(load.clients) for k in range(load.calls_of_client(c))
    ]
    schedule.sort()
    return schedule


class YoungCollector:
    """Keeps Python's full garbage collections out of the schedule.

    A full collection scans every live object, the growing list of records included: tens of milliseconds of
    send lag at a few hundred calls per second. During a load the automatic collector is off; the young
    generations (where the calls' short-lived cycles are) are collected in idle gaps between sends, and a full
    collection runs once the load is over.
    """

    INTERVAL_S = 0.05

    def __init__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.last = time.monotonic()

    def maybe_collect(self, idle_s: float) -> None:
        now = time.monotonic()
        if idle_s > 0.002 and now - self.last >= self.INTERVAL_S:
            gc.collect(1)
            self.last = now

    def stop(self) -> None:
        if self.was_enabled:
            gc.enable()
        gc.collect()


@dataclass
class LoadState:
    in_flight: int = 0
    peak_in_flight: int = 0
    capped: int = 0
    missed: int = 0  # calls not sent because the driver reached them more than MISSED_AFTER_S late
    stalled_s: float = 0.0  # the longest such lateness: how long the driver was stalled, at least
    records: list[CallRecord] = field(default_factory=list)


def missed_record(spec: ItemSpec, seq: int, intended_s: float, client: int, reached_s: float) -> CallRecord:
    """A due call the driver reached at `reached_s` (from t0), more than MISSED_AFTER_S late: recorded, not sent.

    `sent_s` is when the driver reached it (so its send lag is how late it was); no time, status or bytes."""
    record = new_record(spec, iteration=0, phase=PHASE_FAULT, client=client, seq=seq, intended_s=intended_s)
    record.sent_s = reached_s
    record.error_class = ERROR_MISSED
    record.error = (f"not sent: the driver reached this call {reached_s - intended_s:.1f} s after its intended send "
                    f"time (stalled); calls more than {MISSED_AFTER_S:g} s late are recorded as missed, not sent "
                    "in a burst")
    settle_faults(spec, record)
    return record


async def run_load(
    spec: ItemSpec, start: Callable[[], float], progress: ProgressWriter, clients: list[int], max_in_flight: int
) -> tuple[list[CallRecord], dict[str, int | float], float]:
    """Open loop: each call starts at its intended time whether or not earlier calls have finished.

    At most `max_in_flight` calls run at once; a call due while the cap is reached waits for a slot and is
    marked `capped` (its latency still counts from its intended time, so the wait shows in the results). A call
    the loop reaches more than MISSED_AFTER_S after its intended time (the driver was stalled) is recorded as
    missed and not sent (notes: `missed`, `stalled_s`).
    `start()` gives t0 once every client is built and warmed (the schedule counts from it); returns the records,
    the load notes and that t0.
    """
    assert spec.load is not None
    wanted = set(clients)
    schedule = [(seq, t, c) for seq, (t, c) in enumerate(load_schedule(spec.load)) if c in wanted]
    verify = tls_context(spec.call)
    new_client = LOAD_CLIENTS[load_client_name()]
    http_clients = {c: new_client(spec.call, verify) for c in clients}
    slots = asyncio.Semaphore(max_in_flight)
    state = LoadState()
    tasks: set[asyncio.Task[None]] = set()

    async def one(record: CallRecord, client: LoadClient) -> None:
        shard = client.acquire()
        try:
            await perform_call(shard, spec.call, record, t0)
            settle_faults(spec, record)
        finally:
            client.release(shard)
            slots.release()
            state.in_flight -= 1
        progress.call_finished(missed(spec, record))

    for http_client in http_clients.values():  # first-use costs (httpx's code paths, a shard), before the clock
        http_client.warm_up()
    t0 = start()
    collector = YoungCollector()
    try:
        for seq, intended, client_id in schedule:
            delay = t0 + intended - time.monotonic()
            if delay > 0:
                collector.maybe_collect(delay)
                await sleep_until(t0 + intended)
            reached = time.monotonic() - t0
            if reached - intended > MISSED_AFTER_S:
                missed_call = missed_record(spec, seq, intended, client_id, reached)
                state.missed += 1
                state.stalled_s = max(state.stalled_s, reached - intended)
                state.records.append(missed_call)
                progress.call_finished(True)
                continue
            record = new_record(spec, iteration=0, phase=PHASE_FAULT, client=client_id, seq=seq, intended_s=intended)
            if slots.locked():
                record.capped = True
                state.capped += 1
            await slots.acquire()
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            state.records.append(record)
            task = asyncio.create_task(one(record, http_clients[client_id]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        collector.stop()
        for client in http_clients.values():
            await client.aclose()
    notes: dict[str, int | float] = {"peak_in_flight": state.peak_in_flight, "capped": state.capped,
                                     "max_in_flight": max_in_flight}
    if state.missed:
        notes["missed"] = state.missed
        notes["stalled_s"] = round(state.stalled_s, 3)
    return state.records, notes, t0
