"""lueur_net.dataplane: realise a FaultPlan in the kernel (see docs/dataplane.md).

Public API:

    apply_plan(plan, path, ledger, *, t0_ns=None, deadline_ns=None, seed=0, allow_foreign=False) -> AppliedPlan
    AppliedPlan.revert(); AppliedPlan.counters() -> {fault id: {counter: value}}
    ApplyContext, Backend, Handle, Work, BACKENDS                  the backend contract and its registry
    Capabilities, probe_capabilities()                             what this kernel can do (`lueur-net doctor`)

Backends, each a package whose `backend()` BACKENDS names: tc (netem, TBF, IFB; lueur_net.dataplane.tc), ebpf
(lueur_net.dataplane.ebpf), nfqueue (lueur_net.dataplane.nfqueue). Their netlink toolkit is dataplane.netlink;
pyroute2 is imported only by it, when a backend that speaks netlink (tc, ebpf) or the probe is used.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: the pure planner imports lueur_net.dataplane.capabilities, and loading the package
# must not drag in the dispatcher and, through it, the lab.
_EXPORTS = {
    "BACKENDS": "apply", "AppliedPlan": "apply", "ApplyContext": "apply", "Backend": "apply", "Handle": "apply",
    "Work": "apply", "apply_plan": "apply",
    "Capabilities": "capabilities", "probe_capabilities": "capabilities",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lueur_net.dataplane' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lueur_net.dataplane.{_EXPORTS[name]}"), name)
