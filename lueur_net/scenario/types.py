"""Annotated field types shared by the models: each one parses its units and publishes a matching JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt, WithJsonSchema

from lueur_net.scenario import limits, units


def _duration_schema(minimum_key: str, bare: str, description: str, maximum: float | None = None) -> dict[str, Any]:
    number: dict[str, Any] = {"type": "number", minimum_key: 0}
    if maximum is not None:
        number["maximum"] = maximum
    return {
        "anyOf": [
            number,
            {"type": "string", "pattern": units.DURATION_PATTERN},
        ],
        "description": f"{description} A bare number is in {bare}; text takes a unit: ms, s, m, h ('500ms', '1m30s').",
    }


def _ms(*, positive: bool, maximum_ms: float, why: str, what: str = "Duration") -> Any:
    """A duration in milliseconds (bare numbers are ms, as lueur reads them), > 0 or >= 0, at most `maximum_ms`."""
    bound = "> 0" if positive else ">= 0"
    return Annotated[
        float,
        BeforeValidator(units.milliseconds),
        Field(gt=0) if positive else Field(ge=0),
        limits.at_most(maximum_ms, " ms", why),
        WithJsonSchema(_duration_schema(
            "exclusiveMinimum" if positive else "minimum", "milliseconds",
            f"{what} {bound}, at most {limits.shown(maximum_ms)} ms.", maximum_ms)),
    ]


# Durations exposed in milliseconds (float), each with its limit (limits.py says why).
PositiveDelayMs = _ms(positive=True, maximum_ms=limits.MAX_DELAY_MS, why=limits.WHY_DELAY, what="Delay")
NonNegativeDelayMs = _ms(positive=False, maximum_ms=limits.MAX_DELAY_MS, why=limits.WHY_DELAY, what="Delay")
SpreadMs = _ms(positive=False, maximum_ms=limits.MAX_SPREAD_MS, why=limits.WHY_SPREAD, what="Spread")
TimeoutMs = _ms(positive=True, maximum_ms=limits.MAX_TIMEOUT_MS, why=limits.WHY_TIMEOUT)
# Durations exposed in seconds (float). Bare numbers are seconds.
RunSeconds = Annotated[
    float,
    BeforeValidator(units.seconds),
    Field(gt=0),
    limits.at_most(limits.MAX_RUN_S, " s", limits.WHY_RUN),
    WithJsonSchema(_duration_schema("exclusiveMinimum", "seconds",
                                    f"Duration > 0, at most {limits.shown(limits.MAX_RUN_S)} s (a day).",
                                    limits.MAX_RUN_S)),
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
