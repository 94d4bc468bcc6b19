"""The netlink messages our netem/TBF encoder builds, decoded back by pyroute2 field by field (no root needed).

`tc -d` could show iproute2's own message only where sch_netem exists (the VM tier); here every field is checked
against the kernel's definition instead (include/uapi/linux/pkt_sched.h)."""

from __future__ import annotations

import struct

import pytest

from lueur_net.plan.netem_tables import clamp_table, normal_table, pareto_table, table_bound
from lueur_net.dataplane.netlink import TC_H_ROOT
from lueur_net.dataplane.tc.encode import decode, dist_entries, encode, qdisc_message
from lueur_net.dataplane.tc.netem import netem_values
from lueur_net.dataplane.tc.tbf import tbf_values
from lueur_net.dataplane.tc.units import U32_MAX, probability_u32
from lueur_net.plan import DelayParams, LossParams, NetemConfig, ProbabilityParams, rate_params


def roundtrip(kind: str, options: dict) -> tuple:
    message = decode(encode(qdisc_message(kind, 7, 0x4C4E0000, TC_H_ROOT, options)))
    assert (message["index"], message["handle"], message["parent"]) == (7, 0x4C4E0000, TC_H_ROOT)
    assert message.get_attr("TCA_KIND") == kind
    return message, message.get_attr("TCA_OPTIONS")


def test_delay_jitter_normal_table_and_correlation() -> None:
    config = NetemConfig(delay=DelayParams(delay_ns=100_000_000, jitter_ns=20_000_000, distribution="normal",
                                           correlation=0.25))
    _, options = roundtrip("netem", netem_values(config))
    assert options["delay"] == 100_000_000 >> 6 and options["jitter"] == 20_000_000 >> 6  # psched ticks
    assert options.get_attr("TCA_NETEM_LATENCY64") == 100_000_000
    assert options.get_attr("TCA_NETEM_JITTER64") == 20_000_000
    assert options["limit"] == 10000
    assert options.get_attr("TCA_NETEM_CORR")["delay_corr"] == probability_u32(0.25)
    assert dist_entries(options.get_attr("TCA_NETEM_DELAY_DIST")) == normal_table()


def test_uniform_sends_no_table_and_fixed_delay_no_jitter() -> None:
    _, uniform = roundtrip("netem", netem_values(NetemConfig(delay=DelayParams(delay_ns=5_000_000,
                                                                               jitter_ns=1_000_000))))
    assert uniform.get_attr("TCA_NETEM_DELAY_DIST") is None
    _, fixed = roundtrip("netem", netem_values(NetemConfig(delay=DelayParams(delay_ns=5_000_000,
                                                                             distribution="normal"))))
    assert fixed.get_attr("TCA_NETEM_DELAY_DIST") is None and fixed["jitter"] == 0


def test_min_max_are_baked_into_the_table() -> None:
    delay = DelayParams(delay_ns=100_000_000, jitter_ns=20_000_000, distribution="normal", min_ns=80_000_000,
                        max_ns=150_000_000)
    _, options = roundtrip("netem", netem_values(NetemConfig(delay=delay)))
    table = dist_entries(options.get_attr("TCA_NETEM_DELAY_DIST"))
    assert table == clamp_table(normal_table(), table_bound(80_000_000, delay.delay_ns, delay.jitter_ns),
                                table_bound(150_000_000, delay.delay_ns, delay.jitter_ns))
    assert min(table) == -8192 and max(table) == round(2.5 * 8192)


def test_pareto_shape_table() -> None:
    delay = DelayParams(delay_ns=60_000_000, jitter_ns=30_000_000, distribution="pareto", pareto_shape=3.0)
    _, options = roundtrip("netem", netem_values(NetemConfig(delay=delay)))
    assert dist_entries(options.get_attr("TCA_NETEM_DELAY_DIST")) == pareto_table(3.0)


