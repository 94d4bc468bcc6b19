"""Netlink encoding of our qdiscs (netem, TBF), extending pyroute2's tcmsg where it stops short.

pyroute2 0.9 cannot send netem's delay distribution table (TCA_NETEM_DELAY_DIST), its loss models
(TCA_NETEM_LOSS with NETEM_LOSS_GI / NETEM_LOSS_GE), nor the 64-bit delay, jitter and rate attributes. Instead of
shelling out to `tc`, this module declares the complete TCA_OPTIONS layouts as pyroute2 `nla` classes and a tcmsg
subclass that picks them by TCA_KIND; messages are sent with `IPRoute.nlm_request` and decode back with the same
classes (which is how the unit tests check every field).

Kernel units (include/uapi/linux/pkt_sched.h, net/sched/sch_netem.c, sch_tbf.c):
- netem `tc_netem_qopt`: latency and jitter in psched ticks (ns >> 6, PSCHED_SHIFT), limit in packets,
  loss/duplicate as u32 probabilities (p * 0xffffffff), gap in packets. TCA_NETEM_LATENCY64/JITTER64 carry the
  delays in ns and take precedence (kernel >= 4.15); we send both, as tc does.
- TCA_NETEM_CORR {delay, loss, duplicate correlation}, REORDER / CORRUPT {probability, correlation}, all u32.
- TCA_NETEM_LOSS (nested): NETEM_LOSS_GE {p, r, h, k1}: good->bad p, bad->good r, h = probability that a packet
  is *delivered* in the bad state (the kernel drops in the bad state when random > h), k1 = loss in the good state.
  So loss_bad = 1 - h. NETEM_LOSS_GI {p13, p31, p32, p14, p23}: the 4-state Markov model.
- TCA_NETEM_DELAY_DIST: the table, native-endian s16 entries (lueur_net.plan.netem_tables).
- TBF `tc_tbf_qopt`: rate ratespec (bytes/s; linklayer ethernet so no rate table is needed), limit (queue bytes),
  buffer (burst time in ticks), mtu; TCA_TBF_BURST (bytes) sets the bucket exactly; TCA_TBF_RATE64 above 4 GB/s.
"""

from __future__ import annotations

import struct
from typing import Any

from pyroute2.netlink import nla
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from lueur_net.plan import netem_tables
from lueur_net.plan.model import LossParams, NetemConfig, ProbabilityParams, RateParams

PSCHED_SHIFT = 6
U32_MAX = 0xFFFFFFFF
NETEM_LOSS_GI = 1
NETEM_LOSS_GE = 2
TC_LINKLAYER_ETHERNET = 1
AF_UNSPEC = 0


def probability_u32(probability: float) -> int:
    """0..1 -> the kernel's u32 scale (iproute2: rint(p * UINT32_MAX))."""
    return max(0, min(U32_MAX, round(probability * U32_MAX)))


def ns_to_ticks(ns: int) -> int:
    return min(U32_MAX, max(0, ns) >> PSCHED_SHIFT)


class netem_options(nla):
    """struct tc_netem_qopt followed by TCA_NETEM_* attributes (all of them, unlike pyroute2's)."""

    fields = (
        ("delay", "I"),
        ("limit", "I"),
        ("loss", "I"),
        ("gap", "I"),
        ("duplicate", "I"),
        ("jitter", "I"),
    )
    nla_map = (
        ("TCA_NETEM_UNSPEC", "none"),
        ("TCA_NETEM_CORR", "netem_corr"),
        ("TCA_NETEM_DELAY_DIST", "cdata"),
        ("TCA_NETEM_REORDER", "netem_pair"),
        ("TCA_NETEM_CORRUPT", "netem_pair"),
        ("TCA_NETEM_LOSS", "netem_loss"),
        ("TCA_NETEM_RATE", "netem_rate"),
        ("TCA_NETEM_ECN", "uint32"),
        ("TCA_NETEM_RATE64", "uint64"),
        ("TCA_NETEM_PAD", "hex"),
        ("TCA_NETEM_LATENCY64", "int64"),
        ("TCA_NETEM_JITTER64", "int64"),
        ("TCA_NETEM_SLOT", "hex"),
        ("TCA_NETEM_SLOT_DIST", "hex"),
        ("TCA_NETEM_PRNG_SEED", "uint64"),
    )

    class netem_corr(nla):
        fields = (("delay_corr", "I"), ("loss_corr", "I"), ("dup_corr", "I"))

    class netem_pair(nla):
        fields = (("probability", "I"), ("correlation", "I"))

    class netem_rate(nla):
        fields = (("rate", "I"), ("packet_overhead", "i"), ("cell_size", "I"), ("cell_overhead", "i"))

    class netem_loss(nla):
        nla_map = (
            ("NETEM_LOSS_UNSPEC", "none"),
            ("NETEM_LOSS_GI", "gi_model"),
            ("NETEM_LOSS_GE", "ge_model"),
        )

        class gi_model(nla):
            fields = (("p13", "I"), ("p31", "I"), ("p32", "I"), ("p14", "I"), ("p23", "I"))

        class ge_model(nla):
            fields = (("p", "I"), ("r", "I"), ("h", "I"), ("k1", "I"))


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


OPTIONS_BY_KIND: dict[str, type[nla]] = {"netem": netem_options, "tbf": tbf_options}


