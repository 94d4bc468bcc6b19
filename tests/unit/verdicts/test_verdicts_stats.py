"""Statistics and verdicts over hand-made records (no network)."""

from __future__ import annotations

import numpy as np
import pytest

from lueur_net.analysis.stats import NO_FAULT, call_stats, failed_mask, item_stats, percentiles
from lueur_net.analysis.verdicts import ItemRules, SloRule, item_verdict, slo_check
from lueur_net.records.call import CallRecord
from lueur_net.records.frame import records_frame


def frame_of(latencies: list[float], **per_call: list[object]):  # type: ignore[no-untyped-def]
    records = []
    for index, latency in enumerate(latencies):
        fields: dict[str, object] = dict(
            scenario="s", scenario_index=0, item=0, iteration=0, phase="fault", client=0, seq=index,
            method="GET", url="http://h/", intended_s=index * 0.5, sent_s=index * 0.5, latency_ms=latency,
            status=200,
        )
        for name, values in per_call.items():
            fields[name] = values[index]
        records.append(CallRecord(**fields))  # type: ignore[arg-type]
    return records_frame(records)


def test_percentiles_interpolate_linearly() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    expected = {"p25": 25.75, "p50": 50.5, "p75": 75.25, "p95": 95.05, "p99": 99.01}
    assert percentiles(values) == {name: pytest.approx(value) for name, value in expected.items()}
    assert percentiles([]) == {"p25": None, "p50": None, "p75": None, "p95": None, "p99": None}


def test_failed_means_no_response_or_5xx() -> None:
    frame = frame_of([1, 2, 3, 4], status=[200, 404, 503, None], error_class=[None, None, None, "timeout"])
    assert failed_mask(frame).tolist() == [False, False, True, True]
    stats = call_stats(frame)
    assert stats["failed"] == 2 and stats["error_rate_pct"] == 50.0
    assert stats["errors_by_class"] == {"timeout": 1, "http 404": 1, "http 503": 1}  # as the reports show them
    assert stats["status_counts"] == {"200": 1, "404": 1, "503": 1}


def test_latency_slo_uses_the_objective_percentile() -> None:
    frame = frame_of([10.0] * 94 + [1000.0] * 6)
    rule = SloRule("latency", "P95 < 300ms", 95.0, 300.0)
    check = slo_check(frame, rule)
    assert not check.passed and check.observed == pytest.approx(float(np.percentile([10.0] * 94 + [1000.0] * 6, 95)))
    assert check.failed_calls == 6 and check.total_calls == 100
    assert slo_check(frame_of([10.0] * 96 + [1000.0] * 4), rule).passed


def test_error_slo_compares_the_failed_share_with_the_threshold() -> None:
    statuses = [200] * 99 + [500]
    rule = SloRule("error", "P99 < 1% errors", 99.0, 1.0)
    assert slo_check(frame_of([5.0] * 100, status=statuses), rule).passed  # exactly 1% is within
    statuses[0] = 502
    check = slo_check(frame_of([5.0] * 100, status=statuses), rule)
    assert not check.passed and check.observed == pytest.approx(2.0) and check.failed_calls == 2


def test_repeat_counts_one_test_per_call_and_failfast_shortens_it() -> None:
    frame = frame_of([5.0] * 6, phase=["baseline"] + ["fault"] * 5, iteration=[0, 0, 1, 2, 3, 4],
                     status=[200, 200, 200, 500, 200, 200])
    verdict = item_verdict(frame, ItemRules("repeat", status=200))
    assert len(verdict.tests) == 6 and verdict.tests_failed == 1
    assert verdict.tests[3].reasons == ("status 500 != 200",)
    assert verdict.tests[0].phase == "baseline"
    assert verdict.expectations[0].failed_calls == 1 and not verdict.expectations[0].passed


