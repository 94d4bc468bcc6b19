"""Driver pieces that need no network: schedule, error classes, windows, progress lines, ItemSpec building."""

from __future__ import annotations

import errno
import math
import os
import pickle
import socket
import time
from typing import Any

import httpx
import pytest
import yaml

from lueur_net.driver.errorclass import classify, describe
from lueur_net.driver.progress import ProgressReader, ProgressWriter
from lueur_net.driver.spec import ANCHOR_CALL, ANCHOR_ITEM, CallSpec, FaultWindow, ItemSpec, LoadSpec, RepeatSpec
from lueur_net.driver.strategies import load_schedule, new_record, settle_faults
from lueur_net.records.call import PHASE_BASELINE, PHASE_FAULT


def _wrapped(inner: BaseException, outer: type[Exception] = httpx.ConnectError) -> Exception:
    try:
        try:
            raise inner
        except BaseException as error:
            raise outer("wrapped") from error
    except Exception as error:  # noqa: BLE001
        return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectTimeout("t"), "timeout"),
        (httpx.ReadTimeout("t"), "timeout"),
        (TimeoutError(), "timeout"),
        (_wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")), "refused"),
        (_wrapped(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), httpx.ReadError), "reset"),
        (_wrapped(BrokenPipeError(errno.EPIPE, "Broken pipe"), httpx.WriteError), "reset"),
        (_wrapped(socket.gaierror(-2, "Name or service not known")), "dns"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "protocol"),
        (_wrapped(OSError(errno.ENETUNREACH, "Network is unreachable")), "other"),
        (_wrapped(ExceptionGroup("all", [ConnectionRefusedError(errno.ECONNREFUSED, "refused")])), "refused"),
    ],
)
def test_error_classes_follow_the_errno_in_the_chain(error: BaseException, expected: str) -> None:
    assert classify(error) == expected


def test_describe_uses_the_os_text_when_the_error_has_none() -> None:
    error = _wrapped(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), httpx.ReadError)
    error.args = ()
    assert describe(error) == "ReadError: Connection reset by peer"


def test_load_schedule_is_exact_and_staggered() -> None:
    schedule = load_schedule(LoadSpec(duration_s=10, clients=3, rps=2))
    assert len(schedule) == 3 * 2 * 10
    times = [t for t, _ in schedule]
    assert times == sorted(times)
    for client in range(3):
        own = [t for t, c in schedule if c == client]
        assert own[0] == pytest.approx(client / 3 * 0.5)
        assert all(b - a == pytest.approx(0.5) for a, b in zip(own, own[1:]))
    assert max(times) < 10.0


@pytest.mark.parametrize(
    ("duration_s", "clients", "rps"),
    [(1.5, 2, 3.0), (3.0, 3, 0.5), (10.0, 7, 0.3), (0.1, 4, 1.0), (2.0, 5, 2.2), (15.0, 2, 1.0), (8.0, 5, 4.0)],
)
def test_load_schedule_counts_every_send_inside_the_duration(duration_s: float, clients: int, rps: float) -> None:
    load = LoadSpec(duration_s=duration_s, clients=clients, rps=rps)
    schedule = load_schedule(load)
    assert len(schedule) == load.total_calls == math.ceil(round(clients * rps * duration_s, 9))
    assert abs(len(schedule) - clients * rps * duration_s) < 1
    assert all(0.0 <= t < duration_s for t, _ in schedule)


def _spec(**changes: object) -> ItemSpec:
    base = dict(scenario="s", scenario_index=0, item=0, call=CallSpec("GET", "http://127.0.0.1:1/"))
    base.update(changes)
    return ItemSpec(**base)  # type: ignore[arg-type]


def _settled(spec: ItemSpec, sent_s: float, total_ms: float, phase: str = PHASE_FAULT) -> tuple[str, list[str]]:
    record = new_record(spec, iteration=0, phase=phase, client=0, seq=0, intended_s=sent_s)
    record.total_ms = total_ms
    settle_faults(spec, record)
    return record.phase, record.faults


def test_item_windows_count_when_they_overlap_the_call() -> None:
    spec = _spec(windows=(FaultWindow("f0", 1.0, 2.0), FaultWindow("f1"), FaultWindow("f0", 5.0, 6.0)))
    assert _settled(spec, 0.5, 5.0) == (PHASE_FAULT, ["f1"])
    assert _settled(spec, 1.0, 5.0) == (PHASE_FAULT, ["f0", "f1"])
    assert _settled(spec, 0.998, 5.0) == (PHASE_FAULT, ["f0", "f1"])  # its answer came back inside f0
    assert _settled(spec, 2.0, 5.0) == (PHASE_FAULT, ["f1"])
    assert _settled(spec, 5.5, 5.0) == (PHASE_FAULT, ["f1", "f0"])  # in window order
    assert _settled(spec, 1.5, 5.0, phase=PHASE_BASELINE) == (PHASE_BASELINE, [])


