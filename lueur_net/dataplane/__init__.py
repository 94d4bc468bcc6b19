"""lueur_net.dataplane: realise a FaultPlan in the kernel (see docs/dataplane.md).

Public API:

    apply_plan(plan, path, ledger, *, t0_ns=None, deadline_ns=None, seed=0, allow_foreign=False) -> AppliedPlan
    AppliedPlan.revert(); AppliedPlan.counters() -> {fault id: {counter: value}}
    ApplyContext, Backend, Handle, Work, BACKENDS                  the backend contract and its registry
    probe_capabilities() -> lueur_net.plan.Capabilities            what this kernel can do (`lueur-net doctor`)

Backends, each a package whose `backend()` BACKENDS names: tc (netem, TBF, IFB; lueur_net.dataplane.tc), ebpf
(lueur_net.dataplane.ebpf), nfqueue (lueur_net.dataplane.nfqueue). Their netlink toolkit is dataplane.netlink;
pyroute2 is imported only by it, when a backend that speaks netlink (tc, ebpf) or the probe is used.
The data plane imports the plan (its input), never the other way round: `Capabilities` and netem's tables are the
plan's (lueur_net.plan.capabilities, lueur_net.plan.netem_tables).
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so that loading the package stays cheap: the nfqueue holder runs as
# `python -m lueur_net.dataplane.nfqueue.holder` once per delay fault, and importing the dispatcher eagerly would
# add the planner and the dispatcher to every holder's start (about 30 ms measured on the 2-core host).
_EXPORTS = {
    "BACKENDS": "apply", "AppliedPlan": "apply", "ApplyContext": "apply", "Backend": "apply", "Handle": "apply",
    "Work": "apply", "apply_plan": "apply",
    "probe_capabilities": "probe",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lueur_net.dataplane' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lueur_net.dataplane.{_EXPORTS[name]}"), name)
