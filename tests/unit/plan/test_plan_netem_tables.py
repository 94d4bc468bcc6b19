"""netem distribution tables, generated in-process, against iproute2's generators (re-run here step by step)."""

from __future__ import annotations

import math
import statistics

from lueur_net.plan.netem_tables import (
    NETEM_DIST_SCALE,
    TABLE_ENTRIES,
    clamp_table,
    normal_table,
    pareto_table,
    paretonormal_table,
    sample_delay_ns,
    table_bound,
    table_for,
)


def iproute2_normal_sweep() -> list[int]:
    """iproute2 normal.c's method: sweep x, keep the last x whose CDF rounds to each index, take every 4th."""
    size = 16384
    table = [0.0] * (size + 1)
    steps = int(round((10.05 + 10.0) / 0.00005))
    for step in range(steps):
        x = -10.0 + step * 0.00005
        table[round(size * (0.5 + 0.5 * math.erf(x / math.sqrt(2.0))))] = x
    return [max(-32768, min(32767, round(table[i] * NETEM_DIST_SCALE))) for i in range(0, size, 4)]


def test_normal_matches_iproute2_within_rounding() -> None:
    ours = normal_table()
    theirs = iproute2_normal_sweep()
    assert len(ours) == TABLE_ENTRIES
    assert max(abs(a - b) for a, b in zip(ours, theirs)) <= 2
    assert abs(statistics.fmean(ours)) < 0.01 * NETEM_DIST_SCALE
    assert abs(statistics.pstdev(ours) / NETEM_DIST_SCALE - 1.0) < 0.02


def test_pareto_shape_three_is_iproute2() -> None:
    table = pareto_table(3.0)
    assert len(table) == TABLE_ENTRIES
    assert table[0] == round((1.0 - 1.5) * 4 / 3 * NETEM_DIST_SCALE)  # u = 1: the minimum, x_m
    assert table[-1] == 32767  # iproute2 caps the tail
    assert list(table) == sorted(table)


def test_paretonormal_mixes_with_c_division() -> None:
    normal, pareto, mixed = normal_table(), pareto_table(), paretonormal_table()
    for k in (0, 1, 1000, 2048, 4095):
        assert mixed[k] == math.trunc((normal[k] + 3 * pareto[k]) / 4)


def test_other_pareto_shape_fits_and_is_monotonic() -> None:
    table = pareto_table(1.5)
    assert max(table) <= 32767 and min(table) >= -32768
    assert list(table) == sorted(table)
    assert table[-1] > 32000  # the scale puts the largest entry near the top


def test_clamp_and_bounds() -> None:
    mu, sigma = 100_000_000, 20_000_000
    low, high = table_bound(80_000_000, mu, sigma), table_bound(130_000_000, mu, sigma)
    assert (low, high) == (-NETEM_DIST_SCALE, round(1.5 * NETEM_DIST_SCALE))
    clamped = clamp_table(normal_table(), low, high)
    delays = [sample_delay_ns(clamped, mu, sigma, (k + 0.5) / TABLE_ENTRIES) for k in range(TABLE_ENTRIES)]
    assert min(delays) >= 80_000_000 - 3000 and max(delays) <= 130_000_000 + 3000


def test_uniform_needs_no_table() -> None:
    assert table_for("uniform") is None
    assert sample_delay_ns(None, 100, 10, 0.0) == 90 and sample_delay_ns(None, 100, 10, 0.999) < 110
