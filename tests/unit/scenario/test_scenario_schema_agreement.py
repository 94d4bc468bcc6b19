"""The published JSON Schema and `scenario validate` agree on accept/reject, for generated documents.

Documents are built from the parts of the format (faults, strategies, periods, units, headers, SLOs, lueur's
`proxy`/`runs_on`), valid and slightly broken: numbers where strings go and back, unknown keys, unit typos, bad
periods, missing fields. For each one:
- the schema rejects it -> the loader must reject it too;
- the loader rejects it -> the schema must reject it too, unless every error is one of LOADER_ONLY: checks a JSON
  Schema cannot express (docs/scenario.md "What only the loader checks" lists the same).
JSON documents only: mapping keys are strings (YAML's non-string keys have no JSON form).
Bounded (max_examples) so the unit tier stays fast; LUEUR_SCHEMA_EXAMPLES=5000 for a deeper run by hand.
"""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lueur_net.scenario import json_schema
from lueur_net.scenario.loader import load_text

MAX_EXAMPLES = int(os.environ.get("LUEUR_SCHEMA_EXAMPLES", "250"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALIDATOR = jsonschema.Draft202012Validator(json_schema())

# Loader errors a JSON Schema cannot express (a message fragment each), with the reason.
LOADER_ONLY: dict[str, str] = {
    # periods measured against the item's strategy (the load's duration), and sums of two percentages
    "runs past the end": "a window compared with the load duration, or start% + duration% > 100",
    "at or after the end of the": "a window starting after the load's duration",
    "above 100%": "a percentage inside a period string",
    "starts at the end (100%)": "a percentage inside a period string",
    "duration must be greater than 0 in period": "a zero inside a period string",
    # numbers inside strings: a pattern cannot compare them
    "must be greater than 0": "a zero duration written as text ('0s', '0ms')",
    "too large": "a duration written as text that overflows ('1e400s')",
    "must be a finite number": "a percentage written as text that overflows ('1e400%')",
    "must be less than or equal to 1, got '": "a probability written as a percentage above 100% ('150%')",
    # one field against another
    "must be below max": "uniform latency: min < max",
    "reorder needs a latency fault": "reorder needs a latency on the same side and direction",
    "only apply to 'model: gilbert-elliott'": "packetloss: p, r, loss_bad, loss_good only with gilbert-elliott",
    "needs 'p'": "packetloss: gilbert-elliott needs p",
    "do not apply to 'model: gilbert-elliott'": "packetloss: rate/correlation not with gilbert-elliott",
    "SLO threshold": "latency threshold > 0, error threshold <= 100: depends on slo_type",
    # limits (limits.py) on a duration written as text ('2h'), inside a period string, or on a value that depends
    # on another field: a rate in its unit, a delay's spread, a repeat's step x count, a load's number of calls
    "above the limit of": "a limit a pattern or a single field's maximum cannot express",
    "below 1 byte per second": "a rate in its unit",
    # URL syntax beyond a string
    "URL '": "scheme, host and port of a URL",
    "bad URL": "scheme, host and port of a URL",
}

DURATIONS = [5, 0, -3, 2.5, "500ms", "2s", "1m30s", "0ms", "10sec", "5 mins", "1e400s", "fast", True, None, "12"]
PROBABILITIES = [0, 0.05, 1, 1.5, -0.1, "5%", "150%", "1e400%", "0.2", "often", True, None]
PERIODS = [
    "start:10%,duration:20%", "start:2,duration:3", "start:2s", "duration:1s", "start:1s;start:5s,duration:1s",
    "start:1s,", "start:1s;;", " ; ", "", "start:10x", "start:1s,start:2s", "strt:1s", "start:90%,duration:20%",
    "start:150%", "start:-1s", "start:1s;duration:0", "start:1s;,", "start:20s", "start:100%", "start:1e400s",
    ["start:1s", "start:2s,duration:1s;start:5s"], ["start:1s", 7], 7, None,
]
UNITS = ["Bps", "KBps", "MBps", "GBps", "KiBps", "MiBps", "GiBps", "kbps", "KB", 5, None]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 700), st.sampled_from([0.5, 2.0, 500.0, 1e9]),
    st.sampled_from(["", "x", "GET", "10s", "5%", "start:1s", "server", "ingress", "both", "normal", "uniform"]),
)

