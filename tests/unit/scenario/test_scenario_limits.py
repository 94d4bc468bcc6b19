"""Every numeric field of every fault and strategy, drawn across the whole float and int range: either validation
refuses it with a located one-line problem, or the plan is made (stock kernel and this host's), rendered for
`--dry-run`, and every value it hands to the kernel fits its netlink or BPF field.

Before limits.py, values such as `mean: 1.0e+308` validated and then raised OverflowError in the planner, a 2**64
rate raised struct.error at apply, a 2**64 police burst overflowed the BPF bucket, and `mean: 1.0e+30` killed the
nfqueue holder's timerfd.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from capability_sets import host_like
from scenario_documents import item

from lueur_net.dataplane.netlink import TC_H_ROOT
from lueur_net.dataplane.tc.encode import encode, qdisc_message
from lueur_net.dataplane.tc.netem import netem_values
from lueur_net.dataplane.tc.tbf import tbf_values
from lueur_net.errors import EnvironmentProblem
from lueur_net.plan import plan_item
from lueur_net.plan.capabilities import Capabilities
from lueur_net.plan.model import DelayParams, FaultPlan, JitterParams, PoliceParams
from lueur_net.plan.render import render_plan
from lueur_net.scenario import Problem, limits
from lueur_net.scenario.loader import load_text

MAX_EXAMPLES = int(os.environ.get("LUEUR_FUZZ_EXAMPLES", "500"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

S64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
S32_MAX = 2**31 - 1
LOCATED = re.compile(r"^s\.yaml:\d+:\d+: items\[0\]\.\S+: ")

# The whole float range (subnormals, 1e308, negative) and ints well past 64 bits, and the values at each limit.
WHOLE_RANGE = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 1500, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64, 1e-300, 1e30, 1e308,
                     limits.MAX_DELAY_MS, limits.MAX_SPREAD_MS, limits.MAX_RUN_S, 12_500_000_000]),
)
# Values from 0 to just past each limit: most validate, so the planner and encoders see values at the edges.
NEAR_LIMITS = st.one_of(
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=limits.MAX_SPREAD_MS * 1.01),
    st.floats(min_value=0, max_value=limits.MAX_DELAY_MS * 1.01),
    st.floats(min_value=0.0009, max_value=201),
    st.floats(min_value=0, max_value=limits.MAX_BYTES_PER_SECOND * 1.01),
    st.integers(min_value=1, max_value=2**32 + 5),
    st.integers(min_value=1, max_value=5000),
)


def _fault(kind: str, **values: Any) -> dict[str, Any]:
    return {"type": kind, **{key: value for key, value in values.items() if value is not None}}


def scenario_parts(numbers: st.SearchStrategy[Any], *, wild_shares: bool = True,
                   wholes: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[tuple[Any, ...]]:
    """(fault, strategy, timeout, period) with every numeric field drawn from `numbers` (probabilities from 0..1
    too, and only from there unless `wild_shares`; counts from `wholes` when given)."""
    maybe = st.one_of(st.none(), st.none(), numbers)
    share = st.floats(min_value=0, max_value=1)
    probabilities = st.one_of(share, numbers) if wild_shares else share
    maybe_probability = st.one_of(st.none(), probabilities)
    faults = st.one_of(
        st.builds(lambda d, mean, stddev, lo, hi, shape, scale: _fault(
            "latency", distribution=d, mean=mean, stddev=stddev, min=lo, max=hi, shape=shape, scale=scale),
            st.sampled_from(["normal", "uniform", "pareto", "pareto-normal"]), maybe, maybe, maybe, maybe, maybe,
            maybe),
        st.builds(lambda amplitude, frequency: _fault("jitter", amplitude=amplitude, frequency=frequency),
                  maybe, maybe),
        st.builds(lambda rate, unit: _fault("bandwidth", rate=rate, unit=unit), maybe,
                  st.sampled_from(["Bps", "KBps", "MBps", "GBps", "KiBps", "MiBps", "GiBps"])),
        st.builds(lambda rate, unit, burst: _fault("police", rate=rate, unit=unit, burst=burst), numbers,
                  st.sampled_from(["Bps", "KBps", "GBps", "GiBps"]), maybe),
        st.builds(lambda rate, correlation: _fault("packetloss", rate=rate, correlation=correlation),
                  probabilities, maybe_probability),
        st.builds(lambda p, r: _fault("packetloss", model="gilbert-elliott", p=p, r=r), probabilities,
                  maybe_probability),
        st.builds(lambda status, probability: _fault("httperror", status_code=status, probability=probability),
                  st.one_of(maybe, st.integers(100, 599)), maybe_probability),
        st.builds(lambda probability: _fault("dns", probability=probability), maybe_probability),
        st.builds(lambda probability: _fault("reset", probability=probability), maybe_probability),
        st.builds(lambda kind, probability, correlation: _fault(kind, probability=probability,
                                                                correlation=correlation),
                  st.sampled_from(["duplicate", "corrupt"]), probabilities, maybe_probability),
        st.builds(lambda probability, gap: _fault("reorder", probability=probability, gap=gap), probabilities, maybe),
    )
    counts = wholes if wholes is not None else st.one_of(
        numbers, st.integers(min_value=-5, max_value=2**65), st.sampled_from([1, 2, 10_000, 10_001]))
    # Mostly none, so that a fault's own numbers are not hidden behind a refused strategy, timeout or period.
    strategies = st.one_of(
        st.none(), st.none(), st.none(),
        st.builds(lambda step, count, wait: {k: v for k, v in {"mode": "repeat", "step": step, "count": count,
                                                               "wait": wait}.items() if v is not None},
                  maybe, counts, maybe),
        st.builds(lambda duration, clients, rps: {"mode": "load", "duration": duration, "clients": clients,
                                                  "rps": rps},
                  numbers, st.one_of(counts, st.integers(1, 3)), numbers),
    )
    times = st.one_of(numbers, st.floats(min_value=0, max_value=30))
    periods = st.one_of(
        st.none(), st.none(), st.none(),
        st.builds(lambda start, duration: f"start:{start!r},duration:{duration!r}", times, times),
    )
    timeouts = st.one_of(st.none(), st.none(), st.none(), numbers)
    return st.tuples(faults, strategies, timeouts, periods)


def _document(fault: dict[str, Any], strategy: dict[str, Any] | None, timeout: Any, period: str | None) -> str:
    if period is not None:
        fault = {**fault, "period": period}
    item_faults = [fault]
    if fault["type"] == "reorder":  # netem reorders by letting packets skip a delay on the same hook
        item_faults.append({"type": "latency", "mean": 50})
    call: dict[str, Any] = {"method": "GET", "url": "http://a/"}
    if timeout is not None:
        call["timeout"] = timeout
    context: dict[str, Any] = {"faults": item_faults}
    if strategy is not None:
        context["strategy"] = strategy
    # safe_dump writes floats as YAML 1.1 floats ("1.0e+308"), which read back as the same number.
    return yaml.safe_dump({"title": "t", "items": [{"call": call, "context": context}]})


def _fits_netlink(plan: FaultPlan) -> None:
    """Encode every qdisc the tc backend would send (pyroute2's struct packing raises on a value too wide for its
    field), and check the fields whose C type is narrower than their netlink attribute."""
    for hook in plan.hooks:
        for segment in hook.segments:
            config = segment.config
            if config.netem is not None:
                extra = max((jitter.amplitude_ns for jitter in config.jitter), default=0)
                for netem in (config.netem, config.netem.with_extra_delay(extra)):
                    encode(qdisc_message("netem", 1, 0x4C4E0000, TC_H_ROOT, netem_values(netem)))
                    if netem.delay is not None:
                        assert 0 <= netem.delay.delay_ns <= S64_MAX  # TCA_NETEM_LATENCY64, s64
                        assert 0 <= netem.delay.jitter_ns <= S32_MAX  # tabledist(s64 mu, s32 sigma)
                    if netem.reorder is not None:
                        assert 0 <= netem.reorder.gap < 2**32
            if config.tbf is not None:
                encode(qdisc_message("tbf", 1, 0x4C4F0000, TC_H_ROOT, tbf_values(config.tbf)))


def _fits_other_backends(plan: FaultPlan) -> None:
    """eBPF maps and the nfqueue holder: windows as CLOCK_MONOTONIC u64 ns, delays armed on a timerfd (s64 ns),
    the policer's u64 rate and bucket (plus 10 s of refill)."""
    for fault in plan.faults:
        for window in fault.windows:
            assert math.isfinite(window.start_s) and window.start_s * 1e9 < S64_MAX
            assert window.end_s is None or (math.isfinite(window.end_s) and window.end_s * 1e9 < S64_MAX)
        params = fault.params
        if isinstance(params, DelayParams):
            assert 0 <= params.delay_ns + 4 * params.jitter_ns <= S64_MAX
        if isinstance(params, JitterParams):
            assert 0 <= params.amplitude_ns <= S64_MAX and math.isfinite(1e9 / params.frequency_hz)
        if isinstance(params, PoliceParams):
            assert 1 <= params.rate_bytes_per_s and params.burst_bytes + 10 * params.rate_bytes_per_s <= U64_MAX