class lueur_tcmsg(tcmsg):
    """pyroute2's tcmsg, with our TCA_OPTIONS layouts for netem and TBF (others fall back to pyroute2's)."""

    @staticmethod
    def get_options(self: Any, *argv: Any, **kwarg: Any) -> Any:
        kind = self.get_attr("TCA_KIND")
        if kind in OPTIONS_BY_KIND:
            return OPTIONS_BY_KIND[kind]
        return tcmsg.get_options(self, *argv, **kwarg)


# ---- values ----


def _pair(item: ProbabilityParams | None) -> dict[str, int] | None:
    if item is None:
        return None
    return {"probability": probability_u32(item.probability), "correlation": probability_u32(item.correlation)}


def delay_table(config: NetemConfig) -> tuple[int, ...] | None:
    """The distribution table netem gets for this config, min/max baked in; None for uniform or no jitter."""
    delay = config.delay
    if delay is None:
        return None
    return netem_tables.delay_table(delay.distribution, delay.delay_ns, delay.jitter_ns, delay.min_ns, delay.max_ns,
                                    delay.pareto_shape)


def loss_attribute(loss: LossParams) -> dict[str, Any] | None:
    if loss.model == "gilbert-elliott":
        return {"attrs": [["NETEM_LOSS_GE", {
            "p": probability_u32(loss.p),
            "r": probability_u32(loss.r),
            "h": probability_u32(1.0 - loss.loss_bad),
            "k1": probability_u32(loss.loss_good),
        }]]}
    if loss.model == "4-state":
        return {"attrs": [["NETEM_LOSS_GI", {
            name: probability_u32(getattr(loss, name)) for name in ("p13", "p31", "p32", "p14", "p23")
        }]]}
    return None


def netem_values(config: NetemConfig) -> dict[str, Any]:
    """TCA_OPTIONS of a netem qdisc for `config` (the structure pyroute2's nla encoder takes)."""
    delay_ns = config.delay.delay_ns if config.delay else 0
    jitter_ns = config.delay.jitter_ns if config.delay else 0
    loss = config.loss
    random_loss = loss.probability if loss is not None and loss.model == "random" else 0.0
    reorder = config.reorder
    gap = 0
    if reorder is not None:
        gap = reorder.gap or 1  # as tc: reordering needs a gap, 1 = any packet may be sent early
    attrs: list[list[Any]] = []
    delay_corr = config.delay.correlation if config.delay else 0.0
    loss_corr = loss.correlation if loss is not None and loss.model == "random" else 0.0
    dup_corr = config.duplicate.correlation if config.duplicate else 0.0
    if delay_corr or loss_corr or dup_corr:
        attrs.append(["TCA_NETEM_CORR", {"delay_corr": probability_u32(delay_corr),
                                         "loss_corr": probability_u32(loss_corr),
                                         "dup_corr": probability_u32(dup_corr)}])
    table = delay_table(config)
    if table is not None:
        attrs.append(["TCA_NETEM_DELAY_DIST", struct.pack(f"={len(table)}h", *table)])
    if reorder is not None:
        attrs.append(["TCA_NETEM_REORDER", _pair(reorder)])
    if config.corrupt is not None:
        attrs.append(["TCA_NETEM_CORRUPT", _pair(config.corrupt)])
    if loss is not None:
        model = loss_attribute(loss)
        if model is not None:
            attrs.append(["TCA_NETEM_LOSS", model])
    if config.rate_bytes_per_s:
        rate = config.rate_bytes_per_s
        attrs.append(["TCA_NETEM_RATE", {"rate": min(rate, U32_MAX), "packet_overhead": 0, "cell_size": 0,
                                         "cell_overhead": 0}])
        if rate >= U32_MAX:
            attrs.append(["TCA_NETEM_RATE64", rate])
    attrs.append(["TCA_NETEM_LATENCY64", delay_ns])
    attrs.append(["TCA_NETEM_JITTER64", jitter_ns])
    return {
        "delay": ns_to_ticks(delay_ns),
        "limit": config.limit_packets,
        "loss": probability_u32(random_loss),
        "gap": gap,
        "duplicate": probability_u32(config.duplicate.probability) if config.duplicate else 0,
        "jitter": ns_to_ticks(jitter_ns),
        "attrs": attrs,
    }


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


def qdisc_message(kind: str, index: int, handle: int, parent: int, options: dict[str, Any] | None) -> lueur_tcmsg:
    """An RTM_NEWQDISC/RTM_DELQDISC body for interface `index`."""
    msg = lueur_tcmsg()
    msg["family"] = AF_UNSPEC
    msg["index"] = index
    msg["handle"] = handle
    msg["parent"] = parent
    msg["attrs"] = [["TCA_KIND", kind]]
    if options is not None:
        msg["attrs"].append(["TCA_OPTIONS", options])
    return msg


def encode(msg: lueur_tcmsg, msg_type: int = 36, flags: int = 0x5) -> bytes:
    """The message's bytes as sent (header included); used by tests and benchmarks."""
    msg["header"]["type"] = msg_type
    msg["header"]["flags"] = flags
    msg.encode()
    return bytes(msg.data)


def decode(data: bytes) -> lueur_tcmsg:
    msg = lueur_tcmsg(data)
    msg.decode()
    return msg


def dist_entries(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"={len(blob) // 2}h", blob)
