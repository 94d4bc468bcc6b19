"""The offline analyzer: each rule fires on the synthetic run with the right numbers, deterministically."""

from __future__ import annotations

import pandas as pd

from lueur_net.analysis.findings import Finding, analyze, recovery_seconds
from lueur_net.analysis.model import Item, Run, Scenario, Window


def _by_kind(run: Run, kind: str) -> list[Finding]:
    return [finding for finding in analyze(run) if finding.kind == kind]


def test_slo_breaches_name_fault_and_margin(sample_run: Run) -> None:
    breaches = _by_kind(sample_run, "slo-breach")
    assert {finding.scenario for finding in breaches} == {
        "Periodic 150-250 ms latency pulses during load", "Full black-hole for 1 s"}
    blackhole = next(f for f in breaches if "black-hole" in f.scenario)
    assert blackhole.evidence["margin"] == 9.0 and "blackhole" in str(blackhole.evidence["faults"])
    assert blackhole.severity == "critical" and blackhole.recommendation


def test_errors_cluster_in_the_blackhole_window(sample_run: Run) -> None:
    (cluster,) = _by_kind(sample_run, "error-cluster")
    assert cluster.evidence["errors"] == 6 and cluster.evidence["errors_in_windows"] == 6
    assert cluster.evidence["error_rate_outside_pct"] == 0.0


def test_recovery_after_blackhole(sample_run: Run) -> None:
    item = sample_run.scenarios[4].items[0]
    seconds = recovery_seconds(item, item.windows[0])
    assert seconds is not None and 0.3 <= seconds <= 0.6
    assert any(f.kind == "recovery" and f.scenario == item.scenario for f in analyze(sample_run))


def test_unbounded_wait_only_without_timeout(sample_run: Run) -> None:
    (wait,) = _by_kind(sample_run, "unbounded-wait")
    assert wait.endpoint == "POST /users/" and wait.evidence["longest_ms"] == 5012.0


def test_bandwidth_sensitivity_slope(sample_run: Run) -> None:
    (finding,) = _by_kind(sample_run, "bandwidth-sensitivity")
    # the fixture's payloads cross a 512 KB/s link: about 1.95 ms per KB
    assert 1.8 <= float(finding.evidence["ms_per_kb"]) <= 2.1


def test_tail_amplification_under_latency_pulses(sample_run: Run) -> None:
    findings = [f for f in _by_kind(sample_run, "tail-amplification") if f.scenario.startswith("Periodic")]
    assert findings and float(findings[0].evidence["fault_p99_ms"]) > 300


def test_deterministic_and_most_severe_first(sample_run: Run) -> None:
    first, second = analyze(sample_run), analyze(sample_run)
    assert first == second
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[f.severity] for f in first] == sorted(order[f.severity] for f in first)


def _item_with(latencies_after: list[float]) -> Item:
    rows = [{"intended_s": t / 10, "latency_ms": 3.0, "error_class": None, "status": 200, "faults": []}
            for t in range(20)]  # baseline before the window
    rows += [{"intended_s": 2.0 + t / 10, "latency_ms": 400.0, "error_class": "timeout", "status": None,
              "faults": ["f0"]} for t in range(10)]
    rows += [{"intended_s": 3.0 + t / 10, "latency_ms": value, "error_class": None, "status": 200, "faults": []}
             for t, value in enumerate(latencies_after)]
    calls = pd.DataFrame(rows)
    calls["status"] = calls["status"].astype("Int64")
    return Item("s", 0, 0, "GET", "http://h/", "load", 6.0, 400.0, [Window("f0", "blackhole", 2.0, 3.0)], [], calls)


def test_recovery_ignores_a_late_outlier_and_measures_slow_return() -> None:
    item = _item_with([3.0] * 10 + [90.0])  # back at once; one noisy call at the end
    assert recovery_seconds(item, item.windows[0]) == 0.0
    item = _item_with([200.0, 150.0, 120.0] + [3.0] * 10)  # three slow calls, then normal
    seconds = recovery_seconds(item, item.windows[0])
    assert seconds is not None and abs(seconds - 0.3) < 1e-9
    item = _item_with([200.0] * 10)  # never back
    assert recovery_seconds(item, item.windows[0]) == float("inf")


def test_fault_without_effect_is_flagged() -> None:
    """A 150 ms latency window whose calls stayed at the baseline (seen on a real run) is a warning; one that
    delayed its calls is not."""
    base = [{"intended_s": t / 10, "latency_ms": 4.0, "error_class": None, "status": 200, "faults": []}
            for t in range(10)]
    quiet = [{"intended_s": 1 + t / 10, "latency_ms": 4.5, "error_class": None, "status": 200, "faults": ["f0"]}
             for t in range(6)]
    loud = [{"intended_s": 2 + t / 10, "latency_ms": 155.0, "error_class": None, "status": 200, "faults": ["f1"]}
            for t in range(6)]
    calls = pd.DataFrame(base + quiet + loud)
    calls["status"] = calls["status"].astype("Int64")
    windows = [Window("f0", "latency", 1.0, 1.6, {"mean": 150.0}), Window("f1", "latency", 2.0, 2.6, {"mean": 150.0})]
    item = Item("s", 0, 0, "GET", "http://h/", "load", 3.0, None, windows, [], calls)
    run = Run([Scenario("s", 0, items=[item])], calls)
    flagged = [f for f in analyze(run) if f.kind == "no-effect"]
    assert [f.evidence["window"] for f in flagged] == ["f0"]
    assert flagged[0].severity == "warning" and "154" in str(flagged[0].evidence["expected"])


