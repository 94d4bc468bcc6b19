"""The dispatcher's nfqueue backend with a real PlannedFault: placement, scope by the peer's address, windows."""

from __future__ import annotations

import json
import subprocess
import time

from nfqueue_lab import EchoServer, VethLab, percentile, round_trips_ms

from lueur_net.dataplane.apply import ApplyContext, backend
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.ledger import Ledger
from lueur_net.plan.model import DelayParams, PlannedFault, Window

MS = 1_000_000


def endpoint(netns: str, ifname: str, address: str) -> Endpoint:
    links = json.loads(subprocess.run(["ip", "-n", netns, "-j", "link", "show", ifname], capture_output=True,
                                      text=True, check=True).stdout)
    return Endpoint(netns, ifname, links[0]["ifindex"], address)


def test_nfqueue_backend_applies_a_planned_latency(veth_lab: VethLab, echo_server: EchoServer, tmp_path) -> None:
    path = Path(endpoint(veth_lab.client_ns, veth_lab.client_if, veth_lab.client_addr),
                endpoint(veth_lab.server_ns, veth_lab.server_if, veth_lab.server_addr))
    fault = PlannedFault(id="f0", type="latency", side="server", hook="ingress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="nfqueue",
                         params=DelayParams(delay_ns=80 * MS), windows=(Window(0.0, 5.0),))
    context = ApplyContext(path=path, t0_ns=time.monotonic_ns(), deadline_ns=None)
    with Ledger.open("test-nfqueue-backend", run_dir=tmp_path) as ledger:
        handle = backend("nfqueue").apply(fault, path.server, ledger, context)
        try:
            rules = subprocess.run(["nsenter", f"--net=/run/netns/{veth_lab.server_ns}", "iptables-save"],
                                   capture_output=True, text=True, check=True).stdout
            assert f"-s {veth_lab.client_addr}/32 -i {veth_lab.server_if}" in rules, rules
            inside = round_trips_ms(veth_lab.client_ns, echo_server.address, 8)
            time.sleep(max(0.0, (context.t0_ns + 5_100 * MS - time.monotonic_ns()) / 1e9))
            outside = round_trips_ms(veth_lab.client_ns, echo_server.address, 8)
            counters = handle.counters()
        finally:
            handle.revert()
        assert ledger.pending == 0
    assert 80 <= percentile(inside, 0.5) <= 95, inside
    assert percentile(outside, 0.5) < 20, outside
    assert counters["affected"] >= 8 and counters["passed"] >= 8


def test_a_plans_holders_start_side_by_side_with_their_own_mark_bits(veth_lab: VethLab, echo_server: EchoServer,
                                                                     tmp_path) -> None:
    """Three latency faults of one plan: their holders start at once (apply_plan's threads), each rule with its own
    packet-mark bit allocated up front, so the delays add up (a shared bit would skip a rule)."""
    from lueur_net.dataplane.apply import apply_plan
    from lueur_net.plan.model import FaultPlan

    path = Path(endpoint(veth_lab.client_ns, veth_lab.client_if, veth_lab.client_addr),
                endpoint(veth_lab.server_ns, veth_lab.server_if, veth_lab.server_addr))
    faults = tuple(PlannedFault(id=f"f{n}", type="latency", side="server", hook="ingress", requested_side="client",
                                requested_direction="egress", traffic="requests", backend="nfqueue",
                                params=DelayParams(delay_ns=delay * MS)) for n, delay in enumerate((20, 30, 40)))
    with Ledger.open("test-nfqueue-backend", run_dir=tmp_path) as ledger:
        with apply_plan(FaultPlan(faults, ()), path, ledger) as applied:
            rules = subprocess.run(["nsenter", f"--net=/run/netns/{veth_lab.server_ns}", "iptables-save"],
                                   capture_output=True, text=True, check=True).stdout
            stacked = round_trips_ms(veth_lab.client_ns, echo_server.address, 12)
            assert [ids for ids, _ in applied.handles] == [("f0",), ("f1",), ("f2",)]
        assert ledger.pending == 0
    marks = [line.split("--mark ")[1].split("/")[0] for line in rules.splitlines() if "NFQUEUE" in line]
    assert len(marks) == 3 and len(set(marks)) == 3, rules
    assert 90 <= percentile(stacked, 0.5) <= 110, sorted(stacked)


def test_holders_started_ahead_are_taken_by_the_apply_and_the_rest_released(veth_lab: VethLab,
                                                                            echo_server: EchoServer,
                                                                            tmp_path) -> None:
    """prestart_plan starts a plan's holders (no rule, nothing on the path); apply_plan takes them instead of
    starting its own; release_prestarted ends those no apply took; the ledger is empty after."""
    from lueur_net.dataplane import apply as dispatch
    from lueur_net.dataplane.nfqueue import delay as delay_module
    from lueur_net.plan.model import FaultPlan

    path = Path(endpoint(veth_lab.client_ns, veth_lab.client_if, veth_lab.client_addr),
                endpoint(veth_lab.server_ns, veth_lab.server_if, veth_lab.server_addr))
    fault = PlannedFault(id="f0", type="latency", side="server", hook="ingress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="nfqueue",
                         params=DelayParams(delay_ns=40 * MS))
    plan = FaultPlan((fault,), ())
    with Ledger.open("test-nfqueue-backend", run_dir=tmp_path) as ledger:
        dispatch.prestart_plan(plan, path, ledger)
        dispatch.prestart_plan(plan, path, ledger)  # two spares; one is taken
        spares = [process.pid for process, *_ in delay_module._spares[veth_lab.server_ns]]
        assert len(spares) == 2 and ledger.pending == 2
        with dispatch.apply_plan(plan, path, ledger) as applied:
            (_, handle), = applied.handles
            assert handle.delay._process.pid == spares[0]  # type: ignore[attr-defined]
            delayed = round_trips_ms(veth_lab.client_ns, echo_server.address, 6)
        dispatch.release_prestarted()
        assert ledger.pending == 0
    assert not delay_module._spares
    assert 40 <= percentile(delayed, 0.5) <= 55, sorted(delayed)
    assert subprocess.run(["kill", "-0", str(spares[1])], capture_output=True).returncode != 0  # ended
