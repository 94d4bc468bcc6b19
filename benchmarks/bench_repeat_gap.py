"""The gap between a repeat item's calls: configured `wait` + what lueur-net adds between them (target <= 5 ms).

A real `run` (lueur_net.runner.execute: lab, data plane, driver in the client namespace) of three repeat items
against a small HTTP server on the host's loopback, one per backend this host has: latency steps (nfqueue, as
netem is absent here; netem where present), bandwidth (TBF) and packet loss at 0% (eBPF), and one without faults (the floor: what the driver's sleep and
the repeat hook's pipe round trip cost by themselves). Each item makes a
baseline call and COUNT calls with `wait` between them. The gap of a call is its send time minus the end of the
previous call (sent + total), minus `wait`: what the run spent changing the faults and handing the call over.
Printed, not asserted. The same file runs against an older checkout for the "before" figure:

    sudo .venv/bin/python benchmarks/bench_repeat_gap.py [--runs 3] [--wait-ms 100]
    sudo PYTHONPATH=/tmp/old-checkout .venv/bin/python benchmarks/bench_repeat_gap.py   # the code before
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import lueur_net
from lueur_net.records.frame import read_records
from lueur_net.runner import RunOptions, execute

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' quiet HTTP handler
from quiet_http import QuietHandler  # noqa: E402

COUNT = 5

SCENARIO = """
title: repeat gap
items:
  - call: {{method: GET, url: "http://localhost:{port}/"}}
    context:
      faults: [{{type: latency, mean: 20}}]
      strategy: {{mode: repeat, count: {count}, step: 10, wait: {wait}, add_baseline_call: true}}
  - call: {{method: GET, url: "http://localhost:{port}/"}}
    context:
      faults: [{{type: bandwidth, rate: 10000, unit: KiBps}}]
      strategy: {{mode: repeat, count: {count}, wait: {wait}, add_baseline_call: true}}
  - call: {{method: GET, url: "http://localhost:{port}/"}}
    context:
      faults: [{{type: packetloss, probability: 0.0}}]
      strategy: {{mode: repeat, count: {count}, wait: {wait}, add_baseline_call: true}}
  - call: {{method: GET, url: "http://localhost:{port}/"}}
    context:
      strategy: {{mode: repeat, count: {count}, wait: {wait}, add_baseline_call: true}}
"""


class Quiet(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.reply(b"ok")


class Listener:
    def scenario_started(self, *args: Any) -> None: ...
    def progress(self, event: dict[str, Any]) -> None: ...
    def scenario_finished(self, *args: Any) -> None: ...
    def note(self, text: str) -> None: ...
    def warning(self, text: str) -> None: ...


def gaps_ms(calls: Any, wait_s: float) -> dict[int, list[float]]:
    """item -> the gap before each call after the first (ms), in send order."""
    result: dict[int, list[float]] = {}
    for item, rows in calls.sort_values("seq").groupby("item"):
        rows = rows.to_dict("records")
        result[int(item)] = [
            (now["sent_s"] - (before["sent_s"] + before["total_ms"] / 1000) - wait_s) * 1000
            for before, now in zip(rows, rows[1:])
        ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait-ms", type=float, default=100.0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"lueur_net from {Path(lueur_net.__file__).parent}")
    # the last item has no fault: its gap is the floor the driver and the repeat hook add by themselves
    names = {0: "latency (nfqueue)", 1: "bandwidth (tbf)", 2: "packetloss (ebpf)", 3: "no fault (floor)"}
    every: dict[int, list[float]] = {item: [] for item in names}
    backends: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="lueur-bench-gap-") as directory:
        scenario = Path(directory) / "scenario.yaml"
        scenario.write_text(SCENARIO.format(port=server.server_address[1], count=COUNT, wait=args.wait_ms))
        for run in range(args.runs):
            results = Path(directory) / f"results-{run}.json"
            outcome = execute(RunOptions(paths=(str(scenario),), results_path=results), Listener())
            for item in outcome.document["scenarios"][0]["items"]:
                backends[item["index"] if "index" in item else len(backends)] = ",".join(
                    sorted({b["backend"] for b in item.get("backends", [])}))
            for item, values in gaps_ms(read_records(outcome.records_path), args.wait_ms / 1000).items():
                every[item].extend(values)
    server.shutdown()
    print(f"{args.runs} runs x {COUNT + 1} calls per item (baseline + {COUNT}), wait {args.wait_ms:g} ms; "
          "gap = next send - previous end - wait:")
    for item, name in names.items():
        values = sorted(every[item])
        if not values:
            continue
        print(f"  {name:20} backend {backends.get(item, '?'):8} gap median {statistics.median(values):7.2f} ms"
              f"   p90 {values[int(0.9 * (len(values) - 1))]:7.2f}   max {values[-1]:7.2f}   (n={len(values)}, "
              "target <= 5)")


if __name__ == "__main__":
    main()
