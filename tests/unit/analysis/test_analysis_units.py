"""One duration format for every report: the tables (overview/markdown/html/prompts) and the findings switch from
milliseconds to seconds at the same point. Before, one report could show "2500.0 ms" in its table and "2.50 s" in
a finding about the same p99."""

from __future__ import annotations

from lueur_net.analysis import findings, overview
from lueur_net.analysis.units import format_ms


def test_milliseconds_below_one_second_seconds_from_it() -> None:
    assert format_ms(None) == "n/a"
    assert format_ms(0.0) == "0.0 ms"
    assert format_ms(999.94) == "999.9 ms"
    assert format_ms(1000.0) == "1.00 s"
    assert format_ms(2500.0) == "2.50 s"
    assert format_ms(12_345.0) == "12.35 s"
    assert format_ms(-1500.0) == "-1.50 s"  # a send lag can be negative; it reads the same way


def test_the_tables_and_the_findings_agree() -> None:
    for value in (12.5, 999.9, 1000.0, 2500.0, 9999.0, 10_000.0, 61_000.0):
        assert overview.format_ms(value) == findings._fmt(value) == format_ms(value)
    assert findings._fmt(12.5, "%") == "12.5%"  # other units keep their own form