def test_load_is_one_test_that_never_fails_while_its_check_does() -> None:
    latencies = [50.0] * 150 + [150.0] * 10
    verdict = item_verdict(frame_of(latencies), ItemRules("load", response_time_under_ms=100.0))
    assert len(verdict.tests) == 1 and verdict.tests[0].passed and verdict.tests_failed == 0  # lueur: never fails
    assert not verdict.passed and verdict.checks_failed == 1 and len(verdict.checks) == 1  # ours: strict
    check = verdict.expectations[0]
    assert (check.failed_calls, check.total_calls) == (10, 160) and check.observed == pytest.approx(6.25)
    assert item_verdict(frame_of([50.0] * 160), ItemRules("load", response_time_under_ms=100.0)).passed


def test_slo_breach_fails_a_check_never_a_lueur_test() -> None:
    rule = SloRule("latency", "p50 < 10", 50.0, 10.0)
    load = item_verdict(frame_of([20.0] * 10), ItemRules("load", slos=(rule,)))
    assert load.tests_failed == 0 and load.checks_failed == 1 and not load.passed
    single = item_verdict(frame_of([20.0]), ItemRules("single", slos=(rule,)))
    assert single.tests_failed == 0 and single.tests[0].reasons == ()
    assert single.checks_failed == 1 and not single.passed


def test_lueur_count_and_checks_of_a_reference_like_run() -> None:
    """The reference guide's run: a breached P95 SLO under load and 'Tests failed: 0' in lueur's line."""
    slo = SloRule("latency", "P95 < 300ms", 95.0, 300.0)
    items = [
        item_verdict(frame_of([812.0]), ItemRules("single", status=200)),
        item_verdict(frame_of([2.0, 102.0, 202.0, 302.0, 402.0, 502.0], phase=["baseline"] + ["fault"] * 5,
                              iteration=[0, 0, 1, 2, 3, 4]), ItemRules("repeat", status=200)),
        item_verdict(frame_of([5.0] * 50 + [400.0] * 10), ItemRules("load", slos=(slo,))),
        item_verdict(frame_of([5.0, 1500.0], status=[200, None], error_class=[None, "timeout"]),
                     ItemRules("repeat", status=200, response_time_under_ms=1000.0)),
    ]
    assert sum(len(v.tests) for v in items) == 1 + 6 + 1 + 2
    assert sum(v.tests_failed for v in items) == 1  # only the repeat call that missed its expectation
    assert sum(len(v.checks) for v in items) == 1 + 1 + 1 + 2
    assert sum(v.checks_failed for v in items) == 3  # the P95 SLO and both expectations of the last item


def test_slos_per_window_and_outside_any_fault() -> None:
    faults = [["f0"] if 3 <= i < 6 else [] for i in range(10)]
    latencies = [400.0 if 3 <= i < 6 else 5.0 for i in range(10)]
    frame = frame_of(latencies, faults=faults)
    rules = ItemRules("load", slos=(SloRule("latency", "p95<300", 95.0, 300.0),), windows=("f0", "f1"))
    verdict = item_verdict(frame, rules)
    by_window = {check.window: check for check in verdict.slo_windows}
    assert set(by_window) == {"f0", NO_FAULT}  # f1 had no calls: nothing to judge
    assert not by_window["f0"].passed and by_window[NO_FAULT].passed
    stats = item_stats(frame, ("f0", "f1"))
    assert stats["windows"]["f0"]["calls"] == 3 and stats["windows"]["f1"] == {"calls": 0}
    assert stats["windows"][NO_FAULT]["calls"] == 7
    assert stats["phases"]["fault"]["calls"] == 10


def test_no_calls_is_a_failed_test_not_a_silent_pass() -> None:
    verdict = item_verdict(frame_of([]), ItemRules("single", status=200))
    assert not verdict.passed and len(verdict.tests) == 1


def test_a_load_without_calls_fails_too() -> None:
    verdict = item_verdict(frame_of([]), ItemRules("load"))
    assert not verdict.passed and verdict.tests[0].label == "no call made"


def test_a_call_without_any_status_misses_the_status_expectation() -> None:
    frame = frame_of([5.0, 500.0, 5.0], status=[200, None, 200], error_class=[None, "timeout", None])
    verdict = item_verdict(frame, ItemRules("load", status=200))
    (check,) = verdict.expectations
    assert (check.failed_calls, check.total_calls, check.passed) == (1, 3, False)
    assert not verdict.passed
