"""A run holding tc faults reverts them on SIGTERM (terminate_on_signals + AppliedPlan), leaving an empty ledger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path as FsPath
from typing import Any

HOLDER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path as FsPath
    from capability_sets import host_like
    from lueur_net.dataplane import apply_plan
    from lueur_net.lab import terminate_on_signals
    from lueur_net.lab.topology import Endpoint, Path
    from lueur_net.ledger import Ledger
    from lueur_net.plan import plan_item
    from lueur_net.scenario import Item

    ends, run_dir = json.loads(sys.argv[1]), FsPath(sys.argv[2])
    path = Path(client=Endpoint(**ends["client"]), server=Endpoint(**ends["server"]))
    item = Item.model_validate({"call": {"method": "GET", "url": "http://10.0.0.1/"}, "context": {"faults": [
        {"type": "bandwidth", "rate": 100, "unit": "KBps", "side": "client", "direction": "egress"},
        {"type": "bandwidth", "rate": 100, "unit": "KBps", "side": "client", "direction": "ingress",
         "period": "start:1s,duration:1s"}]}})
    plan = plan_item(item, host_like(), peer_is_ours=False)
    with Ledger.open("signal-test", run_dir=run_dir) as ledger, terminate_on_signals():
        applied = apply_plan(plan, path, ledger)
        try:
            print("applied", flush=True)
            time.sleep(60)
        finally:
            applied.revert()
            print("reverted", ledger.pending, flush=True)
""")


def test_sigterm_reverts_everything(veth_pair: Any, tc_tools: Any, tmp_path: FsPath) -> None:
    ends = {"client": vars(veth_pair.path.client), "server": vars(veth_pair.path.server)}
    # The holder imports tests/capability_sets.py (a test fixture, not in the package): put tests/ on its path.
    tests_dir = str(FsPath(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")])))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, json.dumps(ends), str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "applied", holder.stderr.read() if holder.stderr else ""
    assert "lueurifb" in tc_tools.links(veth_pair.client_ns)
    holder.send_signal(signal.SIGTERM)
    output, _ = holder.communicate(timeout=30)
    assert "reverted 0" in output
    assert "lueurifb" not in tc_tools.links(veth_pair.client_ns)
    for netns, endpoint in ((veth_pair.client_ns, veth_pair.path.client), (veth_pair.server_ns,
                                                                            veth_pair.path.server)):
        assert "4c4e" not in tc_tools.qdiscs(netns, endpoint.ifname)
        assert "clsact" not in tc_tools.qdiscs(netns, endpoint.ifname)
    assert list(tmp_path.glob("*.ledger")) == []