FAULT_KEYS: dict[str, dict[str, list[Any]]] = {
    "latency": {"mean": DURATIONS, "stddev": DURATIONS, "min": DURATIONS, "max": DURATIONS, "shape": [1.5, 0, "a"],
                "scale": [20, -1, "x"], "global": [True, 1, "yes"],
                "distribution": ["normal", "uniform", "pareto", "pareto-normal", "gauss", 3]},
    "jitter": {"amplitude": DURATIONS, "frequency": [5, 0, 200, 201, "5", 2.5]},
    "bandwidth": {"rate": [512, 0, -1, 1.5, "512", None], "unit": UNITS},
    "police": {"rate": [512, 0, "512"], "unit": UNITS, "burst": [1500, 100, 1500.0, "x"]},
    "packetloss": {"rate": PROBABILITIES, "probability": PROBABILITIES, "correlation": PROBABILITIES,
                   "model": ["random", "gilbert-elliott", "ge"], "p": PROBABILITIES, "r": PROBABILITIES,
                   "1-h": PROBABILITIES, "loss_good": PROBABILITIES},
    "blackhole": {"only": ["all", "new", "established", "some"]},
    "httperror": {"status_code": [500, 503, 99, 600, 500.5, "500", True], "body": ["busy", 5, None],
                  "probability": PROBABILITIES},
    "dns": {"kind": ["nxdomain", "nx-domain", "drop", "timeout", "truncated", 1], "rate": PROBABILITIES,
            "probability": PROBABILITIES},
    "reset": {"probability": PROBABILITIES},
    "duplicate": {"probability": PROBABILITIES, "correlation": PROBABILITIES},
    "corrupt": {"probability": PROBABILITIES},
    "reorder": {"probability": PROBABILITIES, "gap": [1, 0, 2.0, "3"]},
}
COMMON_KEYS: dict[str, list[Any]] = {
    "side": ["client", "server", "clinet", 1], "direction": ["ingress", "egress", "both", "in"], "period": PERIODS,
}


@st.composite
def faults(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from([*FAULT_KEYS, "latncy"]))
    pool = {**FAULT_KEYS.get(kind, {}), **COMMON_KEYS}
    keys = draw(st.lists(st.sampled_from(sorted(pool)), max_size=4, unique=True))
    fault: dict[str, Any] = {"type": kind}
    for key in keys:
        fault[key] = draw(st.sampled_from(pool[key]))
    if draw(st.integers(0, 9)) == 0:
        fault[draw(st.sampled_from(["stdev", "x", "rates"]))] = draw(SCALARS)  # an unknown key
    if draw(st.integers(0, 14)) == 0:
        del fault["type"]
    return fault


