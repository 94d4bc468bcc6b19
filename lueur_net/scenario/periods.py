"""Fault periods: "start:<t>,duration:<t>" where <t> is a duration ("2s") or a percentage ("10%").

A period is kept as written (`Period`, two `TimePoint`s) and resolved into a `Window` (seconds) once the reference
length is known: the `load` strategy's duration, or for single/repeat calls the call's timeout (see
`Item.period_reference_s` in models.py and docs/scenario.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from lueur_net.scenario import units

PERIOD_KEYS = ("start", "duration")
_TIME = rf"\s*({units.NUMBER}\s*%|({units.NUMBER}\s*(us|µs|ms|s|m|h)\s*)+)\s*"
PERIOD_PATTERN = rf"^\s*(start|duration)\s*:{_TIME}(,\s*(start|duration)\s*:{_TIME})?$"


class TimePoint(BaseModel):
    """One side of a period: either `seconds` (absolute) or `percent` (of the reference length), never both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seconds: float | None = Field(default=None, ge=0, description="Absolute time in seconds.")
    percent: float | None = Field(default=None, ge=0, le=100, description="Share of the reference length, 0..100.")

    def resolve(self, reference_s: float) -> float:
        """Seconds, given the reference length the percentages refer to."""
        if self.percent is not None:
            return reference_s * self.percent / 100.0
        return self.seconds or 0.0

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"{self.seconds:g}s"


class Window(BaseModel):
    """When a fault is active, in seconds from the anchor (see `Item.window_anchor`); `end` is exclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: float = Field(ge=0, description="Seconds from the anchor.")
    end: float = Field(description="Seconds from the anchor; end > start.")

    @property
    def duration(self) -> float:
        return self.end - self.start


class Period(BaseModel):
    """A period as written: `start` (default 0) and `duration` (default: until the end of the reference)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The period as written in the file.")
    start: TimePoint = Field(default_factory=lambda: TimePoint(seconds=0.0))
    duration: TimePoint | None = Field(default=None, description="None: until the end of the reference length.")

    @property
    def uses_percent(self) -> bool:
        return self.start.percent is not None or (self.duration is not None and self.duration.percent is not None)

    def window(self, reference_s: float) -> Window:
        """The active window in seconds, percentages taken of `reference_s`."""
        start = self.start.resolve(reference_s)
        # With no duration the window runs to the end of the reference, or is empty if it starts after it.
        end = max(reference_s, start) if self.duration is None else start + self.duration.resolve(reference_s)
        return Window(start=start, end=end)


def _time_point(key: str, text: str, whole: str) -> TimePoint:
    share = units.percent(text)
    if share is not None:
        if share > 100:
            raise PydanticCustomError(
                "period", "{key} {text} is above 100% in period '{whole}'", {"key": key, "text": text, "whole": whole}
            )
        return TimePoint(percent=share)
    if text.strip().replace(".", "", 1).isdigit():
        raise PydanticCustomError(
            "period",
            "{key} '{text}' in period '{whole}' has no unit; write e.g. '{text}s' or '{text}%'",
            {"key": key, "text": text.strip(), "whole": whole},
        )
    try:
        seconds = units.seconds(text)
    except PydanticCustomError as error:
        raise PydanticCustomError(
            "period", "bad {key} in period '{whole}': {why}", {"key": key, "whole": whole, "why": error.message()}
        ) from None
    if seconds < 0:
        raise PydanticCustomError("period", "{key} is negative in period '{whole}'", {"key": key, "whole": whole})
    return TimePoint(seconds=seconds)


def parse_period(value: object) -> Period:
    """Parse "start:10%,duration:15%" (either order, spaces allowed). A Period instance passes through."""
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("period", "a period is a string like 'start:10%,duration:15%' or 'start:2s,duration:1s'")
    parts: dict[str, TimePoint] = {}
    for piece in value.split(","):
        if not piece.strip():
            raise PydanticCustomError("period", "empty part in period '{whole}'", {"whole": value})
        key, colon, text = piece.partition(":")
        key = key.strip()
        if not colon:
            raise PydanticCustomError(
                "period", "cannot read '{piece}' in period '{whole}'; write 'start:<t>,duration:<t>'",
                {"piece": piece.strip(), "whole": value},
            )
        if key not in PERIOD_KEYS:
            raise PydanticCustomError(
                "period", "unknown key '{key}' in period '{whole}'{hint} (keys: start, duration)",
                {"key": key, "whole": value, "hint": units.did_you_mean(key, PERIOD_KEYS)},
            )
        if key in parts:
            raise PydanticCustomError("period", "'{key}' given twice in period '{whole}'", {"key": key, "whole": value})
        parts[key] = _time_point(key, text, value)
    start = parts.get("start", TimePoint(seconds=0.0))
    duration = parts.get("duration")
    if duration is not None and duration.resolve(1.0) == 0.0:
        raise PydanticCustomError("period", "duration must be greater than 0 in period '{whole}'", {"whole": value})
    if start.percent is not None and duration is not None and duration.percent is not None:
        if start.percent + duration.percent > 100.0 + 1e-9:
            raise PydanticCustomError(
                "period",
                "period '{whole}' runs past the end: start {start} + duration {duration} = {total}% > 100%",
                {"whole": value, "start": str(start), "duration": str(duration),
                 "total": f"{start.percent + duration.percent:g}"},
            )
    if start.percent is not None and start.percent >= 100.0:
        raise PydanticCustomError("period", "period '{whole}' starts at the end (100%)", {"whole": value})
    return Period(text=value, start=start, duration=duration)


def as_period_list(value: object) -> object:
    """`period` may be one string or a list of strings (several windows); None means always active."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise PydanticCustomError(
            "period", "a period is a string like 'start:10%,duration:15%', or a list of them; got {value}",
            {"value": repr(value)},
        )
    return value
