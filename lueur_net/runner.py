"""`lueur-net run`: scenario files -> lab -> plan -> data plane -> driver -> records -> verdicts -> results.

The order follows DESIGN principle 3 (refuse before touching): every file is loaded and every item planned
against the probed capabilities before the first kernel change. Then one lab serves the whole run (the server
under test is started once, as a user would run it); each item gets its faults applied on the paths of its
upstreams, its calls driven from the client namespace, and its faults reverted before the next item.

The CLI (cli/run.py) only parses and prints: it hands a RunListener that receives progress.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.scenario import LoadedScenario, Scenario, load

# A single or load item starts when its driver is ready to send (the start gate, docs/driver.md): t0 is then
# chosen this far ahead and the faults are applied anchored at it. Applying takes from a few ms (tc) to ~0.45 s
# (three nfqueue delays, measured); when it ends less than START_SLACK_S before t0 (plus what the driver still
# needs), the faults are applied again with twice the measured cost as margin, up to START_ATTEMPTS times, so the
# first call leaves on schedule instead of carrying the set-up as send lag.
START_MARGIN_S = 0.4
START_SLACK_S = 0.02
START_ATTEMPTS = 3
# Every fault of an item carries a fail-open deadline: the end of what it was applied for (ItemSpec.span_s from its
# t0) plus this margin, never later than the lab's own lifetime. Past it, eBPF programs pass everything in the
# kernel and nfqueue holders pass everything, even while the run is frozen (their heartbeats lift them sooner:
# README "Reliability"); tc's scheduler thread removes the qdiscs, once the run is running again.
DEADLINE_MARGIN_S = 3.0


def fault_deadline_ns(t0_ns: int, span_s: float, lab_deadline_ns: int) -> int:
    """The fail-open deadline of faults applied at `t0_ns` for `span_s` seconds (CLOCK_MONOTONIC ns)."""
    return min(lab_deadline_ns, t0_ns + int((span_s + DEADLINE_MARGIN_S) * 1e9))


class RunListener(Protocol):
    """What the run tells its display."""

    def scenario_started(self, index: int, total: int, title: str, specs: list[Any]) -> None:
        """`specs`: the scenario's ItemSpecs (what each item will do: strategy, planned calls)."""

    def progress(self, event: dict[str, Any]) -> None:
        """A driver progress event (lueur_net.driver.progress); called from a reader thread."""

    def scenario_finished(self, index: int, document: dict[str, Any]) -> None: ...

    def note(self, text: str) -> None: ...

    def warning(self, text: str) -> None:
        """Something the user must not miss (a fault that touched no packet): the CLI prints it on stderr."""


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

    @property
    def passed(self) -> bool:
        return bool(self.document["summary"]["passed"])


