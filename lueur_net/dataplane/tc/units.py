"""The kernel's units in tc attributes (include/uapi/linux/pkt_sched.h): psched ticks and u32 probabilities."""

from __future__ import annotations

PSCHED_SHIFT = 6
U32_MAX = 0xFFFFFFFF


def probability_u32(probability: float) -> int:
    """0..1 -> the kernel's u32 scale (iproute2: rint(p * UINT32_MAX))."""
    return max(0, min(U32_MAX, round(probability * U32_MAX)))


def ns_to_ticks(ns: int) -> int:
    return min(U32_MAX, max(0, ns) >> PSCHED_SHIFT)
