"""Units of the scenario format: durations, percentages, probabilities, byte rates.

Every parser here takes the raw YAML value and returns a plain number in the unit the models expose
(milliseconds or seconds as float, probabilities as 0..1 floats, bytes per second), or raises
`pydantic_core.PydanticCustomError` with a message that names the bad text and, for a unit typo, the unit
that was probably meant. Pure functions, no I/O.
"""

from __future__ import annotations

import difflib
import math
import re

from pydantic_core import PydanticCustomError

# Seconds per unit. "us"/"µs" exist because netem speaks in them; lueur itself uses ms, s, m, h.
DURATION_UNITS: dict[str, float] = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

# Long spellings people type, mapped to the unit they meant (used only to suggest, never accepted silently).
_UNIT_SPELLINGS: dict[str, str] = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s", "sc": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m", "mn": "m",
    "msec": "ms", "msecs": "ms", "millis": "ms", "milli": "ms", "millisecond": "ms", "milliseconds": "ms",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "usec": "us", "micros": "us", "microseconds": "us",
}

# lueur's units are decimal (its BandwidthUnit::to_bytes_per_second multiplies KBps by 1_000); the binary ones are
# lueur-net's extension, spelled as IEC prefixes so that nobody reads one for the other.
BYTE_RATE_UNITS: dict[str, int] = {
    "Bps": 1,
    "KBps": 1000,
    "MBps": 1000**2,
    "GBps": 1000**3,
    "KiBps": 1024,
    "MiBps": 1024**2,
    "GiBps": 1024**3,
}

NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?"
_DURATION_PART = re.compile(rf"\s*({NUMBER})\s*([^\s0-9.]*)\s*")
_PERCENT = re.compile(rf"^\s*({NUMBER})\s*%\s*$")

# Text with units ("1m30s"), or a bare number written as text ("250": the field's bare unit).
DURATION_PATTERN = rf"^\s*(({NUMBER}\s*(us|µs|ms|s|m|h)\s*)+|{NUMBER}\s*)$"
PERCENT_PATTERN = rf"^\s*{NUMBER}\s*%\s*$"


def suggest(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The valid choice nearest to `word` (case-insensitive), or None when nothing is close."""
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """" did you mean 'x'?" or an empty string."""
    nearest = suggest(word, choices)
    return f"; did you mean '{nearest}'?" if nearest is not None and nearest != word else ""


def _unit_hint(unit: str) -> str:
    meant = _UNIT_SPELLINGS.get(unit.lower()) or suggest(unit, list(DURATION_UNITS))
    return f"; did you mean '{meant}'?" if meant else ""


def _reject_bool(value: object, what: str) -> None:
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "expected {what}, got a boolean", {"what": what})


def parse_duration_seconds(value: object, *, bare_unit: str) -> float:
    """A duration in seconds. Text is "<number><unit>" or several in a row ("1m30s"); a bare number is in `bare_unit`.

    Zero and negative values are left to the field constraints so their message names the limit.
    """
    _reject_bool(value, "a duration")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise PydanticCustomError("duration", "duration must be a finite number")
        return float(value) * DURATION_UNITS[bare_unit]
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration", "expected a duration like '500ms', '10s', '1m' or a number of {unit}", {"unit": bare_unit}
        )
    text = value.strip()
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    if not text:
        raise PydanticCustomError("duration", "empty duration; write e.g. '500ms' or '10s'")
    total = 0.0
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None or match.end() == position:
            raise PydanticCustomError(
                "duration", "cannot read duration '{text}'; write e.g. '500ms', '10s', '1m', '1h'", {"text": value}
            )
        number, unit = match.group(1), match.group(2)
        if unit == "":
            if position == 0 and match.end() == len(text):
                total = float(number) * DURATION_UNITS[bare_unit]
                break
            raise PydanticCustomError("duration", "missing unit in duration '{text}'", {"text": value})
        if unit not in DURATION_UNITS:
            raise PydanticCustomError(
                "duration_unit",
                "unknown time unit '{unit}' in '{text}'{hint} (units: ms, s, m, h)",
                {"unit": unit, "text": value, "hint": _unit_hint(unit)},
            )
        total += float(number) * DURATION_UNITS[unit]
        position = match.end()
    if not math.isfinite(total):
        raise PydanticCustomError("duration", "duration '{text}' is too large", {"text": value})
    return -total if negative else total


def milliseconds(value: object) -> float:
    """A duration in milliseconds (bare numbers are milliseconds, as in lueur)."""
    return parse_duration_seconds(value, bare_unit="ms") * 1000.0


def seconds(value: object) -> float:
    """A duration in seconds (bare numbers are seconds)."""
    return parse_duration_seconds(value, bare_unit="s")


def percent(text: str) -> float | None:
    """The number in "15%", or None when the text is not a percentage."""
    match = _PERCENT.match(text)
    return float(match.group(1)) if match else None


def probability(value: object) -> float:
    """A probability as a 0..1 float. Accepts a number (0.05) or a percentage string ("5%")."""
    _reject_bool(value, "a probability")
    if isinstance(value, str):
        share = percent(value)
        if share is None:
            # A number in quotes ('0.2') is text: lueur (a float field) and the JSON Schema refuse it, so do we.
            raise PydanticCustomError(
                "probability", "expected a probability between 0 and 1 (e.g. 0.05) or a percentage ('5%'), got "
                "text '{value}' (a number goes without quotes)", {"value": value})
        return _finite(share / 100.0)
    if isinstance(value, (int, float)):
        return _finite(float(value))
    raise PydanticCustomError("probability", "expected a probability between 0 and 1 (e.g. 0.05) or a percentage")


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise PydanticCustomError("not_finite", "must be a finite number, got {value}", {"value": str(value)})
    return value


def number(value: object) -> object:
    """Refuse booleans and text (pydantic's lax mode would read true as 1 and "95" as 95; lueur and the JSON Schema
    do not), and infinities/NaN where a number is expected."""
    _reject_bool(value, "a number")
    if isinstance(value, str):
        raise PydanticCustomError("number", "expected a number, got text {text}", {"text": repr(value)})
    if isinstance(value, float):
        _finite(value)
    return value