@dataclass
class _ItemContext:
    """What one item needs while it runs: its lab paths and the faults currently applied on them."""

    scenario: Scenario
    item_index: int
    paths: list[Any]
    capabilities: Any
    ledger: Any
    deadline_ns: int  # the lab's: no fault outlives it
    seed: int
    span_s: float = 0.0  # ItemSpec.span_s: each application's deadline is t0 + this + DEADLINE_MARGIN_S
    attached: bool = False
    allow_host_interface: bool = False
    applied: list[Any] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    backends: dict[str, dict[str, str]] = field(default_factory=dict)
    start_attempts: int = 0
    start_error: BaseException | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)  # backends that failed while applied

    def apply(self, iteration: int, t0_ns: int) -> None:
        from lueur_net.dataplane.apply import apply_plan

        self.revert()
        for path in self.paths:
            plan = self.checked_plan(path, iteration)
            self.plans.append({"path": _path_name(path), **plan.to_dict()})
            for fault in plan.faults:
                self.backends[fault.id] = {"id": fault.id, "type": fault.type, "backend": fault.backend,
                                           "side": fault.side, "hook": fault.hook, "traffic": fault.traffic,
                                           "requested": f"{fault.requested_side} {fault.requested_direction}"}
            deadline_ns = fault_deadline_ns(t0_ns, self.span_s, self.deadline_ns)
            self.applied.append(apply_plan(plan, path, self.ledger, t0_ns=t0_ns, deadline_ns=deadline_ns,
                                           seed=self.seed + iteration, allow_foreign=self.attached))

    def start(self, needed_s: float) -> float:
        """The start gate's answer: apply the item's faults anchored at a t0 the driver can still meet, return t0.

        Runs in the driver hook's thread. An error is kept for `_drive_item` to raise with its own type."""
        try:
            margin = max(START_MARGIN_S, needed_s + START_SLACK_S)
            for attempt in range(START_ATTEMPTS):
                began = time.monotonic()
                t0 = began + margin
                if attempt:  # the earlier attempt's objects go, with whatever they counted (nothing was sent yet)
                    self.revert()
                    self.plans.clear()
                    self.counters.clear()
                self.apply(0, int(t0 * 1e9))
                self.start_attempts = attempt + 1
                if t0 - time.monotonic() >= needed_s + START_SLACK_S:
                    break
                margin = 2 * (time.monotonic() - began) + needed_s + START_SLACK_S
            return t0
        except BaseException as error:
            self.start_error = error
            raise

    def checked_plan(self, path: Any, iteration: int) -> Any:
        """The plan for `path`, after refusing any end the user may not fault (a host interface we did not make)."""
        from lueur_net.dataplane.apply import endpoint_of
        from lueur_net.lab import check_fault_target
        from lueur_net.plan import plan_item

        item = self.scenario.items[self.item_index]
        plan = plan_item(item, self.capabilities, iteration=iteration, peer_is_ours=path.peer_is_ours,
                         ends=allowed_ends(path, self.allow_host_interface))
        for fault in plan.faults:
            check_fault_target(endpoint_of(path, fault.side), allow_host_interface=self.allow_host_interface)
        return plan

    def revert(self) -> None:
        while self.applied:
            applied = self.applied.pop()
            for fault_id, values in applied.counters().items():
                total = self.counters.setdefault(fault_id, {})
                for key, value in values.items():
                    total[key] = total.get(key, 0) + int(value)
            self.failures.extend(applied.failures())  # after counters(): reading them notices a dead holder
            applied.revert()

    def on_iteration(self, iteration: int, phase: str) -> None:
        """The repeat strategy's hook: the fault for this call (none for the baseline call)."""
        if phase == "baseline":
            self.revert()
        else:
            self.apply(iteration, time.monotonic_ns())


def allowed_ends(path: Any, allow_host_interface: bool) -> tuple[str, ...]:
    """The ends of `path` a fault may go on (an attached pod's host peer is not ours): the planner places a fault
    asked for on another end on one of these, on the same traffic. None allowed: both, so the check names why."""
    from lueur_net.dataplane.apply import endpoint_of
    from lueur_net.lab import check_fault_target

    ends = []
    for side in ("client", "server"):
        try:
            check_fault_target(endpoint_of(path, side), allow_host_interface=allow_host_interface)
        except BadInput:
            continue
        ends.append(side)
    return tuple(ends) or ("client", "server")


def _path_name(path: Any) -> str:
    return f"{path.client.ifname}<->{path.server.ifname}"


def select(loaded: Sequence[LoadedScenario], only: str | None) -> list[LoadedScenario]:
    if only is None:
        return list(loaded)
    chosen = [entry for entry in loaded if only.lower() in entry.scenario.title.lower()]
    if not chosen:
        titles = "; ".join(entry.scenario.title for entry in loaded)
        raise BadInput(f"--only {only!r} matches no scenario title (titles: {titles})")
    return chosen


def plan_everything(selected: Sequence[LoadedScenario], capabilities: Any) -> list[tuple[str, Any]]:
    """Every item's plan (iteration 0): raises before any kernel change if a fault cannot be realised here."""
    from lueur_net.plan import plan_item

    plans = []
    for entry in selected:
        for index, item in enumerate(entry.scenario.items):
            plans.append((f"{entry.scenario.title} / item {index}", plan_item(item, capabilities)))
    return plans


