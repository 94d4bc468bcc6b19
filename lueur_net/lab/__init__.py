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

from lueur_net.lab.enter import enter_netns, in_netns_thread, netns_path, run_in_netns
from lueur_net.lab.lab import DEFAULT_MAX_LIFETIME, Lab
from lueur_net.lab.safety import ALLOW_FLAG, check_fault_target
from lueur_net.lab.serve import ServeSpec
from lueur_net.lab.signals import terminate_on_signals
from lueur_net.lab.topology import Endpoint, Path

__all__ = [
    "ALLOW_FLAG",
    "DEFAULT_MAX_LIFETIME",
    "Endpoint",
    "Lab",
    "Path",
    "ServeSpec",
    "check_fault_target",
    "enter_netns",
    "in_netns_thread",
    "netns_path",
    "run_in_netns",
    "terminate_on_signals",
]