STRATEGIES = st.one_of(
    st.none(),
    st.fixed_dictionaries({"mode": st.just("repeat"), "count": st.sampled_from([1, 3, 0, 2.0, "3"])},
                          optional={"step": st.sampled_from(DURATIONS), "wait": st.sampled_from(DURATIONS),
                                    "failfast": st.sampled_from([True, "no"]),
                                    "add_baseline_call": st.sampled_from([False, 1])}),
    st.fixed_dictionaries({"mode": st.sampled_from(["load", "lod"]),
                           "duration": st.sampled_from(["10s", 10, "1m", 0, "10 secs"]),
                           "clients": st.sampled_from([1, 2, 0, 2.5]), "rps": st.sampled_from([1, 0.5, 0, "2"])}),
    st.fixed_dictionaries({"mode": st.just("single")}),
)
SLOS = st.fixed_dictionaries(
    {"slo_type": st.sampled_from(["latency", "error", "lat"]), "title": st.sampled_from(["p95", 5]),
     "objective": st.sampled_from([95, 99.5, 0, 101, "95"]), "threshold": st.sampled_from([300, 0, 1, 150, -1])},
)
TEXT_VALUES = st.sampled_from(["v", 1, 2.5, True, None, ["a"], {"a": 1}])
CONTEXT_EXTRAS = st.fixed_dictionaries(
    {},
    optional={
        "proxy": st.one_of(
            st.fixed_dictionaries({"disable_http_proxies": st.sampled_from([True, False, "yes"]),
                                   "proxies": st.sampled_from([[], ["9000=localhost:5432"], "x", [1]])}),
            st.just({"proxies": []}),
        ),
        "runs_on": st.one_of(
            st.fixed_dictionaries({"platform": st.sampled_from(["kubernetes", "k8s"]),
                                   "ns": st.sampled_from(["default", 1]), "service": st.just("web")},
                                  optional={"image": st.sampled_from(["ghcr.io/x/y:1", None])}),
            st.just({"platform": "kubernetes"}),
        ),
        "upstreams": st.sampled_from([["http://localhost:9090/"], ["localhost"], "http://a/"]),
        "slo": st.lists(SLOS, max_size=2),
    },
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    call: dict[str, Any] = {
        "method": draw(st.sampled_from(["GET", "post", "FETCH", 5])),
        "url": draw(st.sampled_from(["http://localhost:9090/", "http://localhost:9090/{id}", "ftp://a/", "a/b"])),
    }
    if draw(st.booleans()):
        call["headers"] = draw(st.dictionaries(st.sampled_from(["x-a", "accept"]), TEXT_VALUES, max_size=2))
    if draw(st.booleans()):
        call["timeout"] = draw(st.sampled_from(DURATIONS))
    context: dict[str, Any] = {"faults": draw(st.lists(faults(), max_size=3)), **draw(CONTEXT_EXTRAS)}
    if draw(st.booleans()):
        context["strategy"] = draw(STRATEGIES)
    item: dict[str, Any] = {"call": call, "context": context}
    if draw(st.booleans()):
        item["expect"] = draw(st.fixed_dictionaries({}, optional={
            "status": st.sampled_from([200, 99, "200", 200.0]),
            "response_time_under": st.sampled_from(DURATIONS),
            "all_slo_are_valid": st.sampled_from([True, "yes"]),
        }))
    document: dict[str, Any] = {"title": draw(st.sampled_from(["t", "", 5])), "items": [item]}
    if draw(st.booleans()):
        document["config"] = {"http": {
            "headers": draw(st.dictionaries(st.sampled_from(["x-k"]), TEXT_VALUES, max_size=1)),
            "paths": {"segments": draw(st.dictionaries(st.sampled_from(["id"]), TEXT_VALUES, max_size=1))},
        }}
    return document


def _loader_errors(document: dict[str, Any]) -> list[str]:
    # JSON is YAML with every string quoted: a text like '1e6' stays text (plain, YAML 1.2 reads it as a number).
    text = json.dumps(document, ensure_ascii=False)
    return [problem.message for problem in load_text(text, "generated.yaml")[1] if problem.severity == "error"]


def _loader_only(message: str) -> bool:
    return any(fragment in message for fragment in LOADER_ONLY)


def _check(document: dict[str, Any]) -> None:
    schema_errors = [error.message for error in VALIDATOR.iter_errors(document)]
    loader_errors = _loader_errors(document)
    shown = textwrap.indent(yaml.safe_dump(document, sort_keys=False), "  ")
    if schema_errors:
        assert loader_errors, f"the schema rejects what the loader accepts:\n{shown}schema: {schema_errors[:3]}"
    elif loader_errors:
        assert all(_loader_only(message) for message in loader_errors), (
            f"the loader rejects what the schema accepts:\n{shown}loader: {loader_errors}"
        )


@SETTINGS
@given(documents())
def test_the_schema_and_the_loader_agree_on_generated_documents(document: dict[str, Any]) -> None:
    _check(document)


# The gaps that were found, kept as examples (numbers for text, lueur's keys, the period grammar, defaults).
KNOWN = [
    {"config": {"http": {"paths": {"segments": {"id": 1}}, "headers": {"x-n": 2.5}}}},
    {"call_headers": {"x-id": 7}},
    {"fault": {"type": "bandwidth", "period": "start:2,duration:3;start:10s"}},
    {"fault": {"type": "latency", "period": "start:1s,"}},
    {"fault": {"type": "jitter"}},
    {"fault": {"type": "httperror", "body": "busy"}},
    {"context": {"proxy": {"disable_http_proxies": True, "proxies": ["9000=localhost:5432"]},
                 "runs_on": {"platform": "kubernetes", "ns": "default", "service": "web"}}},
    {"fault": {"type": "bandwidth", "unit": "KiBps", "rate": 512}},
    {"fault": {"type": "httperror", "status_code": 503.0}},
    {"fault": {"type": "dns", "kind": "nx-domain"}},  # lueur's later spellings  # JSON's integer: no fraction
    {"call_headers": {"x-a": "1"}, "fault": {"type": "latency", "mean": "250"}},  # a bare number written as text
]


def _known(case: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"call": {"method": "GET", "url": "http://a/{id}"}, "context": {"faults": []}}
    if "call_headers" in case:
        item["call"]["headers"] = case["call_headers"]
    if "fault" in case:
        item["context"]["faults"] = [case["fault"]]
    item["context"].update(case.get("context", {}))
    document: dict[str, Any] = {"title": "t", "items": [item]}
    if "config" in case:
        document["config"] = case["config"]
    return document


def test_known_gaps_are_accepted_by_both() -> None:
    for case in KNOWN:
        document = _known(case)
        assert list(VALIDATOR.iter_errors(document)) == [], case
        assert _loader_errors(document) == [], case
