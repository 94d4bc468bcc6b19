"""The JSON Schema of one scenario document, generated from the models that validate files.

pydantic writes only the first name of a field with several accepted names (`slo_type`/`type`, `rate`/
`probability`, ...) and does not know that `strategy: null` means a single call; both are added here so that the
schema accepts exactly the spellings the loader accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, TypeAdapter

from lueur_net.scenario.faults import FAULT_MODELS
from lueur_net.scenario.models import (
    Call,
    CallMeta,
    Config,
    Context,
    Expect,
    HttpConfig,
    HttpPaths,
    Item,
    LoadStrategy,
    RepeatStrategy,
    Scenario,
    SingleStrategy,
    Slo,
)

SCHEMA_ID = "https://lueur-net.invalid/scenario.schema.json"
_MODELS: list[type[BaseModel]] = [
    Scenario, Item, Call, CallMeta, Context, Expect, Slo, Config, HttpConfig, HttpPaths,
    SingleStrategy, RepeatStrategy, LoadStrategy, *FAULT_MODELS.values(),
]


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one scenario document (a file holds one or more such documents)."""
    schema = TypeAdapter(Scenario).json_schema(mode="validation", by_alias=True)
    definitions = schema.get("$defs", {})
    for model in _MODELS:
        definition = definitions.get(model.__name__)
        if definition is not None:
            _add_alternate_names(model, definition)
    context = definitions.get("Context", {}).get("properties", {})
    if "strategy" in context:
        strategy = context["strategy"]
        context["strategy"] = {
            "anyOf": [{key: value for key, value in strategy.items() if key != "default"}, {"type": "null"}],
            "description": "null or absent: one call.",
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "lueur-net scenario (one YAML document)",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _add_alternate_names(model: type[BaseModel], definition: dict[str, Any]) -> None:
    properties = definition.get("properties", {})
    required: list[str] = definition.get("required", [])
    alternatives: list[dict[str, Any]] = []
    for info in model.model_fields.values():
        if not isinstance(info.validation_alias, AliasChoices):
            continue
        names = [str(choice) for choice in info.validation_alias.choices]
        first = names[0]
        if first not in properties:
            continue
        for other in names[1:]:
            properties[other] = properties[first]
        # Two names of one setting: at most one of them, and exactly one when the field is required.
        pairs = [{"required": [a, b]} for i, a in enumerate(names) for b in names[i + 1:]]
        alternatives.append({"not": {"anyOf": pairs}})
        if first in required:
            required.remove(first)
            alternatives.append({"anyOf": [{"required": [name]} for name in names]})
    if alternatives:
        definition["allOf"] = definition.get("allOf", []) + alternatives
    if not required and "required" in definition:
        del definition["required"]
