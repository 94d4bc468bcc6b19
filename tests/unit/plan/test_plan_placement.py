"""Every fault type x side x direction lands on the right end, hook and backend, with the right parameters."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from capability_sets import host_like
from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.plan import (
    BlackholeParams,
    Capabilities,
    DelayParams,
    DnsParams,
    HttpErrorParams,
    JitterParams,
    LossParams,
    PoliceParams,
    ProbabilityParams,
    RateParams,
    ResetParams,
    plan_item,
    render_plan,
)
from lueur_net.scenario import Item

STOCK = Capabilities.all_present()
HOST = host_like()

FAULTS: dict[str, dict[str, Any]] = {
    "latency": {"mean": 100, "stddev": 10},
    "jitter": {"amplitude": 40, "frequency": 5},
    "bandwidth": {"rate": 512, "unit": "KBps"},
    "packetloss": {"rate": 0.1},
    "blackhole": {},
    "httperror": {"status_code": 503, "probability": 0.5},
    "dns": {"kind": "servfail"},
    "reset": {"probability": 0.2},
    "police": {"rate": 100, "unit": "KBps"},
    "duplicate": {"probability": 0.1},
    "corrupt": {"probability": 0.1},
}
PARAM_TYPES = {
    "latency": DelayParams,
    "jitter": JitterParams,
    "bandwidth": RateParams,
    "packetloss": LossParams,
    "blackhole": BlackholeParams,
    "httperror": HttpErrorParams,
    "dns": DnsParams,
    "reset": ResetParams,
    "police": PoliceParams,
    "duplicate": ProbabilityParams,
    "corrupt": ProbabilityParams,
}
STOCK_BACKEND = {
    "latency": "netem", "jitter": "netem", "bandwidth": "tbf", "packetloss": "netem", "blackhole": "ebpf",
    "httperror": "ebpf", "dns": "ebpf", "reset": "ebpf", "police": "ebpf", "duplicate": "netem", "corrupt": "netem",
}
HOST_BACKEND = dict(STOCK_BACKEND, latency="nfqueue", jitter="nfqueue", packetloss="ebpf")
# lueur's meaning (a proxy; direction seen from the proxy), DESIGN.md's table: the test's single source of truth.
TRAFFIC = {("server", "ingress"): "responses", ("server", "egress"): "requests",
           ("client", "ingress"): "requests", ("client", "egress"): "responses"}
# Where that traffic crosses each end of the lab's path: requests leave the client, responses leave the server.
CROSSES = {("client", "requests"): "egress", ("client", "responses"): "ingress",
           ("server", "requests"): "ingress", ("server", "responses"): "egress"}


def make_item(*faults: dict[str, Any], strategy: dict[str, Any] | None = None) -> Item:
    context: dict[str, Any] = {"upstreams": ["http://localhost:9090/"], "faults": list(faults)}
    if strategy is not None:
        context["strategy"] = strategy
    return Item.model_validate({"call": {"method": "GET", "url": "http://localhost:9090/"}, "context": context})


@pytest.mark.parametrize(
    ("fault_type", "side", "direction"),
    list(itertools.product(FAULTS, ("client", "server"), ("ingress", "egress"))),
)
@pytest.mark.parametrize("capabilities", [STOCK, HOST], ids=["stock", "host"])
def test_every_type_side_direction(fault_type: str, side: str, direction: str, capabilities: Capabilities) -> None:
    item = make_item({"type": fault_type, "side": side, "direction": direction, **FAULTS[fault_type]})
    if capabilities is HOST and fault_type in ("duplicate", "corrupt"):
        with pytest.raises(EnvironmentProblem):  # netem only
            plan_item(item, capabilities)
        return
    plan = plan_item(item, capabilities)
    (fault,) = plan.faults
    expected_backend = (STOCK_BACKEND if capabilities is STOCK else HOST_BACKEND)[fault_type]
    assert fault.backend == expected_backend
    assert isinstance(fault.params, PARAM_TYPES[fault_type])
    traffic = "responses" if fault_type in ("httperror", "dns") else TRAFFIC[(side, direction)]
    assert fault.traffic == traffic
    assert (fault.requested_side, fault.requested_direction) == (side, direction)
    if fault.backend in ("netem", "tbf"):  # on the sending end's egress (the peer is ours)
        assert (fault.side, fault.hook) == (("client" if traffic == "requests" else "server"), "egress")
        assert [hook.key for hook in plan.hooks] == [f"{fault.side}/{fault.hook}"]
    elif fault.backend == "nfqueue":  # on the receiving end's ingress
        assert (fault.side, fault.hook) == (("server" if traffic == "requests" else "client"), "ingress")
        assert plan.hooks == ()
    elif fault_type in ("httperror", "dns"):  # rewrites answers: the response hook of the side asked for
        assert (fault.side, fault.hook) == (side, "ingress" if side == "client" else "egress")
        assert plan.hooks == ()
    else:  # eBPF: on the end `side` names, where the traffic crosses it
        assert (fault.side, fault.hook) == (side, CROSSES[(side, traffic)])
        assert plan.hooks == ()
    assert fault.id in render_plan(plan)
    assert plan.to_dict()["faults"][0]["backend"] == expected_backend


@pytest.mark.parametrize("fault_type", ["duplicate", "corrupt"])
def test_netem_only_types_refused_without_netem(fault_type: str) -> None:
    item = make_item({"type": fault_type, **FAULTS[fault_type]})
    with pytest.raises(EnvironmentProblem) as error:
        plan_item(item, HOST)
    assert "netem" in str(error.value) and "modprobe sch_netem" in str(error.value)


def test_both_directions_give_two_faults() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 50, "direction": "both", "side": "client"}), STOCK)
    assert [f.id for f in plan.faults] == ["f0.ingress", "f0.egress"]
    assert {(f.side, f.hook) for f in plan.faults} == {("server", "egress"), ("client", "egress")}
    assert {f.id: f.traffic for f in plan.faults} == {"f0.ingress": "requests", "f0.egress": "responses"}
    assert len(plan.hooks) == 2


@pytest.mark.parametrize(("side", "direction", "traffic"), [
    ("server", "ingress", "responses"),  # lueur's default: the upstream's answers
    ("server", "egress", "requests"),
    ("client", "ingress", "requests"),
    ("client", "egress", "responses"),
])
def test_side_and_direction_mean_what_they_mean_in_lueur(side: str, direction: str, traffic: str) -> None:
    from lueur_net.plan import traffic_hit

    assert traffic_hit(side, direction) == traffic
    plan = plan_item(make_item({"type": "bandwidth", "rate": 512, "unit": "KBps", "side": side,
                                "direction": direction}), STOCK)
    assert plan.faults[0].traffic == traffic
    assert plan.faults[0].side == ("client" if traffic == "requests" else "server")  # TBF on the sender's egress


def test_the_reference_files_bandwidth_cap_throttles_the_responses_and_its_blackhole_the_requests() -> None:
    cap = plan_item(make_item({"type": "bandwidth", "rate": 512, "unit": "KBps"}), HOST)  # side/direction defaults
    assert (cap.faults[0].traffic, cap.faults[0].side, cap.faults[0].hook) == ("responses", "server", "egress")
    hole = plan_item(make_item({"type": "blackhole", "direction": "egress"}), HOST)
    assert (hole.faults[0].traffic, hole.faults[0].side, hole.faults[0].hook) == ("requests", "server", "ingress")


def test_ingress_stays_ingress_without_owned_peer() -> None:
    plan = plan_item(make_item({"type": "latency", "mean": 50, "side": "client", "direction": "egress"}), STOCK,
                     peer_is_ours=False)  # responses, which arrive at the client end
    assert (plan.faults[0].side, plan.faults[0].hook) == ("client", "ingress")
    assert "ifb" in render_plan(plan)


def test_ebpf_missing_is_refused_with_hint() -> None:
    caps = HOST.with_features(bpf_load=False)
    with pytest.raises(EnvironmentProblem) as error:
        plan_item(make_item({"type": "httperror", "status_code": 500}), caps)
    assert "bpf_load" in str(error.value)


def test_blackhole_falls_back_to_netem_total_loss() -> None:
    caps = STOCK.with_features(bpf_load=False)
    plan = plan_item(make_item({"type": "blackhole", "side": "server", "direction": "egress"}), caps)
    assert plan.faults[0].backend == "netem"
    netem = plan.hooks[0].segments[0].config.netem
    assert netem is not None and netem.loss == LossParams(model="random", probability=1.0)


def test_reorder_needs_latency_on_same_hook() -> None:
    with pytest.raises(BadInput, match="reorder"):
        plan_item(make_item({"type": "reorder", "probability": 0.2}), STOCK)
    plan = plan_item(
        make_item({"type": "latency", "mean": 20}, {"type": "reorder", "probability": 0.25, "gap": 5}), STOCK
    )
    netem = plan.hooks[0].segments[0].config.netem
    assert netem is not None and netem.reorder == ProbabilityParams(probability=0.25, gap=5)


def test_latency_distributions() -> None:
    normal = plan_item(make_item({"type": "latency", "mean": 100, "stddev": 20, "min": 50, "max": 130}), STOCK)
    assert normal.faults[0].params == DelayParams(delay_ns=100_000_000, jitter_ns=20_000_000, distribution="normal",
                                                  min_ns=50_000_000, max_ns=130_000_000)
    uniform = plan_item(make_item({"type": "latency", "distribution": "uniform", "min": 10, "max": 30}), STOCK)
    assert uniform.faults[0].params == DelayParams(delay_ns=20_000_000, jitter_ns=10_000_000)
    fixed = plan_item(make_item({"type": "latency", "mean": 70, "stddev": 0}), STOCK)
    assert fixed.faults[0].params == DelayParams(delay_ns=70_000_000)
    pareto = plan_item(make_item({"type": "latency", "distribution": "pareto", "shape": 3, "scale": 40}), STOCK)
    # iproute2's pareto table: X = x_m * u^(-1/3) is mu + sigma * t with mu = 1.5 x_m, sigma = 0.75 x_m.
    assert pareto.faults[0].params == DelayParams(delay_ns=60_000_000, jitter_ns=30_000_000, distribution="pareto")
    mixed = plan_item(
        make_item({"type": "latency", "distribution": "pareto-normal", "mean": 80, "stddev": 15, "shape": 3,
                   "scale": 10}), STOCK)
    assert mixed.faults[0].params == DelayParams(delay_ns=80_000_000, jitter_ns=15_000_000, distribution="paretonormal")


def test_gilbert_elliott_loss_params() -> None:
    plan = plan_item(make_item({"type": "packetloss", "model": "gilbert-elliott", "p": 0.02, "r": 0.3,
                                "loss_bad": 0.9}), STOCK)
    assert plan.faults[0].params == LossParams(model="gilbert-elliott", p=0.02, r=0.3, loss_bad=0.9, loss_good=0.0)
    assert "gemodel 2% 30% 90% 0%" in render_plan(plan)  # tc takes 1-h (loss in the bad state) itself


def test_default_packet_loss_is_five_percent() -> None:
    plan = plan_item(make_item({"type": "packetloss"}), STOCK)
    assert plan.faults[0].params == LossParams(model="random", probability=0.05)


def test_bandwidth_units_and_derived_tbf() -> None:
    plan = plan_item(make_item({"type": "bandwidth", "rate": 512, "unit": "KBps"}), STOCK)
    rate = plan.faults[0].params
    assert isinstance(rate, RateParams)
    assert rate.rate_bytes_per_s == 512_000  # KBps is decimal, as in lueur
    assert rate.wire_rate_bytes_per_s == pytest.approx(512_000 * 1514 / 1448, abs=1)
    assert rate.burst_bytes >= 2 * 1514 and rate.limit_bytes >= 64 * 1024 + rate.burst_bytes


def test_repeat_step_grows_latency_per_iteration() -> None:
    item = make_item({"type": "latency", "mean": 100}, strategy={"mode": "repeat", "count": 5, "step": 50})
    means = [plan_item(item, STOCK, iteration=i).faults[0].params.delay_ns for i in range(4)]  # type: ignore[union-attr]
    assert means == [100_000_000, 150_000_000, 200_000_000, 250_000_000]
    assert plan_item(item, STOCK, baseline=True).faults == ()


def test_windows_from_periods() -> None:
    item = make_item({"type": "latency", "mean": 100, "period": ["start:1s,duration:2s", "start:5s,duration:1s"]})
    fault = plan_item(item, STOCK).faults[0]
    assert [(w.start_s, w.end_s) for w in fault.windows] == [(1.0, 3.0), (5.0, 6.0)]
    load = make_item({"type": "latency", "mean": 100, "period": "start:10%,duration:20%"},
                     strategy={"mode": "load", "duration": "10s", "clients": 1, "rps": 1})
    plan = plan_item(load, STOCK)
    assert plan.anchor == "run"
    assert [(w.start_s, w.end_s) for w in plan.faults[0].windows] == [(1.0, 3.0)]


def test_render_names_real_interfaces_when_the_path_is_known() -> None:
    from lueur_net.lab.topology import Endpoint, Path

    plan = plan_item(make_item({"type": "latency", "mean": 10}), STOCK)
    path = Path(client=Endpoint("lueur-c", "veth-c", 2, "10.0.0.2"), server=Endpoint(None, "veth-s", 9, "10.0.0.1"))
    text = render_plan(plan, path)
    assert "<client-if> = veth-c in namespace lueur-c" in text and "<server-if> = veth-s in the host namespace" in text


def test_an_answer_rewrite_is_planned_once_on_the_response_hook_even_for_both_directions() -> None:
    item = make_item({"type": "httperror", "status_code": 503, "direction": "both"})
    plan = plan_item(item, STOCK)
    (fault,) = plan.faults  # not one per direction: each answer is rewritten once
    assert (fault.id, fault.side, fault.hook, fault.traffic) == ("f0", "server", "egress", "responses")


def test_what_the_backend_cannot_express_is_refused_at_plan_time() -> None:
    correlated = make_item({"type": "packetloss", "rate": 0.1, "correlation": 0.3})
    assert plan_item(correlated, STOCK).faults[0].backend == "netem"  # netem has correlation
    with pytest.raises(EnvironmentProblem, match="correlation"):
        plan_item(correlated, HOST)  # eBPF draws each packet independently
    periods = [f"start:{i * 100}ms,duration:50ms" for i in range(17)]
    many = make_item({"type": "blackhole", "period": periods}, strategy={"mode": "load", "duration": "10s",
                                                                         "clients": 1, "rps": 1})
    with pytest.raises(BadInput, match="at most 16"):
        plan_item(many, HOST)


def test_blackhole_only_reaches_the_plan_and_needs_ebpf() -> None:
    item = make_item({"type": "blackhole", "only": "new"})
    (fault,) = plan_item(item, HOST).faults
    assert (fault.backend, fault.params.only) == ("ebpf", "new")
    assert "drop connection attempts" in render_plan(plan_item(item, HOST))
    no_bpf = dataclasses.replace(STOCK, bpf_load=False)
    assert plan_item(make_item({"type": "blackhole"}), no_bpf).faults[0].backend == "netem"
    with pytest.raises(EnvironmentProblem, match="only: new"):
        plan_item(item, no_bpf)


def test_an_httperror_body_is_never_ignored_silently() -> None:
    plan = plan_item(make_item({"type": "httperror", "status_code": 503, "body": "busy"}), HOST)
    assert any("'body' is not sent" in note for note in plan.notes)
    assert "'body' is not sent" in render_plan(plan)
