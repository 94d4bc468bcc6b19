"""The generated JSON Schema accepts what the loader accepts and rejects the bad cases a schema can express."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml

from lueur_net.scenario import json_schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def documents(example_path_module) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(example_path_module.read_text()))


@pytest.fixture(scope="module")
def example_path_module():
    from pathlib import Path

    return Path(__file__).resolve().parents[3] / "examples" / "fastapi-sqlite" / "scenario.yaml"


def test_the_schema_accepts_every_example_scenario(validator, documents) -> None:
    assert len(documents) == 8
    for document in documents:
        assert list(validator.iter_errors(document)) == []


def test_the_schema_accepts_extensions_and_aliases(validator) -> None:
    document = {
        "title": "t",
        "items": [{
            "call": {"method": "GET", "url": "http://a/", "timeout": "2s"},
            "context": {
                "faults": [
                    {"type": "packetloss", "probability": "5%", "period": ["start:1s,duration:1s", "start:50%"]},
                    {"type": "packetloss", "model": "gilbert-elliott", "p": 0.1, "1-h": 0.5},
                    {"type": "dns", "kind": "servfail", "rate": 0.5},
                    {"type": "latency", "mean": "100ms", "global": False},
                    {"type": "reorder", "probability": 0.1, "gap": 3},
                    {"type": "police", "rate": 10, "unit": "MBps", "burst": 10000},
                ],
                "strategy": None,
                "slo": [{"type": "latency", "title": "p95", "objective": 95, "threshold": 300}],
            },
        }],
    }
    assert list(validator.iter_errors(document)) == []


def _mutated(documents: list[dict[str, Any]], index: int, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(documents[index])
    target = document
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


_DELETE = object()
FAULT = ("items", 0, "context", "faults", 0)
STRATEGY = ("items", 0, "context", "strategy")

BAD = [
    (0, (*FAULT, "stdev"), 5),  # unknown key
    (0, (*FAULT, "type"), "latncy"),  # unknown fault type
    (0, (*FAULT, "mean"), -5),  # negative latency
    (0, (*FAULT, "mean"), "10sec"),  # unit typo
    (0, (*FAULT, "side"), "clinet"),
    (6, (*FAULT, "probability"), 1.5),  # probability outside 0..1
    (6, (*FAULT, "status_code"), 700),  # status outside 100..599
    (1, (*STRATEGY, "mode"), "lod"),  # unknown strategy mode
    (1, (*STRATEGY, "count"), 0),  # count <= 0
    (2, (*STRATEGY, "clients"), 0),
    (2, (*STRATEGY, "rps"), 0),
    (2, (*STRATEGY, "duration"), 0),
    (0, ("items",), []),  # empty items
    (0, ("title",), _DELETE),
    (0, ("items", 0, "call", "method"), 5),
    (0, ("items", 0, "expect", "status"), 99),
    (3, (*FAULT, "period"), "start:10x"),  # unknown unit
    (3, (*FAULT, "period"), "start:1s,start:2s"),  # a key twice
    (3, (*FAULT, "period"), ";"),  # no window
    (5, (*FAULT, "unit"), "kbps"),
]


@pytest.mark.parametrize(("index", "path", "value"), BAD, ids=[f"{c[1][-1]}={c[2]!r}" for c in BAD])
def test_the_schema_rejects_what_it_can_express(validator, documents, index, path, value) -> None:
    assert list(validator.iter_errors(_mutated(documents, index, path, value))) != []


def test_the_schema_rejects_both_names_of_one_setting(validator) -> None:
    slo = {"slo_type": "error", "type": "error", "title": "e", "objective": 99, "threshold": 1}
    document = {"title": "t", "items": [{"call": {"method": "GET", "url": "http://a/"}, "context": {"slo": [slo]}}]}
    assert list(validator.iter_errors(document)) != []


def test_the_published_schema_file_is_current() -> None:
    import json
    from pathlib import Path

    published = Path(__file__).resolve().parents[3] / "docs" / "scenario.schema.json"
    assert json.loads(published.read_text()) == json_schema(), (
        "docs/scenario.schema.json is stale: lueur-net scenario schema > docs/scenario.schema.json"
    )


def test_the_schema_says_what_side_and_direction_mean() -> None:
    import json

    from lueur_net.scenario import json_schema

    text = json.dumps(json_schema())
    assert "server ingress and client egress hit the responses" in text
