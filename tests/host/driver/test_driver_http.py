"""The driver against real HTTP servers on 127.0.0.1: strategies, open-loop schedule, error classes, progress.

Timing asserts are loose on purpose (2 busy cores, other tests running): precision is measured in
benchmarks/bench_driver_capacity.py, not asserted here.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from driver_servers import LocalServer, closed_port

from lueur_net.driver import CallSpec, Expect, FaultWindow, ItemSpec, LoadSpec, RepeatSpec, drive, drive_item
from lueur_net.driver.progress import ProgressReader
from lueur_net.driver.strategies import load_schedule


def spec_for(url: str, **changes: Any) -> ItemSpec:
    timeout_s = changes.pop("timeout_s", 5.0)
    base: dict[str, Any] = dict(
        scenario="host test", scenario_index=0, item=0, call=CallSpec("GET", url, timeout_s=timeout_s)
    )
    base.update(changes)
    return ItemSpec(**base)


def test_single_call_is_measured(local_server: LocalServer) -> None:
    [record] = drive_item(spec_for(local_server.url, call=CallSpec("POST", local_server.url, body=b"x" * 100)))
    assert record.status == 200 and record.error_class is None
    assert record.phase == "baseline" and record.iteration == 0 and record.seq == 0  # no fault window: none active
    assert record.connect_ms is not None and 0 <= record.connect_ms < 1000
    assert record.ttfb_ms is not None and record.total_ms is not None
    assert 0 < record.ttfb_ms <= record.total_ms <= record.latency_ms  # type: ignore[operator]
    assert record.bytes_out > 100 and record.bytes_in > len(b'{"message":"Hello, World!"}')
    assert local_server.requests == 1


calls_seen: list[tuple[int, str]] = []


def remember(iteration: int, phase: str) -> None:
    calls_seen.append((iteration, phase))


def test_repeat_with_baseline_calls_the_hook_before_each_call(local_server: LocalServer) -> None:
    calls_seen.clear()
    spec = spec_for(
        local_server.url,
        repeat=RepeatSpec(count=5, step=100, wait_s=0.05, add_baseline_call=True),
        hook=remember,
        windows=(FaultWindow("f0"),),
        expect=Expect(status=200),
    )
    records = drive_item(spec)
    assert [(r.phase, r.iteration) for r in records] == [("baseline", 0)] + [("fault", i) for i in range(5)]
    assert calls_seen == [(0, "baseline")] + [(i, "fault") for i in range(5)]
    assert records[0].faults == [] and all(r.faults == ["f0"] for r in records[1:])
    gaps = [b.sent_s - a.sent_s for a, b in zip(records, records[1:])]
    assert all(gap >= 0.05 for gap in gaps)
    assert all(r.status == 200 for r in records)


def test_repeat_failfast_stops_at_the_first_miss() -> None:
    spec = spec_for(
        f"http://127.0.0.1:{closed_port()}/",
        repeat=RepeatSpec(count=5, failfast=True),
        expect=Expect(status=200),
    )
    records = drive_item(spec)
    assert len(records) == 1 and records[0].error_class == "refused"


def test_load_holds_its_schedule(local_server: LocalServer) -> None:
    load = LoadSpec(duration_s=2.0, clients=4, rps=25.0)
    run = drive(spec_for(local_server.url, load=load))
    records = run.records
    assert abs(len(records) - 4 * 25 * 2) <= 1
    assert [r.intended_s for r in records] == [t for t, _ in load_schedule(load)]  # intended times exact
    assert [r.seq for r in records] == list(range(len(records)))
    assert {r.client for r in records} == {0, 1, 2, 3}
    assert all(r.status == 200 for r in records), {r.error for r in records}
    lags = sorted(r.send_lag_ms for r in records)
    assert lags[0] >= -1.0  # never sent early
    assert lags[int(len(lags) * 0.9)] < 250.0  # loose: a busy CI machine; the benchmark measures precisely
    assert run.notes["capped"] == 0


def test_a_stalled_server_does_not_slow_the_schedule(make_server: Any) -> None:
    server = make_server("sleep", delay_s=1.0)
    started = time.monotonic()
    run = drive(spec_for(server.url, load=LoadSpec(duration_s=2.0, clients=2, rps=10.0)))
    elapsed = time.monotonic() - started
    records = run.records
    assert len(records) == 40 and all(r.status == 200 for r in records)
    # Closed loop would send one call per second per client (~4 calls in 2 s); open loop sends all 40 on time.
    assert max(r.send_lag_ms for r in records) < 500.0
    assert min(r.latency_ms for r in records) >= 950.0  # type: ignore[type-var]
    assert elapsed < 2.0 + 1.0 + 2.0  # schedule + one stall + slack
    assert run.notes["peak_in_flight"] >= 10  # ~20 calls were waiting on the server at once


def test_in_flight_cap_is_noted(make_server: Any) -> None:
    server = make_server("sleep", delay_s=0.5)
    run = drive(spec_for(server.url, load=LoadSpec(duration_s=1.0, clients=1, rps=20.0, max_in_flight=3)))
    assert len(run.records) == 20
    assert run.notes["capped"] > 0 and run.notes["peak_in_flight"] <= 3
    capped = [r for r in run.records if r.capped]
    assert len(capped) == run.notes["capped"]
    assert max(r.send_lag_ms for r in capped) > 100.0  # they waited for a slot, and it shows


def test_refused() -> None:
    [record] = drive_item(spec_for(f"http://127.0.0.1:{closed_port()}/"))
    assert record.error_class == "refused" and record.status is None


def test_timeout_from_a_server_that_never_answers(make_server: Any) -> None:
    server = make_server("never")
    [record] = drive_item(spec_for(server.url, timeout_s=0.3))
    assert record.error_class == "timeout" and record.status is None
    assert 250.0 <= record.total_ms < 3000.0  # type: ignore[operator]


def test_reset_from_a_server_that_closes_with_linger_zero(make_server: Any) -> None:
    server = make_server("reset")
    [record] = drive_item(spec_for(server.url))
    assert record.error_class == "reset", record.error


def test_load_split_over_worker_processes(local_server: LocalServer) -> None:
    load = LoadSpec(duration_s=1.0, clients=4, rps=20.0, workers=2)
    run = drive(spec_for(local_server.url, load=load))
    assert run.workers == 2
    assert [r.seq for r in run.records] == list(range(80))
    assert [r.intended_s for r in run.records] == [t for t, _ in load_schedule(load)]
    assert all(r.status == 200 for r in run.records)


def test_progress_events_add_up_to_the_calls(local_server: LocalServer) -> None:
    read_end, write_end = os.pipe()
    events: list[dict[str, Any]] = []
    with ProgressReader(read_end, events.append):
        drive(spec_for(local_server.url, load=LoadSpec(duration_s=1.0, clients=2, rps=20.0, workers=2),
                       progress_fd=write_end))
        deadline = time.monotonic() + 5
        while sum(e.get("done", 0) for e in events) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
    os.close(write_end)
    os.close(read_end)
    assert sum(e.get("done", 0) for e in events) == 40
    assert any(e["event"] == "end" for e in events)


@pytest.mark.parametrize("given_t0_in", [0.3])
def test_a_future_t0_is_waited_for(local_server: LocalServer, given_t0_in: float) -> None:
    t0 = time.monotonic() + given_t0_in
    run = drive(spec_for(local_server.url, t0=t0, load=LoadSpec(duration_s=0.5, clients=1, rps=10.0)))
    assert run.t0 == t0
    assert run.records[0].sent_s >= 0.0 and run.records[0].intended_s == 0.0


def test_single_waits_for_a_future_t0(local_server: LocalServer) -> None:
    t0 = time.monotonic() + 0.3
    [record] = drive_item(spec_for(local_server.url, t0=t0))
    assert record.intended_s >= 0.0 and record.sent_s >= 0.0
    assert record.status == 200


def test_many_calls_in_flight_against_a_server_that_never_answers(make_server: Any) -> None:
    """A blackhole-like stall at a high rate: the schedule holds with hundreds of sockets open at once."""
    server = make_server("never")
    run = drive(spec_for(server.url, timeout_s=1.5, load=LoadSpec(duration_s=1.0, clients=4, rps=150.0)))
    assert len(run.records) == 600
    assert all(r.error_class == "timeout" for r in run.records)
    assert run.notes["peak_in_flight"] >= 500 and run.notes["capped"] == 0
    lags = sorted(r.send_lag_ms for r in run.records)
    assert lags[int(len(lags) * 0.9)] < 250.0
