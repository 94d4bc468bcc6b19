"""The run's orchestration on fakes: the capability probe, the lab, the data plane's apply and the driver are
injected (lueur_net.runner.RunEnvironment) and record what they are asked, so no root and no kernel object.

What these pin down: each item is planned once per path and iteration (before: three times, in the up-front
check, the check of the lab's paths and every application); the driver's fault windows are the plan's; a repeat
applies iteration i's plan before call i and nothing before its baseline call; the start gate's t0 anchors the
faults; refusals come before the lab; a backend that failed stops the run after writing results (exit 3).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lueur_net import runner
from lueur_net.plan import Capabilities
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.spec import FaultWindow
from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.topology import Endpoint
from lueur_net.lab.topology import Path as LabPath
from lueur_net.plan import plan_item
from lueur_net.plan.model import FaultPlan
from lueur_net.records.call import CallRecord
from lueur_net.runner import RunEnvironment, RunOptions, execute

SCENARIOS = """
title: One spike
items:
  - call: {method: GET, url: "http://localhost:9090/"}
    context:
      faults:
        - {type: latency, mean: 300, period: "start:10%,duration:20%"}
        - {type: packetloss, direction: both}
    expect: {status: 200}
---
title: Stairs
items:
  - call: {method: GET, url: "http://localhost:9090/slow"}
    context:
      faults: [{type: latency, mean: 100}]
      strategy: {mode: repeat, count: 3, step: 100, add_baseline_call: true}
  - call: {method: GET, url: "http://localhost:9090/"}
    context:
      faults: [{type: blackhole, period: "start:1s,duration:1s"}]
      strategy: {mode: load, duration: 2s, clients: 1, rps: 2}
