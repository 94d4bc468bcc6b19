"""netem delay distribution tables, generated in-process the way iproute2's netem/normal.c, pareto.c and
paretonormal.c generate /usr/lib/tc/*.dist (those files are not needed, nor is `tc`).

How netem uses a table (kernel `tabledist`): it picks an entry t (a signed 16-bit value in units of
NETEM_DIST_SCALE = 8192) and delays the packet by mu + sigma * t / 8192, where mu is the delay and sigma the jitter.
So a table is the inverse CDF of a distribution with mean ~0 and spread ~1, sampled at 4096 evenly spaced
quantiles. Without a table netem draws uniformly in mu +- sigma.

- normal: entry k is the standard normal quantile at (4k + 0.5) / 16384. iproute2 finds it by sweeping x from
  -10 to 10 in steps of 5e-5 and keeping the last x whose CDF rounds to index 4k; the midpoint quantile is what
  that sweep converges to (entries agree within one unit, see tests/unit/plan/test_plan_netem_tables.py).
- pareto (shape a, iproute2 uses a = 3): entry k is (u^(-1/a) - 1.5) * 4/3 with u = (65536 - 16k) / 65536, capped
  at 32767; so with a = 3, delay = mu + sigma * t means X = x_m * u^(-1/3) for mu = 1.5 x_m, sigma = 0.75 x_m.
  For another shape we centre on the mean a/(a-1) and scale so the largest entry fits (see `pareto_table`).
- paretonormal: (normal_k + 3 * pareto_k) / 4 with C integer division (truncation toward zero).

`clamp_table(table, low, high)` bakes a [min, max] into a table (in table units), which is how a latency fault's
`min`/`max` is honoured by netem.

Pure: the planner (what a pareto latency's mu and sigma are), the tc encoder and the nfqueue holder (the table
itself) read it; the Pareto centre and spread come from lueur_net.scenario.distributions, where the scenario's limit
checks use the same definition.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

from lueur_net.distributions import TABLE_ENTRIES, pareto_centre, pareto_quantile, pareto_spread

__all__ = [
    "NETEM_DIST_SCALE", "TABLE_ENTRIES", "clamp_table", "delay_table", "normal_table", "pareto_centre",
    "pareto_spread", "pareto_table", "paretonormal_table", "sample_delay_ns", "table_bound", "table_for",
]

NETEM_DIST_SCALE = 8192
SHRT_MIN, SHRT_MAX = -32768, 32767
_SWEEP_SIZE = 16384  # iproute2's TABLESIZE: it keeps every 4th of 16384 quantiles


def _clip(value: int) -> int:
    return max(SHRT_MIN, min(SHRT_MAX, value))


@lru_cache(maxsize=None)
def normal_table() -> tuple[int, ...]:
    standard = NormalDist()
    return tuple(
        _clip(round(standard.inv_cdf((index + 0.5) / _SWEEP_SIZE) * NETEM_DIST_SCALE))
        for index in range(0, _SWEEP_SIZE, 4)
    )


@lru_cache(maxsize=None)
def pareto_table(shape: float = 3.0) -> tuple[int, ...]:
    """iproute2's table for shape 3; for another shape, centred on its mean and scaled by `pareto_spread(shape)`."""
    if shape == 3.0:
        return tuple(
            min(SHRT_MAX, round((pareto_quantile(k, 3.0) - 1.5) * (4.0 / 3.0) * NETEM_DIST_SCALE))
            for k in range(TABLE_ENTRIES)
        )
    centre, spread = pareto_centre(shape), pareto_spread(shape)
    return tuple(
        _clip(round((pareto_quantile(k, shape) - centre) / spread * NETEM_DIST_SCALE)) for k in range(TABLE_ENTRIES)
    )


@lru_cache(maxsize=None)
def paretonormal_table() -> tuple[int, ...]:
    normal = normal_table()
    pareto = pareto_table(3.0)
    return tuple(_clip(math.trunc((normal[k] + 3 * pareto[k]) / 4)) for k in range(TABLE_ENTRIES))


def table_for(distribution: str, shape: float = 3.0) -> tuple[int, ...] | None:
    """The table netem needs for `distribution`; None for uniform (netem's built-in)."""
    if distribution == "uniform":
        return None
    if distribution == "normal":
        return normal_table()
    if distribution == "pareto":
        return pareto_table(shape)
    if distribution == "paretonormal":
        return paretonormal_table()
    raise ValueError(f"unknown distribution {distribution!r}")


def clamp_table(table: tuple[int, ...], low: int | None, high: int | None) -> tuple[int, ...]:
    """Entries limited to [low, high] (table units, i.e. (x - mu) / sigma * 8192)."""
    lo = SHRT_MIN if low is None else _clip(low)
    hi = SHRT_MAX if high is None else _clip(high)
    return tuple(min(hi, max(lo, value)) for value in table)


def table_bound(bound_ns: int | None, mu_ns: int, sigma_ns: int) -> int | None:
    """A delay bound (ns) in table units for mu, sigma; None stays None."""
    if bound_ns is None or sigma_ns <= 0:
        return None
    return round((bound_ns - mu_ns) / sigma_ns * NETEM_DIST_SCALE)


def delay_table(distribution: str, mu_ns: int, sigma_ns: int, min_ns: int | None = None, max_ns: int | None = None,
                pareto_shape: float | None = None) -> tuple[int, ...] | None:
    """The table netem (and the nfqueue holder) samples for this delay, min/max baked in; None when uniform or
    without jitter (a plain uniform draw then)."""
    if sigma_ns == 0:
        return None
    table = table_for(distribution, pareto_shape)
    if table is None or (min_ns is None and max_ns is None):
        return table
    return clamp_table(table, table_bound(min_ns, mu_ns, sigma_ns), table_bound(max_ns, mu_ns, sigma_ns))


def sample_delay_ns(table: tuple[int, ...] | None, mu_ns: int, sigma_ns: int, u: float) -> float:
    """The delay netem gives for a uniform draw u in [0, 1): used by tests and the nfqueue fallback."""
    if sigma_ns == 0:
        return float(mu_ns)
    if table is None:
        return mu_ns - sigma_ns + 2 * sigma_ns * u
    t = table[min(len(table) - 1, int(u * len(table)))]
    return mu_ns + sigma_ns * t / NETEM_DIST_SCALE
