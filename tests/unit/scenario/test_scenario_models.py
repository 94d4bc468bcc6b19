"""Each field of the format read into the models, with defaults and units resolved."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lueur_net.scenario import (
    DEFAULT_CALL_TIMEOUT_MS,
    BandwidthFault,
    DnsFault,
    HttpErrorFault,
    LatencyFault,
    LoadStrategy,
    PacketLossFault,
    PoliceFault,
    RepeatStrategy,
    SingleStrategy,
    load,
)

CALL = "  - call: {method: get, url: 'http://localhost:9090/users/{user_id}', timeout: 2s}\n"


def one_item(scenarios, context: str, extra: str = ""):
    text = f"title: t\n{extra}items:\n{CALL}    context:\n" + "".join(f"      {line}\n" for line in context.splitlines())
    return scenarios(text)[0].scenario


def test_the_reference_file_reads_as_eight_scenarios(example_path) -> None:
    loaded = load(example_path)
    assert [entry.document for entry in loaded] == list(range(8))
    assert loaded[0].scenario.title == "Single high-latency spike (client ingress)"
    latency = loaded[0].scenario.items[0].context.faults[0]
    assert isinstance(latency, LatencyFault)
    assert (latency.side, latency.direction, latency.mean, latency.stddev) == ("client", "ingress", 800.0, 100.0)
    assert isinstance(loaded[0].scenario.items[0].context.strategy, SingleStrategy)
    repeat = loaded[1].scenario.items[0].context.strategy
    assert isinstance(repeat, RepeatStrategy)
    assert (repeat.step, repeat.count, repeat.add_baseline_call) == (100.0, 5, True)
    pulses = loaded[2].scenario.items[0]
    assert [window[0].start for window in pulses.windows] == pytest.approx([1.0, 4.0, 7.0])
    assert [window[0].end for window in pulses.windows] == pytest.approx([2.5, 5.5, 8.5])
    assert [slo.slo_type for slo in pulses.context.slo] == ["latency", "error"]
    loss = loaded[3].scenario.items[0]
    assert isinstance(loss.context.faults[0], PacketLossFault)
    assert loss.context.faults[0].loss_probability == pytest.approx(0.05)
    assert loss.window_anchor == "call"
    assert (loss.windows[0][0].start, loss.windows[0][0].end) == pytest.approx((0.15, 0.35))
    assert len(loaded[3].warnings) == 1 and "call's timeout (500 ms)" in loaded[3].warnings[0].message
    bandwidth = loaded[5].scenario.items[0].context.faults[0]
    assert isinstance(bandwidth, BandwidthFault) and bandwidth.bytes_per_second == 512_000  # lueur's KBps is decimal
    error = loaded[6].scenario.items[0].context.faults[0]
    assert isinstance(error, HttpErrorFault) and (error.status_code, error.probability) == (500, 0.05)
    blackhole_item = loaded[7].scenario.items[0]
    assert blackhole_item.window_anchor == "run"
    assert (blackhole_item.windows[0][0].start, blackhole_item.windows[0][0].end) == pytest.approx((4.5, 5.5))
    assert all(not entry.warnings for index, entry in enumerate(loaded) if index != 3)


def test_call_fields_resolve(scenarios) -> None:
    scenario = scenarios(
        """\
        title: t
        config:
          http:
            headers: {Authorization: Bearer x, X-Trace: 1}
            paths: {segments: {user_id: 42}}
        items:
          - call:
              method: post
              url: http://localhost:9090/users/{user_id}
              headers: {X-Trace: two}
              body: '{"name": "a"}'
              timeout: 1.5s
              meta: {operation_id: create_user}
            expect: {status: 201, response_time_under: 1s, all_slo_are_valid: true}
        """
    )[0].scenario
    item = scenario.items[0]
    assert item.call.method == "POST"
    assert item.call.timeout == 1500.0 and item.call.timeout_ms == 1500.0
    assert item.call.meta is not None and item.call.meta.operation_id == "create_user"
    assert scenario.url_of(item) == "http://localhost:9090/users/42"
    assert scenario.headers_of(item) == {"Authorization": "Bearer x", "X-Trace": "two"}
    assert item.expect is not None and item.expect.response_time_under == 1000.0
    assert item.context.faults == () and isinstance(item.context.strategy, SingleStrategy)


def test_call_without_timeout_uses_the_documented_default(scenarios) -> None:
    item = scenarios("title: t\nitems:\n  - call: {method: GET, url: 'http://a/'}\n")[0].scenario.items[0]
    assert item.call.timeout is None and item.call.timeout_ms == DEFAULT_CALL_TIMEOUT_MS


def test_fault_defaults_are_lueurs(scenarios) -> None:
    scenario = one_item(scenarios, "faults: [{type: latency, mean: 10}]")
    fault = scenario.items[0].context.faults[0]
    assert (fault.side, fault.direction, fault.period, fault.stddev, fault.distribution, fault.global_) == (
        "server", "ingress", (), 20.0, "normal", True  # stddev: lueur's default, 20 ms
    )
    assert scenario.items[0].windows == (None,)


def test_latency_distributions_and_their_parameters(scenarios) -> None:
    scenario = one_item(
        scenarios,
        "faults:\n"
        "  - {type: latency, distribution: uniform, min: 10ms, max: 0.1s}\n"
        "  - {type: latency, distribution: pareto, shape: 1.5, scale: 20}\n"
        "  - {type: latency, distribution: pareto-normal, mean: 50, stddev: 5, shape: 2, scale: 10, global: false}",
    )
    uniform, pareto, pareto_normal = scenario.items[0].context.faults
    assert (uniform.min, uniform.max) == (10.0, 100.0)
    assert (pareto.shape, pareto.scale) == (1.5, 20.0)
    assert pareto_normal.global_ is False
    assert pareto_normal.with_step(200.0).mean == 250.0


def test_packetloss_rate_probability_and_gilbert_elliott(scenarios) -> None:
    scenario = one_item(
        scenarios,
        "faults:\n"
        "  - {type: packetloss, rate: 0.1, correlation: 25%}\n"
        "  - {type: packetloss, probability: '2%'}\n"
        "  - {type: packetloss, model: gilbert-elliott, p: 0.01, r: 0.3, 1-h: 0.8}\n"
        "  - {type: packetloss, model: gilbert-elliott, p: 0.1}",
    )
    rated, aliased, burst, simple = scenario.items[0].context.faults
    assert (rated.loss_probability, rated.correlation) == pytest.approx((0.1, 0.25))
    assert aliased.rate == pytest.approx(0.02)
    assert burst.gilbert_elliott == pytest.approx((0.01, 0.3, 0.8, 0.0))
    assert burst.loss_probability == pytest.approx(0.01 / 0.31 * 0.8)
    assert simple.gilbert_elliott == pytest.approx((0.1, 1.0, 1.0, 0.0))


def test_extension_faults(scenarios) -> None:
    scenario = one_item(
        scenarios,
        "faults:\n"
        "  - {type: dns, kind: nx-domain, rate: 0.5}\n"
        "  - {type: dns, kind: drop}\n"
        "  - {type: reset, probability: 0.1, side: client, direction: both}\n"
        "  - {type: police, rate: 1, unit: MiBps}\n"
        "  - {type: police, rate: 100, burst: 64000}\n"
        "  - {type: duplicate, probability: 1%}\n"
        "  - {type: corrupt, probability: 0.01, correlation: 0.5}\n"
        "  - {type: latency, mean: 20, direction: egress}\n"
        "  - {type: reorder, probability: 0.25, correlation: 0.5, gap: 5, direction: egress}\n"
        "  - {type: httperror, body: busy, period: ['start:0s,duration:100ms', 'start:1s']}",
    )
    dns, dropped, reset, police, small_police, duplicate, corrupt, _, reorder, httperror = (
        scenario.items[0].context.faults
    )
    assert isinstance(dns, DnsFault) and (dns.kind, dns.probability) == ("nxdomain", 0.5)
    assert (dropped.kind, dropped.probability) == ("timeout", 0.5)  # lueur's default DNS probability
    assert reset.directions == ("ingress", "egress")
    assert isinstance(police, PoliceFault) and police.bytes_per_second == 1024**2
    assert police.burst_bytes == 256 * 1024  # 10 ms of 1 MiB/s is less than the 256 KiB floor
    assert small_police.burst_bytes == 64000
    assert duplicate.probability == pytest.approx(0.01) and corrupt.correlation == 0.5
    assert reorder.gap == 5
    assert (httperror.status_code, httperror.probability, httperror.body) == (500, 1.0, "busy")
    windows = scenario.items[0].fault_windows(httperror)
    assert windows is not None and [v for w in windows for v in (w.start, w.end)] == pytest.approx([0.0, 0.1, 1.0, 2.0])


def test_strategies(scenarios) -> None:
    repeat = one_item(scenarios, "strategy: {mode: repeat, count: 3, wait: 1s, failfast: true}")
    strategy = repeat.items[0].context.strategy
    assert isinstance(strategy, RepeatStrategy)
    assert (strategy.count, strategy.wait, strategy.step, strategy.failfast) == (3, 1000.0, 0.0, True)
    load_ = one_item(scenarios, "strategy: {mode: load, duration: 1m30s, clients: 2, rps: 0.5}")
    strategy = load_.items[0].context.strategy
    assert isinstance(strategy, LoadStrategy) and (strategy.duration, strategy.rps) == (90.0, 0.5)
    assert load_.items[0].period_reference_s == 90.0
    single = one_item(scenarios, "strategy: {mode: single}")
    assert isinstance(single.items[0].context.strategy, SingleStrategy)


def test_slo_accepts_type_as_alias(scenarios) -> None:
    scenario = one_item(scenarios, "slo: [{type: latency, title: p99, objective: 99, threshold: 250}]")
    assert scenario.items[0].context.slo[0].slo_type == "latency"


def test_models_are_frozen(example_path) -> None:
    scenario = load(example_path)[0].scenario
    with pytest.raises(ValidationError):
        scenario.title = "changed"  # type: ignore[misc]
