"""How tc faults on one hook compose, and how windows cut a hook's timeline into segments."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lueur_net.errors import BadInput
from lueur_net.plan import DelayParams, JitterParams, LossParams, ProbabilityParams, plan_item, render_plan
from lueur_net.plan.capabilities import Capabilities
from lueur_net.scenario import Item

STOCK = Capabilities.all_present()


def make_item(*faults: dict[str, Any]) -> Item:
    return Item.model_validate(
        {"call": {"method": "GET", "url": "http://localhost:9090/"}, "context": {"faults": list(faults)}}
    )


def only_config(*faults: dict[str, Any]) -> Any:
    plan = plan_item(make_item(*faults), STOCK)
    (hook,) = plan.hooks
    (segment,) = hook.segments
    return segment.config


def test_latency_and_loss_share_one_netem() -> None:
    config = only_config({"type": "latency", "mean": 100, "stddev": 0}, {"type": "packetloss", "rate": 0.1})
    assert config.netem.delay == DelayParams(delay_ns=100_000_000)
    assert config.netem.loss == LossParams(model="random", probability=0.1)
    assert config.tbf is None


def test_two_latencies_add() -> None:
    config = only_config(
        {"type": "latency", "mean": 100, "stddev": 30}, {"type": "latency", "mean": 50, "stddev": 40}
    )
    assert config.netem.delay.delay_ns == 150_000_000
    assert config.netem.delay.jitter_ns == 50_000_000  # sqrt(30^2 + 40^2)
    assert config.netem.delay.distribution == "normal"


def test_uniform_and_normal_become_normal() -> None:
    config = only_config(
        {"type": "latency", "distribution": "uniform", "min": 10, "max": 30}, {"type": "latency", "mean": 5, "stddev": 1}
    )
    assert config.netem.delay.distribution == "normal"
    assert config.netem.delay.delay_ns == 25_000_000


def test_bandwidth_with_delay_is_netem_root_and_tbf_child() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 40}, {"type": "bandwidth", "rate": 1, "unit": "MBps"}),
                     STOCK)
    config = plan.hooks[0].segments[0].config
    assert config.netem is not None and config.tbf is not None
    text = render_plan(plan)
    assert "root handle 4c4e: netem" in text and "parent 4c4e:1 handle 4c4f: tbf" in text


def test_two_caps_smallest_wins() -> None:
    config = only_config({"type": "bandwidth", "rate": 2, "unit": "MBps"}, {"type": "bandwidth", "rate": 300,
                                                                          "unit": "KBps"})
    assert config.tbf.rate_bytes_per_s == 300_000  # KBps is decimal, as in lueur
    assert config.netem is None


def test_random_losses_combine_independently() -> None:
    config = only_config({"type": "packetloss", "rate": 0.1}, {"type": "packetloss", "rate": 0.2,
                                                               "correlation": 0.25})
    assert config.netem.loss.probability == pytest.approx(1 - 0.9 * 0.8)
    assert config.netem.loss.correlation == 0.25


def test_gilbert_elliott_and_random_loss_conflict_only_when_simultaneous() -> None:
    ge = {"type": "packetloss", "model": "gilbert-elliott", "p": 0.01}
    with pytest.raises(BadInput, match="one loss model"):
        plan_item(make_item(ge, {"type": "packetloss", "rate": 0.1}), STOCK)
    plan = plan_item(make_item(dict(ge, period="start:0s,duration:1s"),
                               {"type": "packetloss", "rate": 0.1, "period": "start:1s,duration:1s"}), STOCK)
    models = [segment.config.netem.loss.model for segment in plan.hooks[0].segments if segment.config.netem]
    assert models == ["gilbert-elliott", "random"]


def test_duplicate_corrupt_and_latency() -> None:
    config = only_config({"type": "latency", "mean": 10}, {"type": "duplicate", "probability": 0.01},
                         {"type": "corrupt", "probability": 0.02, "correlation": 0.5})
    assert config.netem.duplicate == ProbabilityParams(probability=0.01)
    assert config.netem.corrupt == ProbabilityParams(probability=0.02, correlation=0.5)


def test_windows_cut_segments() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 100},
                               {"type": "packetloss", "rate": 0.5, "period": "start:1s,duration:1s"}), STOCK)
    segments = plan.hooks[0].segments
    assert [(s.start_s, s.end_s, s.fault_ids) for s in segments] == [
        (0.0, 1.0, ("f0",)), (1.0, 2.0, ("f0", "f1")), (2.0, None, ("f0",))
    ]
    assert segments[0].config.netem.loss is None and segments[1].config.netem.loss is not None


def test_several_windows_and_gaps() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 100,
                                "period": ["start:1s,duration:1s", "start:3s,duration:1s"]}), STOCK)
    segments = plan.hooks[0].segments
    assert [(s.start_s, s.end_s, s.config.empty) for s in segments] == [
        (0.0, 1.0, True), (1.0, 2.0, False), (2.0, 3.0, True), (3.0, 4.0, False), (4.0, None, True)
    ]


def test_adjacent_windows_merge() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 100,
                                "period": ["start:1s,duration:1s", "start:2s,duration:1s"]}), STOCK)
    assert [(s.start_s, s.end_s) for s in plan.hooks[0].segments] == [(0.0, 1.0), (1.0, 3.0), (3.0, None)]


def test_jitter_rides_on_latency() -> None:
    config = only_config({"type": "latency", "mean": 100}, {"type": "jitter", "amplitude": 30, "frequency": 10})
    assert config.netem.delay.delay_ns == 100_000_000
    assert config.jitter == (JitterParams(amplitude_ns=30_000_000, frequency_hz=10.0),)
    assert config.netem.with_extra_delay(5_000_000).delay.delay_ns == 105_000_000


def test_requests_and_responses_do_not_compose() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 100, "side": "client", "direction": "egress"},
                               {"type": "latency", "mean": 50, "side": "client", "direction": "ingress"}), STOCK)
    assert [h.key for h in plan.hooks] == ["client/egress", "server/egress"]


def test_client_ingress_and_server_egress_compose_on_one_qdisc() -> None:
    # Both hit responses: with an owned peer they share the server end's egress netem.
    config = only_config({"type": "latency", "mean": 100, "side": "client", "direction": "ingress"},
                         {"type": "packetloss", "rate": 0.05, "side": "server", "direction": "egress"})
    assert config.netem.delay.delay_ns == 100_000_000 and config.netem.loss.probability == 0.05


def test_pareto_shape_other_than_three() -> None:
    config = only_config({"type": "latency", "distribution": "pareto", "shape": 2.5, "scale": 10})
    assert config.netem.delay.pareto_shape == 2.5
    assert math.isclose(config.netem.delay.delay_ns, 10_000_000 * 2.5 / 1.5, rel_tol=1e-6)


def test_render_follows_what_the_backend_does_between_windows() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 40},
                               {"type": "bandwidth", "rate": 256, "unit": "KBps", "period": "start:1s,duration:1s"},
                               {"type": "packetloss", "rate": 0.1, "period": "start:3s,duration:1s"}), STOCK)
    text = render_plan(plan)
    # netem+tbf -> netem: the root is rebuilt; an empty segment would keep pass-through qdiscs
    assert "tc qdisc del dev <server-if> root\n  tc qdisc replace dev <server-if> root handle 4c4e: netem" in text
    only_window = plan_item(make_item({"type": "bandwidth", "rate": 1, "unit": "MBps",
                                       "period": "start:1s,duration:1s"}), STOCK)
    text = render_plan(only_window)
    assert "tbf rate 100Gbit" in text and text.rstrip().endswith("tc qdisc del dev <server-if> root")


def test_render_names_the_nfqueue_chain_of_each_hook() -> None:
    """Without netem a latency goes to nfqueue; on one end (as inject plans it), what leaves goes through OUTPUT and
    what arrives through PREROUTING."""
    from dataclasses import replace

    plan = plan_item(make_item({"type": "latency", "mean": 40, "direction": "both"}), replace(STOCK, netem=False),
                     peer_is_ours=False, ends=("client",))
    assert {(fault.backend, fault.hook) for fault in plan.faults} == {("nfqueue", "egress"), ("nfqueue", "ingress")}
    text = render_plan(plan)
    assert "iptables -t mangle -I OUTPUT -o <client-if> -d <peer> -m mark ! --mark B/B -j NFQUEUE" in text
    assert "iptables -t mangle -I PREROUTING -i <client-if> -s <peer> -m mark ! --mark B/B -j NFQUEUE" in text
