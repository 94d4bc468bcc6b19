"""The facts check: every figure the model writes is looked up in the results. Pure: no network.

A small model invents numbers ("p99 rose to 1,200 ms") as easily as it copies them. The executive summary and the
SLO deep dive are the sections a reader quotes, so each figure in them is compared with the numbers of the facts
block (every percentile, error rate, margin, count and fault parameter the model was given) and flagged inline when
it matches none; a footer counts them.

A figure matches a known value when it equals it at the precision it is written with (500.55 written as "501" or
"500.6"), or within 0.5 % of it, also after a unit change the text makes plain (ms <-> s, % <-> fraction). A
duration is compared with the facts' durations ("500 ms" is "0.5 s", never "500 s"), a share (% or pp) with their
shares, each also with the facts' numbers that carry no unit; a figure without a unit, or with another one (calls,
rps, kB, x), with every number of the facts, in any of those units. Not
checked, because they are not measurements: list and heading ordinals ("1.", "2)"), bare integers 0-10 with no
unit ("3 scenarios" is checked only when it carries a unit), numbers inside words or names (p95, HTTP/1.1, 5xx,
IPv6), and code blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FLAG = "[not in the results]"
_UNIT = r"(?:\s?(?:ms|sec(?:onds)?|s|%|pp|x|rps|kB|KB|kb|MB)\b|\s?%|\s(?:calls|errors|requests)\b)"
_NUMBER = re.compile(
    r"(?<![\w./-])(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?P<unit>" + _UNIT + r")?"
    r"(?![A-Za-z\d_])")
_KNOWN = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_ORDINAL = re.compile(r"^\s*(?:#+\s*)?(?:[-*]\s+)?\d+[.)]\s")
RELATIVE_TOLERANCE = 0.005
SMALL_BARE_INTEGER = 10


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


# A written unit -> (what it measures, the factor to that measure's unit: ms for durations, % for shares).
_MEASURES = {"ms": ("duration", 1.0), "s": ("duration", 1000.0), "sec": ("duration", 1000.0),
             "seconds": ("duration", 1000.0), "%": ("share", 1.0), "pp": ("share", 1.0)}


def _converted(value: float) -> set[float]:
    """The forms a writer may convert a number of unknown unit to (ms <-> s, % <-> fraction)."""
    return {value, value / 1000, value * 1000, value / 100, value * 100}


@dataclass(frozen=True)
class KnownValues:
    """The numbers of a facts block, sorted into what a written figure may be compared with."""

    anything: tuple[float, ...]  # every number, in every converted form: for a figure without a known measure
    durations_ms: tuple[float, ...]  # those written as durations, in ms
    shares: tuple[float, ...]  # those written as % or pp
    unitless: tuple[float, ...]  # those written without a unit, in every converted form


def known_values(facts: str) -> KnownValues:
    """Every number of the facts block, with what it measures where its unit says so."""
    anything: set[float] = set()
    for match in _KNOWN.finditer(facts):
        anything.update(_converted(abs(_value(match.group(0)))))
    measured: dict[str, set[float]] = {"duration": set(), "share": set()}
    unitless: set[float] = set()
    for match in _NUMBER.finditer(facts):
        value = abs(_value(match.group("num")))
        unit = (match.group("unit") or "").strip()
        if unit in _MEASURES:
            measure, factor = _MEASURES[unit]
            measured[measure].add(value * factor)
        elif not unit:
            unitless.update(_converted(value))
    return KnownValues(tuple(sorted(anything)), tuple(sorted(measured["duration"])), tuple(sorted(measured["share"])),
                       tuple(sorted(unitless)))


def _near(value: float, rounding: float, candidates: tuple[float, ...]) -> bool:
    return any(abs(value - candidate) <= max(rounding, RELATIVE_TOLERANCE * candidate) + 1e-9
               for candidate in candidates)


def _matches(written: str, unit: str, known: KnownValues) -> bool:
    value = abs(_value(written))
    rounding = 0.5 * 10 ** -_decimals(written)
    if unit in _MEASURES:
        measure, factor = _MEASURES[unit]
        same = known.durations_ms if measure == "duration" else known.shares
        return _near(value * factor, rounding * factor, same) or _near(value, rounding, known.unitless)
    return _near(value, rounding, known.anything)


@dataclass(frozen=True)
class CheckedSection:
    text: str  # with FLAG after each figure that matches nothing, and the footer when there is one
    unmatched: list[str]  # the figures as written, in order

    @property
    def count(self) -> int:
        return len(self.unmatched)


def footer(count: int) -> str:
    if count == 1:
        return "_1 figure in this section does not appear in the results._"
    return f"_{count} figures in this section do not appear in the results._"


def check_figures(text: str, known: KnownValues) -> CheckedSection:
    """Flag each figure of `text` that matches no known value; add the footer when any was flagged."""
    out: list[str] = []
    unmatched: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            out.append(line)
            continue
        if in_code:
            out.append(line)
            continue
        ordinal = _ORDINAL.match(line)
        skip_to = ordinal.end() if ordinal else 0
        pieces: list[str] = []
        last = 0
        for match in _NUMBER.finditer(line):
            if match.start() < skip_to:
                continue
            number, unit = match.group("num"), (match.group("unit") or "").strip()
            if not unit and "." not in number and "," not in number and abs(_value(number)) <= SMALL_BARE_INTEGER:
                continue
            if _matches(number, unit, known):
                continue
            unmatched.append(match.group(0).strip())
            pieces += [line[last:match.end()], f" {FLAG}"]
            last = match.end()
        pieces.append(line[last:])
        out.append("".join(pieces))
    checked = "\n".join(out)
    if unmatched:
        checked = checked.rstrip() + "\n\n" + footer(len(unmatched))
    return CheckedSection(checked, unmatched)
