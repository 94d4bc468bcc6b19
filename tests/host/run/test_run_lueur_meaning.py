"""`lueur-net run` does what lueur would do with the same file: a bandwidth cap on the default side throttles the
answers (a large download takes seconds), one on `server egress` the requests (the download stays fast); a
blackhole on `server egress` drops the requests, so the server never sees them, while on the default side the
server does run the request and only its answer is lost (`only: established` keeps the handshake, as lueur's
proxy would).

A request a blackhole held can still reach the server later: the client's TCP stack retransmits it after the call
gave up and the fault was lifted (lueur's proxy would have discarded it). So the server stamps each request with
CLOCK_MONOTONIC, the clock the calls are recorded on, and the test compares it with the end of the call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from served_run import REPO, document, localhost_item, run_serving

SIZE = 1_000_000  # bytes: 2 s at 512 KBps

SERVER = """
import functools, http.server, sys, time
log, site, port = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def send_head(self):
        with open(log, "a") as out:  # on arrival, before the answer
            out.write(f"{time.monotonic():.6f} {self.path}\\n")
        return super().send_head()

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("0.0.0.0", port), functools.partial(Handler, directory=site)).serve_forever()
"""

# (title, path?tag: the server logs the tag, timeout in ms, fault): one scenario each.
SCENARIOS = [
    ("cap on the default side", "big.bin?cap-responses", 20000, "{type: bandwidth, rate: 512, unit: KBps}"),
    ("cap on server egress", "big.bin?cap-requests", 20000,
     "{type: bandwidth, rate: 512, unit: KBps, direction: egress}"),
    ("hole on server egress", "small.txt?hole-requests", 1500,
     "{type: blackhole, direction: egress, only: established}"),
    ("hole on the default side", "small.txt?hole-responses", 1500, "{type: blackhole, only: established}"),
]


def scenarios(port: int) -> str:
    return "---\n".join(document(title, localhost_item(port, path, timeout_ms=timeout, faults=fault))
                         for title, path, timeout, fault in SCENARIOS)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("meaning")
    site = folder / "site"
    site.mkdir()
    (site / "big.bin").write_bytes(os.urandom(SIZE))
    (site / "small.txt").write_text("ok\n")
    port = 19000 + os.getpid() % 1000
    (folder / "scenario.yaml").write_text(scenarios(port))
    log = folder / "server.log"
    (folder / "server.py").write_text(SERVER)
    serve = f"{sys.executable} {folder / 'server.py'} {log} {site} {port}"
    done = subprocess.run(run_serving(folder / "scenario.yaml", serve, folder),
                          capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = pd.read_parquet(folder / "results.calls.parquet")
    results = json.loads((folder / "results.json").read_text())
    t0 = {scenario["title"]: scenario["items"][0]["driver"]["t0_monotonic"] for scenario in results["scenarios"]}
    calls["ended"] = [t0[title] + sent + total / 1000 for title, sent, total in
                      zip(calls.scenario, calls.sent_s, calls.total_ms, strict=True)]
    arrivals = {}
    for line in log.read_text().splitlines():
        stamp, path = line.split(" ", 1)
        arrivals.setdefault(path.split("?", 1)[-1], float(stamp))
    return {"calls": calls.set_index("scenario"), "arrivals": arrivals}


def test_a_cap_on_the_default_side_throttles_the_answers(outcome: dict[str, object]) -> None:
    calls = outcome["calls"]
    assert isinstance(calls, pd.DataFrame)
    capped = calls.loc["cap on the default side"]
    assert capped.status == 200 and capped.bytes_in >= SIZE
    assert capped.total_ms >= 1500, capped.total_ms  # 1 MB at 512 KBps: about 2 s
    requests_only = calls.loc["cap on server egress"]
    assert requests_only.status == 200 and requests_only.total_ms < 1000, requests_only.total_ms


def test_a_blackhole_on_server_egress_drops_the_requests_before_the_server(outcome: dict[str, object]) -> None:
    calls, arrivals = outcome["calls"], outcome["arrivals"]
    assert isinstance(calls, pd.DataFrame) and isinstance(arrivals, dict)
    held = calls.loc["hole on server egress"]
    assert held.error_class == "timeout"
    # Never while the call waited; at most later, retransmitted by the client's stack once the fault was lifted.
    assert arrivals.get("hole-requests", float("inf")) > held.ended
    lost = calls.loc["hole on the default side"]
    assert lost.error_class == "timeout"
    assert arrivals["hole-responses"] < lost.ended  # the server ran it during the call; only the answer was lost
