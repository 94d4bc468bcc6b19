"""The driver through run_in_netns, inside a namespace this test creates (lueur-drv-<pid>, only lo up), against a
server listening on that namespace's lo: the calls really leave from inside the namespace, progress and the
repeat hook cross the fork through pipes."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from driver_servers import LocalServer

from lueur_net.driver import CallSpec, Expect, FaultWindow, ItemSpec, LoadSpec, RepeatSpec, drive_item
from lueur_net.driver.hooks import HookServer
from lueur_net.driver.progress import ProgressReader
from lueur_net.lab.enter import CLONE_NEWNET, netns_path, setns, run_in_netns


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"lueur-drv-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def server_in(namespace: str) -> Iterator[LocalServer]:
    """A server whose listening socket lives in the namespace (created there, then this thread comes back)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(netns_path(namespace), CLONE_NEWNET)
        try:
            server = LocalServer().start()
        finally:
            setns(Path(f"/proc/self/fd/{home}"), CLONE_NEWNET)  # back home
    finally:
        os.close(home)
    yield server
    server.stop()


def test_calls_run_inside_the_namespace(namespace: str, server_in: LocalServer) -> None:
    spec = ItemSpec("netns", 0, 0, CallSpec("GET", server_in.url, timeout_s=3.0),
                    load=LoadSpec(duration_s=1.0, clients=2, rps=10.0))
    records = run_in_netns(namespace, drive_item, spec)
    assert len(records) == 20 and all(r.status == 200 for r in records), {r.error for r in records}
    assert server_in.requests == 20
    # The same port on the host's loopback is not that server: from here the call is refused.
    [outside] = drive_item(ItemSpec("host", 0, 0, CallSpec("GET", server_in.url, timeout_s=3.0)))
    assert outside.error_class == "refused"


def test_hook_and_progress_cross_the_fork(namespace: str, server_in: LocalServer) -> None:
    seen: list[tuple[int, str, int]] = []

    def set_fault(iteration: int, phase: str) -> None:  # runs in this (parent) process
        seen.append((iteration, phase, server_in.requests))

    read_end, write_end = os.pipe()
    events: list[dict[str, Any]] = []
    with HookServer(set_fault) as hooks, ProgressReader(read_end, events.append):
        spec = ItemSpec("netns", 0, 0, CallSpec("GET", server_in.url, timeout_s=3.0),
                        repeat=RepeatSpec(count=3, add_baseline_call=True), expect=Expect(status=200),
                        windows=(FaultWindow("f0", anchor="call"),), hook=hooks.hook, progress_fd=write_end)
        records = run_in_netns(namespace, drive_item, spec)
        deadline = time.monotonic() + 5
        while not any(e["event"] == "end" for e in events) and time.monotonic() < deadline:
            time.sleep(0.02)
    os.close(write_end)
    os.close(read_end)
    assert [(r.phase, r.iteration, r.status) for r in records] == [
        ("baseline", 0, 200), ("fault", 0, 200), ("fault", 1, 200), ("fault", 2, 200)
    ]
    # The parent's hook ran before each call: the server had seen exactly the earlier calls.
    assert seen == [(0, "baseline", 0), (0, "fault", 1), (1, "fault", 2), (2, "fault", 3)]
    assert sum(e.get("done", 0) for e in events) == 4


def failing_hook(iteration: int, phase: str) -> None:
    raise RuntimeError("qdisc change failed")


def test_a_failing_hook_fails_the_item(namespace: str, server_in: LocalServer) -> None:
    from lueur_net.errors import EnvironmentProblem

    with HookServer(failing_hook) as hooks:
        spec = ItemSpec("netns", 0, 0, CallSpec("GET", server_in.url, timeout_s=3.0),
                        repeat=RepeatSpec(count=2), hook=hooks.hook)
        with pytest.raises(EnvironmentProblem, match="qdisc change failed"):
            run_in_netns(namespace, drive_item, spec)
    assert server_in.requests == 0


def test_drive_in_netns_wires_progress_and_iterations(namespace: str, server_in: LocalServer) -> None:
    from lueur_net.driver.remote import drive_in_netns

    events: list[dict[str, Any]] = []
    iterations: list[tuple[int, str]] = []
    spec = ItemSpec("netns", 0, 0, CallSpec("GET", server_in.url, timeout_s=3.0),
                    repeat=RepeatSpec(count=2, add_baseline_call=True))
    run = drive_in_netns(namespace, spec, on_progress=events.append,
                         on_iteration=lambda i, phase: iterations.append((i, phase)))
    assert [r.status for r in run.records] == [200, 200, 200]
    assert iterations == [(0, "baseline"), (0, "fault"), (1, "fault")]
    assert sum(e.get("done", 0) for e in events) == 3 and events[-1]["event"] == "end"


def test_dns_failure_inside_a_namespace_without_routes(namespace: str) -> None:
    """No route out of the namespace, so the lookup fails locally (no packet leaves) and is classed `dns`."""
    spec = ItemSpec("netns", 0, 0, CallSpec("GET", "http://lueur-no-such-name.invalid/", timeout_s=5.0))
    [record] = run_in_netns(namespace, drive_item, spec)
    assert record.error_class == "dns", record.error
