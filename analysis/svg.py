"""Small inline-SVG charts for the HTML report, written by hand: no JavaScript, nothing fetched.

Each function returns one `<svg>` element that scales to its container (viewBox + width 100%), so the report
reads on a phone. Text is escaped here; callers pass plain strings. Colours are fixed for baseline/fault/error
and match the report's legend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 22, 38  # TOP leaves room for the window labels above the plot
COLOUR_OK = "#2563eb"
COLOUR_FAULT = "#f59e0b"
COLOUR_ERROR = "#dc2626"
COLOUR_WINDOW = "#fde68a"
COLOUR_GRID = "#e5e7eb"
COLOUR_TEXT = "#374151"


@dataclass(frozen=True)
class Point:
    t: float  # seconds from the item's start
    value: float  # milliseconds
    error: bool = False
    under_fault: bool = False


@dataclass(frozen=True)
class Band:
    start: float
    end: float
    label: str


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _ms_label(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:g} ms"


class _Axis:
    """Maps data values to pixels, linear or log10 (log when the range spans more than ~1.5 decades)."""

    def __init__(self, low: float, high: float, pixel_low: float, pixel_high: float, log: bool = False) -> None:
        self.log = log and low > 0
        if self.log:
            low, high = math.log10(low), math.log10(high)
        if high <= low:
            high = low + 1.0
        self.low, self.high, self.pixel_low, self.pixel_high = low, high, pixel_low, pixel_high

    def __call__(self, value: float) -> float:
        if self.log:
            value = math.log10(max(value, 10 ** self.low))
        share = (value - self.low) / (self.high - self.low)
        return self.pixel_low + share * (self.pixel_high - self.pixel_low)

    def ticks(self) -> list[float]:
        if self.log:
            # 1-2-5 steps over few decades (readable labels near the data), decades only over many.
            steps = (1, 2, 5) if self.high - self.low <= 3 else (1,)
            ticks = []
            for exponent in range(math.floor(self.low), math.ceil(self.high) + 1):
                for step in steps:
                    value = step * 10.0 ** exponent
                    if self.low - 1e-9 <= math.log10(value) <= self.high + 1e-9:
                        ticks.append(value)
            return ticks
        span = self.high - self.low
        raw = span / 5
        magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.low / step) * step
        count = int((self.high - first) / step + 1e-9) + 1
        return [first + i * step for i in range(max(count, 0))]


def _frame(title: str, body: list[str], x_label: str, y_label: str) -> str:
    head = (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="100%" role="img" aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
            f"<title>{escape(title)}</title>"
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
    labels = (
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 4}" font-size="12" text-anchor="middle" '
        f'fill="{COLOUR_TEXT}">{escape(x_label)}</text>'
        f'<text x="12" y="{(TOP + HEIGHT - BOTTOM) / 2}" font-size="12" text-anchor="middle" fill="{COLOUR_TEXT}" '
        f'transform="rotate(-90 12 {(TOP + HEIGHT - BOTTOM) / 2})">{escape(y_label)}</text>'
    )
    return head + "".join(body) + labels + "</svg>"


def _line(x1: object, x2: object, y1: object, y2: object, colour: str) -> str:
    return f'<line x1="{x1}" x2="{x2}" y1="{y1}" y2="{y2}" stroke="{colour}" stroke-width="1"/>'


def _tick_label(x: object, y: object, anchor: str, text: str) -> str:
    return (f'<text x="{x}" y="{y}" font-size="11" text-anchor="{anchor}" fill="{COLOUR_TEXT}">'
            f'{escape(text)}</text>')


def _grid(x: _Axis, y: _Axis, x_format: Callable[[float], str], y_format: Callable[[float], str]) -> list[str]:
    parts = []
    for tick in y.ticks():
        py = y(tick)
        parts.append(_line(LEFT, WIDTH - RIGHT, _number(py), _number(py), COLOUR_GRID))
        parts.append(_tick_label(LEFT - 4, _number(py + 4), "end", y_format(tick)))
    for tick in x.ticks():
        px = x(tick)
        parts.append(_line(_number(px), _number(px), HEIGHT - BOTTOM, HEIGHT - BOTTOM + 4, COLOUR_TEXT))
        parts.append(_tick_label(_number(px), HEIGHT - BOTTOM + 16, "middle", x_format(tick)))
    parts.append(_line(LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, HEIGHT - BOTTOM, COLOUR_TEXT))
    parts.append(_line(LEFT, LEFT, TOP, HEIGHT - BOTTOM, COLOUR_TEXT))
    return parts


def _bands(bands: Sequence[Band], x: _Axis) -> list[str]:
    parts = []
    for band in bands:
        x0, x1 = x(band.start), x(band.end)
        parts.append(f'<rect class="fault-window" x="{_number(x0)}" y="{TOP}" width="{_number(max(x1 - x0, 1.5))}" '
                     f'height="{HEIGHT - TOP - BOTTOM}" fill="{COLOUR_WINDOW}" fill-opacity="0.6">'
                     f"<title>{escape(band.label)}</title></rect>")
        parts.append(f'<text x="{_number(x0 + 2)}" y="{TOP - 5}" font-size="10" fill="#92400e">'
                     f"{escape(band.label[:24])}</text>")
    return parts


MAX_MARKS = 3_000  # marks per timeline; a long load run is thinned to this (the file stays small and fast)


def thin_points(points: Sequence[Point], limit: int = MAX_MARKS) -> list[Point]:
    """At most `limit` points, keeping what a reader looks for: every error and the slowest 1% first (up to a
    third of the limit each), then an even sample of the rest, in time order. Deterministic."""
    if len(points) <= limit:
        return list(points)
    indices = range(len(points))
    errors = [i for i in indices if points[i].error][: limit // 3]
    by_latency = sorted((i for i in indices if not points[i].error), key=lambda i: -points[i].value)
    slowest = by_latency[: min(max(1, len(points) // 100), limit // 3)]
    kept = set(errors) | set(slowest)
    rest = [i for i in indices if i not in kept]
    room = limit - len(kept)
    if room > 0 and rest:
        step = len(rest) / room
        kept.update(rest[int(k * step)] for k in range(room))
    return [points[i] for i in sorted(kept)]


def latency_timeline(points: Sequence[Point], bands: Sequence[Band], end_s: float, title: str) -> str:
    """Every call's latency at its intended send time; fault windows shaded; errors as red crosses.
    Callers thin long runs with `thin_points` first."""
    values = [p.value for p in points if p.value > 0] or [1.0]
    low, high = min(values), max(values)
    log = high / max(low, 1e-3) > 30
    x = _Axis(0.0, max(end_s, 1e-3), LEFT, WIDTH - RIGHT)
    y = _Axis(low / 1.5 if log else 0.0, high * 1.15, HEIGHT - BOTTOM, TOP, log=log)
    body = _bands(bands, x) + _grid(x, y, lambda t: f"{t:g}", _ms_label)
    for point in points:
        px, py = _number(x(point.t)), _number(y(max(point.value, 1e-3)))
        tip = f"<title>t={point.t:.2f} s, {point.value:.1f} ms{' (error)' if point.error else ''}</title>"
        if point.error:
            body.append(f'<path class="call error" d="M{px} {py} m-4 -4 l8 8 m0 -8 l-8 8" stroke="{COLOUR_ERROR}" '
                        f'stroke-width="2">{tip}</path>')
        else:
            colour = COLOUR_FAULT if point.under_fault else COLOUR_OK
            body.append(f'<circle class="call" cx="{px}" cy="{py}" r="3" fill="{colour}" fill-opacity="0.8">'
                        f"{tip}</circle>")
    if not points:
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="13">no calls</text>')
    return _frame(title, body, "seconds from item start", "latency" + (" (log)" if log else ""))


def distribution(series: dict[str, Sequence[float]], colours: dict[str, str], title: str, bins: int = 24) -> str:
    """Latency histograms of several phases on shared (log-spaced when wide) bins, as outlined step areas."""
    values = [v for vs in series.values() for v in vs if v > 0]
    if not values:
        return _frame(title, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="13">'
                              "no answered calls</text>"], "latency", "share of calls")
    low, high = min(values), max(values)
    log = high / low > 30
    if high <= low:
        low, high = low * 0.9, high * 1.1 + 0.1
    edges = ([low * (high / low) ** (i / bins) for i in range(bins + 1)] if log
             else [low + (high - low) * i / bins for i in range(bins + 1)])
    shares: dict[str, list[float]] = {}
    for label, vs in series.items():
        counts = [0] * bins
        for v in vs:
            if v <= 0:
                continue
            position = next((i for i in range(bins) if v < edges[i + 1]), bins - 1)
            counts[position] += 1
        total = sum(counts) or 1
        shares[label] = [count / total for count in counts]
    top = max((max(s) for s in shares.values()), default=1.0) or 1.0
    x = _Axis(edges[0], edges[-1], LEFT, WIDTH - RIGHT, log=log)
    y = _Axis(0.0, top * 1.1, HEIGHT - BOTTOM, TOP)
    body = _grid(x, y, _ms_label, lambda v: f"{v * 100:.0f}%")
    for label, share in shares.items():
        colour = colours.get(label, COLOUR_OK)
        for i, value in enumerate(share):
            if value <= 0:
                continue
            x0, x1 = x(edges[i]), x(edges[i + 1])
            y0 = y(value)
            body.append(f'<rect class="bar" x="{_number(x0)}" y="{_number(y0)}" width="{_number(max(x1 - x0, 1))}" '
                        f'height="{_number(HEIGHT - BOTTOM - y0)}" fill="{colour}" fill-opacity="0.45" '
                        f'stroke="{colour}"><title>{escape(label)}: {value * 100:.1f}% between '
                        f"{edges[i]:.1f} and {edges[i + 1]:.1f} ms</title></rect>")
    legend_x = WIDTH - RIGHT - 150
    for row, label in enumerate(series):
        colour = colours.get(label, COLOUR_OK)
        body.append(f'<rect x="{legend_x}" y="{TOP + 4 + row * 16}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{legend_x + 14}" y="{TOP + 13 + row * 16}" font-size="11" fill="{COLOUR_TEXT}">'
                    f"{escape(label)} ({len(series[label])})</text>")
    return _frame(title, body, "latency" + (" (log)" if log else ""), "share of calls")


def error_timeline(points: Sequence[Point], bands: Sequence[Band], end_s: float, title: str, slots: int = 40) -> str:
    """Calls per time slot as stacked bars: answered (blue) and errors (red); fault windows shaded."""
    end_s = max(end_s, 1e-3)
    width_s = end_s / slots
    ok = [0] * slots
    bad = [0] * slots
    for point in points:
        slot = min(int(point.t / width_s), slots - 1) if point.t >= 0 else 0
        (bad if point.error else ok)[slot] += 1
    top = max((a + b for a, b in zip(ok, bad, strict=True)), default=1) or 1
    x = _Axis(0.0, end_s, LEFT, WIDTH - RIGHT)
    y = _Axis(0.0, top * 1.1, HEIGHT - BOTTOM, TOP)
    body = _bands(bands, x) + _grid(x, y, lambda t: f"{t:g}", lambda v: f"{v:g}")
    for slot in range(slots):
        x0 = x(slot * width_s) + 0.5
        bar = max(x(width_s) - x(0) - 1, 1)
        base = HEIGHT - BOTTOM
        for count, colour, kind in ((ok[slot], COLOUR_OK, "ok"), (bad[slot], COLOUR_ERROR, "error")):
            if count == 0:
                continue
            y0 = y(count) - (HEIGHT - BOTTOM) + base
            body.append(f'<rect class="bar {kind}" x="{_number(x0)}" y="{_number(y0)}" width="{_number(bar)}" '
                        f'height="{_number(base - y0)}" fill="{colour}"><title>{count} {kind} calls from '
                        f"{slot * width_s:.2f} s</title></rect>")
            base = y0
    return _frame(title, body, "seconds from item start", "calls per slot")