def test_random_loss_with_correlation() -> None:
    _, options = roundtrip("netem", netem_values(NetemConfig(loss=LossParams(probability=0.05, correlation=0.3))))
    assert options["loss"] == probability_u32(0.05)
    assert options.get_attr("TCA_NETEM_CORR")["loss_corr"] == probability_u32(0.3)
    assert options.get_attr("TCA_NETEM_LOSS") is None


def test_gilbert_elliott_loss() -> None:
    loss = LossParams(model="gilbert-elliott", p=0.01, r=0.25, loss_bad=0.8, loss_good=0.001)
    _, options = roundtrip("netem", netem_values(NetemConfig(loss=loss)))
    assert options["loss"] == 0
    model = options.get_attr("TCA_NETEM_LOSS").get_attr("NETEM_LOSS_GE")
    assert model == {"p": probability_u32(0.01), "r": probability_u32(0.25), "h": probability_u32(0.2),
                     "k1": probability_u32(0.001)}


def test_four_state_loss() -> None:
    loss = LossParams(model="4-state", p13=0.05, p31=0.9, p32=0.01, p14=0.001, p23=0.5)
    _, options = roundtrip("netem", netem_values(NetemConfig(loss=loss)))
    model = options.get_attr("TCA_NETEM_LOSS").get_attr("NETEM_LOSS_GI")
    assert model == {name: probability_u32(getattr(loss, name)) for name in ("p13", "p31", "p32", "p14", "p23")}


def test_duplicate_corrupt_reorder() -> None:
    config = NetemConfig(delay=DelayParams(delay_ns=10_000_000), duplicate=ProbabilityParams(0.02, 0.1),
                         corrupt=ProbabilityParams(0.03, 0.2), reorder=ProbabilityParams(0.25, 0.5, gap=5))
    _, options = roundtrip("netem", netem_values(config))
    assert options["duplicate"] == probability_u32(0.02)
    assert options.get_attr("TCA_NETEM_CORR")["dup_corr"] == probability_u32(0.1)
    assert options.get_attr("TCA_NETEM_CORRUPT") == {"probability": probability_u32(0.03),
                                                     "correlation": probability_u32(0.2)}
    assert options.get_attr("TCA_NETEM_REORDER") == {"probability": probability_u32(0.25),
                                                     "correlation": probability_u32(0.5)}
    assert options["gap"] == 5
    _, default_gap = roundtrip("netem", netem_values(NetemConfig(delay=DelayParams(delay_ns=1),
                                                                 reorder=ProbabilityParams(0.1))))
    assert default_gap["gap"] == 1


@pytest.mark.parametrize("rate", [125_000, 2**32 + 5])
def test_netem_rate_and_rate64(rate: int) -> None:
    _, options = roundtrip("netem", netem_values(NetemConfig(rate_bytes_per_s=rate)))
    assert options.get_attr("TCA_NETEM_RATE")["rate"] == min(rate, U32_MAX)
    assert options.get_attr("TCA_NETEM_RATE64") == (rate if rate >= U32_MAX else None)


def test_tbf_parameters() -> None:
    rate = rate_params(512 * 1024)
    _, options = roundtrip("tbf", tbf_values(rate))
    parms = options.get_attr("TCA_TBF_PARMS")
    assert parms["rate"] == rate.wire_rate_bytes_per_s and parms["rate_linklayer"] == 1
    assert parms["limit"] == rate.limit_bytes
    assert parms["buffer"] == (rate.burst_bytes * 1_000_000_000 // rate.wire_rate_bytes_per_s) >> 6
    assert options.get_attr("TCA_TBF_BURST") == rate.burst_bytes
    assert options.get_attr("TCA_TBF_RATE64") is None


def test_probabilities_scale_like_iproute2() -> None:
    assert probability_u32(0.0) == 0 and probability_u32(1.0) == U32_MAX
    assert probability_u32(0.5) == round(0.5 * U32_MAX)


def test_dist_is_native_s16() -> None:
    config = NetemConfig(delay=DelayParams(delay_ns=1_000_000, jitter_ns=100_000, distribution="normal"))
    blob = netem_values(config)["attrs"][0][1]
    assert blob == struct.pack(f"={len(normal_table())}h", *normal_table()) and len(blob) == 8192
