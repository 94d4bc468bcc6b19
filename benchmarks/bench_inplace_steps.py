"""What one repeat step costs per backend: ItemFaults.on_iteration through the real dispatcher on a namespace pair
(first apply + pause for the baseline, then 10 steps changed in place, then the revert). Printed, not asserted.

    sudo .venv/bin/python benchmarks/bench_inplace_steps.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' namespace pair and capabilities

from capability_sets import host_like  # noqa: E402
from netns_pair import namespace_pair  # noqa: E402

from lueur_net.dataplane.apply import apply_plan  # noqa: E402
from lueur_net.ledger import Ledger  # noqa: E402
from lueur_net.plan import plan_item  # noqa: E402
from lueur_net.plan.model import DelayParams, FaultPlan, LossParams, PlannedFault  # noqa: E402
from lueur_net.runner.item import ItemFaults, PathPlans  # noqa: E402
from lueur_net.scenario import Item  # noqa: E402

MS = 1_000_000
STEPS = 10


def loss(step: int) -> FaultPlan:
    fault = PlannedFault(id="f0", type="packetloss", side="client", hook="egress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="ebpf",
                         params=LossParams(model="random", probability=step / STEPS))
    return FaultPlan(faults=(fault,), hooks=(), iteration=step)


def delay(step: int) -> FaultPlan:
    fault = PlannedFault(id="f0", type="latency", side="server", hook="ingress", requested_side="client",
                         requested_direction="egress", traffic="requests", backend="nfqueue",
                         params=DelayParams(delay_ns=(step + 1) * 10 * MS))
    return FaultPlan(faults=(fault,), hooks=(), iteration=step)


def bandwidth(step: int) -> FaultPlan:
    item = Item.model_validate({"call": {"method": "GET", "url": "http://10.0.0.1/"}, "context": {"faults": [
        {"type": "bandwidth", "rate": (step + 1) * 100, "unit": "KiBps"}]}})
    return plan_item(item, host_like(), iteration=step)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory, Ledger.open("bench", run_dir=Path(directory)) as ledger, \
            namespace_pair("bstep") as pair:
        for name, make in (("ebpf (loss)", loss), ("nfqueue (latency)", delay), ("tbf (bandwidth)", bandwidth)):
            plans = tuple(make(step) for step in range(STEPS))
            faults = ItemFaults([PathPlans(pair.path, plans)], apply_plan, ledger,
                                deadline_ns=time.monotonic_ns() + 100 * 10**9, seed=0, span_s=5.0)
            began = time.monotonic()
            faults.on_iteration(0, "baseline")
            first = time.monotonic() - began
            steps = []
            for iteration in range(STEPS):
                began = time.monotonic()
                faults.on_iteration(iteration, "fault")
                steps.append((time.monotonic() - began) * 1000)
            began = time.monotonic()
            faults.revert()
            revert = time.monotonic() - began
            changes = {entry.get("change", "reverted and applied again") for entry in faults.plans}  # old code: no key
            print(f"{name:18} apply+pause {first * 1000:6.1f} ms   step median {statistics.median(steps):5.2f} ms "
                  f"max {max(steps):5.2f} ms ({', '.join(sorted(changes))})   revert {revert * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
