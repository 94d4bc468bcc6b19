"""`lueur-net run --attach`: calls and faults in a namespace lueur-net did not create (a pod, a container)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def pod() -> Iterator[dict[str, str]]:
    """Two namespaces made by the test: a 'pod' (client) and a 'service' with an HTTP server, joined by a veth."""
    tag = f"{os.getpid() % 100000}"
    pod_ns, service_ns = f"lueur-atp-{tag}", f"lueur-ats-{tag}"
    ip("netns", "add", pod_ns)
    ip("netns", "add", service_ns)
    server = None
    try:
        ip("link", "add", f"lueurap{tag}", "netns", pod_ns, "type", "veth", "peer", "name", f"lueuras{tag}",
           "netns", service_ns)
        ip("-n", pod_ns, "addr", "add", "10.251.7.1/24", "dev", f"lueurap{tag}")
        ip("-n", service_ns, "addr", "add", "10.251.7.2/24", "dev", f"lueuras{tag}")
        for ns, dev in ((pod_ns, f"lueurap{tag}"), (service_ns, f"lueuras{tag}")):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        ip("-n", pod_ns, "route", "add", "default", "via", "10.251.7.2")
        server = subprocess.Popen(["ip", "netns", "exec", service_ns, sys.executable, "-m", "http.server",
                                   "--bind", "10.251.7.2", "8000", "--protocol", "HTTP/1.0"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["ip", "netns", "exec", pod_ns, sys.executable, "-c",
                                    "import socket; socket.create_connection(('10.251.7.2', 8000), 1)"],
                                   capture_output=True)
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        yield {"netns": pod_ns, "iface": f"lueurap{tag}"}
    finally:
        if server is not None:
            server.terminate()
            server.wait(5)
        for ns in (pod_ns, service_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def pod_state(pod: dict[str, str]) -> list[str]:
    """What a fault could leave in the pod's namespace, without counters (they change with traffic)."""
    def run(*command: str) -> str:
        return subprocess.run(["nsenter", f"--net=/run/netns/{pod['netns']}", *command], capture_output=True,
                              text=True, check=True).stdout

    return [
        run("tc", "qdisc", "show"),
        run("tc", "filter", "show", "dev", pod["iface"], "ingress"),
        run("tc", "filter", "show", "dev", pod["iface"], "egress"),
        # Rules only: iptables-nft keeps an emptied table's header once it was used (noted on the issue).
        "\n".join(line for line in run("iptables-save").splitlines() if line.startswith("-")),
        run("ip", "-o", "link", "show").replace(" state UP", ""),
    ]


SCENARIO = """
title: Pod latency
items:
  - call:
      method: GET
      url: http://10.251.7.2:8000/
      timeout: 5000
    context:
      upstreams: [http://10.251.7.2:8000/]
      faults:
        - type: latency
          mean: 300
          stddev: 0
          side: client
          direction: egress
    expect:
      status: 200
"""


def test_run_attached_to_a_namespace_delays_its_calls(pod: dict[str, str], tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    before = pod_state(pod)
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--attach", pod["netns"], "--iface", pod["iface"],
                           "--result", str(tmp_path / "results.json"), "--no-report"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"attached to {pod['netns']}" in done.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    item = results["scenarios"][0]["items"][0]
    assert item["counters"]["f0"]["packets"] > 0  # whichever backend this kernel uses for latency
    import pandas as pd

    calls = pd.read_parquet(tmp_path / "results.calls.parquet")
    assert calls.status.tolist() == [200]
    assert calls.ttfb_ms.iloc[0] >= 250  # client egress = the responses: 300 ms on each (SYN-ACK, answer)
    assert pod_state(pod) == before  # reverted: the pod's qdiscs, filters, rules and links are as they were


def test_attached_requests_are_delayed_on_the_pods_own_interface(pod: dict[str, str], tmp_path: Path) -> None:
    """server egress = the requests (lueur's meaning). Their receiving end is the service's interface, which is not
    ours: the fault goes on the pod's interface, on the same packets (leaving it), and the plan says so."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO.replace("side: client", "side: server"))
    before = pod_state(pod)
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--attach", pod["netns"], "--iface", pod["iface"],
                           "--result", str(tmp_path / "results.json"), "--no-report"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    item = results["scenarios"][0]["items"][0]
    (backend,) = item["backends"]
    assert (backend["traffic"], backend["side"], backend["hook"]) == ("requests", "client", "egress")
    assert item["counters"]["f0"]["packets"] > 0
    import pandas as pd

    calls = pd.read_parquet(tmp_path / "results.calls.parquet")
    assert calls.status.tolist() == [200]
    assert calls.ttfb_ms.iloc[0] >= 250  # the SYN and the request each wait 300 ms
    assert pod_state(pod) == before


def test_attach_and_serve_exclude_each_other(pod: dict[str, str], tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--attach", pod["netns"], "--serve", "true",
                           "--result", str(tmp_path / "results.json")], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert done.returncode == 2
    assert "--serve and --attach exclude each other" in done.stderr


def test_no_secret_reaches_the_files_a_run_writes(pod: dict[str, str], tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO.replace("url: http://10.251.7.2:8000/",
                                         "url: http://10.251.7.2:8000/?name=a&secret_password=hunter2secret")
                        .replace("mean: 300", "mean: 1"))
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--attach", pod["netns"], "--iface", pod["iface"],
                           "--result", str(tmp_path / "out" / "results.json"), "--html", "--junit"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted((tmp_path / "out").iterdir())
    assert {path.name for path in written} >= {"results.json", "results.calls.parquet", "report.md", "report.html",
                                               "junit.xml"}
    for path in written:
        assert b"hunter2secret" not in path.read_bytes(), path.name
    assert "hunter2secret" not in done.stdout + done.stderr
    import pandas as pd

    calls = pd.read_parquet(tmp_path / "out" / "results.calls.parquet")  # compressed: check decoded values too
    assert calls.url.tolist() == ["http://10.251.7.2:8000/?name=[redacted]&secret_password=[redacted]"]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["records"]["path"] == "results.calls.parquet"  # relative to results.json


def test_dry_run_plans_for_the_attached_namespace(pod: dict[str, str], tmp_path: Path) -> None:
    """--dry-run --attach resolves the target as run would (changing nothing) and puts every fault on its
    interface, the host-side peer being lueur-net's to leave alone."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO.replace("side: client", "side: server"))
    before = pod_state(pod)
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--dry-run", "--attach", pod["netns"], "--iface",
                           pod["iface"]], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"<client-if> = {pod['iface']} in namespace" in done.stdout
    assert "server egress: requests     -> client end, egress" in done.stdout
    assert pod_state(pod) == before
