"""`lueur-net run`: scenario files -> plan -> lab -> data plane -> driver -> records -> results.

The order follows DESIGN principle 3 (refuse before touching): every file is loaded and every item planned
against the probed capabilities before the first kernel change. Then one lab serves the whole run (the server
under test is started once, as a user would run it); each item's plans for its paths are made and checked before
the first fault is applied; each item then gets its faults applied on the paths of its upstreams, its calls driven
from the client namespace, and its faults reverted before the next item (lueur_net.runner.item).

Everything that touches the machine comes from a RunEnvironment (lueur_net.runner.environment), the real one by
default, fakes in tests/unit/runner. The CLI (cli/run.py) only parses and prints: it hands a RunListener.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab import ServeSpec
from lueur_net.runner import later_imports
from lueur_net.runner.environment import RunEnvironment, kernel_environment
from lueur_net.runner.item import ItemFaults, PathPlans, backend_failure_message, drive_item
from lueur_net.runner.outputs import check_writable, make_folders
from lueur_net.runner.plans import PlannedItem, checked_plans, plan_run
from lueur_net.runner.timings import RunTimings
from lueur_net.scenario import LoadedScenario, load

if TYPE_CHECKING:
    from lueur_net.lab.topology import Path as LabPath
    from lueur_net.ledger import Ledger
    from lueur_net.results import RunRecorder
    from lueur_net.runner.environment import RunLab
    from lueur_net.runner.listener import RunListener


@dataclass(frozen=True)
class RunOptions:
    paths: tuple[str, ...]
    serve: str | None = None
    results_path: Path | None = Path("results.json")
    records_path: Path | None = None
    only: str | None = None
    pool: str | None = None
    seed: int = 0
    attach: str | None = None  # an existing namespace: ip netns name, /proc/PID/ns/net, pid:PID, container:ID
    iface: str | None = None  # with attach: the interface (default: the namespace's default-route interface)
    allow_host_interface: bool = False
    keep_query: bool = False  # keep non-secret query values and fragments in what the run writes


@dataclass
class RunOutcome:
    document: dict[str, Any]
    results_path: Path | None
    records_path: Path | None
    timings: RunTimings | None = None  # still counting: the CLI adds what it does after (the reports)

    @property
    def passed(self) -> bool:
        return bool(self.document["summary"]["passed"])


SERVE_AND_ATTACH = "--serve and --attach exclude each other: --attach runs the calls in an existing namespace"


def select(loaded: Sequence[LoadedScenario], only: str | None) -> list[LoadedScenario]:
    if only is None:
        return list(loaded)
    chosen = [entry for entry in loaded if only.lower() in entry.scenario.title.lower()]
    if not chosen:
        titles = "; ".join(entry.scenario.title for entry in loaded)
        raise BadInput(f"--only {only!r} matches no scenario title (titles: {titles})")
    return chosen


def upstreams(selected: Sequence[LoadedScenario]) -> list[str]:
    """Every URL the run calls or names as an upstream, each once, in order: the lab reaches each."""
    urls: dict[str, None] = {}
    for entry in selected:
        for item in entry.scenario.items:
            urls[entry.scenario.url_of(item)] = None
            for upstream in item.context.upstreams:
                urls[upstream] = None
    return list(urls)


def item_paths(lab: RunLab, planned: PlannedItem) -> list[LabPath]:
    """The lab paths an item's faults go on: one per distinct path of its upstreams (else of its call's URL)."""
    item = planned.ref.item
    urls = list(item.context.upstreams) or [planned.ref.scenario.url_of(item)]
    return list(dict.fromkeys(lab.path_for(url) for url in urls))


def _item_faults(lab: RunLab, ledger: Ledger, planned: PlannedItem, paths: list[LabPath], options: RunOptions,
                 environment: RunEnvironment) -> ItemFaults:
    """The item's faults, with its plans for every path and iteration made and checked now, before the first
    fault of the run is applied."""
    per_path = [PathPlans(path, checked_plans(planned.plans, path, planned.spec.fault_iterations,
                                              allow_host_interface=options.allow_host_interface))
                for path in paths]
    return ItemFaults(per_path, environment.apply_plan, ledger, lab.deadline_ns, options.seed,
                      span_s=planned.spec.span_s, attached=lab.attached)


@contextmanager
def _closing_timed(lab: RunLab, timings: RunTimings) -> Iterator[None]:
    """The lab as a context manager, its closing counted as `lab tear-down`."""
    with lab:
        try:
            yield
        finally:
            closing = time.monotonic()
    timings.add("lab tear-down", time.monotonic() - closing)


def _warm_beside(env: RunEnvironment) -> threading.Thread | None:
    """Start env.warm_driver in a thread (the lab's set-up is mostly waiting: netlink, nft, the app's start)."""
    if env.warm_driver is None:
        return None
    warming = threading.Thread(target=_warm_quietly, args=(env.warm_driver,), name="lueur-warm-driver", daemon=True)
    warming.start()
    return warming


def _warm_quietly(warm: Any) -> None:
    try:
        warm()
    except Exception:  # noqa: BLE001 - only a head start: each driver imports what it needs itself anyway
        pass


def _joined(warming: threading.Thread | None) -> None:
    if warming is not None:
        warming.join()


def _await_app_first(lab: RunLab, faults: Sequence[Sequence[ItemFaults]]) -> None:
    """The first item waits for the app (`--serve`, started with defer_ready) before its faults are applied (the
    readiness probe crosses the lab's paths: an 800 ms latency on them would fail it), so before its first call as
    before; a later item never has to. Without a deferred app: nothing to do."""
    ready = getattr(getattr(lab, "server", None), "ready", None)
    first = next((item for items in faults for item in items), None)
    if callable(ready) and first is not None:
        first.before_start = ready
    elif callable(ready):
        ready()


def _stop_app_early(lab: RunLab) -> None:
    """The last item's calls are made: the app (`--serve`) is asked to stop now, so its shutdown (uvicorn: ~0.14 s)
    runs beside that item's revert and analysis instead of the lab's tear-down waiting for all of it."""
    ask = getattr(getattr(lab, "server", None), "ask_to_stop", None)
    if callable(ask):
        ask()


def _prestart(env: RunEnvironment, ledger: Ledger, item: ItemFaults, idle: bool = False) -> None:
    """Start ahead what applying the item's first plans waits for (its nfqueue holders' interpreters, ~0.1 s
    each): beside the app's start for the first item; for the others as the previous item starts, `idle`: under
    SCHED_IDLE, their start takes only CPU time the calls being measured leave (started after those calls, they
    were not ready when the next item applied: 40-80 ms waited per nfqueue item). Only a head start."""
    if env.prestart is None:
        return
    for entry in item.paths:
        env.prestart(entry.plans[0], entry.path, ledger, idle=idle)


def _drive_all(env: RunEnvironment, lab: RunLab, selected: Sequence[LoadedScenario], run: Sequence[Any],
               faults: Sequence[Sequence[ItemFaults]], recorder: RunRecorder, listener: RunListener,
               timings: RunTimings, backends: set[tuple[str, str]]) -> str | None:
    """Every item, scenario by scenario; returns why the run stopped early (a backend failed), else None."""
    failed: str | None = None
    for index, items in enumerate(run):
        scenario = selected[index].scenario
        listener.scenario_started(index, len(selected), scenario.title, [planned.spec for planned in items])
        documents = []
        for planned, item_faults in zip(items, faults[index]):
            try:
                documents.append(drive_item(env.drive, lab.client_netns, planned.ref, planned.spec,
                                            item_faults, recorder, listener, timings,
                                            drive_forks=env.drive_forks))
            finally:
                item_faults.revert()
            backends.update((b["type"], b["backend"]) for b in documents[-1]["backends"])
            if documents[-1].get("backend_failures"):  # never a silent pass: stop, write, exit 3
                failed = backend_failure_message(scenario.title, planned.ref.item_index,
                                                 documents[-1]["backend_failures"])
                break
        listener.scenario_finished(index, {"title": scenario.title, "items": documents})
        if failed:
            break
    return failed


def execute(options: RunOptions, listener: RunListener, environment: RunEnvironment | None = None,
            timings: RunTimings | None = None,
            before_close: Callable[[RunOutcome], None] | None = None) -> RunOutcome:
    """Run every selected scenario for real. Needs root. Raises BadInput/EnvironmentProblem before any change.
    `timings`: where to count the phases (the CLI hands in one that already holds the command's start-up).
    `before_close`: called with the outcome once results.json is written, before the lab closes (the CLI's
    reports: `--serve`'s app, asked to stop after the last calls, shuts down meanwhile); not after a backend
    failure (the run then ends with its error)."""
    env = environment or kernel_environment()
    timings = timings or RunTimings()
    with timings.phase("validate/plan"):
        selected = select(load(options.paths), options.only)
        for entry in selected:
            for warning in entry.warnings:
                listener.note(str(warning))
        env.require_root()
        # With --serve, the driver's modules (~0.1 s of imports) are imported while the probe's child works (this
        # thread only waits for it then): started once that child is forked, as no fork may meet an import half
        # done (lueur_net.runner.later_imports).
        early: list[threading.Thread | None] = []
        capabilities = env.probe(beside=(lambda: early.append(_warm_beside(env))) if options.serve else None)
        run = plan_run(selected, capabilities, env.plan)  # refuse before touching
    if options.serve and options.attach:
        raise BadInput(SERVE_AND_ATTACH)
    # pandas and the results (~0.3 s of imports) and the driver's modules (~0.1 s): in threads, waited for before
    # the first driver's fork (after validate/plan: its parsing would only share the interpreter with them).
    # With --serve, pandas and the results start once the app is launched, beside its start (uvicorn: 0.6-0.9 s),
    # which hides them (the driver's modules during the probe, above): beside the lab's set-up, they held the
    # interpreter's lock in turns with it, and the set-up (~45 ms alone) took 0.12-0.17 s, the app's launch that
    # much later. Without an app, both beside the lab's set-up.
    imports_after_lab = options.serve is not None
    if not imports_after_lab:
        later_imports.start()
    # The app's start (uvicorn: 0.6-0.9 s) is not waited for inside the lab's set-up: the items' plans, and the
    # first item's driver start, run beside it; the first item's faults are applied once it answers
    # (_await_app_first).
    serve = ServeSpec(options.serve, cwd=os.getcwd(), env=dict(os.environ), defer_ready=True) \
        if options.serve else None
    needs_dns = any(fault.type == "dns" for entry in selected for item in entry.scenario.items
                    for fault in item.context.faults)

    records_path = options.records_path
    if records_path is None and options.results_path is not None:
        records_path = options.results_path.with_name(options.results_path.stem + ".calls.parquet")
    for output in (options.results_path, records_path):
        check_writable(output)

    started_at = datetime.now(timezone.utc)
    backends: set[tuple[str, str]] = set()
    failed: str | None = None  # a backend failed during an item: the run stops after it and ends with exit 3
    with env.guard_signals(), env.open_ledger() as ledger:
        warming = early[0] if early else None if imports_after_lab else _warm_beside(env)
        began = time.monotonic()
        if options.attach:
            lab = env.attach_lab(options.attach, upstreams(selected), ledger, iface=options.iface,
                                 allow_host_interface=options.allow_host_interface)
        else:
            lab = env.create_lab(upstreams(selected), ledger, serve=serve, pool=options.pool, dns=needs_dns)
        if imports_after_lab:  # the app is launched, its start not waited for (defer_ready)
            later_imports.start()
            warming = warming or _warm_beside(env)
        app_start_s = float(getattr(lab, "serve_seconds", 0.0))  # --serve: the app's own start, shown apart
        timings.add("app start", app_start_s)
        timings.add("lab set-up", time.monotonic() - began - app_start_s)
        with _closing_timed(lab, timings):
            listener.note(f"lab {lab.run_id} ready in {lab.setup_seconds * 1000:.0f} ms"
                          + (f"; server under test: {options.serve}" if options.serve else "")
                          + (f"; attached to {options.attach}" if options.attach else ""))
            paths = [[item_paths(lab, planned) for planned in items] for items in run]
            # every path's plans, and the refusal of a forbidden target, before the first fault is applied
            faults = [[_item_faults(lab, ledger, planned, item_paths_, options, env)
                       for planned, item_paths_ in zip(items, scenario_paths)]
                      for items, scenario_paths in zip(run, paths)]
            try:
                ordered = [item for items in faults for item in items]
                for item_faults, following in zip(ordered, ordered[1:]):
                    item_faults.at_start = functools.partial(_prestart, env, ledger, following, idle=True)
                if ordered:
                    ordered[-1].after_calls = functools.partial(_stop_app_early, lab)
                if ordered:
                    _prestart(env, ledger, ordered[0])  # its holders' interpreters start beside the app's start
                _await_app_first(lab, faults)
                with timings.phase("start-up"):  # the imports' rest, when the app started sooner than they ended
                    _joined(warming)  # before the first driver's fork: no import half done in a forked child
                    later_imports.wait()
                from lueur_net.results import RunRecorder  # later_imports' thread: ends beside the app's start

                recorder = RunRecorder(started_at=started_at)
                failed = _drive_all(env, lab, selected, run, faults, recorder, listener, timings, backends)
                later_imports.start(later_imports.REPORT_MODULES)  # the CLI's reports, beside results.json
            finally:
                if env.release_prestarted is not None:
                    env.release_prestarted()  # holders started ahead for an item that never ran
            # results.json and the reports do not need the lab: written before its close, so the app's shutdown
            # runs beside them
            recorder.top = {"capabilities": capabilities.to_dict(),
                            "backends": [{"type": kind, "backend": backend} for kind, backend in sorted(backends)]}
            with timings.phase("writing results"):
                make_folders(options.results_path, records_path)
                # `timings` is taken as results.json is written: it covers everything up to that point (the lab's
                # tear-down and the reports come after it; `run --timings` prints them)
                document = recorder.write(options.results_path, records_path, keep_query=options.keep_query,
                                          late={"timings": timings.to_dict})
            outcome = RunOutcome(document, options.results_path, records_path, timings)
            if before_close is not None and not failed:
                before_close(outcome)
    if failed:
        raise EnvironmentProblem(failed, hint="a backend process died or stopped answering (e.g. an nfqueue holder "
                                 "killed by a value it could not handle, or the OOM killer); the item's faults were "
                                 "not realised from then on")
    return outcome