def test_phase_says_whether_a_fault_was_active_during_the_call() -> None:
    # The reference file's pulses item: 3 clients x 2 rps for 10 s, windows at 10-25%, 40-55%, 70-85%, calls of
    # ~5 ms. Before: all 60 calls said "fault"; 27 calls overlap a window, 33 had none.
    load = LoadSpec(duration_s=10.0, clients=3, rps=2.0)
    spec = _spec(load=load, windows=(FaultWindow("f0", 1.0, 2.5), FaultWindow("f1", 4.0, 5.5),
                                     FaultWindow("f2", 7.0, 8.5)))
    settled = [_settled(spec, intended + 0.001, 5.0) for intended, _client in load_schedule(load)]
    phases = [phase for phase, _ in settled]
    assert len(settled) == 60 and phases.count(PHASE_FAULT) == 27 and phases.count(PHASE_BASELINE) == 33
    assert all((phase == PHASE_FAULT) == bool(faults) for phase, faults in settled)


def test_call_windows_count_when_they_overlap_the_call() -> None:
    spec = _spec(windows=(FaultWindow("f0", 0.15, 0.35, anchor=ANCHOR_CALL),))
    assert _settled(spec, 3.0, 100.0) == (PHASE_BASELINE, [])  # 5% packet loss at 150-350 ms of a 100 ms call
    assert _settled(spec, 3.0, 200.0) == (PHASE_FAULT, ["f0"])


def test_planned_calls_and_strategy() -> None:
    assert _spec().planned_calls == 1 and _spec().strategy == "single"
    repeat = _spec(repeat=RepeatSpec(count=5, add_baseline_call=True))
    assert repeat.planned_calls == 6 and repeat.strategy == "repeat"
    load = _spec(load=LoadSpec(duration_s=8, clients=5, rps=4))
    assert load.planned_calls == 160 and load.strategy == "load"


def _hook(iteration: int, phase: str) -> None:  # module level: picklable
    pass


def test_item_spec_pickles_with_a_module_level_hook() -> None:
    spec = _spec(hook=_hook, windows=(FaultWindow("f0", 1, 2, ANCHOR_ITEM),), progress_fd=7)
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_progress_lines_reach_the_reader_and_add_up() -> None:
    read_end, write_end = os.pipe()
    events: list[dict[str, object]] = []
    with ProgressReader(read_end, events.append):
        writer = ProgressWriter(write_end, scenario_index=2, item=1)
        writer.call_finished(False)
        writer.call_finished(True)
        writer.end()
        deadline = time.monotonic() + 5
        while not any(e.get("event") == "end" for e in events) and time.monotonic() < deadline:
            time.sleep(0.01)
    os.close(write_end)
    os.close(read_end)
    calls = [e for e in events if e["event"] == "calls"]
    assert sum(e["done"] for e in calls) == 2  # type: ignore[misc]
    assert sum(e["failed"] for e in calls) == 1  # type: ignore[misc]
    assert events[-1] == {"event": "end", "scenario_index": 2, "item": 1}


def test_progress_never_blocks_when_nobody_reads() -> None:
    read_end, write_end = os.pipe()
    writer = ProgressWriter(write_end, scenario_index=0, item=0)
    started = time.monotonic()
    for _ in range(5000):  # far more than a pipe buffer holds
        writer.call_finished(False)
    assert time.monotonic() - started < 5
    os.close(write_end)
    os.close(read_end)


SCENARIO_YAML = """
title: Periodic pulses
items:
  - call:
      method: get
      url: http://localhost:9090/users/{user_id}
      headers: {X-Call: "1"}
      body: '{"a": 1}'
    context:
      faults:
        - type: latency
          mean: 150.0
          period: start:10%,duration:15%
        - type: blackhole
      strategy: {mode: load, duration: 10s, clients: 3, rps: 2}
    expect: {status: 200, response_time_under: 100}
  - call: {method: GET, url: http://localhost:9090/, timeout: 500}
    context:
      faults:
        - type: packetloss
          period: start:30%,duration:40%
      strategy: {mode: repeat, count: 5, step: 100, wait: 20, add_baseline_call: true}
config:
  http:
    headers: {Authorization: Bearer x, X-Call: "0"}
    paths: {segments: {user_id: "42"}}
"""


def _plans(scenario: Any, item_index: int) -> Any:
    from lueur_net.plan import Capabilities
    from lueur_net.plan import plan_item

    return plan_item(scenario.items[item_index], Capabilities.all_present())


