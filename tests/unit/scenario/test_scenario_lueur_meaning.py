"""lueur's files mean here what they mean in lueur (issue 10 section 2): units, period syntax, defaults, and
lueur keys that lueur-net reads but cannot honour (said in a warning, never silently)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenario_documents import item

from lueur_net.cli.main import main

LOAD = "    context:\n      strategy: {mode: load, duration: 10s, clients: 1, rps: 1}\n"


# 1. Units ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "bytes_per_second"),
    [("Bps", 5), ("KBps", 5_000), ("MBps", 5_000_000), ("GBps", 5_000_000_000),
     ("KiBps", 5 * 1024), ("MiBps", 5 * 1024**2), ("GiBps", 5 * 1024**3)],
)
def test_byte_rate_units_are_decimal_as_lueur_and_binary_with_ib(scenarios, unit: str, bytes_per_second: int) -> None:
    # 5, not 512: 512 GBps is above the 100 Gbit/s limit (limits.py).
    for kind in ("bandwidth", "police"):
        fault = scenarios(item(f"[{{type: {kind}, rate: 5, unit: {unit}}}]"))[0].scenario.items[0].context.faults[0]
        assert fault.bytes_per_second == bytes_per_second


@pytest.mark.parametrize(("written", "meant"), [("kbps", "KBps"), ("kibps", "KiBps"), ("MiB", "MiBps")])
def test_byte_rate_unit_typos_suggest_the_unit(problems, written: str, meant: str) -> None:
    found = problems(item(f"[{{type: bandwidth, rate: 5, unit: {written}}}]"))
    assert [p.path for p in found] == ["items[0].context.faults[0].unit"]
    assert f"did you mean '{meant}'?" in found[0].message


# 2. Periods -------------------------------------------------------------------------------------------------------


def _windows(scenarios, period: str, context: str = LOAD) -> list[tuple[float, float]]:
    text = f"title: t\nitems:\n  - call: {{method: GET, url: 'http://a/'}}\n{context}      faults:\n" \
           f"        - {{type: blackhole, period: {period}}}\n"
    windows = scenarios(text)[0].scenario.items[0].windows[0]
    assert windows is not None
    return [(window.start, window.end) for window in windows]


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("'start:2,duration:3'", [(2.0, 5.0)]),  # bare numbers are seconds
        ("'duration:3'", [(0.0, 3.0)]),  # no start: 0
        ("'start:4'", [(4.0, 10.0)]),  # no duration: until the end
        ("'start:1s,duration:1s;start:5,duration:10%'", [(1.0, 2.0), (5.0, 6.0)]),  # several windows
        ("'start:5%;duration:30%;start:90%,duration:5%'", [(0.5, 10.0), (0.0, 3.0), (9.0, 9.5)]),  # lueur's docs
        ("'start:1s,;'", [(1.0, 10.0)]),  # empty pieces skipped, as lueur does
        ("['start:1;start:3,duration:1', 'start:6s,duration:1s']", [(1.0, 10.0), (3.0, 4.0), (6.0, 7.0)]),
    ],
)
def test_periods_read_as_lueur_reads_them(scenarios, period: str, expected: list[tuple[float, float]]) -> None:
    flat = [value for window in _windows(scenarios, period) for value in window]
    assert flat == pytest.approx([value for window in expected for value in window])


def test_a_bad_window_in_a_list_points_at_its_own_element(problems) -> None:
    text = item("\n        - type: blackhole\n          period:\n            - 'start:1;start:2'\n"
                "            - 'start:1sec'\n", LOAD.replace("    context:\n", ""))
    found = problems(text)
    assert [(p.line, p.column, p.path) for p in found] == [(9, 15, "items[0].context.faults[0].period[1]")]
    assert "did you mean 's'?" in found[0].message


def test_a_bad_window_in_one_string_points_at_the_string(problems) -> None:
    found = problems(item("[{type: blackhole, period: 'start:1;strt:2'}]"))
    assert [(p.line, p.column, p.path) for p in found] == [(5, 42, "items[0].context.faults[0].period")]
    assert "unknown key 'strt'" in found[0].message and "did you mean 'start'?" in found[0].message


def test_windows_are_still_checked_against_the_strategy(problems, scenarios) -> None:
    found = problems(item("[{type: blackhole, period: 'start:1;start:9,duration:2'}]", LOAD.replace("    context:\n", "")))
    assert [p.path for p in found] == ["items[0].context.faults[0].period"]
    assert "runs past the end of the 10s load" in found[0].message
    warned = scenarios(item("[{type: blackhole, period: ['start:100ms', 'start:10%;start:1s']}]",
                            call="{method: GET, url: 'http://a/', timeout: 500}"))[0].warnings
    assert [(w.path, w.message.split(" ")[0]) for w in warned] == [
        ("items[0].context.faults[0].period[1]", "percentage"),
        ("items[0].context.faults[0].period[1]", "period"),
    ]


def test_parse_windows_keeps_each_window_as_written() -> None:
    from lueur_net.scenario.periods import parse_windows

    windows = parse_windows(" start:2 , duration:3 ; start:50% ")
    assert [window.text for window in windows] == ["start:2 , duration:3", "start:50%"]
    assert windows[0].start.seconds == 2.0 and windows[1].duration is None


# 3. Defaults ------------------------------------------------------------------------------------------------------

DEFAULTS = [
    ("{type: latency}", {"distribution": "normal", "mean": 100.0, "stddev": 20.0, "min": None, "max": None}),
    ("{type: latency, mean: 800}", {"mean": 800.0, "stddev": 20.0}),
    ("{type: latency, distribution: uniform, max: 50}", {"min": 20.0, "max": 50.0, "mean": None}),
    ("{type: latency, distribution: pareto}", {"shape": 20.0, "scale": 20.0, "mean": None}),
    ("{type: latency, distribution: pareto-normal}", {"mean": 100.0, "stddev": 20.0, "shape": 20.0, "scale": 20.0}),
    ("{type: jitter}", {"amplitude": 20.0, "frequency": 5.0}),
    ("{type: bandwidth}", {"rate": 1000.0, "unit": "Bps", "bytes_per_second": 1000.0}),
    ("{type: dns}", {"kind": "nxdomain", "probability": 0.5}),
    ("{type: httperror}", {"status_code": 500, "probability": 1.0, "body": None}),
    ("{type: packetloss}", {"loss_probability": 0.05}),
]


@pytest.mark.parametrize(("fault", "expected"), DEFAULTS, ids=[fault for fault, _ in DEFAULTS])
def test_a_parameter_left_out_gets_lueurs_default_and_show_prints_it(tmp_path: Path, capsys, fault: str,
                                                                      expected: dict[str, object]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(item(f"[{fault}]"))
    assert main(["scenario", "show", "--json", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)[0]["scenario"]["items"][0]["context"]["faults"][0]
    assert {key: shown[key] for key in expected} == expected


def test_uniform_bounds_that_lueurs_defaults_cannot_order_stay_an_error(problems) -> None:
    found = problems(item("[{type: latency, distribution: uniform}]"))
    assert [p.path for p in found] == ["items[0].context.faults[0]"]
    assert "min (20 ms) must be below max (20 ms); lueur's default for a bound left out is 20 ms" in found[0].message


# 4. context.proxy and context.runs_on -----------------------------------------------------------------------------


def test_proxy_and_runs_on_are_accepted_with_a_warning_saying_what_they_change(scenarios) -> None:
    context = (
        "      proxy: {disable_http_proxies: true, proxies: ['9000=localhost:5432']}\n"
        "      runs_on: {platform: kubernetes, ns: shop, service: web, image: 'ghcr.io/rebound-how/fault:0.1'}\n"
    )
    loaded = scenarios(item("[]", context))[0]
    context_model = loaded.scenario.items[0].context
    assert context_model.proxy is not None and context_model.proxy.proxies == ("9000=localhost:5432",)
    assert context_model.runs_on is not None and context_model.runs_on.service == "web"
    warnings = {w.path: (w.severity, w.message) for w in loaded.warnings}
    assert warnings["items[0].context.proxy"][0] == "warning"
    assert "changes nothing here: lueur-net has no proxy" in warnings["items[0].context.proxy"][1]
    assert warnings["items[0].context.runs_on"][0] == "warning"
    assert "'shop/web'" in warnings["items[0].context.runs_on"][1]
    assert "--attach" in warnings["items[0].context.runs_on"][1]


@pytest.mark.parametrize(
    ("context", "path", "fragment"),
    [
        ("      proxy: {proxies: []}\n", "items[0].context.proxy.disable_http_proxies", "missing required key"),
        ("      runs_on: {platform: nomad, ns: a, service: b}\n", "items[0].context.runs_on.platform", "kubernetes"),
        ("      runs_on: {platform: kubernetes, ns: a}\n", "items[0].context.runs_on.service", "missing required key"),
    ],
)
def test_proxy_and_runs_on_keep_lueurs_shape(problems, context: str, path: str, fragment: str) -> None:
    found = problems(item("[]", context))
    assert [p.path for p in found] == [path]
    assert fragment in found[0].message


# 5. httperror.body ------------------------------------------------------------------------------------------------


def test_an_httperror_body_is_a_warning_that_only_the_status_is_rewritten(scenarios) -> None:
    loaded = scenarios(item("[{type: httperror, status_code: 503, body: busy}]"))[0]
    assert [(w.line, w.column, w.path, w.severity) for w in loaded.warnings] == [
        (5, 58, "items[0].context.faults[0].body", "warning")
    ]
    assert "only the status is rewritten; the body is the server's" in loaded.warnings[0].message
    assert scenarios(item("[{type: httperror, status_code: 503}]"))[0].warnings == ()


def test_an_exponent_without_a_dot_is_a_number_as_in_lueur() -> None:
    """lueur reads YAML 1.2, where `1e6` is a float; PyYAML (YAML 1.1) reads it as text. Quoted, it stays text."""
    from lueur_net.scenario import loads
    from lueur_net.scenario.loader import load_text

    text = ("title: t\nitems:\n- call: {method: GET, url: 'http://a/'}\n  context:\n"
            "    faults: [{type: bandwidth, rate: 1e6, unit: Bps}]\n"
            "    strategy: {mode: load, duration: 10s, clients: 1, rps: 5E-1}\n")
    item = loads(text)[0].scenario.items[0]
    assert item.context.faults[0].bytes_per_second == 1_000_000
    assert item.context.strategy.rps == 0.5
    _, problems = load_text(text.replace("rate: 1e6", "rate: '1e6'"), "s.yaml")
    assert any("expected a number, got text '1e6'" in problem.message for problem in problems)
