"""nfqueue delay on a real veth path between two namespaces (the host kernel has no sch_netem)."""

from __future__ import annotations

import subprocess
import time

from conftest import EchoServer, VethLab, percentile, round_trips_ms

from lueur_net.dataplane.nfqueue import DelaySpec, Match, Window, start_delay
from lueur_net.ledger import Ledger

MS = 1_000_000


def iptables_save(netns: str) -> str:
    return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "iptables-save"], capture_output=True,
                          text=True, check=True).stdout


def test_nfqueue_delay_adds_configured_latency(veth_lab: VethLab, echo_server: EchoServer, tmp_path) -> None:
    baseline = round_trips_ms(veth_lab.client_ns, echo_server.address, 20)
    with Ledger.open("test-nfqueue", run_dir=tmp_path) as ledger:
        delay = start_delay(veth_lab.server_ns, veth_lab.server_if, DelaySpec(mean_ns=100 * MS), ledger,
                            match=Match(protocol="tcp", destination_port=echo_server.address[1]))
        try:
            assert f"--queue-num {delay.queue}" in iptables_save(veth_lab.server_ns)
            delayed = round_trips_ms(veth_lab.client_ns, echo_server.address, 30)
            counters = delay.counters()
        finally:
            delay.revert()
        assert ledger.pending == 0
    after = round_trips_ms(veth_lab.client_ns, echo_server.address, 20)
    # Requests arrive at the server through the queue: +100 ms per round trip. Generous upper bound: 2 busy
    # cores; the precise numbers are in benchmarks/bench_nfqueue_delay.py.
    assert 100 <= percentile(delayed, 0.5) <= 115, sorted(delayed)
    assert percentile(baseline, 0.5) < 20 and percentile(after, 0.5) < 20, (baseline, after)
    assert counters["affected"] >= 30 and counters["held"] <= counters["affected"]
    assert "NFQUEUE" not in iptables_save(veth_lab.server_ns)
    assert delay._process.poll() is not None
