"""A repeat of 5 latency steps on the nfqueue backend keeps one holder (same pid, same iptables rule) and each
call still sees its step's delay. Before: every step started a new holder (~150 ms each, a new pid).

Driven through the run's ItemFaults.on_iteration with the real dispatcher, as `run` drives a repeat item. The
delay is one way (server ingress), so a round trip takes at least the step's delay; the upper bound (+60 ms) is
far above what the path adds (< 1 ms) yet below the step size (80 ms), so a call with its neighbour's delay fails.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from nfqueue_lab import EchoServer, VethLab, round_trips_ms

from lueur_net.dataplane.apply import apply_plan
from lueur_net.ledger import Ledger
from lueur_net.plan.model import DelayParams, FaultPlan, PlannedFault
from lueur_net.runner.item import ItemFaults, PathPlans

MS = 1_000_000
STEPS_MS = (40, 120, 200, 280, 360)


def step(delay_ms: int, iteration: int) -> FaultPlan:
    fault = PlannedFault(id="f0", type="latency", side="server", hook="ingress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="nfqueue",
                         params=DelayParams(delay_ns=delay_ms * MS))
    return FaultPlan(faults=(fault,), hooks=(), iteration=iteration)


def rules(netns: str) -> list[str]:
    saved = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "iptables-save"], capture_output=True,
                           text=True, check=True).stdout
    return [line for line in saved.splitlines() if "NFQUEUE" in line]


def test_a_repeat_changes_the_running_holder_in_place(veth_lab: VethLab, echo_server: EchoServer, tmp_path) -> None:
    plans = tuple(step(delay, index) for index, delay in enumerate(STEPS_MS))
    with Ledger.open("test-nfqueue-inplace", run_dir=tmp_path) as ledger:
        faults = ItemFaults([PathPlans(veth_lab.path, plans)], apply_plan, ledger, deadline_ns=time.monotonic_ns()
                            + 120 * 10**9, seed=0, span_s=10.0)
        pids, seen, changes = [], [], []
        try:
            faults.on_iteration(0, "baseline")
            baseline = statistics.median(round_trips_ms(veth_lab.client_ns, echo_server.address, 3))
            first_rules = rules(veth_lab.server_ns)
            for iteration in range(len(STEPS_MS)):
                began = time.monotonic()
                faults.on_iteration(iteration, "fault")
                changes.append(time.monotonic() - began)
                [applied] = faults.applied
                [(_, handle)] = applied.handles  # type: ignore[attr-defined]
                pids.append(handle.delay._process.pid)
                seen.append(statistics.median(round_trips_ms(veth_lab.client_ns, echo_server.address, 3)))
                assert rules(veth_lab.server_ns) == first_rules
        finally:
            faults.revert()
        assert ledger.pending == 0
    assert baseline < 30, baseline  # paused: passed at once
    assert len(set(pids)) == 1, pids  # one holder all along
    for delay, measured in zip(STEPS_MS, seen):
        assert delay <= measured < delay + 60, (STEPS_MS, seen)
    assert [entry["change"] for entry in faults.plans] == ["in place"] * len(STEPS_MS)
    assert max(changes) < 0.1, changes  # a message, not a holder start (~0.15 s); generous for a busy machine
    assert faults.counters["f0"]["affected"] >= 5 * len(STEPS_MS)
