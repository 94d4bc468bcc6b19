"""`lueur-net inject` on a namespace the test creates (a 'pod' with a server, joined by a veth to a 'far' namespace
that measures): latency and loss held for --duration then reverted, `inject list`/`stop` from other processes,
SIGTERM -> 130, a SIGKILLed inject lifted by its deadline and cleaned by `clean`; nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pod_namespaces import namespace_state, pod_and_peer

REPO = Path(__file__).resolve().parents[3]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
POD_ADDRESS, FAR_ADDRESS, PORT = "10.251.9.1", "10.251.9.2", 8000

# Connect to the pod's server from the far namespace `count` times; print each handshake's time (ms), or null when
# it did not complete within `timeout` s (its SYN was lost).
CONNECTS = """
import json, socket, sys, time
count, timeout = int(sys.argv[1]), float(sys.argv[2])
times = []
for _ in range(count):
    began = time.monotonic()
    try:
        socket.create_connection(("%s", %d), timeout).close()
        times.append((time.monotonic() - began) * 1000)
    except OSError:
        times.append(None)
    time.sleep(0.02)
print(json.dumps(times))
""" % (POD_ADDRESS, PORT)


@pytest.fixture
def pod() -> Iterator[dict[str, str]]:
    """A 'pod' namespace with an HTTP server, and a 'far' namespace that measures, joined by a veth."""
    with pod_and_peer("i", POD_ADDRESS, FAR_ADDRESS, server_in="pod", port=PORT) as made:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and None in connects(made["peer"], 1, 1.0):
            time.sleep(0.1)
        yield {**made, "far": made["peer"]}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """This test's own ledger folder: `inject list` and `clean` see only its injects."""
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


def env_for(run_dir: Path) -> dict[str, str]:
    return {**os.environ, "LUEUR_NET_RUN_DIR": str(run_dir)}


def connects(far_ns: str, count: int, timeout: float) -> list[float | None]:
    done = subprocess.run(["ip", "netns", "exec", far_ns, sys.executable, "-c", CONNECTS, str(count), str(timeout)],
                          capture_output=True, text=True, check=True, timeout=count * (timeout + 0.1) + 10)
    return json.loads(done.stdout)


def pod_state(pod: dict[str, str]) -> list[str]:
    return namespace_state(pod["netns"], pod["iface"])


