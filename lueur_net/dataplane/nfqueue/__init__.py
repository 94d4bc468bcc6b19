"""nfqueue: latency and jitter in userspace for kernels without sch_netem (see docs/nfqueue.md).

Public API: `start_delay(netns, ifname, DelaySpec, ledger, match=Match(), windows=()) -> NfqueueDelay` with
`revert()` and `counters()`; `lueur_net.dataplane.nfqueue.backend.backend()` for the data-plane dispatcher
(docs/dataplane.md).
"""

from __future__ import annotations

from lueur_net.dataplane.nfqueue.delay import NfqueueDelay, start_delay
from lueur_net.dataplane.nfqueue.spec import DISTRIBUTIONS, DelaySpec, Match, Window

__all__ = ["DISTRIBUTIONS", "DelaySpec", "Match", "NfqueueDelay", "Window", "start_delay"]

