"""Records as a DataFrame, the columnar file round trip, per-call expectations and the results_v1 document."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lueur_net.plan import Capabilities
from lueur_net.driver.build import item_spec, plan_windows
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.spec import ItemSpec
from lueur_net.plan import plan_item
from lueur_net.records.call import CallRecord, call_failures, is_error
from lueur_net.records.frame import COLUMNS, read_records, records_frame, write_records
from lueur_net.results import SCHEMA_VERSION, item_document, results_document, write_results
from lueur_net.scenario.models import Scenario


def planned_spec(scenario: Scenario, item_index: int, *, scenario_index: int = 0) -> ItemSpec:
    """The item's spec as the run builds it: fault windows from its plan (for a kernel with every feature)."""
    plan = plan_item(scenario.items[item_index], Capabilities.all_present())
    return item_spec(scenario, item_index, windows=plan_windows(plan), scenario_index=scenario_index)


def record(seq: int, **changes: object) -> CallRecord:
    base: dict[str, object] = dict(
        scenario="s", scenario_index=0, item=0, iteration=0, phase="fault", client=0, seq=seq,
        method="GET", url="http://localhost:9090/", intended_s=seq * 0.1, sent_s=seq * 0.1 + 0.001,
        latency_ms=10.0, total_ms=9.0, ttfb_ms=8.0, status=200, bytes_in=98, bytes_out=143,
    )
    base.update(changes)
    return CallRecord(**base)  # type: ignore[arg-type]


def test_frame_has_every_column_with_its_dtype() -> None:
    frame = records_frame([record(0, faults=["f0"]), record(1, status=None, error_class="timeout", latency_ms=500.0)])
    assert list(frame.columns) == list(COLUMNS)
    assert {column: str(dtype) for column, dtype in frame.dtypes.items()} == COLUMNS
    assert frame["send_lag_ms"].iloc[0] == pytest.approx(1.0)
    assert frame["status"].isna().tolist() == [False, True]
    assert frame["faults"].tolist() == [["f0"], []]


def test_empty_frame_keeps_the_schema() -> None:
    frame = records_frame([])
    assert frame.empty and list(frame.columns) == list(COLUMNS)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_records_file_round_trip(tmp_path: Path, suffix: str) -> None:
    frame = records_frame(
        [record(0, faults=["f0", "f1"]), record(1, status=None, error_class="reset", error="ReadError: x")]
    )
    path = tmp_path / f"calls{suffix}"
    write_records(frame, path)
    back = read_records(path)
    pd.testing.assert_frame_equal(back, frame)


def test_records_file_rejects_other_extensions(tmp_path: Path) -> None:
    from lueur_net.errors import BadInput

    with pytest.raises(BadInput):
        write_records(records_frame([]), tmp_path / "calls.xlsx")


def test_call_failures_and_errors() -> None:
    assert call_failures(record(0), status=200, response_time_under=100) == []
    assert call_failures(record(0, status=500), status=200) == ["status 500 != 200"]
    slow = call_failures(record(0, latency_ms=150.0), response_time_under=100)
    assert slow == ["response time 150.0 ms >= 100 ms"]
    none = call_failures(record(0, status=None, error_class="timeout"), status=200, response_time_under=100)
    assert len(none) == 2 and "timeout" in none[0]
    assert not is_error(record(0, status=404))
    assert is_error(record(0, status=503)) and is_error(record(0, status=None, error_class="refused"))


SCENARIOS = """
title: Stair-step
items:
  - call: {method: GET, url: "http://localhost:9090/"}
    context:
      faults: [{type: latency, mean: 100.0}]
      strategy: {mode: repeat, count: 5, step: 100, add_baseline_call: true}
    expect: {status: 200}
---
title: Pulses
items:
  - call: {method: GET, url: "http://localhost:9090/", headers: {Authorization: "Bearer secret"}}
    context:
      faults:
        - {type: latency, mean: 150.0, period: "start:10%,duration:15%"}
      strategy: {mode: load, duration: 10s, clients: 3, rps: 2}
      slo:
        - {slo_type: latency, title: "P95 < 300ms", objective: 95.0, threshold: 300.0}
        - {slo_type: error, title: "P99 < 1% errors", objective: 99.0, threshold: 1.0}
"""