"""


class FakeLab:
    """A lab of one path per upstream host, with ends that are ours (or, attached, a host peer that is not)."""

    run_id = "fake01"
    setup_seconds = 0.001
    client_netns = "lueur-fake-c"

    def __init__(self, attached: bool = False) -> None:
        self.attached = attached
        self.entered = self.closed = False

    @property
    def deadline_ns(self) -> int:
        return time.monotonic_ns() + 3600 * 10**9

    def path_for(self, url: str) -> LabPath:
        return LabPath(Endpoint("lueur-fake-c", "lueur-c0", 2, "10.0.0.1"),
                       Endpoint(None if self.attached else "lueur-fake-s", "lueur-s0", 3, "10.0.0.2",
                                owned=not self.attached))

    def __enter__(self) -> FakeLab:
        self.entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


@dataclass
class FakeApplied:
    plan: FaultPlan
    reverted: bool = False
    dead: list[dict[str, Any]] = field(default_factory=list)

    def counters(self) -> dict[str, dict[str, int]]:
        return {fault.id: {"packets": 10} for fault in self.plan.faults}

    def failures(self) -> list[dict[str, Any]]:
        return self.dead

    def revert(self) -> None:
        self.reverted = True


@dataclass
class FakeChangeable(FakeApplied):
    """Applied faults whose running objects take a new plan in place (as lueur_net.dataplane.apply.AppliedPlan)."""

    machine: Any = None

    def update(self, plan: FaultPlan, path: LabPath, *, t0_ns: int, deadline_ns: int | None = None,
               seed: int = 0) -> str | None:
        self.machine.events.append("update")
        self.machine.updated.append({"plan": plan, "t0_ns": t0_ns, "deadline_ns": deadline_ns, "seed": seed})
        self.plan = plan
        return None

    def pause(self) -> bool:
        self.machine.events.append("pause")
        return True


@dataclass
class Machine:
    """Every fake, and what each was asked."""

    attached: bool = False
    failing_backend: bool = False
    in_place: bool = False  # the applied faults can change in place (FakeChangeable)
    updated: list[dict[str, Any]] = field(default_factory=list)
    planned: list[tuple[str, int, bool, tuple[str, ...]]] = field(default_factory=list)
    applied: list[dict[str, Any]] = field(default_factory=list)
    driven: list[Any] = field(default_factory=list)
    iterations: list[tuple[int, str, int]] = field(default_factory=list)  # (iteration, phase, plans applied then)
    starts: list[float] = field(default_factory=list)
    labs: list[FakeLab] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def plan(self, item: Any, capabilities: Capabilities, *, iteration: int = 0, peer_is_ours: bool = True,
             ends: tuple[str, ...] = ("client", "server")) -> FaultPlan:
        self.planned.append((item.call.url, iteration, peer_is_ours, ends))
        return plan_item(item, capabilities, iteration=iteration, peer_is_ours=peer_is_ours, ends=ends)  # type: ignore[arg-type]

    def apply_plan(self, plan: FaultPlan, path: LabPath, ledger: Any, *, t0_ns: int | None = None,
                   deadline_ns: int | None = None, seed: int = 0, allow_foreign: bool = False) -> FakeApplied:
        self.events.append("apply")
        self.applied.append({"plan": plan, "path": path, "t0_ns": t0_ns, "deadline_ns": deadline_ns, "seed": seed,
                             "allow_foreign": allow_foreign})
        dead = []
        if self.failing_backend:
            dead = [{"fault": plan.faults[0].id, "type": plan.faults[0].type, "backend": plan.faults[0].backend,
                     "reason": "the holder died", "at_ns": t0_ns or 0}]
        if self.in_place:
            return FakeChangeable(plan, dead=dead, machine=self)
        return FakeApplied(plan, dead=dead)

    def drive(self, netns: str | None, spec: Any, *, on_progress: Callable[[dict[str, Any]], None] | None = None,
              on_iteration: Callable[[int, str], None] | None = None,
              on_ready: Callable[[float], float] | None = None) -> ItemRun:
        """What drive_in_netns does with the run's callbacks, with made-up calls of 5 ms."""
        self.driven.append(spec)
        calls: list[tuple[int, str]] = []
        if spec.is_repeat:
            assert on_iteration is not None and on_ready is None
            t0 = time.monotonic()
            if spec.repeat.add_baseline_call:
                calls.append((0, "baseline"))
            calls += [(iteration, "fault") for iteration in range(spec.repeat.count)]
            records = []
            for seq, (iteration, phase) in enumerate(calls):
                on_iteration(iteration, phase)
                self.iterations.append((iteration, phase, len(self.applied)))
                records.append(self._record(spec, seq, iteration, phase))
        else:
            assert on_ready is not None and on_iteration is None
            t0 = on_ready(0.01)
            self.starts.append(t0)
            count = spec.planned_calls
            records = [self._record(spec, seq, 0, "fault") for seq in range(count)]
        return ItemRun(records, t0)

    @staticmethod
    def _record(spec: Any, seq: int, iteration: int, phase: str) -> CallRecord:
        intended = seq * 0.5 if spec.load is not None else 0.0
        active = [window.name for window in spec.windows if phase == "fault"
                  and window.overlaps(*((intended, intended + 0.005) if window.anchor == "item" else (0.0, 0.005)))]
        return CallRecord(spec.scenario, spec.scenario_index, spec.item, iteration, phase, 0, seq, spec.call.method,
                          spec.call.url, intended, intended, total_ms=5.0, latency_ms=5.0, status=200,
                          faults=list(dict.fromkeys(active)))

    def create_lab(self, upstreams: list[str], ledger: Any, serve: Any = None, *, pool: str | None = None,
                   dns: bool = False) -> FakeLab:
        self.events.append("lab")
        self.labs.append(FakeLab())
        return self.labs[-1]

    def attach_lab(self, target: str, upstreams: list[str], ledger: Any, *, iface: str | None = None,
                   allow_host_interface: bool = False) -> FakeLab:
        self.events.append("lab")
        self.labs.append(FakeLab(attached=True))
        return self.labs[-1]

    def environment(self) -> RunEnvironment:
        return RunEnvironment(
            require_root=lambda: self.events.append("root"),
            probe=lambda beside=None: Capabilities.all_present(),
            open_ledger=lambda: contextlib.nullcontext(None),  # type: ignore[arg-type,return-value]
            create_lab=self.create_lab,
            attach_lab=self.attach_lab,
            apply_plan=self.apply_plan,
            drive=self.drive,  # type: ignore[arg-type]
            guard_signals=contextlib.nullcontext,
            plan=self.plan,  # type: ignore[arg-type]
        )


