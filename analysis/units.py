"""How every report shows a duration: one rule, so a table and a finding of the same report never disagree
("2.50 s" in one place and "2500.0 ms" in another)."""

from __future__ import annotations

SECONDS_FROM_MS = 1000.0  # from one second on, seconds read better than four-digit milliseconds


def format_ms(value: float | None) -> str:
    """A duration given in milliseconds: "850.0 ms" below one second, "2.50 s" from one second, "n/a" for None."""
    if value is None:
        return "n/a"
    if abs(value) < SECONDS_FROM_MS:
        return f"{value:.1f} ms"
    return f"{value / 1000:.2f} s"
