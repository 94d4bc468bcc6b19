"""lueur_net.dataplane.tc: netem and TBF through netlink, IFB for ingress (see docs/dataplane.md).

One module per concern: encode.py (netem/TBF TCA_OPTIONS as pyroute2 nla classes), qdisc.py (our qdiscs on one
device), ifb.py (ingress redirected into an IFB), hook.py (one HookPlan over time: the handle), backend.py (the
dispatcher's Backend). The dispatcher's registry names `lueur_net.dataplane.tc.backend:backend`; nothing is
imported here, since encode.py alone serves the probe and the unit tests.
"""

