"""The fail-open deadline every applied fault carries (docs/dataplane.md, README "Reliability").

A data-plane notion shared by `run` (lueur_net.runner.item) and `lueur-net inject` (lueur_net.inject.hold). It lives
here, free of imports, so that `inject` need not import the runner (which pulls pandas: ~1 s of inject's start).
"""

from __future__ import annotations

# Every fault carries a fail-open deadline: the end of what it was applied for (a span from its t0) plus this
# margin, never later than the lab's own lifetime. Past it, eBPF programs pass everything in the kernel and nfqueue
# holders pass everything, even while the run is frozen (their heartbeats lift them sooner: README "Reliability");
# tc's scheduler thread removes the qdiscs, once the run is running again.
DEADLINE_MARGIN_S = 3.0


def fault_deadline_ns(t0_ns: int, span_s: float, lab_deadline_ns: int) -> int:
    """The fail-open deadline of faults applied at `t0_ns` for `span_s` seconds (CLOCK_MONOTONIC ns)."""
    return min(lab_deadline_ns, t0_ns + int((span_s + DEADLINE_MARGIN_S) * 1e9))
