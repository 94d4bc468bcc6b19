"""The tc backend for the data-plane dispatcher (the Backend/Handle contract of docs/dataplane.md).

It applies the plan's HookPlans, one per (side, hook): the netem and TBF faults the planner composed into one
qdisc tree, with their windows and jitter as segments. `context.seed` seeds that hook's jitter draws.
"""

from __future__ import annotations

from typing import Any

from lueur_net.dataplane.tc.hook import TcHook
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Ledger
from lueur_net.plan.model import HookPlan


class TcBackend:
    name = "tc"

    def apply(self, plan: HookPlan, endpoint: Endpoint, ledger: Ledger, context: Any) -> TcHook:
        hook = TcHook(plan, endpoint, ledger, context.t0_ns, context.deadline_ns, context.seed)
        try:
            hook.start()
        except BaseException:
            hook.revert()
            raise
        return hook


def backend() -> TcBackend:
    """The dispatcher's entry point (docs/dataplane.md)."""
    return TcBackend()
