"""After SIGKILL of the owner, `lueur-net clean` leaves no NFQUEUE rule and no holder process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from nfqueue_lab import EchoServer, VethLab, percentile, round_trips_ms

from lueur_net.ledger import process_is, read_ledger

OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lueur_net.dataplane.nfqueue import DelaySpec, Match, start_delay
    from lueur_net.ledger import Ledger
    ledger = Ledger.open("test-nfqueue-crash", run_dir=Path(sys.argv[1]))
    delay = start_delay(sys.argv[2], sys.argv[3], DelaySpec(mean_ns=100_000_000), ledger,
                        match=Match(protocol="tcp", destination_port=int(sys.argv[4])))
    print(delay._process.pid, flush=True)
    time.sleep(600)
""")


def test_nfqueue_sigkilled_owner_is_cleaned(veth_lab: VethLab, echo_server: EchoServer, tmp_path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path), veth_lab.server_ns, veth_lab.server_if,
                              str(echo_server.address[1])], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        holder_pid = int(owner.stdout.readline())
        delayed = round_trips_ms(veth_lab.client_ns, echo_server.address, 5)
        assert percentile(delayed, 0.5) >= 100, delayed
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    (ledger_path,) = tmp_path.glob("*.ledger")
    _, entries = read_ledger(ledger_path)
    assert {entry.kind for entry in entries} == {"process", "iptables_rule"}
    process_entry = next(entry for entry in entries if entry.kind == "process")

    cleaned = subprocess.run([str(Path(sys.executable).parent / "lueur-net"), "clean"], capture_output=True,
                             text=True, env={**os.environ, "LUEUR_NET_RUN_DIR": str(tmp_path)})

    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed iptables_rule" in cleaned.stdout and "removed process" in cleaned.stdout, cleaned.stdout
    rules = subprocess.run(["nsenter", f"--net=/run/netns/{veth_lab.server_ns}", "iptables-save"],
                           capture_output=True, text=True, check=True).stdout
    assert "NFQUEUE" not in rules
    deadline = time.monotonic() + 5
    while process_is(holder_pid, process_entry.fields["start_time"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_is(holder_pid, process_entry.fields["start_time"])
    assert not list(tmp_path.glob("*.ledger"))
    assert percentile(round_trips_ms(veth_lab.client_ns, echo_server.address, 5), 0.5) < 20