def start_inject(pod: dict[str, str], run_dir: Path, *flags: str) -> subprocess.Popen[str]:
    """Start an inject and wait until its faults are applied (its first stderr line says so)."""
    process = subprocess.Popen([*LUEUR_NET, "inject", "--attach", pod["netns"], *flags], cwd=REPO,
                               env=env_for(run_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()
    if "stop with Ctrl-C" not in first:
        process.kill()
        out, err = process.communicate(timeout=30)
        pytest.fail(f"inject did not start: {first}{err}{out}")
    return process


def finish(process: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


LATENCY = ["--with-latency", "--latency-mean", "200", "--latency-stddev", "0", "--latency-direction", "ingress"]


def test_latency_is_held_for_the_duration_then_reverted(pod: dict[str, str], run_dir: Path) -> None:
    before = pod_state(pod)
    baseline = statistics.median(t for t in connects(pod["far"], 5, 2.0) if t is not None)
    began = time.monotonic()
    process = start_inject(pod, run_dir, "--duration", "3s", *LATENCY)
    during = connects(pod["far"], 5, 2.0)
    code, err = finish(process)
    held = time.monotonic() - began
    after = connects(pod["far"], 5, 2.0)
    print(f"connect ms: baseline {baseline:.2f}, during {[round(t, 1) for t in during if t is not None]}, "
          f"after {[round(t, 2) for t in after if t is not None]}, inject held {held:.2f} s")
    assert code == 0, err
    assert "done, reverted" in err
    assert None not in during and None not in after
    # Each connect waits for its SYN to arrive in the pod: +200 ms while held, back to the baseline after.
    assert all(180 <= t - baseline <= 400 for t in during), (baseline, during)
    assert all(t < baseline + 50 for t in after), (baseline, after)
    assert 3.0 <= held < 15.0
    assert pod_state(pod) == before
    assert list(run_dir.iterdir()) == []  # the ledger is gone: everything it listed was reverted


def test_loss_drops_arriving_packets(pod: dict[str, str], run_dir: Path) -> None:
    before = pod_state(pod)
    process = start_inject(pod, run_dir, "--duration", "15s", "--with-packet-loss", "--packet-loss-rate", "0.5",
                           "--packet-loss-direction", "ingress", "--to", f"{FAR_ADDRESS}/32", "--protocol", "tcp")
    during = connects(pod["far"], 40, 0.2)
    process.send_signal(signal.SIGINT)
    code, err = finish(process)
    assert code == 130, err
    lost = sum(t is None for t in during) / len(during)
    print(f"connects lost at 50% ingress loss: {lost:.0%} of {len(during)}")
    assert 0.2 <= lost <= 0.8, during  # a SYN lost in the pod's ingress: the connect times out
    assert None not in connects(pod["far"], 10, 1.0)
    assert pod_state(pod) == before


def test_list_and_stop_from_other_processes(pod: dict[str, str], run_dir: Path) -> None:
    before = pod_state(pod)
    process = start_inject(pod, run_dir, "--duration", "60s", *LATENCY)
    try:
        listed = subprocess.run([*LUEUR_NET, "inject", "list"], cwd=REPO, env=env_for(run_dir), capture_output=True,
                                text=True, timeout=30)
        assert listed.returncode == 0, listed.stderr
        (line,) = listed.stdout.splitlines()
        run_id = line.split()[0]
        assert pod["netns"] in line and pod["iface"] in line and "latency ingress" in line and "s left" in line
        stopped = subprocess.run([*LUEUR_NET, "inject", "stop", run_id], cwd=REPO, env=env_for(run_dir),
                                 capture_output=True, text=True, timeout=30)
        assert stopped.returncode == 0, stopped.stderr
        assert f"stopped inject {run_id}" in stopped.stdout
        code, err = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130, err
    assert pod_state(pod) == before
    again = subprocess.run([*LUEUR_NET, "inject", "stop", run_id], cwd=REPO, env=env_for(run_dir),
                           capture_output=True, text=True, timeout=30)
    assert again.returncode == 2 and f"no running inject {run_id}" in again.stderr


def test_sigterm_reverts_everything_and_exits_130(pod: dict[str, str], run_dir: Path) -> None:
    before = pod_state(pod)
    process = start_inject(pod, run_dir, *LATENCY, "--with-blackhole", "--blackhole-direction", "egress",
                           "--blackhole-sched", "start:60s", "--port", "9")
    assert pod_state(pod) != before  # something was applied
    process.send_signal(signal.SIGTERM)
    code, err = finish(process)
    assert code == 130, err
    assert pod_state(pod) == before
    assert list(run_dir.iterdir()) == []


def test_sigkilled_inject_is_lifted_by_its_deadline_and_cleaned(pod: dict[str, str], run_dir: Path) -> None:
    before = pod_state(pod)
    baseline = statistics.median(t for t in connects(pod["far"], 5, 2.0) if t is not None)
    process = start_inject(pod, run_dir, "--duration", "2s", *LATENCY)
    process.kill()
    process.wait(10)
    # Nothing reverted it: past --duration + the margin (3 s) the faults pass everything by themselves.
    time.sleep(2 + 3 + 1)
    after = connects(pod["far"], 5, 2.0)
    assert all(t is not None and t < baseline + 50 for t in after), (baseline, after)
    cleaned = subprocess.run([*LUEUR_NET, "clean"], cwd=REPO, env=env_for(run_dir), capture_output=True, text=True,
                             timeout=60)
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed" in cleaned.stdout
    assert pod_state(pod) == before
    assert list(run_dir.iterdir()) == []


def test_the_hosts_own_namespace_is_refused(run_dir: Path) -> None:
    done = subprocess.run([*LUEUR_NET, "inject", "--attach", f"pid:{os.getpid()}", "--duration", "1s",
                           "--with-blackhole"], cwd=REPO, env=env_for(run_dir), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("lueur-net: error: ") and "host's own network namespace" in done.stderr
    assert "--allow-host-interface" in done.stderr
    assert list(run_dir.iterdir()) == []


def test_dry_run_as_root_names_the_interface_and_changes_nothing(pod: dict[str, str], run_dir: Path) -> None:
    before = pod_state(pod)
    done = subprocess.run([*LUEUR_NET, "inject", "--attach", pod["netns"], "--duration", "1m", *LATENCY,
                           "--port", str(PORT), "--dry-run"], cwd=REPO, env=env_for(run_dir), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"faults go on {pod['iface']}" in done.stdout and "scope: port 8000" in done.stdout
    assert "-m multiport --ports 8000" in done.stdout
    assert pod_state(pod) == before