def test_item_spec_from_the_scenario_model_and_the_plans_windows() -> None:
    from lueur_net.driver.build import item_spec, plan_windows
    from lueur_net.scenario.models import Scenario

    scenario = Scenario.model_validate(yaml.safe_load(SCENARIO_YAML))
    load = item_spec(scenario, 0, windows=plan_windows(_plans(scenario, 0)), scenario_index=3)
    assert load.call.url == "http://localhost:9090/users/42"
    assert dict(load.call.headers) == {"Authorization": "Bearer x", "X-Call": "1"}
    assert load.call.body == b'{"a": 1}' and load.call.timeout_s == 30.0
    assert load.load == LoadSpec(duration_s=10.0, clients=3, rps=2.0)
    assert load.windows == (FaultWindow("f0", 1.0, 2.5, ANCHOR_ITEM), FaultWindow("f1", 0.0, None, ANCHOR_ITEM))
    assert load.expect.status == 200 and load.expect.response_time_under_ms == 100.0
    assert (load.scenario_index, load.item, load.t0) == (3, 0, None)
    assert not load.is_repeat and load.fault_iterations == 1
    repeat = item_spec(scenario, 1, windows=plan_windows(_plans(scenario, 1)))
    assert repeat.repeat == RepeatSpec(count=5, step=100.0, wait_s=0.02, add_baseline_call=True)
    assert repeat.is_repeat and repeat.fault_iterations == 5
    assert repeat.call.timeout_s == 0.5
    assert repeat.windows == (FaultWindow("f0", 0.15, 0.35, ANCHOR_CALL),)
    pickle.dumps(repeat)


def test_a_fault_in_both_directions_is_one_window_named_like_the_fault() -> None:
    """The planner makes `f0.ingress` and `f0.egress` of one `direction: both` fault; the calls list `f0` once."""
    from lueur_net.driver.build import plan_windows
    from lueur_net.scenario.models import Scenario

    scenario = Scenario.model_validate(yaml.safe_load(
        "title: both\nitems:\n  - call: {method: GET, url: 'http://localhost:9090/'}\n    context:\n"
        "      faults:\n        - {type: latency, mean: 10, direction: both, period: 'start:10%,duration:20%'}\n"
        "        - {type: packetloss, direction: both}\n"))
    plan = _plans(scenario, 0)
    assert [fault.id for fault in plan.faults] == ["f0.ingress", "f0.egress", "f1.ingress", "f1.egress"]
    assert plan_windows(plan) == (FaultWindow("f0", 3.0, 9.0, ANCHOR_CALL), FaultWindow("f1", 0.0, None, ANCHOR_CALL))


def test_pipe_hook_waits_for_the_server_answer() -> None:
    from lueur_net.driver.hooks import HookServer
    from lueur_net.errors import EnvironmentProblem

    seen: list[tuple[int, str]] = []
    with HookServer(lambda iteration, phase: seen.append((iteration, phase))) as server:
        server.hook(0, "baseline")
        server.hook(3, "fault")
    assert seen == [(0, "baseline"), (3, "fault")]

    def broken(iteration: int, phase: str) -> None:
        raise RuntimeError("cannot change qdisc")

    with HookServer(broken) as server, pytest.raises(EnvironmentProblem, match="cannot change qdisc"):
        server.hook(1, "fault")


def test_start_gate_returns_the_run_s_t0_and_carries_its_errors() -> None:
    from lueur_net.driver.hooks import HookServer
    from lueur_net.errors import EnvironmentProblem

    asked: list[float] = []

    def ready(needed_s: float) -> float:
        asked.append(needed_s)
        return 1234.5678901234

    with HookServer(on_ready=ready) as server:
        assert server.start(0.05) == 1234.5678901234
        pickle.dumps(server.start)
    assert asked == [0.05]

    def broken(needed_s: float) -> float:
        raise RuntimeError("nfqueue holder did not start")

    with HookServer(on_ready=broken) as server, pytest.raises(EnvironmentProblem, match="holder did not start"):
        server.start(0.0)


def test_scenario_tally_counts_tests_like_lueur() -> None:
    from lueur_net.driver.progress import ScenarioTally

    repeat = _spec(item=0, repeat=RepeatSpec(count=5, add_baseline_call=True))
    load = _spec(item=1, load=LoadSpec(duration_s=10, clients=3, rps=2))
    tally = ScenarioTally("Stair-step", [repeat, load])
    assert tally.line() == "0/7 Stair-step "
    tally.update({"event": "calls", "item": 0, "done": 6, "failed": 0})
    tally.update({"event": "end", "item": 0})
    tally.update({"event": "calls", "item": 1, "done": 30, "failed": 0})
    assert tally.line() == "6/7 Stair-step " + "\u25ae" * 6 + " (50% of 60 calls)"
    tally.update({"event": "end", "item": 1})
    assert tally.line() == "7/7 Stair-step " + "\u25ae" * 7
