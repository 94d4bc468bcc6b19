"""lueur_net.lab: the network namespaces in which calls run and faults live (see docs/lab.md).

Public API (everything else in this package is private):
    Lab.create(upstreams, ledger, serve=None, *, pool=None, max_lifetime=...) -> Lab
    Lab.attach(target, upstreams, ledger, *, iface=None, allow_host_interface=False, max_lifetime=...) -> Lab
    ServeSpec(command, cwd=None, env=None, ports=None, ready_timeout=30.0)
    Endpoint, Path                         (topology: what the data plane receives)
    run_in_netns(target, fn, *args)        (run code inside a namespace, in a forked child)
    check_fault_target(endpoint, *, allow_host_interface=False)
    terminate_on_signals()                 (SIGTERM behaves like Ctrl-C, so `with Lab...` reverts)
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: every nfqueue holder (a fresh `python -m lueur_net.dataplane.nfqueue.holder` per delay
# fault) needs lueur_net.lab.enter alone, and importing the package eagerly added lab.lab with pyroute2, the NAT
# and the ledger to each holder's start (~110 of its 180 ms of imports, measured under load: docs/performance.md).
_EXPORTS = {
    "enter_netns": "enter", "in_netns_thread": "enter", "netns_path": "enter", "run_in_netns": "enter",
    "DEFAULT_MAX_LIFETIME": "lab", "Lab": "lab",
    "ALLOW_FLAG": "safety", "check_fault_target": "safety",
    "ServeSpec": "serve",
    "terminate_on_signals": "signals",
    "Endpoint": "topology", "Path": "topology",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lueur_net.lab' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lueur_net.lab.{_EXPORTS[name]}"), name)
