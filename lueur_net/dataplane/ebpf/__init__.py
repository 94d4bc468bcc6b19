"""lueur_net.dataplane.ebpf: fault programs from bpf/ loaded through the system libbpf (see docs/ebpf.md).

from lueur_net.dataplane.ebpf import attach_loss, Scope, Window
fault = attach_loss(endpoint, "ingress", 0.1, scope=Scope.peer("10.9.0.1"), deadline_ns=..., ledger=ledger)
...
print(fault.revert())   # Counters(seen=..., matched=..., eligible=..., affected=..., past_deadline=...)
"""

from lueur_net.dataplane.ebpf.faults import (
    KINDS,
    Counters,
    EbpfFault,
    GilbertElliott,
    attach,
    attach_blackhole,
    attach_dns,
    attach_httperror,
    attach_loss,
    attach_police,
    attach_reset,
    default_police_burst,
)
from lueur_net.dataplane.ebpf.model import Hook, PortRange, Rule, Scope, Timing, Window

__all__ = [
    "KINDS",
    "Counters",
    "EbpfFault",
    "GilbertElliott",
    "Hook",
    "PortRange",
    "Rule",
    "Scope",
    "Timing",
    "Window",
    "attach",
    "attach_blackhole",
    "attach_dns",
    "attach_httperror",
    "attach_loss",
    "attach_police",
    "attach_reset",
    "default_police_burst",
]

