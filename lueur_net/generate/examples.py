"""A value for a JSON Schema (OpenAPI 3.0's dialect and 3.1's): what the generated calls send.

Preference order, for every node: `example`, the first of `examples`, `default`, `const`, the first `enum`
value; only then a value built from the type and format (a uuid is a uuid, a date-time an RFC 3339 time), within
minimum/maximum and minLength/maxLength. Objects carry their required properties always and their optional ones
when those have an example or default (or when the object lists no required property at all, so a body is never
an empty guess). allOf is merged; oneOf/anyOf take their first choice. Deterministic: the same spec always gives
the same files.
"""

from __future__ import annotations

import math
from typing import Any

from lueur_net.generate.spec import GenerateError, Spec, pointer_text

MAX_DEPTH = 8  # a recursive schema (a tree node holding nodes) stops here with the smallest value of its type
# A spec may ask for huge values (minItems: 1000000 inside minItems: 1000000...): a value built for one parameter or
# body holds at most this many nodes and strings at most MAX_STRING characters; beyond, one clear error, not a
# machine out of memory.
MAX_NODES = 10_000
MAX_STRING = 65_536


class _Budget:
    """The nodes one value may still hold."""

    def __init__(self) -> None:
        self.left = MAX_NODES

    def spend(self, spec: Spec, where: tuple[str | int, ...]) -> None:
        self.left -= 1
        if self.left < 0:
            raise GenerateError(f"{spec.source}: {pointer_text(where)}: the value the schema asks for holds more than "
                                f"{MAX_NODES} parts (minItems?); give the operation an `example`")
FORMAT_VALUES: dict[str, Any] = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "duration": "PT1S",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uri-reference": "/example",
    "iri": "https://example.com/",
    "byte": "ZXhhbXBsZQ==",  # base64 of "example"
    "binary": "example",
    "password": "secret",
    "regex": ".*",
    "json-pointer": "/example",
}


def schema_example(spec: Spec, schema: Any, where: tuple[str | int, ...], depth: int = 0,
                   budget: _Budget | None = None) -> Any:
    """A value that `schema` accepts (as far as a generator without a validator can tell)."""
    budget = budget or _Budget()
    budget.spend(spec, where)
    schema = spec.resolve(schema, where)
    if schema is True or schema is None or schema == {}:
        return "string"
    if not isinstance(schema, dict):
        raise GenerateError(f"{spec.source}: {pointer_text(where)}: a schema must be a mapping")
    found, value = given_value(schema)
    if found:
        return value
    kind = schema_type(schema)
    if depth >= MAX_DEPTH:  # checked before the combinators too: `A: {oneOf: [$ref A]}` ends here
        return {"object": {}, "array": []}.get(kind, _scalar(kind, schema, spec, where))
    if "allOf" in schema:
        return schema_example(spec, merge_all_of(spec, schema, where), where, depth + 1, budget)
    for choice in ("oneOf", "anyOf"):
        options = schema.get(choice)
        if isinstance(options, list) and options:
            # Prefer a choice that is not `null` (3.1 writes nullable as anyOf [X, {type: null}]).
            index = next((i for i, option in enumerate(options)
                          if spec.resolve(option, (*where, choice, i)) != {"type": "null"}), 0)
            return schema_example(spec, options[index], (*where, choice, index), depth + 1, budget)
    if kind == "object":
        return _object(spec, schema, where, depth, budget)
    if kind == "array":
        items = schema.get("items", {})
        count = max(1, int(schema.get("minItems", 1) or 1))
        count = min(count, int(schema.get("maxItems", count)))
        return [schema_example(spec, items, (*where, "items"), depth + 1, budget) for _ in range(count)]
    return _scalar(kind, schema, spec, where)


def given_value(node: dict[str, Any]) -> tuple[bool, Any]:
    """(True, value) when the node names one: example, examples[0], default, const, enum[0]."""
    if "example" in node:
        return True, node["example"]
    examples = node.get("examples")
    if isinstance(examples, list) and examples:
        return True, examples[0]
    if isinstance(examples, dict) and examples:  # a parameter's or media type's named examples
        first = next(iter(examples.values()))
        if isinstance(first, dict) and "value" in first:
            return True, first["value"]
    for key in ("default", "const"):
        if key in node:
            return True, node[key]
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        return True, next((value for value in enum if value is not None), enum[0])
    return False, None


def schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"]
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        return "string"
    return str(kind)


def merge_all_of(spec: Spec, schema: dict[str, Any], where: tuple[str | int, ...], depth: int = 0) -> dict[str, Any]:
    """One schema with the properties, required lists and keywords of every allOf part (earlier parts win for
    plain keywords; properties and required lists add up)."""
    if depth > MAX_DEPTH:
        raise GenerateError(f"{spec.source}: {pointer_text(where)}.allOf: nested deeper than {MAX_DEPTH} levels "
                            "(an allOf that includes itself?)")
    merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties", {}))
    required: list[str] = list(merged.get("required", []))
    for index, part in enumerate(schema["allOf"]):
        part = spec.resolve(part, (*where, "allOf", index))
        if not isinstance(part, dict):
            continue
        if "allOf" in part:
            part = merge_all_of(spec, part, (*where, "allOf", index), depth + 1)
        properties.update(part.get("properties", {}))
        required += [name for name in part.get("required", []) if name not in required]
        for key, value in part.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    if properties:
        merged["properties"] = properties
        merged.setdefault("type", "object")
    if required:
        merged["required"] = required
    return merged


def _object(spec: Spec, schema: dict[str, Any], where: tuple[str | int, ...], depth: int,
            budget: _Budget) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required", []) if isinstance(name, str)]
    value: dict[str, Any] = {}
    for name, sub in properties.items():
        sub_where = (*where, "properties", name)
        resolved = spec.resolve(sub, sub_where)
        if isinstance(resolved, dict) and (resolved.get("readOnly") and name not in required):
            continue  # the server writes it; a client does not send it
        wanted = name in required or not required or (isinstance(resolved, dict) and given_value(resolved)[0])
        if wanted:
            value[name] = schema_example(spec, sub, sub_where, depth + 1, budget)
    for name in required:  # required but not described: a string is the least surprising guess
        value.setdefault(name, "string")
    return value


def _scalar(kind: str, schema: dict[str, Any], spec: Spec, where: tuple[str | int, ...]) -> Any:
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return _number(kind, schema)
    if kind == "null":
        return None
    text = FORMAT_VALUES.get(str(schema.get("format", "")), "string")
    low = int(schema.get("minLength", 0) or 0)
    if low > MAX_STRING:
        raise GenerateError(f"{spec.source}: {pointer_text(where)}.minLength: {low} characters is more than a "
                            f"generated value holds ({MAX_STRING}); give the operation an `example`")
    high = schema.get("maxLength")
    if len(text) < low:
        text += "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


def _number(kind: str, schema: dict[str, Any]) -> int | float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    exclusive_low = schema.get("exclusiveMinimum")
    exclusive_high = schema.get("exclusiveMaximum")
    step = 1 if kind == "integer" else 0.5
    # 3.1 writes exclusiveMinimum as the bound itself, 3.0 as a flag next to minimum.
    if isinstance(exclusive_low, (int, float)) and not isinstance(exclusive_low, bool):
        low = exclusive_low + step
    elif exclusive_low is True and low is not None:
        low = low + step
    if isinstance(exclusive_high, (int, float)) and not isinstance(exclusive_high, bool):
        high = exclusive_high - step
    elif exclusive_high is True and high is not None:
        high = high - step
    value: float = 1
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    if kind == "integer":
        return int(math.ceil(value))
    return float(value)
