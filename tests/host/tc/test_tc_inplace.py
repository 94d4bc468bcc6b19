"""A repeat of 5 bandwidth steps on the tc backend changes one TBF in place: the same qdisc handle all along, its
rate the step's, and its packet counter never reset (a new qdisc would start again from 0). Before: every step
deleted the qdisc and created a new one. (netem is absent from this host's kernel: a netem step's message is
checked by tests/unit/runner/test_inplace.py.)

Driven through the run's ItemFaults.on_iteration with the real dispatcher, as `run` drives a repeat item.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from lueur_net.dataplane.apply import apply_plan
from lueur_net.dataplane.tc.qdisc import ROOT_HANDLE, handle_text
from lueur_net.lab.enter import inside
from lueur_net.plan import plan_item
from lueur_net.runner.item import ItemFaults, PathPlans
from lueur_net.scenario import Item
from capability_sets import host_like

STEPS_KIB = (1000, 2000, 3000, 4000, 5000)


def step(rate_kib: int, iteration: int) -> Any:
    item = Item.model_validate({"call": {"method": "GET", "url": "http://10.0.0.1/"}, "context": {"faults": [
        {"type": "bandwidth", "rate": rate_kib, "unit": "KiBps", "side": "server", "direction": "ingress"}]}})
    return plan_item(item, host_like(), iteration=iteration)


def our_qdisc(netns: str, ifname: str) -> dict[str, Any]:
    shown = json.loads(subprocess.run(["tc", "-s", "-j", "-n", netns, "qdisc", "show", "dev", ifname],
                                      capture_output=True, text=True, check=True).stdout)
    [ours] = [qdisc for qdisc in shown if qdisc.get("handle") == handle_text(ROOT_HANDLE)]
    return ours


def send_datagrams(netns: str, address: str, count: int) -> None:
    import socket

    with inside(netns):
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sender:
        for _ in range(count):
            sender.sendto(b"x" * 100, (address, 9))


def test_a_repeat_changes_the_running_tbf_in_place(veth_pair: Any, ledger: Any) -> None:
    plans = tuple(step(rate, index) for index, rate in enumerate(STEPS_KIB))
    [hook] = plans[0].hooks
    endpoint = veth_pair.path.server if hook.side == "server" else veth_pair.path.client
    peer = veth_pair.path.client if endpoint is veth_pair.path.server else veth_pair.path.server
    assert hook.hook == "egress"
    faults = ItemFaults([PathPlans(veth_pair.path, plans)], apply_plan, ledger,
                        deadline_ns=time.monotonic_ns() + 120 * 10**9, seed=0, span_s=10.0)
    seen = []
    try:
        faults.on_iteration(0, "baseline")
        paused = our_qdisc(endpoint.netns, endpoint.ifname)
        for iteration in range(len(STEPS_KIB)):
            faults.on_iteration(iteration, "fault")
            send_datagrams(endpoint.netns, peer.address, 20)
            seen.append(our_qdisc(endpoint.netns, endpoint.ifname))
    finally:
        faults.revert()
    assert ledger.pending == 0
    assert paused["kind"] == "tbf" and paused["options"]["rate"] >= 10**10  # paused: 100 Gbit/s, passes all
    assert [qdisc["kind"] for qdisc in seen] == ["tbf"] * len(STEPS_KIB)
    rates = [qdisc["options"]["rate"] for qdisc in seen]  # the wire rate: goodput plus the headers' share
    assert all(1.0 <= shaped / (step * 1024) < 1.1 for shaped, step in zip(rates, STEPS_KIB)), rates
    packets = [qdisc["packets"] for qdisc in seen]
    assert packets == sorted(packets) and packets[-1] >= 20 * len(STEPS_KIB), packets  # one qdisc, never reset
    assert [entry["change"] for entry in faults.plans] == ["in place"] * len(STEPS_KIB)