def _single_item(windows: list[Window], faults: list[str], total_ms: float = 6.0) -> Item:
    calls = pd.DataFrame([{"intended_s": 0.0, "sent_s": 0.0, "total_ms": total_ms, "latency_ms": total_ms,
                           "error_class": None, "status": 200, "faults": faults,
                           "phase": "fault" if faults else "baseline"}])
    calls["status"] = calls["status"].astype("Int64")
    return Item("5% packet loss for 4s", 0, 0, "GET", "http://h/", "single", None, 500.0, windows, [], calls)


def test_a_fault_that_touched_no_packet_is_a_finding_with_its_reason() -> None:
    loss = Window("f0", "packetloss", 0.15, 0.35, {"rate": 5.0}, anchor="call")
    run = Run([Scenario("s", 0, items=[_single_item([loss], [])])], pd.DataFrame())
    (finding,) = [f for f in analyze(run) if f.kind == "untouched-fault"]
    assert finding.severity == "warning" and finding.evidence["source"] == "windows"
    assert "its window 150-350 ms never overlapped a call (calls took 6 ms)" in finding.summary
    dns = Window("f0", "dns", counters={"packets": 0, "matched": 0}, backend="ebpf", anchor="call")
    run = Run([Scenario("s", 0, items=[_single_item([dns], ["f0"])])], pd.DataFrame())
    (finding,) = [f for f in analyze(run) if f.kind == "untouched-fault"]
    assert finding.evidence["source"] == "counters" and "0 packets matched" in finding.summary
    touched = Window("f0", "dns", counters={"packets": 2, "matched": 2}, backend="ebpf", anchor="call")
    run = Run([Scenario("s", 0, items=[_single_item([touched], ["f0"])])], pd.DataFrame())
    assert not [f for f in analyze(run) if f.kind == "untouched-fault"]


def _load_calls(first_lag_ms: float) -> pd.DataFrame:
    """60 calls at 6 per second taking 8 ms; the first one sent `first_lag_ms` late (the reference run: 125.8)."""
    rows = []
    for seq in range(60):
        intended = seq / 6
        lag = first_lag_ms if seq == 0 else 1.0
        rows.append({"intended_s": intended, "sent_s": intended + lag / 1000, "total_ms": 8.0,
                     "latency_ms": 8.0 + lag, "error_class": None, "status": 200, "faults": [], "phase": "baseline"})
    calls = pd.DataFrame(rows)
    calls["status"] = calls["status"].astype("Int64")
    return calls


def test_driver_lag_is_reported_as_the_driver_s_not_the_service_s() -> None:
    from lueur_net.analysis.model import KIND_SLO, Check

    slo = Check(KIND_SLO, "latency", "P99 < 100ms", passed=False, objective=99.0, threshold=100.0, observed=133.8,
                failed_calls=1, total_calls=60)
    item = Item("Pulses", 0, 0, "GET", "http://h/", "load", 10.0, None, [], [slo], _load_calls(125.8))
    findings = analyze(Run([Scenario("Pulses", 0, items=[item])], item.calls))
    (lag,) = [f for f in findings if f.kind == "driver-lag"]
    assert lag.severity == "warning"
    assert lag.evidence["late_calls"] == 1 and lag.evidence["send_lag_max_ms"] == 125.8
    assert lag.evidence["send_lag_p99_ms"] > 5.0 and lag.evidence["worst_at_s"] == 0.0
    assert "driver sent 1 of 60 calls more than 5 ms" in lag.summary and "125.8 ms" in lag.summary
    (breach,) = [f for f in findings if f.kind == "slo-breach"]
    assert breach.evidence["failed_calls_sent_late"] == 1 and "driver's lag" in breach.summary
    nudged = Item("Pulses", 0, 0, "GET", "http://h/", "load", 10.0, None, [], [], _load_calls(1.0))
    nudged.calls["sent_s"] += [0.006 if seq % 20 == 0 else 0.0 for seq in range(60)]  # 3 calls 7 ms late
    (lag,) = [f for f in analyze(Run([Scenario("Pulses", 0, items=[nudged])], nudged.calls)) if f.kind == "driver-lag"]
    assert lag.severity == "info" and lag.evidence["late_calls"] == 3
    on_time = Item("Pulses", 0, 0, "GET", "http://h/", "load", 10.0, None, [], [], _load_calls(2.0))
    assert not [f for f in analyze(Run([Scenario("Pulses", 0, items=[on_time])], on_time.calls))
                if f.kind == "driver-lag"]
