"""`lueur-net inject` on a real CRI pod and a real podman container (issue 15's "done when"): 200 ms of ingress
latency held for --duration, measured from the host as the TCP handshake to the container's busybox httpd, back to
the baseline after, and the container's namespace exactly as before."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_lab import HTTP_PORT, RuntimeTarget, namespace_state

REPO = Path(__file__).resolve().parents[2]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
DELAY_MS = 200
HOLD_S = 6


def connect_ms(target: RuntimeTarget) -> float:
    """One TCP handshake from the host to the container's httpd, in ms: the SYN arriving in the container is what an
    ingress delay holds, so the handshake grows by exactly the delay."""
    started = time.perf_counter()
    socket.create_connection((target.address, HTTP_PORT), timeout=5).close()
    return (time.perf_counter() - started) * 1000


def fetch_ok(target: RuntimeTarget) -> bool:
    with socket.create_connection((target.address, HTTP_PORT), timeout=5) as connection:
        connection.sendall(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")
        return b" 200 " in connection.recv(65536).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("runtime", ["cri_pod", "podman_container"])
def test_inject_holds_ingress_latency_on_the_container_then_reverts(runtime: str, request: pytest.FixtureRequest,
                                                                    tmp_path: Path) -> None:
    target: RuntimeTarget = request.getfixturevalue(runtime)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    before = namespace_state(target.netns, target.iface)
    baseline = statistics.median(connect_ms(target) for _ in range(5))
    inject = subprocess.Popen(
        [*LUEUR_NET, "inject", "--attach", target.target, "--duration", f"{HOLD_S}s", "--with-latency",
         "--latency-mean", str(DELAY_MS), "--latency-stddev", "0", "--latency-direction", "ingress"],
        cwd=REPO, env={**os.environ, **target.env, "LUEUR_NET_RUN_DIR": str(run_dir)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert inject.stderr is not None
    first = inject.stderr.readline()  # the faults are applied when it says how to stop it
    if "stop with Ctrl-C" not in first:
        inject.kill()
        pytest.fail(f"inject did not start: {first}{inject.communicate(timeout=30)[1]}")
    during = [connect_ms(target) for _ in range(5)]
    served = fetch_ok(target)  # the container still answers through the delay
    _, err = inject.communicate(timeout=60)
    after = [connect_ms(target) for _ in range(5)]
    print(f"{runtime}: handshake baseline {baseline:.1f} ms, during {[round(t) for t in during]} ms, "
          f"after {[round(t, 1) for t in after]} ms")
    assert inject.returncode == 0, err
    assert served
    assert all(DELAY_MS * 0.9 <= t - baseline <= DELAY_MS * 2 for t in during), (baseline, during)
    assert statistics.median(after) < baseline + DELAY_MS / 4, (baseline, after)
    assert namespace_state(target.netns, target.iface) == before
    assert list(run_dir.iterdir()) == []  # the inject's ledger is gone: everything it listed was reverted