class Listener:
    def __init__(self) -> None:
        self.started: list[tuple[str, list[Any]]] = []
        self.finished: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.warnings: list[str] = []

    def scenario_started(self, index: int, total: int, title: str, specs: list[Any]) -> None:
        self.started.append((title, specs))

    def progress(self, event: dict[str, Any]) -> None:
        pass

    def scenario_finished(self, index: int, document: dict[str, Any]) -> None:
        self.finished.append(document)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def warning(self, text: str) -> None:
        self.warnings.append(text)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(SCENARIOS)
    return path


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    yield


def run(machine: Machine, scenario_file: Path, tmp_path: Path, **options: Any) -> tuple[runner.RunOutcome, Listener]:
    listener = Listener()
    outcome = execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "results.json",
                                 **options), listener, machine.environment())
    return outcome, listener


def test_each_item_is_planned_once_per_path_and_iteration(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()
    run(machine, scenario_file, tmp_path)
    both = ("client", "server")
    assert machine.planned == [
        ("http://localhost:9090/", 0, True, both),  # the spike, before the lab; its path reuses this plan
        ("http://localhost:9090/slow", 0, True, both),  # the repeat's first step, before the lab
        ("http://localhost:9090/", 0, True, both),  # the load
        ("http://localhost:9090/slow", 1, True, both),  # the repeat's other steps, once the lab's path is known,
        ("http://localhost:9090/slow", 2, True, both),  # before the first fault is applied
    ]
    assert machine.events[:3] == ["root", "lab", "apply"]


def test_an_attached_path_is_planned_once_more_for_its_placement(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()
    run(machine, scenario_file, tmp_path, attach="pod", allow_host_interface=True, only="spike")
    assert [(iteration, peer) for _, iteration, peer, _ in machine.planned] == [(0, True), (0, False)]
    assert machine.applied[0]["allow_foreign"] is True
    assert machine.applied[0]["plan"] is not None and machine.labs[0].attached


def test_the_driver_gets_the_plans_windows(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()
    outcome, listener = run(machine, scenario_file, tmp_path)
    spike, stairs, load = machine.driven
    assert spike.windows == (FaultWindow("f0", 3.0, 9.0, "call"), FaultWindow("f1", 0.0, None, "call"))
    assert stairs.windows == (FaultWindow("f0", 0.0, None, "call"),)
    assert load.windows == (FaultWindow("f0", 1.0, 2.0, "item"),)
    assert [spec for _, specs in listener.started for spec in specs] == [spike, stairs, load]  # the same specs
    windows = outcome.document["scenarios"][0]["items"][0]["windows"]
    assert [(w["name"], w["type"], w["params"].get("mean"), w["counters"]) for w in windows] == [
        ("f0", "latency", 300.0, {"packets": 10}),
        ("f1", "packetloss", None, {"packets": 20}),  # f1.ingress and f1.egress, summed on the fault's window
    ]


def test_a_repeat_changes_its_faults_in_place_step_by_step(scenario_file: Path, tmp_path: Path) -> None:
    """Before: every step reverted and applied the item's faults again (an nfqueue holder restarted: ~0.2 s
    between calls). Now they are applied once, paused for the baseline call, and changed in place."""
    machine = Machine(in_place=True)
    outcome, _ = run(machine, scenario_file, tmp_path, only="stairs", seed=7)
    assert machine.iterations[0] == (0, "baseline", 1)  # applied (iteration 0's plan) and paused
    assert machine.events[machine.events.index("apply") + 1] == "pause"
    assert [(i, phase, applied) for i, phase, applied in machine.iterations[1:]] == [
        (0, "fault", 1), (1, "fault", 1), (2, "fault", 1)]  # never applied again
    steps = [entry["plan"] for entry in machine.updated[:3]]  # then the load item's move to its t0
    assert [plan.iteration for plan in steps] == [0, 1, 2]
    assert [plan.faults[0].params.delay_ns for plan in steps] == [100_000_000, 200_000_000, 300_000_000]
    assert [entry["seed"] for entry in machine.updated[:3]] == [7, 8, 9]
    assert all(entry["deadline_ns"] > entry["t0_ns"] for entry in machine.updated)
    item = outcome.document["scenarios"][0]["items"][0]
    assert [(entry["iteration"], entry["change"]) for entry in item["plan"]] == [
        (0, "in place"), (1, "in place"), (2, "in place")]
    assert item["counters"] == {"f0": {"packets": 10}}  # one set of objects, counting all along


def test_a_repeat_whose_faults_cannot_change_in_place_is_applied_again_and_says_so(scenario_file: Path,
                                                                                   tmp_path: Path) -> None:
    machine = Machine(in_place=False)
    outcome, _ = run(machine, scenario_file, tmp_path, only="stairs", seed=7)
    steps = [entry["plan"] for entry in machine.applied]
    assert [plan.faults[0].params.delay_ns for plan in steps[1:4]] == [100_000_000, 200_000_000, 300_000_000]
    assert [i for i, _, _ in machine.iterations] == [0, 0, 1, 2]
    item = outcome.document["scenarios"][0]["items"][0]
    assert [entry["change"] for entry in item["plan"]] == [
        "applied", "reverted and applied again: its backend objects cannot change in place",
        "reverted and applied again: its backend objects cannot change in place"]


def test_prepared_faults_that_cannot_move_are_applied_again_at_the_start_gates_t0(scenario_file: Path,
                                                                                  tmp_path: Path) -> None:
    machine = Machine(in_place=False)
    run(machine, scenario_file, tmp_path, only="spike")
    prepared, applied = machine.applied
    [t0] = machine.starts
    assert prepared["t0_ns"] > applied["t0_ns"] == int(t0 * 1e9)


def test_a_single_call_is_applied_once_at_the_start_gates_t0(scenario_file: Path, tmp_path: Path) -> None:
    """Applied while the driver starts (prepare), then moved in place to the start gate's t0."""
    machine = Machine(in_place=True)
    outcome, _ = run(machine, scenario_file, tmp_path, only="spike")
    [applied] = machine.applied
    [moved] = machine.updated
    [t0] = machine.starts
    assert applied["t0_ns"] > int(t0 * 1e9)  # prepared far ahead, so no window opened before the move
    assert moved["t0_ns"] == int(t0 * 1e9)
    assert moved["deadline_ns"] == runner.fault_deadline_ns(moved["t0_ns"], 30.0, machine.labs[0].deadline_ns)
    assert machine.events.index("apply") < machine.events.index("update")
    item = outcome.document["scenarios"][0]["items"][0]
    assert item["driver"]["t0_monotonic"] == t0 and "start_attempts" not in item["driver"]
    assert item["timings_s"]["apply beside the driver's start"] >= 0.0
    assert {b["id"]: b["backend"] for b in item["backends"]} == {"f0": "netem", "f1.ingress": "netem",
                                                                 "f1.egress": "netem"}
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert written["summary"]["passed"] and (tmp_path / "out" / "results.calls.parquet").exists()
    assert outcome.passed and machine.labs[0].closed


def test_a_fault_no_backend_can_realise_is_refused_before_the_lab(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()
    environment = machine.environment()

    def refuse(*args: Any, **kwargs: Any) -> FaultPlan:
        raise EnvironmentProblem("f0: no backend here can delay packets")

    with pytest.raises(EnvironmentProblem, match="no backend"):
        execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "r.json"), Listener(),
                RunEnvironment(**{**environment.__dict__, "plan": refuse}))
    assert machine.events == ["root"] and not (tmp_path / "out").exists()


def test_an_unwritable_output_is_refused_before_the_lab(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()
    with pytest.raises(BadInput, match="unknown output format"):
        run(machine, scenario_file, tmp_path, records_path=tmp_path / "calls.txt")
    assert "lab" not in machine.events


def test_a_failed_backend_stops_the_run_after_writing_its_results(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine(failing_backend=True)
    with pytest.raises(EnvironmentProblem, match="the netem backend of fault f0 .* the holder died"):
        run(machine, scenario_file, tmp_path)
    assert len(machine.driven) == 1  # the other scenarios never ran
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    [item] = written["scenarios"][0]["items"]
    assert item["passed"] is False and item["backend_failures"][0]["reason"] == "the holder died"
    assert machine.labs[0].closed


def test_the_reports_are_written_before_the_lab_closes(scenario_file: Path, tmp_path: Path) -> None:
    """results.json and the CLI's reports do not need the lab: the app (`--serve`, asked to stop after the last
    calls) shuts down while they are written, instead of the lab's close waiting for all of it (~0.17 s)."""
    machine = Machine()
    seen: list[tuple[bool, bool]] = []

    def before_close(outcome: runner.RunOutcome) -> None:
        assert outcome.results_path is not None
        seen.append((outcome.results_path.exists(), machine.labs[0].closed))

    outcome = execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "results.json"),
                      Listener(), machine.environment(), before_close=before_close)
    assert seen == [(True, False)] and machine.labs[0].closed and outcome.results_path is not None


def test_no_report_is_written_before_the_close_of_a_run_a_backend_failure_stopped(scenario_file: Path,
                                                                                  tmp_path: Path) -> None:
    machine = Machine(failing_backend=True)
    called: list[bool] = []
    with pytest.raises(EnvironmentProblem):
        execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "results.json"),
                Listener(), machine.environment(), before_close=lambda outcome: called.append(True))
    assert called == [] and machine.labs[0].closed


