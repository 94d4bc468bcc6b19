"""nfqueue: latency and jitter in userspace for kernels without sch_netem (see docs/nfqueue.md).

Public API: `start_delay(netns, ifname, DelaySpec, ledger, match=Match(), windows=()) -> NfqueueDelay` with
`revert()` and `counters()`; `lueur_net.dataplane.nfqueue.backend.backend()` for the data-plane dispatcher
(docs/dataplane.md).
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: the holder runs as `python -m lueur_net.dataplane.nfqueue.holder`, which imports this
# package first; importing delay.py here (rules, ledger, heartbeat, the lab) only slowed every holder's start.
_EXPORTS = {"NfqueueDelay": "delay", "start_delay": "delay",
            "DISTRIBUTIONS": "spec", "DelaySpec": "spec", "Match": "spec", "Window": "spec"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lueur_net.dataplane.nfqueue' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lueur_net.dataplane.nfqueue.{_EXPORTS[name]}"), name)
