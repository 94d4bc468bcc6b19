"""Values from schemas: examples and defaults first, formats respected, bounds kept, recursion stopped."""

from __future__ import annotations

from typing import Any

import pytest

from lueur_net.generate import load_spec
from lueur_net.generate.examples import MAX_DEPTH, schema_example


def _value(schema: dict[str, Any], components: dict[str, Any] | None = None) -> Any:
    spec = load_spec('{"openapi": "3.1.0", "paths": {}, "components": {"schemas": %s}}'
                     % __import__("json").dumps(components or {}), "s.json")
    return schema_example(spec, schema, ("schema",))


@pytest.mark.parametrize("schema, value", [
    ({"type": "string", "format": "uuid"}, "3fa85f64-5717-4562-b3fc-2c963f66afa6"),
    ({"type": "string", "format": "date-time"}, "2024-01-01T00:00:00Z"),
    ({"type": "string", "format": "email"}, "user@example.com"),
    ({"type": "string", "minLength": 10}, "stringxxxx"),
    ({"type": "string", "maxLength": 3}, "str"),
    ({"type": "integer", "minimum": 5}, 5),
    ({"type": "integer", "maximum": 0}, 0),
    ({"type": "integer", "exclusiveMinimum": 1}, 2),  # 3.1: the bound itself
    ({"type": "number", "minimum": 1, "exclusiveMinimum": True}, 1.5),  # 3.0: a flag
    ({"type": "integer", "minimum": 3, "multipleOf": 5}, 5),
    ({"type": "boolean"}, True),
    ({"type": ["null", "string"]}, "string"),
    ({"anyOf": [{"type": "null"}, {"type": "integer"}]}, 1),
    ({"type": "string", "example": "given", "default": "other"}, "given"),
    ({"type": "string", "examples": ["first", "second"]}, "first"),
    ({"type": "string", "enum": [None, "b"]}, "b"),
    ({"const": 7}, 7),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, [1, 1]),
    ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}}, {"a": 1, "b": "string"}),
    ({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {"type": "string"},
                                                          "c": {"type": "string", "default": "d"}}},
     {"a": 1, "c": "d"}),
    ({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer", "readOnly": True},
                                                           "x": {"type": "string", "readOnly": True}}}, {"id": 1}),
    ({"allOf": [{"$ref": "#/components/schemas/A"}, {"required": ["b"], "properties": {"b": {"type": "boolean"}}}]},
     {"a": "string", "b": True}),
])
def test_schema_values(schema: dict[str, Any], value: Any) -> None:
    components = {"A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}}
    assert _value(schema, components) == value


def test_a_recursive_schema_stops() -> None:
    components = {"Node": {"type": "object", "required": ["child"],
                           "properties": {"child": {"$ref": "#/components/schemas/Node"}}}}
    value = _value({"$ref": "#/components/schemas/Node"}, components)
    depth = 0
    while value:
        value = value["child"]
        depth += 1
    assert depth == MAX_DEPTH


def test_a_ref_loop_is_an_error_not_a_hang() -> None:
    from lueur_net.generate import GenerateError

    components = {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}
    with pytest.raises(GenerateError, match=r"refers to itself"):
        _value({"$ref": "#/components/schemas/A"}, components)


def test_self_including_combinators_stop() -> None:
    from lueur_net.generate import GenerateError

    assert _value({"$ref": "#/components/schemas/A"}, {"A": {"oneOf": [{"$ref": "#/components/schemas/A"}]}}) \
        == "string"
    with pytest.raises(GenerateError, match=r"nested deeper than 8 levels"):
        _value({"$ref": "#/components/schemas/A"}, {"A": {"allOf": [{"$ref": "#/components/schemas/A"}]}})


def test_an_unexpected_node_type_is_one_line_naming_the_operation(generate, tmp_path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("openapi: 3.0.0\nservers: [{url: 'http://localhost:1'}]\npaths:\n  /x:\n    post:\n"
                    "      requestBody:\n        content:\n          application/json:\n"
                    "            schema: {type: array, minItems: two}\n")
    done = generate("--spec-file", spec, "--methods", "POST")
    assert done.code == 2
    assert done.err.count("\n") == 1, done.err
    assert done.err.startswith(f"lueur-net: error: {spec}: paths./x.post: unexpected structure, cannot generate "
                               "(ValueError: ")


def test_a_value_too_large_to_build_is_one_error_not_a_machine_out_of_memory() -> None:
    # Found by the fuzz test: nested minItems of a million each took 24 GB before the kernel killed the tests.
    from lueur_net.generate import GenerateError

    nested = {"type": "array", "minItems": 1_000_000,
              "items": {"type": "array", "minItems": 1_000_000, "items": {"type": "string"}}}
    with pytest.raises(GenerateError, match=r"more than 10000 parts \(minItems\?\); give the operation an `example`"):
        _value(nested, {})
    with pytest.raises(GenerateError, match=r"minLength: 100000000 characters is more than a generated value holds"):
        _value({"type": "string", "minLength": 100_000_000}, {})
    assert len(_value({"type": "array", "minItems": 50, "items": {"type": "integer"}}, {})) == 50  # honoured below
    with pytest.raises((GenerateError, OverflowError)):  # generate() turns the latter into its one line
        _value({"type": "string", "minLength": float("inf")}, {})
