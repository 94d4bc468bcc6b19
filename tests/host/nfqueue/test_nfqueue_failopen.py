"""A stalled holder no longer blocks the path until `clean`:
- the queue is bound fail-open: beyond `max_len` packets waiting for a verdict, the kernel passes packets at once;
- the watchdog pings the holder: a SIGSTOPped holder is cut out of the path (its rule removed) within about
  heartbeat.INTERVAL_S + PING_TIMEOUT_S, and the delay says why and when;
- the holder passes everything when its owner (the run) is frozen and its pings stop for OWNER_MAX_STALL_S.

Printed (pytest -s): the measured times from SIGSTOP to the first datagram through, quoted in README "Reliability".
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from nfqueue_lab import VethLab, socket_in

from lueur_net.dataplane import heartbeat
from lueur_net.dataplane.nfqueue import DelaySpec, Match, start_delay
from lueur_net.dataplane.nfqueue.delay import OWNER_MAX_STALL_S, PING_TIMEOUT_S
from lueur_net.ledger import Ledger
from netns_pair import first_datagram_through

MS = 1_000_000
PORT = 9470
HOLD_NS = 60_000 * MS  # a minute: nothing the holder holds comes out during a test
PROBE_EVERY_S = 0.05


def iptables_save(netns: str) -> str:
    return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "iptables-save"], capture_output=True,
                          text=True, check=True).stdout


def _udp_pair(lab: VethLab) -> tuple[socket.socket, socket.socket]:
    receiver = socket_in(lab.server_ns, socket.SOCK_DGRAM)
    receiver.bind((lab.server_addr, PORT))
    receiver.setblocking(False)
    return socket_in(lab.client_ns, socket.SOCK_DGRAM), receiver


def _first_through(lab: VethLab, within_s: float) -> float | None:
    """Seconds until the first datagram of a 50 ms probe stream arrives (None: none within `within_s`)."""
    sender, receiver = _udp_pair(lab)
    try:
        return first_datagram_through(sender, receiver, (lab.server_addr, PORT), within_s, PROBE_EVERY_S)
    finally:
        sender.close()
        receiver.close()


def test_a_full_queue_passes_packets_instead_of_dropping_them(veth_lab: VethLab, tmp_path: Path) -> None:
    with Ledger.open("test-nfqueue-failopen", run_dir=tmp_path) as ledger:
        with start_delay(veth_lab.server_ns, veth_lab.server_if, DelaySpec(mean_ns=HOLD_NS), ledger,
                         match=Match(protocol="udp", destination_port=PORT), max_len=8, watchdog=False) as delay:
            sender, receiver = _udp_pair(veth_lab)
            for number in range(40):
                sender.sendto(number.to_bytes(4, "big"), (veth_lab.server_addr, PORT))
                time.sleep(0.002)
            time.sleep(0.3)
            received = []
            while True:
                try:
                    received.append(int.from_bytes(receiver.recv(64), "big"))
                except BlockingIOError:
                    break
            sender.close()
            receiver.close()
            counters = delay.counters()
    # The first 8 wait in the queue (held for a minute); the kernel passes the rest at once (before: dropped).
    assert counters["affected"] == 8, counters
    assert sorted(received) == list(range(8, 40)), received


def test_a_stopped_holder_is_cut_out_by_the_watchdog(veth_lab: VethLab, tmp_path: Path) -> None:
    bound = heartbeat.INTERVAL_S + PING_TIMEOUT_S + 1.5  # + iptables -D and a loaded 2-core machine
    with Ledger.open("test-nfqueue-failopen", run_dir=tmp_path) as ledger:
        delay = start_delay(veth_lab.server_ns, veth_lab.server_if, DelaySpec(mean_ns=HOLD_NS), ledger,
                            match=Match(protocol="udp", destination_port=PORT))
        try:
            assert _first_through(veth_lab, 2.0) is None  # held while the holder runs
            time.sleep(random.uniform(0, heartbeat.INTERVAL_S))  # any phase of the pings
            os.kill(delay._process.pid, signal.SIGSTOP)
            stopped = time.monotonic_ns()
            through = _first_through(veth_lab, 20.0)
            shown = through if through is None else round(through, 2)
            print(f"\nnfqueue holder SIGSTOP -> traffic flows after {shown} s (bound {bound:.1f} s)")
            assert through is not None and through <= bound
            assert delay.failure is not None and "did not answer" in delay.failure.reason
            assert 0 < delay.failure.at_ns - stopped < bound * 1e9
            assert "NFQUEUE" not in iptables_save(veth_lab.server_ns)
        finally:
            delay.revert()  # kills the stopped holder (SIGTERM would wait for a SIGCONT)
        assert ledger.pending == 0
    assert delay._process.poll() is not None


def test_a_dead_holder_is_cut_out_and_reported(veth_lab: VethLab, tmp_path: Path) -> None:
    with Ledger.open("test-nfqueue-failopen", run_dir=tmp_path) as ledger:
        delay = start_delay(veth_lab.server_ns, veth_lab.server_if, DelaySpec(mean_ns=HOLD_NS), ledger,
                            match=Match(protocol="udp", destination_port=PORT))
        try:
            os.kill(delay._process.pid, signal.SIGKILL)
            assert _first_through(veth_lab, 5.0) is not None  # --queue-bypass already, and the rule goes
            deadline = time.monotonic() + 3
            while delay.failure is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert delay.failure is not None and "exited with status -9" in delay.failure.reason
        finally:
            delay.revert()
        assert ledger.pending == 0


OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lueur_net.dataplane.nfqueue import DelaySpec, Match, start_delay
    from lueur_net.ledger import Ledger
    ledger = Ledger.open("test-nfqueue-owner-stall", run_dir=Path(sys.argv[1]))
    delay = start_delay(sys.argv[2], sys.argv[3], DelaySpec(mean_ns=60_000_000_000), ledger,
                        match=Match(protocol="udp", destination_port=int(sys.argv[4])))
    print("started", flush=True)
    time.sleep(600)
""")


