"""After SIGKILL of the owner: a tcx link is gone by itself; a cls_bpf filter stays until `clean` removes it
through the ledger (and its deadline would have made it pass everything anyway)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from ebpf_lab import Pair
from ebpf_traffic import numbers_through
from netns_pair import qdiscs

from lueur_net import ledger as ledger_module

PORT = 9400

OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lueur_net.dataplane.ebpf import attach_blackhole
    from lueur_net.lab.topology import Endpoint
    from lueur_net.ledger import Ledger
    netns, ifname, mode, run_dir = sys.argv[1:5]
    ledger = Ledger.open("ebpf crash test", run_dir=Path(run_dir))
    fault = attach_blackhole(Endpoint(netns, ifname, 0, "0.0.0.0"), "egress", ledger=ledger, mode=mode)
    print("attached", fault.mechanism, flush=True)
    time.sleep(120)
""")


def _delivered(pair: Pair) -> int:
    return len(numbers_through(pair, PORT, 50, quiet_s=0.3))


def _start_owner(pair: Pair, mode: str, run_dir: Path) -> subprocess.Popen[str]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, pair.client_ns, pair.client.ifname, mode, str(run_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line.startswith(f"attached {mode}"), f"owner said {line!r}"
    return owner


def _kill(owner: subprocess.Popen[str]) -> None:
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(timeout=10)


def test_tcx_link_dies_with_its_owner(pair: Pair, tmp_path: Path) -> None:
    owner = _start_owner(pair, "tcx", tmp_path / "owner-run")
    try:
        assert _delivered(pair) == 0  # the blackhole works while the owner lives
    finally:
        _kill(owner)
    assert _delivered(pair) == 50  # nothing left attached


def test_cls_bpf_filter_is_removed_by_clean(pair: Pair, tmp_path: Path) -> None:
    run_dir = tmp_path / "owner-run"
    owner = _start_owner(pair, "cls_bpf", run_dir)
    try:
        assert _delivered(pair) == 0
    finally:
        _kill(owner)
    assert _delivered(pair) == 0  # a tc filter outlives its owner: that is why it is in the ledger
    removed, failures = ledger_module.clean(run_dir)
    assert failures == []
    assert sorted(entry.split()[0] for entry in removed) == ["ebpf_tc_filter", "tc_clsact"]  # one clsact kind
    assert _delivered(pair) == 50
    assert "clsact" not in qdiscs(pair.client_ns, pair.client.ifname)
