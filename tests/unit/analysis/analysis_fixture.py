"""A synthetic run shaped like the reference guide's, written by the real results/records code.

The scenarios are YAML parsed by lueur_net.scenario; the calls are CallRecords with made-up but deterministic
timings; results.json and calls.parquet come from lueur_net.results (results_document, write_results) and
lueur_net.records (write_records), so these tests follow the results_v1 schema as its owners change it.

Scenarios: a single latency spike; a stair-step repeat with a baseline call; periodic latency pulses under load
(its p95 SLO fails); a bandwidth cap under load with payloads of three sizes; a 1 s blackhole under load with a
500 ms client timeout (its error-rate SLO fails); a POST carrying a secret in its query and headers, with no client
timeout, waiting 5 s under a blackhole (its response-time expectation fails).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lueur_net.plan import Capabilities
from lueur_net.driver.build import item_spec, plan_windows
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.spec import ItemSpec
from lueur_net.plan import plan_item
from lueur_net.records.call import CallRecord
from lueur_net.records.frame import records_frame, write_records
from lueur_net.results import item_document, results_document, write_results
from lueur_net.scenario.loader import loads
from lueur_net.scenario.models import Scenario

SECRET = "hunter2-sekrit"
API_KEY = "key-5f1e2d3c"

SCENARIOS = f"""
title: Single high-latency spike (client ingress)
description: A single 800ms spike simulates jitter buffer underrun.
items:
  - call: {{method: GET, url: "http://localhost:9090/"}}
    context:
      upstreams: ["http://localhost:9090/"]
      faults: [{{type: latency, side: client, mean: 800.0, stddev: 100.0, direction: ingress}}]
    expect: {{status: 200}}
---
title: Stair-step latency growth (5 x 100 ms)
items:
  - call: {{method: GET, url: "http://localhost:9090/"}}
    context:
      upstreams: ["http://localhost:9090/"]
      faults: [{{type: latency, side: client, mean: 100.0, stddev: 30.0, direction: ingress}}]
      strategy: {{mode: repeat, step: 100.0, count: 5, add_baseline_call: true}}
    expect: {{status: 200}}
---
title: Periodic 150-250 ms latency pulses during load
items:
  - call: {{method: GET, url: "http://localhost:9090/"}}
    context:
      upstreams: ["http://localhost:9090/"]
      faults:
        - {{type: latency, mean: 150.0, period: "start:10%,duration:15%"}}
        - {{type: latency, mean: 250.0, period: "start:40%,duration:15%"}}
        - {{type: latency, mean: 150.0, period: "start:70%,duration:15%"}}
      strategy: {{mode: load, duration: 10s, clients: 3, rps: 2}}
      slo:
        - {{slo_type: latency, title: "P95 < 300ms", objective: 95.0, threshold: 300.0}}
        - {{slo_type: error, title: "P99 < 1% errors", objective: 99.0, threshold: 1.0}}
---
title: 512 KBps bandwidth cap
items:
  - call: {{method: GET, url: "http://localhost:9090/"}}
    context:
      upstreams: ["http://localhost:9090/"]
      faults: [{{type: bandwidth, rate: 512, unit: KBps, direction: ingress}}]
      strategy: {{mode: load, duration: 15s, clients: 2, rps: 1}}
    expect: {{status: 200}}
---
title: Full black-hole for 1 s
items:
  - call: {{method: GET, url: "http://localhost:9090/", timeout: 500}}
    context:
      upstreams: ["http://localhost:9090/"]
      faults: [{{type: blackhole, direction: egress, period: "start:45%,duration:10%"}}]
      strategy: {{mode: load, duration: 10s, clients: 2, rps: 3}}
      slo:
        - {{slo_type: error, title: "error rate < 1%", objective: 99.0, threshold: 1.0}}
---
title: Create user under blackhole
items:
  - call:
      method: POST
      url: "http://localhost:9090/users/?name=bob&secret_password={SECRET}"
      headers: {{Authorization: "Bearer {API_KEY}"}}
    context:
      upstreams: ["http://localhost:9090/"]
      faults: [{{type: blackhole, direction: egress}}]
      strategy: {{mode: repeat, count: 1, add_baseline_call: true}}
    expect: {{response_time_under: 1000}}
"""


def planned_spec(scenario: Scenario, item_index: int, *, scenario_index: int = 0) -> ItemSpec:
    """The item's spec as the run builds it: fault windows from its plan (for a kernel with every feature)."""
    plan = plan_item(scenario.items[item_index], Capabilities.all_present())
    return item_spec(scenario, item_index, windows=plan_windows(plan), scenario_index=scenario_index)


