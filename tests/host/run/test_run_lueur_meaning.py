"""`lueur-net run` does what lueur would do with the same file: a bandwidth cap on the default side throttles the
answers (a large download takes seconds), one on `server egress` the requests (the download stays fast); a
blackhole on `server egress` drops the requests, so the server never sees them, while on the default side the
server does run the request and only its answer is lost (`only: established` keeps the handshake, as lueur's
proxy would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[3]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
SIZE = 1_000_000  # bytes: 2 s at 512 KBps

SCENARIOS = """
title: cap on the default side
items:
  - call: {{method: GET, url: "http://localhost:{port}/big.bin?cap-responses", timeout: 20000}}
    context:
      upstreams: ["http://localhost:{port}/"]
      faults: [{{type: bandwidth, rate: 512, unit: KBps}}]
---
title: cap on server egress
items:
  - call: {{method: GET, url: "http://localhost:{port}/big.bin?cap-requests", timeout: 20000}}
    context:
      upstreams: ["http://localhost:{port}/"]
      faults: [{{type: bandwidth, rate: 512, unit: KBps, direction: egress}}]
---
title: hole on server egress
items:
  - call: {{method: GET, url: "http://localhost:{port}/small.txt?hole-requests", timeout: 1500}}
    context:
      upstreams: ["http://localhost:{port}/"]
      faults: [{{type: blackhole, direction: egress, only: established}}]
---
title: hole on the default side
items:
  - call: {{method: GET, url: "http://localhost:{port}/small.txt?hole-responses", timeout: 1500}}
    context:
      upstreams: ["http://localhost:{port}/"]
      faults: [{{type: blackhole, only: established}}]
"""


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("meaning")
    site = folder / "site"
    site.mkdir()
    (site / "big.bin").write_bytes(os.urandom(SIZE))
    (site / "small.txt").write_text("ok\n")
    port = 19000 + os.getpid() % 1000
    (folder / "scenario.yaml").write_text(SCENARIOS.format(port=port))
    log = folder / "server.log"
    serve = (f"sh -c 'exec {sys.executable} -u -m http.server {port} --bind 0.0.0.0 --directory {site} "
             f"--protocol HTTP/1.0 2>>{log}'")
    done = subprocess.run([*LUEUR_NET, "run", str(folder / "scenario.yaml"), "--serve", serve, "--result",
                           str(folder / "results.json"), "--no-report", "--fail-on", "never"],
                          capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = pd.read_parquet(folder / "results.calls.parquet")
    return {"calls": calls.set_index("scenario"), "log": log.read_text()}


def test_a_cap_on_the_default_side_throttles_the_answers(outcome: dict[str, object]) -> None:
    calls = outcome["calls"]
    assert isinstance(calls, pd.DataFrame)
    capped = calls.loc["cap on the default side"]
    assert capped.status == 200 and capped.bytes == SIZE
    assert capped.total_ms >= 1500, capped.total_ms  # 1 MB at 512 KBps: about 2 s
    requests_only = calls.loc["cap on server egress"]
    assert requests_only.status == 200 and requests_only.total_ms < 1000, requests_only.total_ms


def test_a_blackhole_on_server_egress_drops_the_requests_before_the_server(outcome: dict[str, object]) -> None:
    calls, log = outcome["calls"], str(outcome["log"])
    assert isinstance(calls, pd.DataFrame)
    assert calls.loc["hole on server egress"].error_class == "timeout"
    assert "hole-requests" not in log  # the server never saw it: a POST would not have written anything
    assert calls.loc["hole on the default side"].error_class == "timeout"
    assert "hole-responses" in log  # the server ran it; only the answer was lost
