"""A backend that dies during a run fails the run loudly: the nfqueue holder of a latency fault is SIGKILLed in the
middle of a load item; `lueur-net run` finishes that item, writes results.json with the item marked (which fault's
backend failed, why and when) and exits 3 with that message. Before, the fault silently vanished (--queue-bypass let
the packets through) and the run reported success."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from served_run import REPO, document, localhost_item, run_serving

SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"ok\\n")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
"""



def scenario_text(port: int) -> str:
    return document("latency while the holder dies",
                    localhost_item(port, "", timeout_ms=2000, faults="{type: latency, mean: 20}",
                                   strategy="{mode: load, duration: 6s, clients: 1, rps: 5}"),
                    f'  - call: {{method: GET, url: "http://localhost:{port}/never", timeout: 2000}}\n')


def _holders_of(pid: int) -> list[int]:
    """Children of `pid` named lueur-nfqueue (the holder sets its name with prctl)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if comm == "lueur-nfqueue" and ppid == pid:
            found.append(int(entry.name))
    return found


def test_a_holder_killed_during_an_item_fails_the_run_with_exit_3(tmp_path: Path) -> None:
    port = 20000 + os.getpid() % 1000
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "scenario.yaml").write_text(scenario_text(port))
    serve = f"{sys.executable} {tmp_path / 'server.py'} {port}"
    run = subprocess.Popen(run_serving(tmp_path / "scenario.yaml", serve, tmp_path),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        holders: list[int] = []
        while not holders and time.monotonic() < deadline and run.poll() is None:
            holders = _holders_of(run.pid)
            time.sleep(0.1)
        assert holders, "no nfqueue holder appeared (is the latency fault planned on nfqueue here?)"
        time.sleep(2.0)  # well inside the 6 s item
        killed_at = time.monotonic()
        for holder in holders:
            os.kill(holder, signal.SIGKILL)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 3, out + err
    assert "backend of fault f0 (latency) failed" in err and "exited with status -9" in err, err
    assert "The run stopped" in err
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["summary"]["passed"] is False
    [scenario] = results["scenarios"]
    assert len(scenario["items"]) == 1  # the second item never ran
    item = scenario["items"][0]
    assert item["passed"] is False
    [failure] = item["backend_failures"]
    assert failure["fault"] == "f0" and failure["backend"] == "nfqueue" and failure["type"] == "latency"
    t0 = item["driver"]["t0_monotonic"]
    assert 0 < failure["at_s"] < 6.0
    assert 0 <= t0 + failure["at_s"] - killed_at < 2.0  # the watchdog noticed within a beat and a ping
