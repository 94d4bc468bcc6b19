"""The facts check: every figure the model writes is looked up in the results. Pure: no network.

A small model invents numbers ("p99 rose to 1,200 ms") as easily as it copies them. The executive summary and the
SLO deep dive are the sections a reader quotes, so each figure in them is compared with the numbers of the facts
block (every percentile, error rate, margin, count and fault parameter the model was given) and flagged inline when
it matches none; a footer counts them.

A figure matches a known value when it equals it at the precision it is written with (500.55 written as "501" or
"500.6"), or within 0.5 % of it, also after a unit change the text makes plain (ms <-> s, % <-> fraction). Not
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


def known_values(facts: str) -> list[float]:
    """Every number of the facts block, with the forms a writer may convert it to (ms <-> s, % <-> fraction)."""
    values: set[float] = set()
    for match in _KNOWN.finditer(facts):
        value = abs(_value(match.group(0)))
        values.update({value, value / 1000, value * 1000, value / 100, value * 100})
    return sorted(values)


def _matches(written: str, known: list[float]) -> bool:
    value = abs(_value(written))
    rounding = 0.5 * 10 ** -_decimals(written)
    for candidate in known:
        if abs(value - candidate) <= max(rounding, RELATIVE_TOLERANCE * candidate) + 1e-9:
            return True
    return False


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


def check_figures(text: str, known: list[float]) -> CheckedSection:
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
            if _matches(number, known):
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
