"""netem's TCA_OPTIONS: the layout as a pyroute2 nla class, and the values for a NetemConfig.

Kernel units (include/uapi/linux/pkt_sched.h, net/sched/sch_netem.c):
- `tc_netem_qopt`: latency and jitter in psched ticks (ns >> 6, PSCHED_SHIFT), limit in packets,
  loss/duplicate as u32 probabilities (p * 0xffffffff), gap in packets. TCA_NETEM_LATENCY64/JITTER64 carry the
  delays in ns and take precedence (kernel >= 4.15); we send both, as tc does.
- TCA_NETEM_CORR {delay, loss, duplicate correlation}, REORDER / CORRUPT {probability, correlation}, all u32.
- TCA_NETEM_LOSS (nested): NETEM_LOSS_GE {p, r, h, k1}: good->bad p, bad->good r, h = probability that a packet
  is *delivered* in the bad state (the kernel drops in the bad state when random > h), k1 = loss in the good state.
  So loss_bad = 1 - h. NETEM_LOSS_GI {p13, p31, p32, p14, p23}: the 4-state Markov model.
- TCA_NETEM_DELAY_DIST: the table, native-endian s16 entries (lueur_net.plan.netem_tables).
"""

from __future__ import annotations

import struct
from typing import Any

from pyroute2.netlink import nla

from lueur_net.dataplane.tc.units import U32_MAX, ns_to_ticks, probability_u32
from lueur_net.plan import netem_tables
from lueur_net.plan.model import LossParams, NetemConfig, ProbabilityParams


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
