"""A frozen controller fails open within seconds: a whole-time blackhole applied through the real eBPF backend by a
child process passes traffic again soon after the child is SIGSTOPped (its heartbeat thread stops with it), and
drops again once it is SIGCONTinued. Before the heartbeat, the blackhole held until the deadline (an hour).

Printed (pytest -s): the measured time from SIGSTOP to the first datagram through, the figure README's
"Reliability" section quotes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ebpf_lab import Pair
from ebpf_traffic import udp_receiver, udp_sender

from lueur_net.dataplane import heartbeat
from lueur_net.dataplane.ebpf.faults import MAX_STALL_S
from netns_pair import first_datagram_through

PORT = 9450
PROBE_EVERY_S = 0.05
# The bound: the program sees a beat older than MAX_STALL_S at most one beat interval after the last beat; the
# slack covers a loaded 2-core machine (the probe loop, the scheduler). Lower bound: a beat is never older than the
# stall bound while the owner runs, so nothing may pass in the first MAX_STALL_S - one interval.
UPPER_S = MAX_STALL_S + heartbeat.INTERVAL_S + 1.5
LOWER_S = MAX_STALL_S - heartbeat.INTERVAL_S - 0.1

OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from types import SimpleNamespace
    from lueur_net.dataplane.ebpf.backend import backend
    from lueur_net.lab.topology import Endpoint, Path as LabPath
    from lueur_net.ledger import Ledger
    from lueur_net.plan.model import BlackholeParams, PlannedFault
    netns, ifname, peer_netns, peer_ifname, peer_address, run_dir = sys.argv[1:7]
    ledger = Ledger.open("ebpf heartbeat test", run_dir=Path(run_dir))
    client = Endpoint(netns, ifname, 0, "0.0.0.0")
    server = Endpoint(peer_netns, peer_ifname, 0, peer_address)
    fault = PlannedFault(id="f0", type="blackhole", side="client", hook="egress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="ebpf",
                         params=BlackholeParams(), windows=())
    now = time.monotonic_ns()
    context = SimpleNamespace(path=LabPath(client, server), t0_ns=now, deadline_ns=now + 600 * 10**9)
    handle = backend().apply(fault, client, ledger, context)
    print("applied", flush=True)
    time.sleep(120)
""")


def _start_owner(pair: Pair, run_dir: Path) -> subprocess.Popen[str]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, pair.client_ns, pair.client.ifname, pair.server_ns, pair.server.ifname,
         pair.server.address, str(run_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    assert owner.stdout.readline().strip() == "applied"
    return owner


def _first_through(pair: Pair, within_s: float) -> float | None:
    """Seconds until the first datagram of a 50 ms probe stream gets through (None: none within `within_s`)."""
    receiver = udp_receiver(pair.server_ns, pair.server.address, PORT)
    receiver.setblocking(False)
    sender = udp_sender(pair.client_ns)
    try:
        return first_datagram_through(sender, receiver, (pair.server.address, PORT), within_s, PROBE_EVERY_S)
    finally:
        receiver.close()
        sender.close()


def test_a_frozen_owner_fails_open_within_the_stall_bound(pair: Pair, tmp_path: Path) -> None:
    owner = _start_owner(pair, tmp_path / "owner-run")
    try:
        # Alive: the blackhole holds well past the stall bound (the heartbeat keeps it).
        assert _first_through(pair, MAX_STALL_S + 2.0) is None
        time.sleep(random.uniform(0, heartbeat.INTERVAL_S))  # any phase of the beat: the bound covers them all
        os.kill(owner.pid, signal.SIGSTOP)
        through = _first_through(pair, 30.0)
        print(f"\nebpf fail-open after SIGSTOP: {through:.2f} s (bound {UPPER_S:.1f} s)" if through is not None
              else "\nebpf fail-open after SIGSTOP: none within 30 s")
        assert through is not None, "traffic stayed blackholed for 30 s after the owner froze"
        assert LOWER_S <= through <= UPPER_S
        os.kill(owner.pid, signal.SIGCONT)
        time.sleep(heartbeat.INTERVAL_S * 2 + 0.2)  # the next beat re-arms the fault
        assert _first_through(pair, 2.0) is None
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
    assert _first_through(pair, 2.0) is not None  # the tcx link died with its owner's fd, as before
