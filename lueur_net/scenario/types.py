"""Annotated field types shared by the models: each one parses its units and publishes a matching JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt, WithJsonSchema

from lueur_net.scenario import units


def _duration_schema(minimum_key: str, bare: str, description: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "number", minimum_key: 0},
            {"type": "string", "pattern": units.DURATION_PATTERN},
        ],
        "description": f"{description} A bare number is in {bare}; text takes a unit: ms, s, m, h ('500ms', '1m30s').",
    }


# Durations exposed in milliseconds (float). Bare numbers are milliseconds, as lueur reads them.
PositiveMs = Annotated[
    float,
    BeforeValidator(units.milliseconds),
    Field(gt=0),
    WithJsonSchema(_duration_schema("exclusiveMinimum", "milliseconds", "Duration > 0.")),
]
NonNegativeMs = Annotated[
    float,
    BeforeValidator(units.milliseconds),
    Field(ge=0),
    WithJsonSchema(_duration_schema("minimum", "milliseconds", "Duration >= 0.")),
]
# Durations exposed in seconds (float). Bare numbers are seconds.
PositiveSeconds = Annotated[
    float,
    BeforeValidator(units.seconds),
    Field(gt=0),
    WithJsonSchema(_duration_schema("exclusiveMinimum", "seconds", "Duration > 0.")),
]

# 0..1 float; a percentage string ("5%") is accepted and divided by 100.
Probability = Annotated[
    float,
    BeforeValidator(units.probability),
    Field(ge=0, le=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": units.PERCENT_PATTERN},
            ],
            "description": "Probability 0..1, or a percentage string such as '5%'.",
        }
    ),
]

# Constraints before the validator, so that pydantic writes them into the JSON Schema as minimum/exclusiveMinimum.
PositiveNumber = Annotated[float, Field(gt=0), BeforeValidator(units.number)]
NonNegativeNumber = Annotated[float, Field(ge=0), BeforeValidator(units.number)]


def _whole(value: object) -> object:
    # JSON has one number type and JSON Schema's "integer" is any number with no fraction: read 2.0 as 2.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


PositiveInt = Annotated[StrictInt, Field(gt=0), BeforeValidator(_whole)]
StatusCode = Annotated[StrictInt, Field(ge=100, le=599), BeforeValidator(_whole)]


def _scalar_to_text(value: object) -> object:
    # Header values and path segments are text on the wire; YAML reads `id: 1` as an int, so accept plain scalars.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[
    str,
    BeforeValidator(_scalar_to_text),
    WithJsonSchema({"type": ["string", "number"], "description": "Text; a number is read as its text (id: 1)."}),
]