@SETTINGS
@given(parts=scenario_parts(WHOLE_RANGE))
def test_a_number_across_the_whole_range_is_refused_where_it_is_written_or_planned_into_fields_that_hold_it(
    parts: tuple[Any, ...],
) -> None:
    _refused_or_fits(*parts)


@SETTINGS
@given(parts=scenario_parts(NEAR_LIMITS, wild_shares=False, wholes=st.integers(1, 10_001)))
def test_a_number_near_its_limit_is_refused_where_it_is_written_or_planned_into_fields_that_hold_it(
    parts: tuple[Any, ...],
) -> None:
    _refused_or_fits(*parts)


def _refused_or_fits(fault: dict[str, Any], strategy: dict[str, Any] | None, timeout: Any, period: str | None) -> None:
    loaded, problems = load_text(_document(fault, strategy, timeout, period), "s.yaml")
    errors = [problem for problem in problems if problem.severity == "error"]
    event("refused" if errors else "planned")
    if errors:
        for problem in errors:
            assert LOCATED.match(str(problem)), str(problem)
            assert "\n" not in str(problem)
        return
    item = loaded[0].scenario.items[0]
    repeat = item.context.strategy
    iterations = {0, repeat.count - 1} if getattr(repeat, "mode", "") == "repeat" else {0}
    for capabilities in (Capabilities.all_present(), host_like()):
        for iteration in iterations:
            try:
                plan = plan_item(item, capabilities, iteration=iteration)
            except EnvironmentProblem:
                # This host's kernel has no netem: duplicate, corrupt and reorder are refused by capability, not
                # by value (the stock kernel plans them).
                assert capabilities.kernel == "host-like"
                continue
            render_plan(plan)
            _fits_netlink(plan)
            _fits_other_backends(plan)


