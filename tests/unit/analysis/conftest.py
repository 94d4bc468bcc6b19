"""A synthetic run shaped like the reference guide's (results.json v1 + records), deterministic.

Scenarios: a single latency spike; a stair-step repeat with a baseline call; periodic latency pulses under load
(its p95 SLO fails); a bandwidth cap under load with payloads of three sizes; a 1 s blackhole under load with a
500 ms client timeout (its error-rate SLO fails); a POST carrying a secret in its query and headers, with no client
timeout, that waits 5 s under a blackhole.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

SECRET = "hunter2-sekrit"
API_KEY = "key-5f1e2d3c"
BASE = "http://localhost:9090"


def _call(scenario: str, s_index: int, *, seq: int, t: float, latency: float | None, status: int | None = 200,
          phase: str = "fault", faults: list[str] | None = None, error_class: str | None = None,
          iteration: int = 0, client: int = 0, url: str = BASE + "/", method: str = "GET",
          bytes_in: int = 160, error: str | None = None) -> dict[str, Any]:
    return {
        "scenario": scenario, "scenario_index": s_index, "item": 0, "iteration": iteration, "phase": phase,
        "client": client, "seq": seq, "method": method, "url": url, "intended_s": t, "sent_s": t + 0.0004,
        "connect_ms": 0.3, "tls_ms": None,
        "ttfb_ms": None if latency is None else max(latency - 0.5, 0.1),
        "total_ms": latency, "latency_ms": latency, "status": status, "bytes_out": 90, "bytes_in": bytes_in,
        "error_class": error_class, "error": error, "faults": faults or [], "capped": False,
    }


def _slo(title: str, name: str, objective: float, threshold: float, observed: float, failed: int, total: int,
         unit: str, detail: str = "") -> dict[str, Any]:
    return {"name": name, "title": title, "objective": objective, "threshold": threshold, "observed": observed,
            "unit": unit, "passed": observed < threshold, "failed_calls": failed, "total_calls": total,
            "detail": detail}


def _expect_status(total: int, failed: int) -> dict[str, Any]:
    return {"name": "status", "title": "status == 200", "threshold": 200, "observed": None,
            "passed": failed == 0, "failed_calls": failed, "total_calls": total, "unit": "",
            "detail": "" if failed == 0 else f"{failed}/{total} calls had another status"}


def build_run(directory: Path) -> tuple[Path, Path]:
    """Write results.json and calls.parquet into `directory`; return their paths."""
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    scenarios: list[dict[str, Any]] = []

    # 0: single latency spike
    title = "Single high-latency spike (client ingress)"
    rows.append(_call(title, 0, seq=0, t=0.0, latency=812.4, faults=["latency-0"]))
    scenarios.append({"index": 0, "title": title, "description": "A single 800ms spike.", "items": [{
        "index": 0, "call": {"method": "GET", "url": BASE + "/", "timeout_ms": None}, "strategy": {"mode": "single"},
        "plan": {"windows": [{"name": "latency-0", "type": "latency", "start_s": 0.0, "end_s": None,
                              "params": {"mean": 800.0, "stddev": 100.0}, "backend": "tc",
                              "counters": {"packets": 6, "delayed": 6}}]},
        "expectations": [_expect_status(1, 0)], "slos": []}]})

    # 1: stair-step repeat with a baseline call
    title = "Stair-step latency growth (5 x 100 ms)"
    rows.append(_call(title, 1, seq=0, t=0.0, latency=1.9, phase="baseline"))
    for i in range(5):
        rows.append(_call(title, 1, seq=i + 1, t=0.1 + i * 0.7, latency=100.0 * (i + 1) + 2.0, iteration=i,
                          faults=["latency-0"]))
    scenarios.append({"index": 1, "title": title, "items": [{
        "index": 0, "call": {"method": "GET", "url": BASE + "/"}, "strategy": {"mode": "repeat", "count": 5},
        "plan": {"windows": [{"name": "latency-0", "type": "latency", "start_s": 0.1, "end_s": None,
                              "params": {"mean": 100.0, "step": 100.0}, "backend": "tc"}]},
        "expectations": [_expect_status(6, 0)], "slos": []}]})

    # 2: periodic pulses under load (3 clients x 2 rps x 10 s)
    title = "Periodic 150-250 ms latency pulses during load"
    windows = [("latency-0", 1.0, 2.5, 150.0), ("latency-1", 4.0, 5.5, 250.0), ("latency-2", 7.0, 8.5, 150.0)]
    seq = 0
    latencies = []
    for client in range(3):
        for k in range(20):
            t = k * 0.5 + client * 0.16
            active = [w for w in windows if w[1] <= t < w[2]]
            if active:
                latency = active[0][3] * 1.3 + rng.uniform(0, 60)
                faults, phase = [active[0][0]], "fault"
            else:
                latency, faults, phase = 3.0 + rng.uniform(0, 2), [], "baseline"
            latencies.append(latency)
            rows.append(_call(title, 2, seq=seq, t=t, latency=latency, client=client, faults=faults, phase=phase))
            seq += 1
    p95 = float(pd.Series(latencies).quantile(0.95))
    over = sum(value >= 300 for value in latencies)
    scenarios.append({"index": 2, "title": title, "items": [{
        "index": 0, "call": {"method": "GET", "url": BASE + "/"},
        "strategy": {"mode": "load", "duration_s": 10.0, "clients": 3, "rps": 2},
        "plan": {"windows": [{"name": n, "type": "latency", "start_s": a, "end_s": b, "params": {"mean": m},
                              "backend": "ebpf", "counters": {"packets": 40, "delayed": 40}}
                             for n, a, b, m in windows]},
        "expectations": [],
        "slos": [_slo("P95 < 300ms", "latency", 95.0, 300.0, p95, over, 60, "ms"),
                 _slo("P99 < 1% errors", "error", 99.0, 1.0, 0.0, 0, 60, "%")]}]})

    # 3: bandwidth cap under load, payloads of three sizes
    title = "512 KBps bandwidth cap"
    seq = 0
    for client in range(2):
        for k in range(15):
            size = (2_000, 100_000, 400_000)[(k + client) % 3]
            latency = 2.0 + size / 512_000 * 1000.0 + rng.uniform(0, 5)
            rows.append(_call(title, 3, seq=seq, t=k * 1.0 + client * 0.5, latency=latency, client=client,
                              faults=["bandwidth-0"], bytes_in=size))
            seq += 1
    scenarios.append({"index": 3, "title": title, "items": [{
        "index": 0, "call": {"method": "GET", "url": BASE + "/"},
        "strategy": {"mode": "load", "duration_s": 15.0, "clients": 2, "rps": 1},
        "plan": {"windows": [{"name": "bandwidth-0", "type": "bandwidth", "start_s": 0.0, "end_s": None,
                              "params": {"rate": 512, "unit": "KBps"}, "backend": "tc",
                              "counters": {"packets": 3100, "dropped": 12, "overlimits": 900}}]},
        "expectations": [_expect_status(30, 0)], "slos": []}]})

    # 4: blackhole 4.5..5.5 s under load, 500 ms timeout
    title = "Full black-hole for 1 s"
    seq = 0
    errors = 0
    for client in range(2):
        for k in range(30):
            t = k / 3 + client * 0.1
            if 4.5 <= t < 5.5:
                rows.append(_call(title, 4, seq=seq, t=t, latency=500.6, status=None, error_class="timeout",
                                  faults=["blackhole-0"], client=client, error="ReadTimeout('timed out')"))
                errors += 1
            elif 5.5 <= t < 5.9:
                rows.append(_call(title, 4, seq=seq, t=t, latency=180.0 + rng.uniform(0, 20), client=client,
                                  phase="baseline"))
            else:
                rows.append(_call(title, 4, seq=seq, t=t, latency=3.0 + rng.uniform(0, 2), client=client,
                                  phase="baseline"))
            seq += 1
    scenarios.append({"index": 4, "title": title, "items": [{
        "index": 0, "call": {"method": "GET", "url": BASE + "/", "timeout_ms": 500},
        "strategy": {"mode": "load", "duration_s": 10.0, "clients": 2, "rps": 3},
        "plan": {"windows": [{"name": "blackhole-0", "type": "blackhole", "start_s": 4.5, "end_s": 5.5,
                              "params": {"direction": "egress"}, "backend": "ebpf",
                              "counters": {"packets": 25, "dropped": 25}}]},
        "expectations": [],
        "slos": [_slo("error rate < 1%", "error", 99.0, 1.0, errors / 60 * 100, errors, 60, "%",
                      "failures during the blackhole window")]}]})

    # 5: a POST with secrets and no client timeout under a blackhole
    title = "Create user under blackhole"
    url = f"{BASE}/users/?name=bob&secret_password={SECRET}"
    rows.append(_call(title, 5, seq=0, t=0.0, latency=3.1, phase="baseline", url=url, method="POST"))
    rows.append(_call(title, 5, seq=1, t=0.5, latency=5_012.0, url=url, method="POST", faults=["blackhole-0"],
                      error=f"POST {url} took long"))
    scenarios.append({"index": 5, "title": title, "items": [{
        "index": 0,
        "call": {"method": "POST", "url": url, "headers": {"Authorization": f"Bearer {API_KEY}"},
                 "timeout_ms": None},
        "strategy": {"mode": "repeat", "count": 1},
        "plan": {"windows": [{"name": "blackhole-0", "type": "blackhole", "start_s": 0.5, "end_s": 5.5,
                              "params": {}, "backend": "ebpf"}]},
        "expectations": [{"name": "response_time_under", "title": "response time < 1000 ms", "threshold": 1000.0,
                          "observed": 50.0, "unit": "%", "passed": False, "failed_calls": 1, "total_calls": 2,
                          "detail": "1/2 calls took 1000 ms or more"}],
        "slos": []}]})

    records = pd.DataFrame(rows)
    records_path = directory / "calls.parquet"
    records.to_parquet(records_path)
    document = {
        "schema_version": 1,
        "tool": {"name": "lueur-net", "version": "0.1.0"},
        "started_at": "2026-11-27T15:00:00Z",
        "duration_s": 45.3,
        "records": "calls.parquet",
        "host": {"kernel": "6.1.0-test", "cpus": 2},
        "scenarios": scenarios,
    }
    results_path = directory / "results.json"
    results_path.write_text(json.dumps(document, indent=2))
    return results_path, records_path


@pytest.fixture
def run_files(tmp_path: Path) -> tuple[Path, Path]:
    return build_run(tmp_path)


@pytest.fixture
def sample_run(run_files: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    from lueur_net.analysis.loading import load_run

    return load_run(run_files[0])
