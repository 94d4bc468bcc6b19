"""Fault periods, read as lueur reads them, plus a clear error where lueur silently drops one.

Grammar (lueur's `parse_periods`): windows separated by `;`, each `start:<t>,duration:<t>` with the keys in any
order; `<t>` is a duration with a unit ("2s", "500ms"), a bare number of seconds ("2"), or a percentage ("10%");
a missing `start` is 0, a missing `duration` is "until the end"; empty pieces (a trailing `;` or `,`) are skipped.
`period` may also be a list of such strings (lueur-net's extension); every window of every string is kept (lueur
keeps only the first window of a scenario's period).

Each window is kept as written (`Period`, two `TimePoint`s) and resolved into a `Window` (seconds) once the
reference length is known: the `load` strategy's duration, or for single/repeat calls the call's timeout (see
`Item.period_reference_s` in models.py and docs/scenario.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from lueur_net.scenario import limits, units

PERIOD_KEYS = ("start", "duration")
_TIME = rf"(?:{units.NUMBER}\s*%|(?:{units.NUMBER}\s*(?:us|µs|ms|s|m|h)\s*)+|{units.NUMBER})"
_EMPTY_PIECES = r"(?:\s*,)*"


def _key(name: str) -> str:
    return rf"\s*{name}\s*:\s*{_TIME}\s*"


# One window: start and/or duration, each at most once, in either order, empty pieces allowed around them.
_WINDOW = (
    rf"{_EMPTY_PIECES}(?:{_key('start')}(?:,{_EMPTY_PIECES}{_key('duration')})?"
    rf"|{_key('duration')}(?:,{_EMPTY_PIECES}{_key('start')})?){_EMPTY_PIECES}\s*"
)
# Windows separated by ';' (blank ones skipped), at least one window (the look-ahead: some key was written).
PERIOD_PATTERN = rf"^(?=[\s\S]*:)\s*(?:{_WINDOW})?(?:;\s*(?:{_WINDOW})?)*$"


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

    text: str = Field(description="This window as written in the file.")
    start: TimePoint = Field(default_factory=lambda: TimePoint(seconds=0.0))
    duration: TimePoint | None = Field(default=None, description="None: until the end of the reference length.")
    # Which element of a `period` list this window was written in (None: `period` was one string). Only for
    # pointing problems at the right line; not part of the normalised model.
    source: int | None = Field(default=None, exclude=True)

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
    try:
        # A bare number is seconds, as in lueur (its parser falls back to whole seconds).
        seconds = units.seconds(text)
    except PydanticCustomError as error:
        raise PydanticCustomError(
            "period", "bad {key} in period '{whole}': {why}", {"key": key, "whole": whole, "why": error.message()}
        ) from None
    if seconds < 0:
        raise PydanticCustomError("period", "{key} is negative in period '{whole}'", {"key": key, "whole": whole})
    if seconds > limits.MAX_RUN_S:
        raise PydanticCustomError(
            "period", "{key} {value} s is above the limit of {limit} s in period '{whole}': {why}",
            {"key": key, "value": limits.shown(seconds), "limit": limits.shown(limits.MAX_RUN_S), "whole": whole,
             "why": limits.WHY_RUN},
        )
    return TimePoint(seconds=seconds)


def _window(piece: str, whole: str, source: int | None) -> Period:
    parts: dict[str, TimePoint] = {}
    for pair in piece.split(","):
        if not pair.strip():
            continue  # lueur skips empty pieces: "start:1s," is one window
        key, colon, text = pair.partition(":")
        key = key.strip()
        if not colon:
            raise PydanticCustomError(
                "period", "cannot read '{piece}' in period '{whole}'; write 'start:<t>,duration:<t>'",
                {"piece": pair.strip(), "whole": whole},
            )
        if key not in PERIOD_KEYS:
            raise PydanticCustomError(
                "period", "unknown key '{key}' in period '{whole}'{hint} (keys: start, duration)",
                {"key": key, "whole": whole, "hint": units.did_you_mean(key, PERIOD_KEYS)},
            )
        if key in parts:
            # lueur would keep the last one; two values for one key is a typo worth stopping on.
            raise PydanticCustomError("period", "'{key}' given twice in period '{whole}'", {"key": key, "whole": whole})
        parts[key] = _time_point(key, text, whole)
    if not parts:
        raise PydanticCustomError(
            "period", "window '{piece}' in period '{whole}' has neither start nor duration",
            {"piece": piece, "whole": whole},
        )
    start = parts.get("start", TimePoint(seconds=0.0))
    duration = parts.get("duration")
    if duration is not None and duration.resolve(1.0) == 0.0:
        raise PydanticCustomError("period", "duration must be greater than 0 in period '{whole}'", {"whole": whole})
    if start.percent is not None and duration is not None and duration.percent is not None:
        if start.percent + duration.percent > 100.0 + 1e-9:
            raise PydanticCustomError(
                "period",
                "period '{whole}' runs past the end: start {start} + duration {duration} = {total}% > 100%",
                {"whole": whole, "start": str(start), "duration": str(duration),
                 "total": f"{start.percent + duration.percent:g}"},
            )
    if start.percent is not None and start.percent >= 100.0:
        raise PydanticCustomError("period", "period '{whole}' starts at the end (100%)", {"whole": whole})
    return Period(text=piece, start=start, duration=duration, source=source)


def parse_windows(value: object, source: int | None = None) -> tuple[Period, ...]:
    """Every window of one period string: "start:2s,duration:3s;start:50%" (see the module's grammar)."""
    if isinstance(value, Period):
        return (value,)
    if not isinstance(value, str):
        raise PydanticCustomError(
            "period", "a period is a string like 'start:10%,duration:15%' or 'start:2s,duration:1s'"
        )
    pieces = [piece.strip() for piece in value.split(";") if piece.strip()]
    if not pieces:
        raise PydanticCustomError(
            "period", "empty period '{whole}'; leave 'period' out for a fault active the whole time", {"whole": value}
        )
    return tuple(_window(piece, value, source) for piece in pieces)


def parse_period(value: object) -> Period:
    """One window: "start:10%,duration:15%" (either order, spaces allowed). A Period instance passes through.

    Given several windows ("...;..."), returns the first; `as_period_list` is what splits them. This is the
    per-element validator, so that a bad string is reported at its own index of a `period` list.
    """
    return parse_windows(value)[0]


def as_period_list(value: object) -> object:
    """`period` as a tuple of windows: one string (windows split on ';'), a list of them, or None (always active).

    When any element cannot be read, the elements are returned as written (one per index), so that the
    per-element validator (`parse_period`) reports each error at the index the file has.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        elements: list[object] = [value]
        written_as_list = False
    elif isinstance(value, (list, tuple)):
        elements = list(value)
        written_as_list = True
    else:
        raise PydanticCustomError(
            "period", "a period is a string like 'start:10%,duration:15%', or a list of them; got {value}",
            {"value": repr(value)},
        )
    windows: list[Period] = []
    for index, element in enumerate(elements):
        try:
            windows.extend(parse_windows(element, index if written_as_list else None))
        except PydanticCustomError:
            return tuple(elements)
    return tuple(windows)
