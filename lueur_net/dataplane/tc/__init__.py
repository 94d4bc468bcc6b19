"""lueur_net.dataplane.tc: netem and TBF through netlink, IFB for ingress (see docs/dataplane.md).

One module per concern: encode.py (netem/TBF TCA_OPTIONS as pyroute2 nla classes), qdisc.py (our qdiscs on one
device), ifb.py (ingress redirected into an IFB), hook.py (one HookPlan over time: the handle), backend.py (the
dispatcher's Backend). `backend()` is what the dispatcher's registry names; it is imported lazily, since
encode.py alone serves the probe and the unit tests.
"""

from __future__ import annotations

__all__ = ["backend"]


def backend() -> object:
    """The tc Backend for the dispatcher (docs/dataplane.md)."""
    from lueur_net.dataplane.tc.backend import backend as make

    return make()
