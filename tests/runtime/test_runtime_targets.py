"""`pod:` and `container:` resolved through real runtimes (containerd's CRI, podman), and `run --attach` on them:
the fault measured from the host, and the container's namespace exactly as before afterwards."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_lab import CONTAINER_NAME, HTTP_PORT, RuntimeTarget, namespace_state

from lueur_net.errors import BadInput
from lueur_net.lab.attach import attach, resolve_target

REPO = Path(__file__).resolve().parents[2]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
DELAY_MS = 200
HOST_PORT = 18080


def same_namespace(a: str, b: str) -> bool:
    first, second = os.stat(a), os.stat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def test_a_pod_and_its_container_resolve_through_the_cri_socket(cri_pod: RuntimeTarget) -> None:
    assert same_namespace(resolve_target(cri_pod.target), cri_pod.netns)
    container_id = cri_pod.container.removeprefix("container:")
    for ref in (container_id, container_id[:12]):  # the full ID and a prefix, as crictl takes them
        assert same_namespace(resolve_target(f"container:{ref}"), cri_pod.netns)
    attached = attach(cri_pod.target)
    assert (attached.path.client.ifname, attached.path.client.address) == ("eth0", cri_pod.address)
    assert attached.path.server.ifindex != 0  # the pod's veth peer, found on the host


def test_a_podman_container_resolves_by_id_prefix_and_name(podman_container: RuntimeTarget) -> None:
    container_id = podman_container.container.removeprefix("container:")
    for ref in (container_id, container_id[:12]):
        assert same_namespace(resolve_target(f"container:{ref}"), podman_container.netns)
    attached = attach(podman_container.target)
    assert (attached.path.client.ifname, attached.path.client.address) == ("eth0", podman_container.address)


def test_a_name_both_runtimes_know_is_ambiguous(cri_pod: RuntimeTarget, podman_container: RuntimeTarget) -> None:
    with pytest.raises(BadInput) as raised:
        resolve_target(f"container:{CONTAINER_NAME}")
    message = raised.value.message
    assert message.startswith(f"container:{CONTAINER_NAME} is ambiguous: 2 containers match: ")
    assert "cri (unix://" in message and "podman " in message


def lueur_net(*arguments: str, target: RuntimeTarget, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*LUEUR_NET, *arguments], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, **target.env})


def test_missing_targets_are_one_line_and_exit_2(cri_pod: RuntimeTarget) -> None:
    for target, first_line in (
        ("pod:lueur-rt/nope", "lueur-net: error: pod:lueur-rt/nope not found: no pod matches it in cri"),
        ("container:0123456789abcdef", "lueur-net: error: container:0123456789abcdef not found: no container "
                                       "matches it in cri"),
        ("pod:just-a-name", "lueur-net: error: pod:just-a-name is not pod:NAMESPACE/NAME"),
    ):
        done = lueur_net("shell", "--attach", target, "--", "true", target=cri_pod, timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines()[0].startswith(first_line), done.stderr


def fetch_ms(target: RuntimeTarget) -> float:
    """One HTTP/1.0 GET on a new connection from the host, to the container's busybox httpd: connect, request,
    answer read to the end, in ms (raw sockets: an HTTP client's own set-up would drown a few ms of baseline)."""
    started = time.perf_counter()
    with socket.create_connection((target.address, HTTP_PORT), timeout=10) as connection:
        connection.sendall(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n", 1)[0], answer[:80]
    return (time.perf_counter() - started) * 1000


SCENARIO = """
title: Latency on a real container
items:
  - call: {{method: GET, url: "http://{gateway}:{port}/", timeout: 5000}}
    context:
      strategy: {{mode: load, duration: "8s", clients: 1, rps: 2}}
      upstreams: ["http://{gateway}:{port}/"]
      faults:
        - {{type: latency, mean: {delay}, stddev: 0, side: client, direction: egress}}
"""


@pytest.mark.parametrize("runtime", ["cri_pod", "podman_container"])
def test_run_attach_delays_the_container_as_seen_from_the_host(runtime: str, request: pytest.FixtureRequest,
                                                               tmp_path: Path) -> None:
    target: RuntimeTarget = request.getfixturevalue(runtime)
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", target.gateway, str(HOST_PORT),
                               "--directory", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        scenario = tmp_path / "scenario.yaml"
        scenario.write_text(SCENARIO.format(gateway=target.gateway, port=HOST_PORT, delay=DELAY_MS))
        before = namespace_state(target.netns, target.iface)
        baseline = [fetch_ms(target) for _ in range(5)]
        run = subprocess.Popen([*LUEUR_NET, "run", str(scenario), "--attach", target.target,
                                "--result", str(tmp_path / "results.json"), "--no-report"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                               env={**os.environ, **target.env})
        during: list[float] = []
        deadline = time.monotonic() + 20
        while run.poll() is None and time.monotonic() < deadline and len(during) < 5:
            took = fetch_ms(target)
            if during or took > DELAY_MS:  # from the first delayed probe on: the fault is in place
                during.append(took)
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output
        assert f"attached to {target.target}" in output
        after = [fetch_ms(target) for _ in range(5)]
    finally:
        server.terminate()
        server.wait(10)
    print(f"{runtime}: baseline {statistics.median(baseline):.1f} ms, during {[round(t) for t in during]} ms, "
          f"after {statistics.median(after):.1f} ms")
    # Egress of the container's interface: its SYN-ACK and its answer each wait DELAY_MS.
    assert len(during) >= 3, f"the fault was not seen from the host: during={during}"
    assert statistics.median(during) >= statistics.median(baseline) + 2 * DELAY_MS * 0.9
    assert statistics.median(after) < statistics.median(baseline) + DELAY_MS / 2
    assert namespace_state(target.netns, target.iface) == before
