"""Summaries of a set of calls (an item, a phase, a window) for reports and findings. Pure.

Built on lueur_net.analysis.stats (percentiles, failed calls, window membership), so the report's numbers are
the verdicts' numbers.

"Under fault" means the call's `faults` list (the windows active at its intended send time) is not empty;
"baseline" means it is empty (the repeat strategy's baseline call, and load calls outside every window).
Percentiles are the p25/p50/p75/p95/p99 lueur reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lueur_net.analysis.stats import NO_FAULT, PERCENTILES, errors_by_class, failed_mask, percentile, window_mask

__all__ = ["PERCENTILES", "CallStats", "call_stats", "check_failed_mask", "errors_by_class", "failed_mask",
           "in_window_mask", "phase_stats", "quantile", "under_fault_mask", "windows_of"]


def quantile(values: pd.Series | list[float], q: float) -> float | None:
    """The q-th percentile (0..100); lueur_net.analysis.stats.percentile under the name the renderers use."""
    return percentile(values, q)


def under_fault_mask(calls: pd.DataFrame) -> pd.Series:
    """Calls sent while at least one fault window was active."""
    if calls.empty:
        return pd.Series(dtype=bool, index=calls.index)
    return ~window_mask(calls, NO_FAULT)


def in_window_mask(calls: pd.DataFrame, window_name: str) -> pd.Series:
    return window_mask(calls, window_name)


@dataclass(frozen=True)
class CallStats:
    calls: int
    errors: int
    percentiles: dict[int, float | None]  # latency_ms of every call (a failed call: the time it took to fail)
    max_ms: float | None
    mean_ms: float | None

    @property
    def error_rate(self) -> float:
        return 100.0 * self.errors / self.calls if self.calls else 0.0

    def p(self, percentile: int) -> float | None:
        return self.percentiles.get(percentile)


def call_stats(calls: pd.DataFrame) -> CallStats:
    """Counts and latency percentiles, computed like the latency SLOs (failed calls count with their wait)."""
    if calls.empty:
        return CallStats(0, 0, {p: None for p in PERCENTILES}, None, None)
    answered = calls["latency_ms"].dropna()
    return CallStats(
        calls=len(calls),
        errors=int(failed_mask(calls).sum()),
        percentiles={p: quantile(answered, p) for p in PERCENTILES},
        max_ms=float(answered.max()) if not answered.empty else None,
        mean_ms=float(answered.mean()) if not answered.empty else None,
    )


def phase_stats(calls: pd.DataFrame, window_names: list[str]) -> list[tuple[str, CallStats]]:
    """The rows of a per-item stats table: all calls, baseline (when some calls had no fault), under fault,
    and each fault window on its own when there are several (a fault with several periods counts once)."""
    rows = [("all calls", call_stats(calls))]
    if window_names and not calls.empty:
        fault = under_fault_mask(calls)
        if (~fault).any():
            rows.append(("baseline", call_stats(calls[~fault])))
        rows.append(("under fault", call_stats(calls[fault])))
        names = list(dict.fromkeys(window_names))
        if len(names) > 1:
            rows += [(f"in {name}", call_stats(calls[in_window_mask(calls, name)])) for name in names]
    return rows


def check_failed_mask(calls: pd.DataFrame, name: str, threshold: float | None) -> tuple[pd.Series, str]:
    """The calls that miss a check (by the check's `name` and `threshold`), and how to say it.

    As the verdicts count them: latency SLO, latency above the threshold; response time, at or above it or no
    response; status, another status or none; error SLO (and anything else), failed calls.
    """
    if calls.empty:
        return pd.Series(dtype=bool, index=calls.index), "failed"
    if name == "latency" and threshold is not None:
        return (calls["latency_ms"] > threshold).fillna(False).astype(bool), f"over {threshold:g} ms"
    if name == "response_time_under" and threshold is not None:
        slow = calls["error_class"].notna() | calls["latency_ms"].isna() | (calls["latency_ms"] >= threshold)
        return slow.astype(bool), f"at or over {threshold:g} ms or unanswered"
    if name == "status" and threshold is not None:
        status = pd.to_numeric(calls["status"], errors="coerce").fillna(-1)
        return (status != threshold).astype(bool), f"without status {threshold:g}"
    return failed_mask(calls), "failed"


def windows_of(calls: pd.DataFrame) -> dict[str, int]:
    """{window name: calls listing it}, most calls first."""
    counts: dict[str, int] = {}
    for names in calls["faults"] if not calls.empty else []:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda pair: -pair[1]))
