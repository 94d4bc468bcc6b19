"""lueur_net.dataplane.tc: netem and TBF through netlink, IFB for ingress (see docs/dataplane.md).

One module per concern, one per qdisc kind as in pyroute2: netem.py and tbf.py (each kind's TCA_OPTIONS as a
pyroute2 nla class, and its values), units.py (ticks, u32 probabilities), encode.py (the messages, the kinds'
registry), qdisc.py (our qdiscs on one device), ifb.py (ingress redirected into an IFB), hook.py (one HookPlan over
time: the handle), backend.py (the dispatcher's Backend). The dispatcher's registry names
`lueur_net.dataplane.tc.backend:backend`; nothing is imported here, since the encoding modules alone serve the
probe and the unit tests.
"""