# ---- the cases the issue names, and each limit's message ----


def _at(found: list[Problem], where: str) -> list[Problem]:
    """The problems at a path ending in `where` (there must be one)."""
    at = [problem for problem in found if problem.path.endswith(where)]
    assert at, "\n".join(map(str, found))
    return at


@pytest.mark.parametrize(
    ("fault", "field", "says"),
    [
        ("{type: latency, mean: 1.0e+308}", "mean", "above the limit of 3600000 ms"),
        ("{type: latency, mean: 1.0e+30}", "mean", "above the limit of 3600000 ms"),
        ("{type: latency, stddev: 1.0e+308}", "stddev", "signed 32-bit number of nanoseconds"),
        ("{type: latency, distribution: uniform, min: 1, max: 1.0e+308}", "max", "3600000 ms"),
        ("{type: latency, distribution: uniform, min: 0, max: 5000}", "max", "above the limit of 2147.48"),
        ("{type: latency, distribution: pareto, shape: 1, scale: 100}", "scale", "2147.48 ms"),
        ("{type: latency, distribution: pareto, shape: 0.001}", "shape", "below the limit of 0.1"),
        ("{type: jitter, amplitude: 1.0e+308}", "amplitude", "above the limit of 3600000 ms"),
        ("{type: jitter, frequency: 1.0e-300}", "frequency", "below the limit of 0.001 Hz"),
        ("{type: bandwidth, rate: 1.0e+308}", "rate", "100 Gbit/s"),
        ("{type: bandwidth, rate: 1.0e+30}", "rate", "100 Gbit/s"),
        ("{type: bandwidth, rate: 18446744073709551616}", "rate", "100 Gbit/s"),
        ("{type: bandwidth, rate: 0.5}", "rate", "below 1 byte per second"),
        ("{type: police, rate: 1000, burst: 18446744073709551616}", "burst", "4294967295 bytes"),
        ("{type: police, rate: 101, unit: GBps}", "rate", "100 Gbit/s"),
        ("{type: reorder, probability: 0.1, gap: 4294967296}", "gap", "netem's gap is a u32"),
        ("{type: latency, period: 'start:1,duration:1e9'}", "period", "above the limit of 86400 s"),
    ],
)
def test_each_value_the_issue_names_is_refused_at_its_field_with_the_limit_and_why(
    problems, fault: str, field: str, says: str
) -> None:
    found = _at(problems(item(f"[{fault}]")), f"faults[0].{field}")
    assert says in found[0].message and ": " in found[0].message
    assert re.match(r"^s\.yaml:5:\d+: ", str(found[0]))