MEANING = ("# side/direction as in lueur (a proxy): server ingress (the default) and client egress hit the responses, "
           "server egress and client ingress the requests")


def dry_run(paths: Sequence[str], only: str | None = None, *, attach: str | None = None, serve: str | None = None,
            iface: str | None = None, allow_host_interface: bool = False) -> str:
    """The plan of every item (each step of a repeat) and its equivalent tc/ip commands, for the lab `run` would
    build with the same options. Probes capabilities (and resolves --attach) only when root; changes nothing."""
    from lueur_net.dataplane.probe import probe_capabilities
    from lueur_net.plan import Capabilities, plan_item, render_plan

    if serve and attach:
        raise BadInput("--serve and --attach exclude each other: --attach runs the calls in an existing namespace")
    selected = select(load(paths), only)
    root = os.geteuid() == 0
    if root:
        capabilities = probe_capabilities()
        source = f"capabilities probed on this kernel ({os.uname().release})"
    else:
        capabilities = Capabilities.all_present()
        source = "not root: planned for a stock kernel with every feature (run as root to plan for this one)"
    lines = [f"# dry run: nothing is changed; {source}", MEANING]
    path = None
    peer_is_ours, ends = True, ("client", "server")
    if attach:
        peer_is_ours = False
        if root:
            from lueur_net.lab.attach import attach as resolve_attachment

            path = resolve_attachment(attach, iface, allow_host_interface=allow_host_interface).path
            ends = allowed_ends(path, allow_host_interface)
        else:
            ends = ("client",)
        lines.append(f"# attached to {attach}: calls run there, faults go on "
                     f"{'its interface ' + path.client.ifname if path else 'its interface (<client-if>)'}; "
                     f"its host peer is {'usable' if 'server' in ends else 'not ours, so it is left alone'}")
    elif serve:
        lines.append(f"# --serve: {serve!r} would run in its own namespace; <server-if> is its end of the link "
                     "from the client namespace (both ends are lueur-net's)")
    plan_everything(selected, capabilities)  # refuses what no backend here can do, as `run` would
    for entry in selected:
        for index, item in enumerate(entry.scenario.items):
            lines.append(f"\n## {entry.scenario.title} / item {index}")
            strategy = item.context.strategy
            iterations = strategy.count if strategy.mode == "repeat" else 1
            if strategy.mode == "repeat" and strategy.add_baseline_call:
                lines.append("baseline call: no fault")
            for iteration in range(iterations):
                plan = plan_item(item, capabilities, iteration=iteration, peer_is_ours=peer_is_ours, ends=ends)
                if iteration == 0:
                    lines.append(render_plan(plan, path))
                else:
                    steps = "; ".join(f"{fault.id} {describe(fault)}" for fault in plan.faults) or "no faults"
                    lines.append(f"iteration {iteration}: {steps}")
    return "\n".join(lines)


def describe(fault: Any) -> str:
    from lueur_net.plan.render import describe_params

    return describe_params(fault)


def _check_writable(path: Path | None) -> None:
    """Refuse an output that cannot be written, before the run (not after a minute), without creating or
    truncating anything: a refused run (exit 2, 3) leaves the output folder exactly as it was. The folder is made
    and the file written only when the run has something to write (`_make_folders`, then the recorder)."""
    if path is None:
        return
    if path.suffix not in (".json", ".parquet", ".csv"):
        raise BadInput(f"{path}: unknown output format '{path.suffix}' (use .json for results, .parquet or .csv "
                       "for records)")
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a directory")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise BadInput(f"cannot write {path}: permission denied or read-only file system")
        return
    # The nearest folder that exists must be a folder we may create entries in (the rest is made at the end).
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise BadInput(f"cannot write {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write {path}: cannot create files in {folder} (permission denied or read-only "
                       "file system)")


