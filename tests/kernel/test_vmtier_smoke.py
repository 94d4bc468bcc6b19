"""The kernel tier really runs in the stock-kernel VM and that kernel really has netem (see docs/vm-tier.md)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lueur_net.lab.enter import run_in_netns


def test_vmtier_runs_on_another_kernel_than_the_host() -> None:
    host_release = os.environ.get("LUEUR_HOST_RELEASE")
    if not host_release:
        pytest.fail("LUEUR_HOST_RELEASE is unset: the kernel tier must run through scripts/vm-tier")
    assert platform.release() != host_release
    assert Path(f"/lib/modules/{platform.release()}/modules.dep").is_file()


def udp_round_trips_on_loopback(count: int) -> list[float]:
    """Round trips in ms of `count` datagrams between two sockets on the namespace's loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        server.bind(("127.0.0.1", 0))
        client.settimeout(5)
        server.settimeout(5)
        times = []
        for _ in range(count):
            start = time.monotonic()
            client.sendto(b"x", server.getsockname())
            data, address = server.recvfrom(16)
            server.sendto(data, address)
            client.recvfrom(16)
            times.append((time.monotonic() - start) * 1000)
        return times


def test_vmtier_netem_delay_loads_on_demand_and_delays() -> None:
    from pyroute2 import NetNS, netns

    name = f"lueur-vmsmoke-{uuid.uuid4().hex[:8]}"
    netns.create(name)
    try:
        ipr = NetNS(name)
        try:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            ipr.tc("add", "netem", index=lo, handle="1:", delay=50_000)  # microseconds, each way on lo
        finally:
            ipr.close()
        shown = subprocess.run(["tc", "-n", name, "qdisc", "show", "dev", "lo"], capture_output=True, text=True,
                               check=True).stdout
        assert "netem" in shown, shown
        round_trips = sorted(run_in_netns(name, udp_round_trips_on_loopback, 5))
        # Both directions cross lo's egress: ~100 ms. TCG is slow, so only a generous upper bound.
        assert 95 <= round_trips[len(round_trips) // 2] <= 160, round_trips
    finally:
        netns.remove(name)
    assert "sch_netem" in Path("/proc/modules").read_text()
