"""A repeat of 5 packet-loss steps on the eBPF backend keeps one program on one tcx link (same link id) and each
step drops what its probability says (1.0 drops all, 0.0 none: exact, so nothing can flake). Before: every step
detached the program and loaded and attached a new one (a new link id).

Driven through the run's ItemFaults.on_iteration with the real dispatcher, as `run` drives a repeat item.
"""

from __future__ import annotations

import time
from pathlib import Path

from ebpf_lab import Pair
from ebpf_traffic import receive_numbers, send_numbered, udp_receiver, udp_sender

from lueur_net.dataplane.apply import apply_plan
from lueur_net.plan.model import FaultPlan, LossParams, PlannedFault
from lueur_net.runner.item import ItemFaults, PathPlans

STEPS = (1.0, 0.0, 1.0, 0.0, 1.0)
PORT = 9511


def step(probability: float, iteration: int) -> FaultPlan:
    fault = PlannedFault(id="f0", type="packetloss", side="client", hook="egress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="ebpf",
                         params=LossParams(model="random", probability=probability))
    return FaultPlan(faults=(fault,), hooks=(), iteration=iteration)


def link_id(link_fd: int) -> int:
    for line in Path(f"/proc/self/fdinfo/{link_fd}").read_text().splitlines():
        if line.startswith("link_id:"):
            return int(line.split()[1])
    raise AssertionError(f"fd {link_fd} is not a BPF link")


def test_a_repeat_changes_the_running_program_in_place(pair: Pair) -> None:
    plans = tuple(step(probability, index) for index, probability in enumerate(STEPS))
    faults = ItemFaults([PathPlans(pair.path, plans)], apply_plan, pair.ledger,  # type: ignore[arg-type]
                        deadline_ns=time.monotonic_ns() + 120 * 10**9, seed=0, span_s=10.0)
    receiver = udp_receiver(pair.server_ns, pair.server.address, PORT)
    sender = udp_sender(pair.client_ns)
    links, received = [], []
    try:
        faults.on_iteration(0, "baseline")
        send_numbered(sender, (pair.server.address, PORT), 50)
        baseline = len(receive_numbers(receiver, quiet_s=0.3))
        for iteration in range(len(STEPS)):
            faults.on_iteration(iteration, "fault")
            [applied] = faults.applied
            [(_, handle)] = applied.handles  # type: ignore[attr-defined]
            assert handle.fault.mechanism == "tcx"
            links.append(link_id(handle.fault._attachment.link_fd))
            send_numbered(sender, (pair.server.address, PORT), 50)
            received.append(len(receive_numbers(receiver, quiet_s=0.3)))
    finally:
        faults.revert()
        receiver.close()
        sender.close()
    assert baseline == 50  # paused: the program passes everything
    assert len(set(links)) == 1, links  # one program, one link, all along
    assert received == [0 if probability else 50 for probability in STEPS]
    assert [entry["change"] for entry in faults.plans] == ["in place"] * len(STEPS)
    assert faults.counters["f0"]["affected"] == 50 * STEPS.count(1.0)
