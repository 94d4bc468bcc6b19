"""The tc backend on the running kernel: TBF goodput, IFB ingress, windows, revert leaves nothing, error messages."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from capability_sets import host_like
from lueur_net.dataplane.apply import apply_plan
from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.topology import Path
from lueur_net.ledger import read_ledger, remove_entry
from lueur_net.plan import plan_item
from lueur_net.plan.capabilities import Capabilities
from lueur_net.scenario import Item

CAPS = host_like()
RATE = 1024 * 1024  # 1 MiB/s goodput
SIZE = 4 * 1024 * 1024


def item(*faults: dict[str, Any]) -> Item:
    return Item.model_validate({"call": {"method": "GET", "url": "http://10.0.0.1/"},
                                "context": {"faults": list(faults)}})


def bandwidth(side: str, direction: str, **extra: Any) -> dict[str, Any]:
    return {"type": "bandwidth", "rate": RATE // 1024, "unit": "KiBps", "side": side, "direction": direction, **extra}


def assert_clean(pair: Any, tc_tools: Any) -> None:
    for netns, endpoint in ((pair.client_ns, pair.path.client), (pair.server_ns, pair.path.server)):
        shown = tc_tools.qdiscs(netns, endpoint.ifname)
        assert "4c4e" not in shown and "tbf" not in shown and "clsact" not in shown, shown
        assert "lueurifb" not in tc_tools.links(netns)


def test_tbf_goodput_within_five_percent(veth_pair: Any, ledger: Any, tc_tools: Any) -> None:
    plan = plan_item(item(bandwidth("client", "egress")), CAPS)  # responses: TBF on the server end's egress
    assert [(h.side, h.hook) for h in plan.hooks] == [("server", "egress")]
    baseline = tc_tools.transfer(veth_pair, SIZE)
    with apply_plan(plan, veth_pair.path, ledger) as applied:
        assert "tbf" in tc_tools.qdiscs(veth_pair.server_ns, veth_pair.path.server.ifname)
        shaped = tc_tools.transfer(veth_pair, SIZE)
        counters = applied.counters()["f0"]
    assert shaped["bytes"] == SIZE
    assert baseline["goodput"] > 5 * RATE, "the unshaped path must be much faster than the cap"
    assert shaped["goodput"] == pytest.approx(RATE, rel=0.05), shaped
    assert counters["packets"] > SIZE // 65536
    assert_clean(veth_pair, tc_tools)
    assert ledger.pending == 0


def test_ifb_ingress_shapes_when_peer_is_not_ours(veth_pair: Any, ledger: Any, tc_tools: Any) -> None:
    plan = plan_item(item(bandwidth("client", "egress")), CAPS, peer_is_ours=False)
    assert [(h.side, h.hook) for h in plan.hooks] == [("client", "ingress")]
    with apply_plan(plan, veth_pair.path, ledger):
        assert "lueurifb" in tc_tools.links(veth_pair.client_ns)
        assert "clsact" in tc_tools.qdiscs(veth_pair.client_ns, veth_pair.path.client.ifname)
        assert "tbf" not in tc_tools.qdiscs(veth_pair.server_ns, veth_pair.path.server.ifname)
        shaped = tc_tools.transfer(veth_pair, SIZE)
    assert shaped["goodput"] == pytest.approx(RATE, rel=0.05), shaped
    assert_clean(veth_pair, tc_tools)
    assert ledger.pending == 0


def test_request_direction_shapes_client_egress(veth_pair: Any, ledger: Any, tc_tools: Any) -> None:
    plan = plan_item(item(bandwidth("server", "egress")), CAPS)
    with apply_plan(plan, veth_pair.path, ledger):
        assert "tbf" in tc_tools.qdiscs(veth_pair.client_ns, veth_pair.path.client.ifname)
        upload = tc_tools.transfer(veth_pair, SIZE // 2, reverse=True, port=45124)
    assert upload["goodput"] == pytest.approx(RATE, rel=0.05), upload
    assert_clean(veth_pair, tc_tools)


def shaping(ipr: Any, ifname: str) -> bool:
    """True when our TBF on `ifname` shapes (between windows it stays, at a pass-through rate of u32 max)."""
    for message in ipr.get_qdiscs(index=ipr.link_lookup(ifname=ifname)[0]):
        if message.get_attr("TCA_KIND") == "tbf":
            parms = message.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")
            return bool(parms["rate"] < 0xFFFFFFFF)
    return False


def test_windows_applied_and_lifted(veth_pair: Any, ledger: Any, tc_tools: Any) -> None:
    from lueur_net.dataplane.netlink import socket

    plan = plan_item(item(bandwidth("client", "egress", period=["start:300ms,duration:500ms",
                                                                 "start:1200ms,duration:400ms"])), CAPS)
    t0 = time.monotonic_ns()
    seen: list[tuple[float, bool]] = []
    with apply_plan(plan, veth_pair.path, ledger, t0_ns=t0), socket(veth_pair.server_ns) as ipr:
        for at in (0.1, 0.55, 1.0, 1.4, 1.9):
            time.sleep(max(0.0, t0 / 1e9 + at - time.monotonic()))
            seen.append((at, shaping(ipr, veth_pair.path.server.ifname)))
    assert seen == [(0.1, False), (0.55, True), (1.0, False), (1.4, True), (1.9, False)]
    assert_clean(veth_pair, tc_tools)


def test_deadline_removes_faults(veth_pair: Any, ledger: Any, tc_tools: Any) -> None:
    plan = plan_item(item(bandwidth("client", "egress")), CAPS)
    t0 = time.monotonic_ns()
    with apply_plan(plan, veth_pair.path, ledger, t0_ns=t0, deadline_ns=t0 + 300_000_000):
        assert "tbf" in tc_tools.qdiscs(veth_pair.server_ns, veth_pair.path.server.ifname)
        time.sleep(0.6)
        assert "tbf" not in tc_tools.qdiscs(veth_pair.server_ns, veth_pair.path.server.ifname)
    assert ledger.pending == 0


@pytest.mark.parametrize("named_by", ["netns name", "nsfs path"])
def test_ledger_removers_clean_what_a_dead_run_left(veth_pair: Any, ledger: Any, tc_tools: Any,
                                                    named_by: str) -> None:
    path = veth_pair.path
    if named_by == "nsfs path":  # as in attach mode (/proc/PID/ns/net): the removers must find it too
        path = Path(client=replace(path.client, netns=f"/run/netns/{veth_pair.client_ns}"), server=path.server)
    plan = plan_item(item(bandwidth("client", "egress")), CAPS, peer_is_ours=False)
    applied = apply_plan(plan, path, ledger, allow_foreign=True)
    assert "lueurifb" in tc_tools.links(veth_pair.client_ns)
    applied.handles[0][1].stop.set()  # as if the process died: nothing reverted, only the ledger remains
    _, entries = read_ledger(ledger.path)
    assert {entry.kind for entry in entries} == {"link", "tc_clsact", "tc_filter", "tc_qdisc"}
    for entry in reversed(entries):
        remove_entry(entry)
        remove_entry(entry)  # a remover tolerates an object already gone
    assert_clean(veth_pair, tc_tools)


def test_netlink_error_names_interface_object_and_errno(veth_pair: Any, ledger: Any, tc_tools: Any) -> None:
    stock = Capabilities.all_present()
    plan = plan_item(item({"type": "latency", "mean": 50, "stddev": 0, "side": "client", "direction": "ingress"}), stock)
    try:
        applied = apply_plan(plan, veth_pair.path, ledger)
    except EnvironmentProblem as error:
        text = str(error)
        assert veth_pair.path.client.ifname in text and "netem qdisc 4c4e:" in text and "errno" in text
        assert "modprobe sch_netem" in text
    else:
        applied.revert()
        pytest.skip("this kernel has sch_netem: the missing-qdisc message cannot be provoked here")
    assert_clean(veth_pair, tc_tools)
    assert ledger.pending == 0
