"""A stalled load driver does not fire every missed call at once when it resumes: calls it reaches more than
MISSED_AFTER_S after their intended time are recorded as missed (error_class "missed", not sent), the rest go out
on schedule, and the notes say how many and how long. The stall is real (a call that blocks the event loop); the
calls themselves are fakes, so nothing touches the network."""

from __future__ import annotations

import asyncio
import time

import pytest

from lueur_net.driver import strategies
from lueur_net.driver.progress import ProgressWriter
from lueur_net.driver.spec import CallSpec, ItemSpec, LoadSpec
from lueur_net.driver.strategies import ERROR_MISSED, MISSED_AFTER_S, run_load
from lueur_net.records.call import CallRecord

STALL_S = 2.5
RPS = 10.0


def test_calls_due_during_a_stall_are_missed_not_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[int, float]] = []  # (seq, when sent, seconds from t0)
    origin: list[float] = []

    async def fake_call(client: object, call: CallSpec, record: CallRecord, t0: float) -> CallRecord:
        origin[:] = [t0]
        sent.append((record.seq, time.monotonic() - t0))
        record.sent_s = time.monotonic() - t0
        record.status, record.total_ms, record.latency_ms = 200, 1.0, 1.0
        if record.seq == 5:
            time.sleep(STALL_S)  # blocks the event loop: the driver is stalled as by SIGSTOP
        return record

    monkeypatch.setattr(strategies, "perform_call", fake_call)
    spec = ItemSpec(scenario="stall", scenario_index=0, item=0, call=CallSpec("GET", "http://127.0.0.1:9/"),
                    load=LoadSpec(duration_s=5.0, clients=1, rps=RPS))
    records, notes, t0 = asyncio.run(run_load(spec, lambda: time.monotonic() + 0.05, ProgressWriter(None, 0, 0),
                                              [0], 64))
    assert len(records) == 50 and [r.seq for r in sorted(records, key=lambda r: r.seq)] == list(range(50))
    missed = [r for r in records if r.error_class == ERROR_MISSED]
    # The stall began at 0.5 s and lasted 2.5 s: calls due before ~2.0 s (more than 1 s late at 3.0 s) are missed.
    expected = (STALL_S - MISSED_AFTER_S) * RPS
    assert expected - 3 <= len(missed) <= expected + 3, [round(r.intended_s, 2) for r in missed]
    assert all(r.status is None and r.total_ms is None and "not sent" in (r.error or "") for r in missed)
    assert {r.seq for r in missed}.isdisjoint(seq for seq, _ in sent)  # never sent
    assert notes["missed"] == len(missed)
    assert STALL_S - 0.5 <= notes["stalled_s"] <= STALL_S + 1.0
    # What was sent after the stall left at most MISSED_AFTER_S late: no burst of 2.5 s of calls.
    lags = [when - (seq / RPS) for seq, when in sent]
    assert max(lags) <= MISSED_AFTER_S + 0.2, lags
    assert len(sent) + len(missed) == 50
