"""TBF's TCA_OPTIONS: the layout as a pyroute2 nla class, and the values for a RateParams.

Kernel units (include/uapi/linux/pkt_sched.h, net/sched/sch_tbf.c): `tc_tbf_qopt`: rate ratespec (bytes/s;
linklayer ethernet so no rate table is needed), limit (queue bytes), buffer (burst time in psched ticks), mtu;
TCA_TBF_BURST (bytes) sets the bucket exactly; TCA_TBF_RATE64 above 4 GB/s.
"""

from __future__ import annotations

from typing import Any

from pyroute2.netlink import nla

from lueur_net.dataplane.tc.units import U32_MAX, ns_to_ticks
from lueur_net.plan.model import RateParams

TC_LINKLAYER_ETHERNET = 1


class tbf_options(nla):
    nla_map = (
        ("TCA_TBF_UNSPEC", "none"),
        ("TCA_TBF_PARMS", "tbf_parms"),
        ("TCA_TBF_RTAB", "hex"),
        ("TCA_TBF_PTAB", "hex"),
        ("TCA_TBF_RATE64", "uint64"),
        ("TCA_TBF_PRATE64", "uint64"),
        ("TCA_TBF_BURST", "uint32"),
        ("TCA_TBF_PBURST", "uint32"),
        ("TCA_TBF_PAD", "hex"),
    )

    class tbf_parms(nla):
        fields = (
            ("rate_cell_log", "B"),
            ("rate_linklayer", "B"),
            ("rate_overhead", "H"),
            ("rate_cell_align", "h"),
            ("rate_mpu", "H"),
            ("rate", "I"),
            ("peak_cell_log", "B"),
            ("peak_linklayer", "B"),
            ("peak_overhead", "H"),
            ("peak_cell_align", "h"),
            ("peak_mpu", "H"),
            ("peak", "I"),
            ("limit", "I"),
            ("buffer", "I"),
            ("mtu", "I"),
        )


def tbf_values(rate: RateParams) -> dict[str, Any]:
    """TCA_OPTIONS of a TBF qdisc: rate (wire bytes/s), bucket `burst_bytes`, queue `limit_bytes`."""
    wire = rate.wire_rate_bytes_per_s
    burst_ns = rate.burst_bytes * 1_000_000_000 // max(1, wire)
    attrs: list[list[Any]] = [
        ["TCA_TBF_PARMS", {
            "rate_cell_log": 0, "rate_linklayer": TC_LINKLAYER_ETHERNET, "rate_overhead": 0, "rate_cell_align": 0,
            "rate_mpu": 0, "rate": min(wire, U32_MAX),
            "peak_cell_log": 0, "peak_linklayer": 0, "peak_overhead": 0, "peak_cell_align": 0, "peak_mpu": 0,
            "peak": 0,
            "limit": rate.limit_bytes, "buffer": ns_to_ticks(burst_ns), "mtu": 0,
        }],
        ["TCA_TBF_BURST", rate.burst_bytes],
    ]
    if wire >= U32_MAX:
        attrs.append(["TCA_TBF_RATE64", wire])
    return {"attrs": attrs}
