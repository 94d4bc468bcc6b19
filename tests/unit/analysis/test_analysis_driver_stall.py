"""A load driver that stalled recorded the calls due meanwhile as missed: the analyzer says the driver stalled, how
long and how many calls, and does not also report those unsent calls as send lag."""

from __future__ import annotations

import pandas as pd

from lueur_net.analysis.findings import analyze
from lueur_net.analysis.model import Item, Run, Scenario


def _calls_with_a_stall() -> pd.DataFrame:
    """50 calls at 10 per second; the driver froze at 0.5 s for 2.5 s: calls due 0.6-1.9 s reached at 3.0 s."""
    rows = []
    for seq in range(50):
        intended = seq / 10
        if 0.55 < intended < 1.95:
            rows.append({"intended_s": intended, "sent_s": 3.0, "total_ms": None, "latency_ms": None,
                         "error_class": "missed", "status": None, "faults": [], "phase": "baseline"})
        else:
            sent = 3.0 if 1.95 < intended < 3.0 else intended + 0.001  # reached late, under 1 s: sent
            rows.append({"intended_s": intended, "sent_s": sent, "total_ms": 5.0, "latency_ms": 5.0,
                         "error_class": None, "status": 200, "faults": [], "phase": "baseline"})
    calls = pd.DataFrame(rows)
    calls["status"] = calls["status"].astype("Int64")
    return calls


def test_a_stalled_driver_is_a_finding_with_its_length_and_missed_calls() -> None:
    item = Item("Load", 0, 0, "GET", "http://h/users", "load", 5.0, None, [], [], _calls_with_a_stall())
    findings = analyze(Run([Scenario("Load", 0, items=[item])], item.calls))
    (stall,) = [f for f in findings if f.kind == "driver-stalled"]
    assert stall.severity == "warning" and stall.endpoint == "GET /users"
    assert stall.evidence["missed_calls"] == 14 and stall.evidence["calls"] == 50
    assert stall.evidence["stalled_s"] == 2.4 and stall.evidence["from_s"] == 0.6
    assert "stopped for about 2.4 s from 0.60 s" in stall.summary and "14 of 50 calls" in stall.summary
    for lag in (f for f in findings if f.kind == "driver-lag"):
        assert lag.evidence["send_lag_max_ms"] <= 1000.0  # the missed calls are not counted as lag


def test_no_stall_no_finding() -> None:
    calls = _calls_with_a_stall()
    calls = calls[calls["error_class"] != "missed"]
    item = Item("Load", 0, 0, "GET", "http://h/users", "load", 5.0, None, [], [], calls)
    assert not [f for f in analyze(Run([Scenario("Load", 0, items=[item])], calls)) if f.kind == "driver-stalled"]
