"""The largest (and smallest) value each numeric field of a scenario may take, and why.

A value outside these ranges is refused when the file is read (file:line:column, exit 2), never halfway through a
run. Each limit is either what the kernel or a backend can realise, or, where the kernel allows far more, a sane
maximum chosen so that every value the planner derives from it still fits its netlink or BPF field
(docs/scenario.md "Limits" lists them all). Pure data and pure checks; no I/O.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# ---- time ----
# A per-packet delay (latency mean, min, max, pareto scale, jitter amplitude, a repeat's step and wait). netem keeps
# the delay as s64 ns (TCA_NETEM_LATENCY64) and the nfqueue holder arms a timerfd at arrival + delay (s64 ns), both
# far beyond this; an hour is the sane maximum, and everything derived from it (mean + step x iterations, windows)
# stays within 64 bits.
MAX_DELAY_MS = 3_600_000.0
# The spread of a delay (netem's sigma: stddev, half of max - min, the pareto table's unit): netem's tabledist()
# takes sigma as a signed 32-bit number of nanoseconds, and its uniform draw computes 2 * (u32)sigma.
MAX_SPREAD_NS = 2**31 - 1
MAX_SPREAD_MS = MAX_SPREAD_NS / 1e6
# A call's timeout, `expect.response_time_under`, a latency SLO's threshold: an hour, like a delay.
MAX_TIMEOUT_MS = 3_600_000.0
# A load's duration and every period's start and duration: one day. Windows become CLOCK_MONOTONIC ns (u64 in the
# eBPF timing map) and the load's schedule is kept in memory; a day keeps both far from any limit.
MAX_RUN_S = 86_400.0

# ---- rates and sizes ----
# bandwidth and police: 100 Gbit/s. TBF takes a u64 rate (TCA_TBF_RATE64) but its burst and queue limit are u32
# bytes, and the planner sizes them from the rate (4 ms and 200 ms of it): 100 Gbit/s keeps both below 2^32.
MAX_BYTES_PER_SECOND = 12_500_000_000
MIN_BYTES_PER_SECOND = 1.0  # TBF and the eBPF policer count whole bytes per second
# police's bucket: the eBPF program adds up to 10 s of refill to it in a u64; capped like TBF's u32 burst.
MAX_POLICE_BURST = 2**32 - 1
# reorder's gap: tc_netem_qopt.gap is a u32.
MAX_GAP = 2**32 - 1

# ---- shapes and frequencies ----
# pareto's shape: the 4096-entry table spans x_m to x_m * 4096^(1/shape); below 0.1 that is beyond 10^36 x_m.
MIN_PARETO_SHAPE = 0.1
MAX_PARETO_SHAPE = 1000.0  # above it the distribution is x_m for every entry of the table
# jitter's redraw frequency: at most 200 Hz (redrawn in userspace); at least one redraw in 1000 s.
MIN_JITTER_HZ = 0.001
MAX_JITTER_HZ = 200.0

# ---- counts ----
# A repeat re-applies the faults before each call (tens of ms of netlink each): 10 000 calls is hours already.
MAX_REPEAT_COUNT = 10_000
# A load keeps one HTTP client per virtual client and its whole schedule (one entry per call) in memory.
MAX_CLIENTS = 1_000
MAX_LOAD_CALLS = 1_000_000
MIN_RPS = 0.001  # one call every 1000 s; below that the schedule's interval (1 / rps) loses all meaning

# ---- documents ----
# Checked before YAML is parsed (size) and right after (counts), so a huge file is refused in well under a second.
# 4 MiB: the reference file is 7 KiB, so this holds ~500 generated operations (8 scenarios each) in one file;
# 12 000 items of the fuzzing pass were 9 MB and took 11 s to refuse
MAX_FILE_BYTES = 4 * 1_048_576
MAX_DOCUMENTS_PER_FILE = 1_000  # `scenario generate` writes 8 documents per operation
MAX_ITEMS_PER_SCENARIO = 1_000
MAX_FAULTS_PER_ITEM = 32


def shown(value: float) -> str:
    """A number as people write it: 3600000, 2147.48, 1e+30."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def at_most(limit: float, unit: str, why: str) -> AfterValidator:
    """A validator refusing a value above `limit` with a message naming the limit and the reason."""
    return _bound(limit, unit, why, operator.gt, "too_large", "above")


def at_least(limit: float, unit: str, why: str) -> AfterValidator:
    """A validator refusing a value below `limit` (for fields whose smallest useful value is above 0)."""
    return _bound(limit, unit, why, operator.lt, "too_small", "below")


def _bound(limit: float, unit: str, why: str, beyond: Callable[[float, float], bool], code: str,
           word: str) -> AfterValidator:
    def check(value: Any) -> Any:
        if isinstance(value, (int, float)) and beyond(value, limit):
            raise PydanticCustomError(
                code,
                "{value}{unit} is " + word + " the limit of {limit}{unit}: {why}",
                {"value": shown(value), "limit": shown(limit), "unit": unit, "why": why},
            )
        return value

    return AfterValidator(check)


def pareto_largest(scale_ms: float, shape: float) -> float:
    """The largest delay (ms) a pareto table with this scale and shape holds: x_m * 4096^(1/shape), in logs so
    that no shape overflows."""
    exponent = math.log(scale_ms) + math.log(4096.0) / shape if scale_ms > 0 else -math.inf
    return math.exp(exponent) if exponent < 700 else math.inf


WHY_DELAY = "a delay of more than an hour is not a network fault (the kernel takes more; lueur-net stops there)"
WHY_SPREAD = ("netem draws the spread (sigma) as a signed 32-bit number of nanoseconds (tabledist's s32 sigma), "
              f"so it is at most {shown(MAX_SPREAD_MS)} ms")
WHY_TIMEOUT = "an hour is the longest call lueur-net waits for"
WHY_RUN = "a run is at most a day long (windows and the load's schedule are kept to that)"


def within(low: float | None, high: float | None, unit: str, why: str) -> tuple[Any, ...]:
    """Annotated metadata for a number in [low, high]: validators whose message says why, and the JSON Schema's
    minimum/maximum."""
    extra: dict[str, float] = {}
    metadata: list[Any] = []
    if low is not None:
        extra["minimum"] = low
        metadata.append(at_least(low, unit, why))
    if high is not None:
        extra["maximum"] = high
        metadata.append(at_most(high, unit, why))
    return (Field(json_schema_extra=extra), *metadata)  # type: ignore[arg-type]
