"""The benchmarks' stopwatch: milliseconds per call of a piece of work, one figure a try (the spread is printed)."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed_ms(work: Callable[[], object], tries: int) -> list[float]:
    spent = []
    for _ in range(tries):
        began = time.perf_counter()
        work()
        spent.append((time.perf_counter() - began) * 1000.0)
    return spent