def test_a_fault_that_touched_no_call_is_a_warning(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()
    _, listener = run(machine, scenario_file, tmp_path, only="spike")
    # f0 is active 3-9 s into each call; the fake calls take 5 ms
    assert listener.warnings == ["One spike / item 0: fault f0 (latency) touched no packet: its window 3-9 s "
                                 "never overlapped a call (calls took 5 ms)"]


def test_an_items_faults_are_reverted_while_its_calls_are_analysed(scenario_file: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What the faults counted is read first; their removal (an `iptables` process per nfqueue rule) runs beside
    the item's analysis, and is over before the next item applies anything. Before: revert, then analysis."""
    import threading

    from lueur_net import results as results_module  # the item imports it when its calls are over

    analysing = threading.Event()
    machine = Machine(in_place=True)  # a repeat's steps change in place: the one revert is the item's last
    overlapped: list[bool] = []

    class SlowRevert(FakeChangeable):
        def revert(self) -> None:
            overlapped.append(analysing.wait(1.0))  # the analysis started while this revert runs
            machine.events.append("reverted")
            super().revert()

    def apply_plan(*args: Any, **kwargs: Any) -> FakeApplied:
        analysing.clear()
        plain = Machine.apply_plan(machine, *args, **kwargs)
        return SlowRevert(plain.plan, dead=plain.dead, machine=machine)

    attach = results_module.attach_data_plane

    def attach_data_plane(document: dict[str, Any], **kwargs: Any) -> None:
        machine.events.append("analysis")
        analysing.set()
        attach(document, **kwargs)

    monkeypatch.setattr(machine, "apply_plan", apply_plan)
    monkeypatch.setattr(results_module, "attach_data_plane", attach_data_plane)
    outcome, _ = run(machine, scenario_file, tmp_path, only="Stairs")
    assert overlapped == [True, True]
    # each item's objects are gone before the next item's first apply
    assert [event for event in machine.events if event in ("apply", "reverted", "analysis")] == [
        "apply", "analysis", "reverted"] * 2
    items = outcome.document["scenarios"][0]["items"]
    assert all(item["timings_s"]["revert beside the analysis"] >= 0.0 for item in items)
    assert items[1]["backends"] and "packets" in json.dumps(items[1])


def test_the_driver_is_warmed_beside_the_lab_and_before_the_first_drive(scenario_file: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """env.warm_driver (the driver's imports) runs in a thread from before the lab's creation, and is over before
    the first driver is forked, so no fork meets an import half done."""
    import dataclasses
    import threading

    machine = Machine()
    lab_created = threading.Event()

    def warm() -> None:
        machine.events.append("warm")
        assert lab_created.wait(2.0)  # still running while the lab is built
        machine.events.append("warmed")

    create_lab = machine.create_lab

    def create(*args: Any, **kwargs: Any) -> FakeLab:
        lab = create_lab(*args, **kwargs)
        lab_created.set()
        return lab

    drive = machine.drive

    def driven(*args: Any, **kwargs: Any) -> ItemRun:
        machine.events.append("drive")
        return drive(*args, **kwargs)

    environment = dataclasses.replace(machine.environment(), warm_driver=warm, create_lab=create, drive=driven)
    execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "results.json",
                       only="spike"), Listener(), environment)
    events = [event for event in machine.events if event in ("warm", "lab", "warmed", "drive")]
    assert events[-1] == "drive" and events.index("warmed") < events.index("drive")
    assert set(events[:2]) == {"warm", "lab"}


def test_with_an_app_the_imports_start_once_it_is_launched(scenario_file: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--serve: the driver's warm-up and the later imports start after the lab's creation (which launches the app):
    beside the lab's set-up they took the interpreter's lock in turns with it and launched the app later."""
    import dataclasses

    from lueur_net.runner import later_imports

    machine = Machine()
    started: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(later_imports, "start", lambda *names: started.append(("imports", list(machine.events))))

    def create_lab(upstreams: list[str], ledger: Any, serve: Any = None, **_: Any) -> FakeLab:
        machine.events.append("lab")
        machine.labs.append(ServedLab(machine))
        return machine.labs[-1]

    environment = dataclasses.replace(machine.environment(), create_lab=create_lab,
                                      warm_driver=lambda: started.append(("warm", list(machine.events))))
    execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "results.json", only="spike",
                       serve="uvicorn app:app"), Listener(), environment)
    assert sorted(what for what, _ in started[:2]) == ["imports", "warm"]
    assert all("lab" in events_then for _, events_then in started[:2])


class ServedLab(FakeLab):
    """A lab whose app (--serve, deferred) answers only when `server.ready()` is called."""

    def __init__(self, machine: Machine, fail: bool = False) -> None:
        super().__init__()

        class Server:
            calls = 0
            ready_at = 0.0

            def ready(self) -> float:
                self.calls += 1
                machine.events.append("app ready")
                self.ready_at = time.monotonic()
                if fail:
                    raise BadInput("the server command exited with status 1 before accepting connections")
                return 0.25

        self.server = Server()


def test_the_app_start_overlaps_the_first_items_start_and_is_awaited_before_its_calls(
        scenario_file: Path, tmp_path: Path) -> None:
    """Before: the lab waited for the app's port (uvicorn 0.6-0.9 s) before anything else. Now the lab starts it
    deferred; the plans and the first item's driver start run beside it, and the first item's faults are applied
    only once it answers (its readiness probe crosses the faulted paths: an 800 ms latency made it time out)."""
    machine = Machine()
    serves: list[Any] = []

    def create_lab(upstreams: list[str], ledger: Any, serve: Any = None, **_: Any) -> FakeLab:
        serves.append(serve)
        machine.events.append("lab")
        machine.labs.append(ServedLab(machine))
        return machine.labs[-1]

    machine.create_lab = create_lab  # type: ignore[method-assign]
    outcome, _ = run(machine, scenario_file, tmp_path, serve="uvicorn app:app")
    assert serves[0].defer_ready is True
    server = machine.labs[0].server  # type: ignore[attr-defined]
    assert server.calls == 1 and machine.events.count("app ready") == 1
    assert machine.events.index("lab") < machine.events.index("app ready") < machine.events.index("apply")
    assert server.ready_at <= machine.starts[0]  # the app answered before the first call's t0
    first = outcome.document["scenarios"][0]["items"][0]
    assert "app start" in first["timings_s"]
    assert all("app start" not in item["timings_s"] for s in outcome.document["scenarios"]
               for item in s["items"][1:] + ([] if s is outcome.document["scenarios"][0] else s["items"][:1]))


def test_an_app_that_never_answers_fails_the_run_as_before(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine()

    def create_lab(upstreams: list[str], ledger: Any, serve: Any = None, **_: Any) -> FakeLab:
        machine.labs.append(ServedLab(machine, fail=True))
        return machine.labs[-1]

    machine.create_lab = create_lab  # type: ignore[method-assign]
    with pytest.raises(BadInput, match="exited with status 1"):
        run(machine, scenario_file, tmp_path, serve="uvicorn app:app")
    assert machine.labs[0].closed and machine.starts == []  # no call was made; the lab was taken down


def test_a_first_repeat_item_waits_for_the_app_before_its_faults(scenario_file: Path, tmp_path: Path) -> None:
    machine = Machine(in_place=True)

    def create_lab(upstreams: list[str], ledger: Any, serve: Any = None, **_: Any) -> FakeLab:
        machine.events.append("lab")
        machine.labs.append(ServedLab(machine))
        return machine.labs[-1]

    machine.create_lab = create_lab  # type: ignore[method-assign]
    run(machine, scenario_file, tmp_path, serve="uvicorn app:app", only="stairs")
    assert machine.events[:3] == ["root", "lab", "app ready"] and machine.events.count("app ready") == 1


def test_each_items_holders_are_started_ahead_and_the_unused_released(scenario_file: Path, tmp_path: Path) -> None:
    """The first item's beside the app's start (before its apply), each next item's as the previous item starts
    (at the lowest CPU priority: never taking a CPU from the calls measured), and whatever no apply took ended at
    the end of the run."""
    machine = Machine()
    environment = machine.environment()
    calls_done: list[int] = []
    real_drive = machine.drive

    def drive(*args: Any, **kwargs: Any) -> ItemRun:
        result = real_drive(*args, **kwargs)
        machine.events.append("calls over")
        return result

    idles: list[bool] = []

    def prestart(plan: FaultPlan, path: LabPath, ledger: Any, idle: bool = False) -> None:
        machine.events.append("prestart")
        calls_done.append(machine.events.count("calls over"))
        idles.append(idle)

    environment = RunEnvironment(**{**environment.__dict__, "drive": drive, "prestart": prestart,
                                    "release_prestarted": lambda: machine.events.append("release")})
    execute(RunOptions(paths=(str(scenario_file),), results_path=tmp_path / "out" / "results.json"), Listener(),
            environment)
    assert machine.events.index("prestart") < machine.events.index("apply")
    assert calls_done == [0, 0, 1]  # item 1 before any call, item 2 as item 1 starts, item 3 as item 2 starts
    assert idles == [False, True, True]
    assert machine.events[-1] == "release" and machine.events.count("release") == 1


def test_the_app_is_asked_to_stop_once_the_last_items_calls_are_over(scenario_file: Path, tmp_path: Path) -> None:
    """Its shutdown (uvicorn ~0.14 s) runs beside the last item's revert and analysis; before, the lab's tear-down
    sent SIGTERM and waited for all of it. Never before the last item's calls are over, never twice."""
    machine = Machine()
    asked: list[tuple[int, bool]] = []  # (items driven by then, lab closed by then)

    def create_lab(upstreams: list[str], ledger: Any, serve: Any = None, **_: Any) -> FakeLab:
        lab = ServedLab(machine)
        lab.server.ask_to_stop = lambda: asked.append((len(machine.driven), lab.closed))  # type: ignore[attr-defined]
        machine.labs.append(lab)
        return lab

    machine.create_lab = create_lab  # type: ignore[method-assign]
    outcome, _ = run(machine, scenario_file, tmp_path, serve="uvicorn app:app")
    items = sum(len(scenario["items"]) for scenario in outcome.document["scenarios"])
    assert items > 1 and asked == [(items, False)]
