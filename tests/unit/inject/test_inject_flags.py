"""`lueur-net inject`'s pure side: lueur-style flags -> the scenario's fault models -> a plan on the target's
interface; windows relative to --duration; one-line errors with exit 2."""

from __future__ import annotations

import pytest

from lueur_net.errors import BadInput
from lueur_net.inject.flags import (
    FLAG_FAULTS,
    build_request,
    faults_from_flags,
    parse_duration,
    parse_scope,
    plan_request,
)
from lueur_net.plan import Capabilities
from lueur_net.plan.model import TrafficScope
from lueur_net.scenario import LatencyFault, PacketLossFault

STOCK = Capabilities.all_present()


def request(duration: str | None = "10s", **flags: object):
    return build_request(flags, duration=duration, faults_file=None)


def test_latency_flags_become_the_scenario_latency_model() -> None:
    (fault,) = faults_from_flags({"with_latency": True, "latency_mean": 200.0, "latency_stddev": 0.0,
                                  "latency_direction": "ingress"})
    assert isinstance(fault, LatencyFault)
    assert (fault.mean, fault.stddev, fault.distribution, fault.direction, fault.side) == \
        (200.0, 0.0, "normal", "ingress", "server")


def test_defaults_are_the_scenario_and_lueur_cli_defaults() -> None:
    latency, loss = faults_from_flags({"with_latency": True, "with_packet_loss": True})
    assert (latency.mean, latency.stddev, latency.direction) == (100.0, 20.0, "both")  # lueur CLI: both
    assert isinstance(loss, PacketLossFault) and loss.loss_probability == 0.05 and loss.direction == "ingress"


def test_lueur_spelling_of_pareto_normal_is_accepted() -> None:
    (fault,) = faults_from_flags({"with_latency": True, "latency_distribution": "pareto_normal"})
    assert fault.distribution == "pareto-normal"


def test_extensions_map_to_their_models() -> None:
    faults = faults_from_flags({"with_police": True, "police_rate": 512, "police_unit": "KiBps",
                                "with_reset": True, "with_dns": True, "dns_rate": 0.25, "dns_kind": "servfail"})
    by_type = {fault.type: fault for fault in faults}
    assert by_type["police"].bytes_per_second == 512 * 1024
    assert by_type["reset"].probability == 1.0
    assert (by_type["dns"].probability, by_type["dns"].kind) == (0.25, "servfail")


def test_ingress_means_arriving_in_the_namespace() -> None:
    """The namespace is the attached path's client end: what arrives there goes on its ingress hook."""
    plan = plan_request(request(with_packet_loss=True, packet_loss_direction="ingress"), STOCK)
    (fault,) = plan.faults
    assert (fault.side, fault.hook) == ("client", "ingress")
    plan = plan_request(request(with_packet_loss=True, packet_loss_direction="egress"), STOCK)
    assert [(f.side, f.hook) for f in plan.faults] == [("client", "egress")]
    plan = plan_request(request(with_latency=True, latency_direction="ingress", latency_stddev=0), STOCK)
    assert {(f.side, f.hook) for f in plan.faults} == {("client", "ingress")}
    assert all(hook.side == "client" for hook in plan.hooks)


def test_sched_windows_are_relative_to_duration() -> None:
    plan = plan_request(request("10m", with_packet_loss=True,
                                packet_loss_sched="start:5%,duration:20%;start:60%,duration:15%"), STOCK)
    (fault,) = plan.faults
    assert [(w.start_s, w.end_s) for w in fault.windows] == [(30.0, 150.0), (360.0, 450.0)]


def test_sched_without_duration_runs_until_stopped() -> None:
    plan = plan_request(request(None, with_blackhole=True, blackhole_sched="start:30s"), STOCK)
    assert [(w.start_s, w.end_s) for w in plan.faults[0].windows] == [(30.0, None)]


def test_relative_sched_without_duration_is_refused() -> None:
    with pytest.raises(BadInput, match="relative.*needs --duration"):
        request(None, with_blackhole=True, blackhole_sched="start:5%")


@pytest.mark.parametrize(("flags", "message"), [
    ({"with_latency": True, "latency_mean": -5.0}, "--latency-mean: "),
    ({"with_packet_loss": True, "packet_loss_rate": 1.5}, "--packet-loss-rate: "),
    ({"with_latency": True, "latency_sched": "begin:3s"}, "--latency-sched: "),
    ({"latency_mean": 200.0}, "--latency-mean: given without --with-latency"),
    ({"with_duplicate": True}, "--duplicate-probability: required with --with-duplicate"),
])
def test_bad_flags_are_one_line_naming_the_flag(flags: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        request(**flags)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_no_fault_is_refused() -> None:
    with pytest.raises(BadInput, match="no fault given"):
        request()


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300.0), ("30s", 30.0), ("90", 90.0), (None, None)])
def test_duration(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "two minutes", "2d"])
def test_bad_duration(text: str) -> None:
    with pytest.raises(BadInput, match="^--duration: "):
        parse_duration(text)


