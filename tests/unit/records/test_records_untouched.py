"""Faults that touched no packet: judged from the windows and the calls, then from the backend's counters; in
results.json (`untouched`) and as one warning per fault per item on the run's output."""

from __future__ import annotations

from typing import Any

from lueur_net.analysis.stats import FaultSpan, untouched_faults
from lueur_net.records.call import CallRecord
from lueur_net.records.frame import records_frame
from lueur_net.results import attach_data_plane
from lueur_net.runner import warn_untouched


def record(seq: int, **changes: Any) -> CallRecord:
    base: dict[str, Any] = dict(
        scenario="s", scenario_index=0, item=0, iteration=0, phase="baseline", client=0, seq=seq,
        method="GET", url="http://localhost:9090/", intended_s=seq / 6, sent_s=seq / 6 + 0.001,
        latency_ms=7.0, total_ms=6.0, status=200,
    )
    base.update(changes)
    return CallRecord(**base)


def test_a_call_window_that_never_met_the_call_is_untouched() -> None:
    """The reference file's "5% packet loss": 150-350 ms of each call, calls of 5-8 ms."""
    calls = records_frame([record(0, total_ms=5.2), record(1, total_ms=7.9)])
    spans = [FaultSpan("f0", "packetloss", 0.15, 0.35, anchor="call", counters={"packets": 40}, backend="netem")]
    assert untouched_faults(spans, calls) == [{
        "fault": "f0", "type": "packetloss", "source": "windows",
        "reason": "its window 150-350 ms never overlapped a call (calls took 5-8 ms)",
    }]


def test_an_item_window_after_the_last_call_is_untouched() -> None:
    calls = records_frame([record(i) for i in range(12)])  # sent 0.001-1.834 s
    spans = [FaultSpan("f0", "latency", 2.5, 3.0), FaultSpan("f0", "latency", 4.0, None)]
    [entry] = untouched_faults(spans, calls)
    assert entry["reason"] == (
        "its windows 2.5-3 s; 4 s-end never overlapped a call (12 calls sent 0.001-1.834 s, each 6 ms)")


def test_zero_counters_mean_untouched_when_the_windows_met_calls() -> None:
    calls = records_frame([record(i, phase="fault", faults=["f0", "f1", "f2", "f3"]) for i in range(3)])
    spans = [
        # measured: a DNS fault on a name the lab's hosts file answers (its program saw packets, no DNS answer)
        FaultSpan("f0", "dns", counters={"packets": 6, "matched": 5, "eligible": 0, "affected": 0}, backend="ebpf"),
        FaultSpan("f1", "latency", counters={"packets": 9, "affected": 0, "passed": 9}, backend="nfqueue"),
        FaultSpan("f2", "latency", counters={"packets": 31, "dropped": 0}, backend="netem"),  # tc: all packets
        FaultSpan("f3", "blackhole"),  # no counters: judged by the windows only
    ]
    found = untouched_faults(spans, calls)
    assert [(entry["fault"], entry["source"], entry["counter"]) for entry in found] == [
        ("f0", "counters", "eligible"), ("f1", "counters", "affected")]
    assert found[0]["reason"].startswith("0 packets matched (ebpf counter 'eligible' stayed 0 while 3 calls ran")


def test_results_item_lists_untouched_faults_and_the_run_warns_once_per_fault() -> None:
    document: dict[str, Any] = {"windows": [
        {"name": "f0", "type": "packetloss", "start_s": 0.15, "end_s": 0.35, "anchor": "call"},
        {"name": "f1", "type": "dns", "start_s": 0.0, "end_s": None, "anchor": "call"},
        {"name": "f2", "type": "latency", "start_s": 0.0, "end_s": None, "anchor": "call"},
    ]}
    calls = records_frame([record(0, phase="fault", faults=["f1", "f2"], total_ms=6.0)])
    attach_data_plane(document, counters={"f1": {"matched": 0, "eligible": 0, "packets": 0},
                                          "f2": {"packets": 12, "dropped": 0}},
                      backends=[{"id": "f1", "backend": "ebpf"}, {"id": "f2", "backend": "netem"}], calls=calls)
    assert [entry["fault"] for entry in document["untouched"]] == ["f0", "f1"]

    class Listener:
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def note(self, text: str) -> None:
            raise AssertionError("a warning is not a note")

        def warning(self, text: str) -> None:
            self.warnings.append(text)

    listener = Listener()
    warn_untouched(listener, "5% packet loss for 4s", 0, document)  # type: ignore[arg-type]
    assert listener.warnings == [
        "5% packet loss for 4s / item 0: fault f0 (packetloss) touched no packet: its window 150-350 ms never "
        "overlapped a call (calls took 6 ms)",
        "5% packet loss for 4s / item 0: fault f1 (dns) touched no packet: 0 packets matched (ebpf counter "
        "'eligible' stayed 0 while 1 call ran during its window)",
    ]
