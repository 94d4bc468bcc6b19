"""`lueur-net run --attach`: calls and faults in a namespace lueur-net did not create (a pod, a container)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pod_namespaces import ip, namespace_state, pod_and_peer

REPO = Path(__file__).resolve().parents[3]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]


@pytest.fixture
def pod() -> Iterator[dict[str, str]]:
    """Two namespaces made by the test: a 'pod' (client) and a 'service' with an HTTP server, joined by a veth."""
    with pod_and_peer("a", "10.251.7.1", "10.251.7.2", server_in="peer",
                      server_args=("--protocol", "HTTP/1.0")) as made:
        yield made


def pod_state(pod: dict[str, str]) -> list[str]:
    return namespace_state(pod["netns"], pod["iface"])


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


# ----- the host guard, seen from inside another namespace (issue 11, points 4 and 5) -----

CAP_SCENARIO = """
title: Cap the uplink
items:
  - call: {method: GET, url: "http://10.252.11.2:8000/", timeout: 2000}
    context:
      upstreams: ["http://10.252.11.2:8000/"]
      faults: [{type: bandwidth, rate: 512, unit: KBps, side: client, direction: egress}]
"""

# pid 1 of a fresh PID namespace, living in the namespace that plays the host: it runs lueur-net inside the other
# namespace (argv[1]) and exits with its status. lueur-net then sees this process as the machine's init.
INIT_IN_HOST = (
    "import subprocess, sys\n"
    "sys.exit(subprocess.run(['nsenter', '--net=/run/netns/' + sys.argv[1], *sys.argv[2:]]).returncode)\n"
)


@pytest.fixture
def played_host() -> Iterator[dict[str, str]]:
    """'host' (plays the machine's initial namespace, with an uplink veth carrying its default route) and 'inner'
    (where lueur-net runs, as with `ip netns exec X lueur-net ...`), joined by that veth."""
    tag = f"{os.getpid() % 100000}"
    host, inner = f"lueur-ph-{tag}", f"lueur-pi-{tag}"
    ip("netns", "add", host)
    ip("netns", "add", inner)
    try:
        uplink = f"lueurpu{tag}"
        ip("link", "add", uplink, "netns", host, "type", "veth", "peer", "name", f"lueurpv{tag}", "netns", inner)
        ip("-n", host, "addr", "add", "10.252.11.1/24", "dev", uplink)
        ip("-n", inner, "addr", "add", "10.252.11.2/24", "dev", f"lueurpv{tag}")
        for ns, dev in ((host, uplink), (inner, f"lueurpv{tag}")):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        ip("-n", host, "route", "add", "default", "via", "10.252.11.2")
        ip("-n", inner, "route", "add", "default", "via", "10.252.11.1")
        yield {"host": host, "inner": inner, "uplink": uplink}
    finally:
        for ns in (host, inner):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def netns_state(netns: str) -> list[str]:
    def run(*command: str) -> str:
        return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", *command], capture_output=True, text=True,
                              check=True).stdout

    links = re.sub(r" state \S+|NO-CARRIER,", "", run("ip", "-o", "link", "show"))  # carrier comes up by itself
    return [run("tc", "qdisc", "show"), run("tc", "filter", "show"), links]


def run_inside(played: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """lueur-net run from inside 'inner', while pid 1 (this PID namespace's init) lives in 'host'."""
    return subprocess.run(["ip", "netns", "exec", played["host"], "unshare", "--pid", "--fork", "--mount-proc",
                           "--", sys.executable, "-c", INIT_IN_HOST, played["inner"], *LUEUR_NET, "run", *args],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def test_run_from_another_namespace_refuses_the_initial_namespace(played_host: dict[str, str],
                                                                   tmp_path: Path) -> None:
    """The issue's reproduction with namespaces only: lueur-net inside X, --attach pid:1 (the host's init) put a
    TBF on the host's uplink. It must refuse before touching anything, naming the default route."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(CAP_SCENARIO)
    before = {ns: netns_state(played_host[ns]) for ns in ("host", "inner")}
    done = run_inside(played_host, str(scenario), "--attach", "pid:1", "--result", str(tmp_path / "results.json"),
                      "--no-report")
    assert done.returncode == 2, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("lueur-net: error: pid:1 is the machine's initial network namespace"), done.stderr
    assert f"{played_host['uplink']} carries its default route" in first
    assert "--allow-host-interface" in done.stderr and "Traceback" not in done.stderr
    assert {ns: netns_state(played_host[ns]) for ns in ("host", "inner")} == before

    named = run_inside(played_host, str(scenario), "--dry-run", "--attach", played_host["host"])
    assert named.returncode == 2 and "initial network namespace" in named.stderr, named.stdout + named.stderr
    allowed = run_inside(played_host, str(scenario), "--dry-run", "--attach", "pid:1", "--allow-host-interface")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert f"<client-if> = {played_host['uplink']} in namespace" in allowed.stdout
    assert {ns: netns_state(played_host[ns]) for ns in ("host", "inner")} == before


def _is_kernel_thread(pid: int) -> bool:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[6]) & 0x00200000 != 0


def test_dry_run_from_another_namespace_refuses_the_real_host_namespace(played_host: dict[str, str],
                                                                        tmp_path: Path) -> None:
    """The machine's own initial namespace (kthreadd's, pid 2), only ever planned (--dry-run changes nothing)."""
    if not _is_kernel_thread(2):
        pytest.skip("pid 2 is not kthreadd here (a PID namespace): the machine's initial namespace is not visible")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(CAP_SCENARIO)
    done = subprocess.run(["ip", "netns", "exec", played_host["inner"], *LUEUR_NET, "run", str(scenario),
                           "--dry-run", "--attach", "pid:2"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("lueur-net: error: pid:2 is the machine's initial network namespace"), done.stderr


def test_a_namespace_root_may_not_open_is_exit_3_without_a_traceback(tmp_path: Path) -> None:
    """EACCES on the attach target (as root meets with /proc/1/ns/net under a supervisor or an LSM): a directory
    of mode 000 read by root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(CAP_SCENARIO)
    locked = tmp_path / "locked"
    locked.mkdir()
    os.symlink("/proc/self/ns/net", locked / "net")
    locked.chmod(0)
    drop = "-dac_override,-dac_read_search"
    try:
        done = subprocess.run(["setpriv", "--bounding-set", drop, "--inh-caps", drop, "--", *LUEUR_NET, "run",
                               str(scenario), "--dry-run", "--attach", str(locked / "net")],
                              capture_output=True, text=True, timeout=120, cwd=REPO)
    finally:
        locked.chmod(0o700)
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"lueur-net: error: cannot open network namespace {locked / 'net'} ({locked / 'net'}): " \
                       "Permission denied", done.stderr
    assert lines[1].startswith("  hint: ") and len(lines) == 2 and "Traceback" not in done.stderr
