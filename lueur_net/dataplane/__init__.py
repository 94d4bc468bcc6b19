"""lueur_net.dataplane: realise a FaultPlan in the kernel (see docs/dataplane.md).

Public API:

    apply_plan(plan, path, ledger, *, t0_ns=None, deadline_ns=None, seed=0, allow_foreign=False) -> AppliedPlan
    AppliedPlan.revert(); AppliedPlan.counters() -> {fault id: {counter: value}}
    ApplyContext, Backend, Handle, BACKENDS, register_backend     the backend contract
    Capabilities, probe_capabilities()                             what this kernel can do (`lueur-net doctor`)

Backends: tc (netem, TBF, IFB; lueur_net.dataplane.tc), ebpf (lueur_net.dataplane.ebpf), nfqueue
(lueur_net.dataplane.nfqueue). pyroute2 is imported only when a plan with tc faults is applied or probed.
"""

from __future__ import annotations

from lueur_net.dataplane.apply import (
    BACKENDS,
    AppliedPlan,
    ApplyContext,
    Backend,
    Handle,
    apply_plan,
    register_backend,
)
from lueur_net.dataplane.capabilities import Capabilities, probe_capabilities

__all__ = [
    "BACKENDS",
    "AppliedPlan",
    "ApplyContext",
    "Backend",
    "Capabilities",
    "Handle",
    "apply_plan",
    "probe_capabilities",
    "register_backend",
]
