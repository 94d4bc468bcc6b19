"""Summaries of a set of calls (an item, a phase, a window) for reports and findings. Pure.

"Under fault" means the call's `faults` list (the windows active at its intended send time) is not empty;
"baseline" means it is empty (the repeat strategy's baseline call, and load calls outside every window).
Percentiles are the p25/p50/p75/p95/p99 lueur reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERCENTILES = (25, 50, 75, 95, 99)


def quantile(values: pd.Series | list[float], percentile: float) -> float | None:
    """The `percentile` (0..100) of `values` with linear interpolation; None for no values."""
    array = np.asarray(pd.Series(values, dtype="float64").dropna(), dtype="float64")
    if array.size == 0:
        return None
    return float(np.percentile(array, percentile))


def failed_mask(calls: pd.DataFrame) -> pd.Series:
    """Calls that count as errors: a transport error class or a 5xx status (as lueur_net.records.call.is_error)."""
    if calls.empty:
        return pd.Series(dtype=bool)
    transport = calls["error_class"].notna()
    server = calls["status"].fillna(0) >= 500
    return transport | server


def under_fault_mask(calls: pd.DataFrame) -> pd.Series:
    if calls.empty:
        return pd.Series(dtype=bool)
    return calls["faults"].map(lambda names: len(names) > 0).astype(bool)


def in_window_mask(calls: pd.DataFrame, window_name: str) -> pd.Series:
    if calls.empty:
        return pd.Series(dtype=bool)
    return calls["faults"].map(lambda names: window_name in names).astype(bool)


@dataclass(frozen=True)
class CallStats:
    calls: int
    errors: int
    percentiles: dict[int, float | None]  # latency_ms of the calls that got a response
    max_ms: float | None
    mean_ms: float | None

    @property
    def error_rate(self) -> float:
        return 100.0 * self.errors / self.calls if self.calls else 0.0

    def p(self, percentile: int) -> float | None:
        return self.percentiles.get(percentile)


def call_stats(calls: pd.DataFrame) -> CallStats:
    """Counts and latency percentiles; latencies of failed transport calls are left out of the percentiles."""
    if calls.empty:
        return CallStats(0, 0, {p: None for p in PERCENTILES}, None, None)
    answered = calls.loc[calls["error_class"].isna(), "latency_ms"].dropna()
    return CallStats(
        calls=len(calls),
        errors=int(failed_mask(calls).sum()),
        percentiles={p: quantile(answered, p) for p in PERCENTILES},
        max_ms=float(answered.max()) if not answered.empty else None,
        mean_ms=float(answered.mean()) if not answered.empty else None,
    )


def errors_by_class(calls: pd.DataFrame) -> dict[str, int]:
    """{'timeout': 4, 'http 500': 2, ...}: transport classes and 4xx/5xx statuses, most frequent first."""
    if calls.empty:
        return {}
    labels: list[str] = []
    for error_class, status in zip(calls["error_class"], calls["status"], strict=True):
        if isinstance(error_class, str):
            labels.append(error_class)
        elif status is not None and not pd.isna(status) and status >= 400:
            labels.append(f"http {int(status)}")
    counts = pd.Series(labels, dtype="object").value_counts()
    return {str(label): int(count) for label, count in counts.items()}
