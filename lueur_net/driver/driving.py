"""The driver's entry point: run one scenario item's calls and return one record per call.

`drive_item(spec)` is a plain module-level function with a picklable argument and result, made to be called
as `run_in_netns(netns, drive_item, spec)`: everything it does happens in the calling process, or for a heavy
load in worker processes forked from it (which inherit its network namespace).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from lueur_net.driver.call import preload
from lueur_net.driver.progress import ProgressWriter
from lueur_net.driver.spec import ItemSpec
from lueur_net.driver import h1
from lueur_net.driver.strategies import load_client_name, run_load, run_sequential
from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.enter import die_with_parent
from lueur_net.lab.signals import run_forked
from lueur_net.records.call import CallRecord

# One process holds its schedule up to roughly this many calls per second (docs/driver.md,
# benchmarks/bench_driver_capacity.py); above it the clients are split over processes (at most one per CPU).
# llhttp: one process held 3000 rps with less send lag than two on 2 cores (two processes and the server contend
# for the cores), two sent 4000 where one fell behind. httpx (https:// loads): ~600.
RPS_PER_WORKER = 3000.0
RPS_PER_WORKER_HTTPX = 600.0
EVENT_LOOP_ENV = "LUEUR_NET_EVENT_LOOP"
# Forked workers: t0 is chosen before their fork, this far ahead, + WORKER_START_S each. One process needs nothing
# between its readiness and t0 (its clients are built and warmed before it asks; the start gate adds the run's own
# slack): 50 ms there was idle at every load item's start.
SETUP_MARGIN_S = 0.05
WORKER_START_S = 0.1


@dataclass
class ItemRun:
    """What driving one item produced: the records plus facts about how the load was held."""

    records: list[CallRecord]
    t0: float  # the item's origin on CLOCK_MONOTONIC (time.monotonic())
    workers: int = 1
    notes: dict[str, int | float] = field(default_factory=dict)  # load: peak_in_flight, capped, max_in_flight,
    # and after a stall: missed (calls not sent), stalled_s (the longest lateness)


def drive_item(spec: ItemSpec) -> list[CallRecord]:
    """Run the item's calls (single, repeat or load) and return one record per call, in send order."""
    return drive(spec).records


def drive(spec: ItemSpec) -> ItemRun:
    """drive_item with the run facts (t0, workers, in-flight cap notes) for results.json."""
    preload()
    if spec.load is None:
        progress = ProgressWriter(spec.progress_fd, spec.scenario_index, spec.item)
        records, t0 = _run_async(run_sequential(spec, starter(spec, 0.0), progress))
        progress.end()
        return ItemRun(records=records, t0=t0)
    raise_open_files_limit(spec.load.max_in_flight + 256)
    workers = worker_count(spec)
    if workers == 1:
        progress = ProgressWriter(spec.progress_fd, spec.scenario_index, spec.item, throttle=True)
        records, notes, t0 = _run_async(
            run_load(spec, starter(spec, 0.0), progress, list(range(spec.load.clients)),
                     spec.load.max_in_flight)
        )
        progress.end()
        return ItemRun(records=records, t0=t0, workers=1, notes=notes)
    # Forked workers need time to start: t0 is fixed here, before the fork, that far ahead.
    t0 = starter(spec, SETUP_MARGIN_S + WORKER_START_S * workers)()
    return _run_workers(spec, t0, workers)


def warm() -> None:
    """Import, in the run's own process, what each item's driver process would otherwise import after its fork
    (preload's httpcore/anyio modules, uvloop, certifi's bundle lookup: ~75 modules, ~0.1 s measured per item on
    the 2-core host): every driver forked afterwards inherits them. The runner calls it in a thread beside the
    lab's set-up and the app's start, and joins it before the first driver's fork."""
    preload()
    try:
        import uvloop  # noqa: F401  (_run_async's loop)
    except ImportError:
        pass
    import certifi  # noqa: F401  (httpx's default TLS context)
    import httpcore._async  # noqa: F401


def starter(spec: ItemSpec, needed_s: float) -> Callable[[], float]:
    """What the strategies call once ready to send, for t0: the run's start gate when it gave one (it applies the
    faults for the t0 it answers), else the spec's t0, else now + `needed_s`. A t0 in the future is waited for; one
    in the past makes the first calls late (send lag)."""

    def start() -> float:
        if spec.start is not None:
            return spec.start(needed_s)
        if spec.t0 is not None:
            return spec.t0
        return time.monotonic() + needed_s

    return start


def raise_open_files_limit(wanted: int) -> None:
    """Each call in flight holds a socket: lift the soft RLIMIT_NOFILE (often 1024) towards the hard limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def worker_count(spec: ItemSpec) -> int:
    assert spec.load is not None
    if spec.load.workers > 0:
        return min(spec.load.workers, spec.load.clients)
    total_rps = spec.load.clients * spec.load.rps
    per_worker = RPS_PER_WORKER if load_client_name() == "llhttp" and h1.serves(spec.call) else RPS_PER_WORKER_HTTPX
    wanted = math.ceil(total_rps / per_worker)
    return max(1, min(wanted, os.cpu_count() or 1, spec.load.clients))


def _run_async(coroutine):  # type: ignore[no-untyped-def]
    """Run on uvloop (measured ~35% less CPU per call than asyncio's loop: a worker holds more rate), unless
    LUEUR_NET_EVENT_LOOP=asyncio or uvloop is missing."""
    if os.environ.get(EVENT_LOOP_ENV, "uvloop") != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def _run_workers(spec: ItemSpec, t0: float, workers: int) -> ItemRun:
    """Fork `workers` processes, each driving every workers-th client; gather their records."""
    assert spec.load is not None
    share = max(1, spec.load.max_in_flight // workers)
    parent = os.getpid()

    def worker(clients: list[int]) -> tuple[list[CallRecord], dict[str, int | float]]:
        die_with_parent(parent)  # the run SIGKILLs the driver on Ctrl-C: its workers go with it
        progress = ProgressWriter(spec.progress_fd, spec.scenario_index, spec.item, throttle=True)
        records, notes, _ = _run_async(run_load(spec, lambda: t0, progress, clients, share))
        progress.flush()
        return records, notes

    shares = [list(range(index, spec.load.clients, workers)) for index in range(workers)]
    records: list[CallRecord] = []
    notes: dict[str, int | float] = {"peak_in_flight": 0, "capped": 0, "max_in_flight": share * workers}
    problems: list[str] = []
    for ended in run_forked([partial(worker, clients) for clients in shares]):
        if ended.result is None:
            problems.append(f"load worker {ended.pid} died without a result")
            continue
        kind, value = ended.result
        if kind != "ok":
            error = value[0]
            problems.append(f"load worker {ended.pid}: {type(error).__name__}: {error}")
            continue
        worker_records, worker_notes = value
        records.extend(worker_records)
        notes["peak_in_flight"] += worker_notes["peak_in_flight"]
        notes["capped"] += worker_notes["capped"]
        if worker_notes.get("missed"):
            notes["missed"] = notes.get("missed", 0) + worker_notes["missed"]
            notes["stalled_s"] = max(notes.get("stalled_s", 0.0), worker_notes["stalled_s"])
    if problems:
        raise EnvironmentProblem("; ".join(problems))
    ProgressWriter(spec.progress_fd, spec.scenario_index, spec.item).end()
    records.sort(key=lambda record: record.seq)
    return ItemRun(records=records, t0=t0, workers=workers, notes=notes)