def test_scope_parsing() -> None:
    assert parse_scope("10.1.0.0/16:5432", None, None) == TrafficScope(peer="10.1.0.0/16", peer_port=5432)
    assert parse_scope("10.1.2.3", "8080", "udp") == TrafficScope(peer="10.1.2.3/32", port=8080, protocol="udp")
    assert parse_scope(None, None, None).everything
    for bad, message in ((("fe80::1", None, None), "IPv4"), (("10.0.0.1:0", None, None), "1..65535"),
                         (("10.0.0.1:80", "81", None), "give one")):
        with pytest.raises(BadInput, match=message):
            parse_scope(*bad)


def test_every_planned_fault_carries_the_scope() -> None:
    built = build_request({"with_packet_loss": True}, duration="5s", faults_file=None, to="10.9.0.0/24", port=None,
                          protocol="tcp")
    plan = plan_request(built, STOCK)
    assert plan.faults[0].backend == "ebpf"  # netem would take every packet: the scope moves loss to eBPF
    assert all(fault.scope == TrafficScope(peer="10.9.0.0/24", protocol="tcp") for fault in plan.faults)
    assert plan.faults[0].to_dict()["scope"]["peer"] == "10.9.0.0/24"


def test_no_scope_means_every_packet_not_the_peer() -> None:
    plan = plan_request(request(with_blackhole=True), STOCK)
    assert plan.faults[0].scope == TrafficScope() and plan.faults[0].scope.everything


def test_a_scoped_latency_goes_to_nfqueue() -> None:
    built = build_request({"with_latency": True}, duration="5s", faults_file=None, to=None, port="8080",
                          protocol=None)
    assert [fault.backend for fault in plan_request(built, STOCK).faults] == ["nfqueue", "nfqueue"]


def test_a_scope_tc_cannot_honour_is_refused_with_the_reason() -> None:
    """Shaping is TBF's alone, and TBF's qdisc takes the whole interface."""
    built = build_request({"with_bandwidth": True}, duration="5s", faults_file=None, to=None, port="8080",
                          protocol=None)
    with pytest.raises(BadInput, match=r"f0.*bandwidth.*cannot be limited to port 8080.*tbf"):
        plan_request(built, STOCK)


def test_faults_file_takes_a_scenario_items_fault_list(tmp_path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("title: t\nitems:\n- call: {method: GET, url: 'http://x/'}\n  context:\n    faults:\n"
                    "    - {type: packetloss, rate: 0.2}\n    - {type: latency, mean: 50, stddev: 0}\n")
    built = build_request({}, duration="1m", faults_file=str(path))
    assert [fault.type for fault in built.faults] == ["packetloss", "latency"]
    with pytest.raises(BadInput, match="exclude each other"):
        build_request({"with_reset": True}, duration=None, faults_file=str(path))


def test_faults_file_errors_point_into_the_file(tmp_path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text("title: t\nitems:\n- call: {method: GET, url: 'http://x/'}\n  context:\n    faults:\n"
                    "    - {type: packetloss, rate: 2}\n")
    with pytest.raises(BadInput, match=rf"{path.name}:6:"):
        build_request({}, duration=None, faults_file=str(path))


def test_dry_run_commands_show_the_scope_not_the_path_peer() -> None:
    from lueur_net.plan import render_plan
    from tests.capability_sets import host_like

    built = build_request({"with_latency": True, "latency_direction": "ingress", "with_packet_loss": True},
                          duration="5s", faults_file=None, to="10.2.0.0/16", port=None, protocol=None)
    text = render_plan(plan_request(built, host_like()))
    assert "-i <client-if> -s 10.2.0.0/16 -m mark" in text and "<peer>" not in text
    assert "scope: peer 10.2.0.0/16" in text


def test_every_flag_names_its_scenario_key_and_default_direction() -> None:
    """The flag surface, family by family: --PREFIX-flag -> scenario key, and the family's default direction (the
    table is built with helpers for the families that share parameters; this pins what they build)."""
    surface = {family.prefix: (family.direction, family.lueur, family.directed,
                               [(param.flag, param.key, param.kind.split(":")[0]) for param in family.params])
               for family in FLAG_FAULTS}
    chance = [("probability", "probability", "float"), ("correlation", "correlation", "float")]
    rate = [("rate", "rate", "float"), ("unit", "unit", "choice")]
    assert surface == {
        "latency": ("both", True, True, [("distribution", "distribution", "choice"), ("mean", "mean", "float"),
                                         ("stddev", "stddev", "float"), ("min", "min", "float"),
                                         ("max", "max", "float"), ("shape", "shape", "float"),
                                         ("scale", "scale", "float")]),
        "jitter": ("ingress", True, True, [("amplitude", "amplitude", "float"), ("frequency", "frequency", "float")]),
        "bandwidth": ("ingress", True, True, rate),
        "packet-loss": ("ingress", True, True, [("rate", "rate", "float")]),
        "blackhole": ("ingress", True, True, [("only", "only", "choice")]),
        "http-response": ("ingress", True, False, [("status", "status_code", "int"), ("body", "body", "str"),
                                                   ("trigger-probability", "probability", "float")]),
        "dns": ("ingress", True, False, [("rate", "probability", "float"), ("kind", "kind", "choice")]),
        "reset": ("ingress", False, True, [("probability", "probability", "float")]),
        "police": ("ingress", False, True, rate + [("burst", "burst", "int")]),
        "duplicate": ("ingress", False, True, chance),
        "corrupt": ("ingress", False, True, chance),
        "reorder": ("ingress", False, True, chance + [("gap", "gap", "int")]),
    }