def _make_folders(*paths: Path | None) -> None:
    """The outputs' folders, made when the run has results to write (never before: see `_check_writable`)."""
    for path in paths:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise BadInput(f"cannot write {path}: {error.strerror}") from None


def _upstreams(selected: Sequence[LoadedScenario]) -> list[str]:
    urls: dict[str, None] = {}
    for entry in selected:
        for item in entry.scenario.items:
            urls[entry.scenario.url_of(item)] = None
            for upstream in item.context.upstreams:
                urls[upstream] = None
    return list(urls)


def _item_paths(lab: Any, scenario: Scenario, item_index: int) -> list[Any]:
    item = scenario.items[item_index]
    urls = list(item.context.upstreams) or [scenario.url_of(item)]
    unique: dict[Any, None] = {}
    for url in urls:
        unique[lab.path_for(url)] = None
    return list(unique)


def _drive_item(lab: Any, context: _ItemContext, recorder: Any, scenario_index: int, source: str | None,
                listener: RunListener) -> dict[str, Any]:
    """Apply the item's faults (per iteration for a repeat), drive its calls in the client namespace, revert."""
    from lueur_net.driver import drive_in_netns
    from lueur_net.driver.build import item_spec
    from lueur_net.records.frame import records_frame
    from lueur_net.records.results import attach_data_plane

    scenario, item_index = context.scenario, context.item_index
    spec = item_spec(scenario, item_index, scenario_index=scenario_index)
    context.span_s = spec.span_s
    try:
        if spec.repeat is not None:
            run = drive_in_netns(lab.client_netns, spec, on_progress=listener.progress,
                                 on_iteration=context.on_iteration)
        else:
            run = drive_in_netns(lab.client_netns, spec, on_progress=listener.progress, on_ready=context.start)
    except Exception:
        if context.start_error is not None:  # applying the faults failed: say so with its own type and words
            raise context.start_error from None
        raise
    context.revert()
    document = recorder.add(scenario_index, scenario, source, item_index, spec, run)
    if context.start_attempts > 1:
        document["driver"]["start_attempts"] = context.start_attempts
    attach_data_plane(document, counters=context.counters, backends=list(context.backends.values()),
                      plan=context.plans, calls=records_frame(run.records))
    mark_backend_failures(document, context.failures, run.t0)
    warn_untouched(listener, scenario.title, item_index, document)
    return document


def mark_backend_failures(document: dict[str, Any], failures: Sequence[dict[str, Any]], t0: float) -> None:
    """A backend that failed during the item (its fault was not realised as asked from then on): the item document
    lists it (`backend_failures`: fault, type, backend, reason, at_s from the item's t0) and fails."""
    if not failures:
        return
    document["backend_failures"] = [
        {key: value for key, value in failure.items() if key != "at_ns"}
        | {"at_s": round(int(failure["at_ns"]) / 1e9 - t0, 3)}
        for failure in failures
    ]
    document["passed"] = False


def backend_failure_message(title: str, item_index: int, failures: Sequence[dict[str, Any]]) -> str:
    """The one-line error a run ends with when a backend failed (exit 3)."""
    parts = [f"the {failure['backend']} backend of fault {failure['fault']} ({failure['type']}) failed "
             f"{failure['at_s']:.1f} s into the item: {failure['reason']}" for failure in failures]
    return (f"{title} / item {item_index}: " + "; ".join(parts)
            + ". The run stopped; results.json marks the item (backend_failures).")


def warn_untouched(listener: RunListener, title: str, item_index: int, document: dict[str, Any]) -> None:
    """One warning per fault of the item that touched no packet (the item document's `untouched`), through the
    listener's `warning` (stderr in the CLI), or `note` for a listener without one."""
    warning = getattr(listener, "warning", None)
    say = warning if callable(warning) else listener.note
    for untouched in document.get("untouched", []):
        say(f"{title} / item {item_index}: fault {untouched['fault']} ({untouched['type']}) touched no packet: "
            f"{untouched['reason']}")