def test_the_holder_passes_everything_while_its_owner_is_frozen(veth_lab: VethLab, tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path), veth_lab.server_ns, veth_lab.server_if,
                              str(PORT)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "started"
        assert _first_through(veth_lab, OWNER_MAX_STALL_S + 1.0) is None  # the owner pings: the delay holds
        time.sleep(random.uniform(0, heartbeat.INTERVAL_S))  # any phase of the pings
        os.kill(owner.pid, signal.SIGSTOP)
        through = _first_through(veth_lab, 20.0)
        bound = OWNER_MAX_STALL_S + heartbeat.INTERVAL_S + 1.5
        shown = through if through is None else round(through, 2)
        print(f"\nnfqueue owner SIGSTOP -> traffic flows after {shown} s (bound {bound:.1f} s)")
        assert through is not None and OWNER_MAX_STALL_S - heartbeat.INTERVAL_S - 0.1 <= through <= bound
        os.kill(owner.pid, signal.SIGCONT)
        time.sleep(heartbeat.INTERVAL_S * 2 + 0.2)
        assert _first_through(veth_lab, 2.0) is None  # pings again: delaying again
    finally:
        owner.send_signal(signal.SIGCONT)
        owner.terminate()  # no handler: the owner dies; its holder sees EOF and exits; clean removes the rule
        owner.wait(timeout=10)
    cleaned = subprocess.run([str(Path(sys.executable).parent / "lueur-net"), "clean"], capture_output=True,
                             text=True, env={**os.environ, "LUEUR_NET_RUN_DIR": str(tmp_path)})
    assert cleaned.returncode == 0, cleaned.stderr
    assert "NFQUEUE" not in iptables_save(veth_lab.server_ns)
