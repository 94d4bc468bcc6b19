from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from lueur_net.scenario import units
from lueur_net.scenario.periods import parse_period


@pytest.mark.parametrize(
    ("text", "expected_ms"),
    [(250, 250.0), (0.5, 0.5), ("500ms", 500.0), ("2s", 2000.0), ("1m", 60000.0), ("1h", 3_600_000.0),
     ("1m30s", 90000.0), (" 1.5 s ", 1500.0), ("250", 250.0), ("100us", 0.1)],
)
def test_milliseconds_reads_bare_numbers_as_ms_and_units(text: object, expected_ms: float) -> None:
    assert units.milliseconds(text) == pytest.approx(expected_ms)


@pytest.mark.parametrize(("text", "expected_s"), [("10s", 10.0), ("1m", 60.0), (15, 15.0), ("500ms", 0.5)])
def test_seconds_reads_bare_numbers_as_seconds(text: object, expected_s: float) -> None:
    assert units.seconds(text) == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("text", "hint"),
    [("10sec", "did you mean 's'"), ("5 mins", "did you mean 'm'"), ("3hours", "did you mean 'h'"),
     ("20msec", "did you mean 'ms'"), ("10 seconds", "did you mean 's'")],
)
def test_unit_typos_suggest_the_unit(text: str, hint: str) -> None:
    with pytest.raises(PydanticCustomError) as raised:
        units.milliseconds(text)
    assert hint in raised.value.message()
    assert "unknown time unit" in raised.value.message()


@pytest.mark.parametrize("value", ["", "fast", "1s2", True, None, [1], float("inf")])
def test_unreadable_durations_are_errors(value: object) -> None:
    with pytest.raises(PydanticCustomError):
        units.milliseconds(value)


@pytest.mark.parametrize(("value", "expected"), [(0.05, 0.05), ("5%", 0.05), ("12.5 %", 0.125), (1, 1.0)])
def test_probability_accepts_fractions_and_percentages(value: object, expected: float) -> None:
    assert units.probability(value) == pytest.approx(expected)


def test_probability_refuses_booleans_and_words() -> None:
    for value in (True, "often"):
        with pytest.raises(PydanticCustomError):
            units.probability(value)


def test_a_quoted_number_is_not_a_probability() -> None:
    """lueur reads a probability as a float, and the published JSON Schema refuses text without '%': the loader
    accepted '0.2' (found by the schema/loader agreement test's random run)."""
    with pytest.raises(PydanticCustomError, match="got text '0.2' .a number goes without quotes"):
        units.probability("0.2")


def test_period_in_percent_and_seconds_resolves_to_windows() -> None:
    percent = parse_period("start:10%,duration:15%")
    assert percent.window(10.0).start == pytest.approx(1.0)
    assert percent.window(10.0).end == pytest.approx(2.5)
    absolute = parse_period("duration: 500ms , start: 2s")
    assert (absolute.window(99.0).start, absolute.window(99.0).end) == pytest.approx((2.0, 2.5))
    open_ended = parse_period("start:40%")
    assert open_ended.duration is None and open_ended.window(10.0).end == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("start:10%,duration:95%", "runs past the end"),
        ("start:150%", "above 100%"),
        ("strt:1s", "did you mean 'start'"),
        ("start:-1s", "negative"),
        ("start:1s,start:2s", "given twice"),
        ("start:1s,duration:0s", "greater than 0"),
        ("start 1s", "cannot read"),
        ("start:1sec", "did you mean 's'"),
        ("start:1s;duration:0", "greater than 0"),
        ("start:1s;,", "has neither start nor duration"),
        (" ; ", "empty period"),
    ],
)
def test_bad_periods_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(PydanticCustomError) as raised:
        parse_period(text)
    assert fragment in raised.value.message()