def execute(options: RunOptions, listener: RunListener) -> RunOutcome:
    """Run every selected scenario for real. Needs root. Raises BadInput/EnvironmentProblem before any change."""
    from lueur_net.driver.build import item_spec
    from lueur_net.dataplane.probe import probe_capabilities
    from lueur_net.lab import Lab, ServeSpec, terminate_on_signals
    from lueur_net.lab.lab import require_root
    from lueur_net.ledger import Ledger
    from lueur_net.records.recorder import RunRecorder

    selected = select(load(options.paths), options.only)
    for entry in selected:
        for warning in entry.warnings:
            listener.note(str(warning))
    require_root()
    capabilities = probe_capabilities()
    plan_everything(selected, capabilities)  # refuse before touching
    if options.serve and options.attach:
        raise BadInput("--serve and --attach exclude each other: --attach runs the calls in an existing namespace")
    serve = ServeSpec(options.serve, cwd=os.getcwd(), env=dict(os.environ)) if options.serve else None
    needs_dns = any(fault.type == "dns" for entry in selected for item in entry.scenario.items
                    for fault in item.context.faults)

    records_path = options.records_path
    if records_path is None and options.results_path is not None:
        records_path = options.results_path.with_name(options.results_path.stem + ".calls.parquet")
    for output in (options.results_path, records_path):
        _check_writable(output)

    recorder = RunRecorder()
    backends: set[tuple[str, str]] = set()
    failed: str | None = None  # a backend failed during an item: the run stops after it and ends with exit 3
    with terminate_on_signals(), Ledger.open("run") as ledger:
        if options.attach:
            lab = Lab.attach(options.attach, _upstreams(selected), ledger, iface=options.iface,
                             allow_host_interface=options.allow_host_interface)
        else:
            lab = Lab.create(_upstreams(selected), ledger, serve=serve, pool=options.pool, dns=needs_dns)
        with lab:
            listener.note(f"lab {lab.run_id} ready in {lab.setup_seconds * 1000:.0f} ms"
                          + (f"; server under test: {options.serve}" if options.serve else "")
                          + (f"; attached to {options.attach}" if options.attach else ""))
            contexts = {
                (index, item_index): _ItemContext(
                    entry.scenario, item_index, _item_paths(lab, entry.scenario, item_index), capabilities, ledger,
                    lab.deadline_ns, options.seed, attached=lab.attached,
                    allow_host_interface=options.allow_host_interface)
                for index, entry in enumerate(selected) for item_index in range(len(entry.scenario.items))
            }
            for context in contexts.values():  # refuse a forbidden target before the first fault is applied
                for path in context.paths:
                    context.checked_plan(path, 0)
            for index, entry in enumerate(selected):
                scenario = entry.scenario
                listener.scenario_started(index, len(selected), scenario.title,
                                          [item_spec(scenario, i, scenario_index=index)
                                           for i in range(len(scenario.items))])
                items = []
                for item_index in range(len(scenario.items)):
                    context = contexts[(index, item_index)]
                    try:
                        items.append(_drive_item(lab, context, recorder, index, entry.source, listener))
                    finally:
                        context.revert()
                    backends.update((b["type"], b["backend"]) for b in items[-1]["backends"])
                    if items[-1].get("backend_failures"):  # never a silent pass: stop, write, exit 3
                        failed = backend_failure_message(scenario.title, item_index, items[-1]["backend_failures"])
                        break
                listener.scenario_finished(index, {"title": scenario.title, "items": items})
                if failed:
                    break

    recorder.top = {"capabilities": capabilities.to_dict(),
                    "backends": [{"type": kind, "backend": backend} for kind, backend in sorted(backends)]}
    _make_folders(options.results_path, records_path)
    document = recorder.write(options.results_path, records_path, keep_query=options.keep_query)
    if failed:
        raise EnvironmentProblem(failed, hint="a backend process died or stopped answering (e.g. an nfqueue holder "
                                 "killed by a value it could not handle, or the OOM killer); the item's faults were "
                                 "not realised from then on")
    return RunOutcome(document, options.results_path, records_path)
