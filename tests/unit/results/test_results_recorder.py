"""RunRecorder: items added as they finish, files written, the analysis loader reads them back."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lueur_net.plan import Capabilities
from lueur_net.driver.build import item_spec, plan_windows
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.spec import ItemSpec
from lueur_net.plan import plan_item
from lueur_net.records.call import CallRecord
from lueur_net.records.frame import read_records
from lueur_net.results import RunRecorder
from lueur_net.scenario.models import Scenario

TWO = """
title: One call
items:
  - call: {method: GET, url: "http://localhost:9090/"}
    expect: {status: 200}
---
title: A load
items:
  - call: {method: GET, url: "http://localhost:9090/"}
    context:
      strategy: {mode: load, duration: 2s, clients: 2, rps: 2}
"""


def planned_spec(scenario: Scenario, item_index: int, *, scenario_index: int = 0) -> ItemSpec:
    """The item's spec as the run builds it: fault windows from its plan (for a kernel with every feature)."""
    plan = plan_item(scenario.items[item_index], Capabilities.all_present())
    return item_spec(scenario, item_index, windows=plan_windows(plan), scenario_index=scenario_index)


def calls(scenario_index: int, count: int, status: int = 200) -> list[CallRecord]:
    return [
        CallRecord("t", scenario_index, 0, 0, "fault", k % 2, k, "GET", "http://localhost:9090/", k * 0.25, k * 0.25,
                   latency_ms=2.0, total_ms=2.0, status=status)
        for k in range(count)
    ]


def test_recorder_writes_both_files_and_they_load(tmp_path: Path) -> None:
    scenarios = [Scenario.model_validate(doc) for doc in yaml.safe_load_all(TWO)]
    recorder = RunRecorder()
    first = recorder.add(0, scenarios[0], "s.yaml", 0, planned_spec(scenarios[0], 0), ItemRun(calls(0, 1, 500), 1.0))
    assert first["tests_failed"] == 1
    first["backends"] = ["ebpf"]
    recorder.add(1, scenarios[1], "s.yaml", 0, planned_spec(scenarios[1], 0, scenario_index=1), ItemRun(calls(1, 8), 2.0))
    recorder.top["backends"] = ["ebpf"]
    results, records = tmp_path / "out" / "results.json", tmp_path / "calls.csv"
    results.parent.mkdir()
    document = recorder.write(results, records)
    assert (document["summary"]["tests_run"], document["summary"]["tests_failed"]) == (2, 1)
    loaded = json.loads(results.read_text())
    assert loaded["records"] == {"path": "../calls.csv", "rows": 9}
    assert loaded["backends"] == ["ebpf"] and loaded["scenarios"][0]["items"][0]["backends"] == ["ebpf"]
    assert len(read_records(records)) == 9

    from lueur_net.analysis.loading import load_run

    run = load_run(results)
    assert len(run.records) == 9 and [s.passed for s in run.scenarios] == [False, True]


def test_an_item_that_could_not_be_driven_is_a_failed_test() -> None:
    scenario = Scenario.model_validate(yaml.safe_load(TWO.split("---")[0]))
    recorder = RunRecorder()
    document = recorder.add(0, scenario, None, 0, planned_spec(scenario, 0), None)
    assert document["tests_failed"] == 1 and not document["passed"]
    assert recorder.document()["summary"]["tests_failed"] == 1


def test_data_plane_counters_land_on_their_windows() -> None:
    from lueur_net.results import attach_data_plane

    document = {"windows": [{"name": "f0", "counters": {}, "backend": None},
                            {"name": "f1", "counters": {}, "backend": None}]}
    attach_data_plane(
        document,
        counters={"f0.ingress": {"packets": 3, "dropped": 1}, "f0.egress": {"packets": 2}, "f10": {"packets": 9}},
        backends=[{"id": "f0.ingress", "backend": "ebpf"}, {"id": "f0.egress", "backend": "netem"},
                  {"id": "f1", "backend": "tbf"}],
        plan=[{"path": "a<->b"}],
    )
    assert document["windows"][0]["counters"] == {"packets": 5, "dropped": 1}
    assert document["windows"][0]["backend"] == "ebpf,netem"
    assert document["windows"][1] == {"name": "f1", "counters": {}, "backend": "tbf", "traffic": None}
    assert document["plan"] == [{"path": "a<->b"}] and "f10" in document["counters"]


def test_each_window_says_what_it_hit_and_the_plans_notes_reach_the_item() -> None:
    from lueur_net.results import attach_data_plane

    document = {"windows": [{"name": "f0", "counters": {}, "backend": None}]}
    note = "f0: every packet of the responses waits 800 ms: ..."
    attach_data_plane(document, backends=[{"id": "f0.ingress", "backend": "nfqueue", "traffic": "requests"},
                                          {"id": "f0.egress", "backend": "nfqueue", "traffic": "responses"}],
                      plan=[{"path": "a<->b", "notes": [note]}, {"path": "a<->b", "notes": [note]}])
    assert document["windows"][0]["traffic"] == "requests and responses"
    assert document["notes"] == [note]  # once, though each repeat step plans again


def test_query_values_are_redacted_unless_kept_and_the_reports_follow(tmp_path: Path) -> None:
    from lueur_net.analysis.loading import load_run

    scenario = Scenario.model_validate(yaml.safe_load(TWO.split("---")[0]))
    signed = "http://localhost:9090/file?sig=0a1b2c3d4e5f&page=2#part"
    for keep, expected in ((False, "http://localhost:9090/file?sig=[redacted]&page=[redacted]#[redacted]"),
                           (True, signed)):
        recorder = RunRecorder()
        made = [CallRecord("t", 0, 0, 0, "fault", 0, 0, "GET", signed, 0.0, 0.0, latency_ms=2.0, total_ms=2.0,
                           status=200)]
        recorder.add(0, scenario, "s.yaml", 0, planned_spec(scenario, 0), ItemRun(made, 1.0))
        results, records = tmp_path / f"{keep}.json", tmp_path / f"{keep}.parquet"
        document = recorder.write(results, records, keep_query=keep)
        assert document["redaction"] == {"query": "kept" if keep else "redacted"}
        assert read_records(records).url.tolist() == [expected]
        assert load_run(results).scenarios[0].items[0].calls.url.tolist() == [expected]
