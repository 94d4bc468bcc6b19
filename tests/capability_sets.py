"""Capability sets for tests: what the planner decides from, without probing a kernel.

`Capabilities.all_present()` (a stock distribution kernel with every module) stays in the package: `--dry-run`
without root plans for it. The set below exists only for tests, so it lives here.
"""

from __future__ import annotations

from lueur_net.plan.capabilities import Capabilities, feature_names

# This project's development kernel as machine-facts.md measured it.
HOST_LACKS = frozenset({"netem", "fq", "gact", "matchall", "flower"})


def host_like() -> Capabilities:
    """This project's development kernel (no netem, fq, gact, matchall, flower): the planner's fallbacks."""
    return Capabilities(kernel="host-like", **{name: name not in HOST_LACKS for name in feature_names()})