@pytest.mark.parametrize(
    ("strategy", "field", "says"),
    [
        ("{mode: repeat, count: 10001}", "count", "above the limit of 10000"),
        ("{mode: repeat, count: 100, step: 1h}", "step", "the last of 100 calls"),
        ("{mode: load, duration: 172800, clients: 1, rps: 1}", "duration", "86400"),
        ("{mode: load, duration: 25h, clients: 1, rps: 1}", "duration", "86400 s"),
        ("{mode: load, duration: 1h, clients: 1001, rps: 1}", "clients", "1000"),
        ("{mode: load, duration: 1h, clients: 100, rps: 10}", "", "3600000 calls"),
        ("{mode: load, duration: 10s, clients: 1, rps: 1.0e-300}", "rps", "0.001 rps"),
    ],
)
def test_strategy_counts_and_times_are_bounded(problems, strategy: str, field: str, says: str) -> None:
    """`field` "": the strategy as a whole (its number of calls)."""
    found = _at(problems(item("[{type: latency, mean: 10}]", f"      strategy: {strategy}")),
                "strategy" + (f".{field}" if field else ""))
    assert says in found[0].message, found


def test_call_timeout_and_latency_slo_are_bounded(problems) -> None:
    found = problems(item("[]", call="{method: GET, url: 'http://a/', timeout: 2h}"))
    assert [problem.path for problem in found] == ["items[0].call.timeout"] and "3600000 ms" in found[0].message
    slo = "      slo: [{slo_type: latency, title: p95, objective: 95, threshold: 1.0e+30}]"
    assert any("3600000 ms" in problem.message for problem in problems(item("[]", slo)))


def test_values_at_the_limits_are_accepted(scenarios) -> None:
    text = item("[{type: latency, mean: 1h, stddev: 2147ms}, {type: bandwidth, rate: 12.5, unit: GBps},"
                " {type: police, rate: 12500000000, burst: 4294967295}, {type: jitter, amplitude: 1h, frequency: 200}]",
                "      strategy: {mode: load, duration: 24h, clients: 1000, rps: 0.01}")
    assert scenarios(text)