def _record(spec: ItemSpec, *, seq: int, t: float, latency: float, phase: str = "fault", client: int = 0,
            iteration: int = 0, status: int | None = 200, error_class: str | None = None,
            error: str | None = None, bytes_in: int = 160) -> CallRecord:
    if phase == "baseline":
        faults: list[str] = []
    else:
        faults = [w.name for w in spec.windows if w.anchor == "call" or w.active_at(t)]
    return CallRecord(
        scenario=spec.scenario, scenario_index=spec.scenario_index, item=spec.item, iteration=iteration,
        phase=phase, client=client, seq=seq, method=spec.call.method, url=spec.call.url, intended_s=t,
        sent_s=t + 0.0004, connect_ms=0.3, ttfb_ms=max(latency - 0.5, 0.1) if error_class is None else None,
        total_ms=latency, latency_ms=latency, status=status if error_class is None else None, bytes_out=90,
        bytes_in=bytes_in if error_class is None else 0, error_class=error_class, error=error, faults=faults,
    )


def _calls(index: int, spec: ItemSpec, rng: random.Random) -> list[CallRecord]:
    """Made-up timings per scenario (see the module docstring)."""
    records: list[CallRecord] = []
    if index == 0:
        records.append(_record(spec, seq=0, t=0.0, latency=812.4))
    elif index == 1:
        records.append(_record(spec, seq=0, t=0.0, latency=1.9, phase="baseline"))
        for i in range(5):
            records.append(_record(spec, seq=i + 1, t=0.1 + i * 0.7, latency=100.0 * (i + 1) + 2.0, iteration=i))
    elif index == 2:
        means = {w.name: m for w, m in zip(spec.windows, (150.0, 250.0, 150.0), strict=True)}
        calls = []
        for client in range(3):
            for k in range(20):
                calls.append((k * 0.5 + client * 0.16, client))
        for seq, (t, client) in enumerate(sorted(calls)):
            active = [w for w in spec.windows if w.active_at(t)]
            latency = means[active[0].name] * 1.3 + rng.uniform(0, 60) if active else 3.0 + rng.uniform(0, 2)
            records.append(_record(spec, seq=seq, t=t, latency=latency, client=client))
    elif index == 3:
        calls = sorted((k * 1.0 + client * 0.5, client, (k + client) % 3) for client in range(2) for k in range(15))
        for seq, (t, client, size_index) in enumerate(calls):
            size = (2_000, 100_000, 400_000)[size_index]
            latency = 2.0 + size / 512_000 * 1000.0 + rng.uniform(0, 5)
            records.append(_record(spec, seq=seq, t=t, latency=latency, client=client, bytes_in=size))
    elif index == 4:
        calls = sorted((k / 3 + client * 0.1, client) for client in range(2) for k in range(30))
        for seq, (t, client) in enumerate(calls):
            if 4.5 <= t < 5.5:
                records.append(_record(spec, seq=seq, t=t, latency=500.6, client=client, error_class="timeout",
                                       error="ReadTimeout('timed out')"))
            elif 5.5 <= t < 5.9:
                records.append(_record(spec, seq=seq, t=t, latency=180.0 + rng.uniform(0, 20), client=client))
            else:
                records.append(_record(spec, seq=seq, t=t, latency=3.0 + rng.uniform(0, 2), client=client))
    elif index == 5:
        url = spec.call.url
        records.append(_record(spec, seq=0, t=0.0, latency=3.1, phase="baseline"))
        records.append(_record(spec, seq=1, t=0.5, latency=5_012.0, error=f"POST {url} took long"))
    return records


def build_run(directory: Path) -> tuple[Path, Path]:
    """Write results.json and calls.parquet into `directory`; return their paths."""
    rng = random.Random(7)
    loaded = loads(SCENARIOS, source="scenario.yaml")
    all_records: list[CallRecord] = []
    scenario_docs: list[tuple[Any, str | None, list[dict[str, Any]]]] = []
    for index, entry in enumerate(loaded):
        spec = planned_spec(entry.scenario, 0, scenario_index=index)
        records = _calls(index, spec, rng)
        all_records += records
        frame = records_frame(records)
        document = item_document(entry.scenario, 0, spec, ItemRun(records=records, t0=0.0), frame)
        for window in document["windows"]:
            window["backend"] = "ebpf" if window["type"] in ("blackhole", "packetloss") else "tc"
            window["counters"] = {"packets": 40, "dropped": 40 if window["type"] == "blackhole" else 0}
            window["traffic"] = "requests" if window["params"].get("direction") == "egress" else "responses"
        document["notes"] = [f"{w['name']}: a plan note" for w in document["windows"][:1]]
        scenario_docs.append((entry.scenario, "scenario.yaml", [document]))
    records_path = directory / "calls.parquet"
    frame = records_frame(all_records)
    write_records(frame, records_path)
    started = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
    document = results_document(
        scenario_docs, started_at=started, finished_at=started + timedelta(seconds=45.3),
        records_path=str(records_path), records_rows=len(frame), host={"kernel": "6.1.0-test", "cpus": 2},
    )
    results_path = directory / "results.json"
    write_results(document, results_path)
    return results_path, records_path