def test_results_document_counts_tests_like_lueur(tmp_path: Path) -> None:
    scenarios = [Scenario.model_validate(doc) for doc in yaml.safe_load_all(SCENARIOS)]
    repeat_spec = planned_spec(scenarios[0], 0, scenario_index=0)
    repeat_records = [
        record(k, phase="baseline" if k == 0 else "fault", iteration=max(0, k - 1), status=200 if k != 3 else 500)
        for k in range(6)
    ]
    load_spec = planned_spec(scenarios[1], 0, scenario_index=1)
    load_records = [
        record(k, scenario_index=1, intended_s=k / 6, sent_s=k / 6, latency_ms=400.0 if 1.0 <= k / 6 < 2.5 else 5.0,
               faults=["f0"] if 1.0 <= k / 6 < 2.5 else [])
        for k in range(60)
    ]
    all_records = records_frame(repeat_records + load_records)
    items = []
    for scenario_index, (scenario, spec, records) in enumerate(
        [(scenarios[0], repeat_spec, repeat_records), (scenarios[1], load_spec, load_records)]
    ):
        frame = all_records[(all_records["scenario_index"] == scenario_index) & (all_records["item"] == 0)]
        items.append((scenario, "scenario.yaml", [item_document(scenario, 0, spec, ItemRun(records, 100.0), frame)]))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    document = results_document(
        items, started_at=start, finished_at=start + timedelta(seconds=12.5), records_path="calls.parquet",
        records_rows=len(all_records), host={"kernel": "test"},
    )
    path = tmp_path / "results.json"
    write_results(document, path)
    loaded = json.loads(path.read_text())
    assert loaded["schema_version"] == SCHEMA_VERSION
    summary = loaded["summary"]
    # lueur's count: 6 calls + 1 load; only call 4 (status 500) fails; the load's breached P95 SLO never does
    assert (summary["tests_run"], summary["tests_failed"]) == (7, 1)
    # our checks: status of the repeat (failed) + the load's two SLOs (P95 breached, errors held)
    assert (summary["checks_run"], summary["checks_failed"]) == (3, 2)
    assert summary["passed"] is False and summary["scenarios_failed"] == 2
    assert summary["total_time_s"] == 12.5 and summary["calls"] == 66
    repeat_item = loaded["scenarios"][0]["items"][0]
    assert [t["passed"] for t in repeat_item["tests"]] == [True, True, True, False, True, True]
    assert repeat_item["tests"][0]["phase"] == "baseline"
    load_item = loaded["scenarios"][1]["items"][0]
    assert load_item["tests_run"] == 1 and load_item["tests_failed"] == 0 and load_item["tests"][0]["passed"]
    assert (load_item["checks_run"], load_item["checks_failed"]) == (2, 1) and not load_item["passed"]
    assert loaded["scenarios"][1]["checks_failed"] == 1 and loaded["scenarios"][1]["tests_failed"] == 0
    latency = load_item["slos"][0]
    assert latency["name"] == "latency" and not latency["passed"] and latency["observed"] == pytest.approx(400.0)
    assert load_item["slos"][1]["passed"]
    assert {c["window"] for c in load_item["slo_windows"]} == {"f0", "none"}
    assert load_item["windows"][0] == {
        "name": "f0", "type": "latency", "start_s": 1.0, "end_s": 2.5, "anchor": "item",
        "params": load_item["windows"][0]["params"], "backend": None, "counters": {},
    }
    assert load_item["windows"][0]["params"]["mean"] == 150.0
    assert load_item["call"]["header_names"] == ["Authorization"]
    assert "secret" not in path.read_text()
    assert load_item["stats"]["windows"]["f0"]["calls"] == 9
    assert load_item["driver"]["t0_monotonic"] == 100.0
    for placeholder in ("plan", "backends", "capabilities", "counters"):
        assert placeholder in loaded


def test_the_typed_constructor_gives_the_frame_the_generic_conversion_gave() -> None:
    """records_frame builds each column with its dtype at once (13 ms -> ~1 ms an item, benchmarks/
    bench_analysis.py); read_records still converts a generic frame (_typed). Both must give the same frame:
    missing numbers NaN, a missing status <NA>, missing texts None, fault lists kept (copies)."""
    from dataclasses import asdict

    from lueur_net.records.frame import _typed

    names = ["f0", "f1"]
    records = [
        record(0, status=200, ttfb_ms=3.5, connect_ms=None, faults=names),
        record(1, status=None, error_class="timeout", error="timed out", total_ms=None, latency_ms=None,
               capped=True),
        record(2, status=503, bytes_in=0, tls_ms=1.25, client=3, iteration=2, phase="baseline"),
    ]
    generic = pd.DataFrame([asdict(r) for r in records], columns=[c for c in COLUMNS if c != "send_lag_ms"])
    generic["send_lag_ms"] = (generic["sent_s"] - generic["intended_s"]) * 1000.0
    built = records_frame(records)
    pd.testing.assert_frame_equal(built, _typed(generic))
    assert built["faults"][0] == names and built["faults"][0] is not names
    empty = records_frame([])  # every dtype as declared (the generic path made an empty `faults` float64)
    assert empty.empty and {column: str(dtype) for column, dtype in empty.dtypes.items()} == COLUMNS
