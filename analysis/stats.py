"""Statistics over call records (a DataFrame with lueur_net.records.frame.COLUMNS). Pure: no I/O.

Percentiles are lueur's p25/p50/p75/p95/p99, linear interpolation between closest ranks (numpy's default).
"Failed" for error rates means no response (a transport error class) or a 5xx status (`failed_mask`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PERCENTILES = (25, 50, 75, 95, 99)
NO_FAULT = "none"  # the window bucket of calls made while no fault was active


def percentile(values: pd.Series | list[float], q: float) -> float | None:
    """The q-th percentile (0..100) of the non-missing values; None when there are none."""
    array = pd.Series(values, dtype="float64").dropna().to_numpy()
    if array.size == 0:
        return None
    return float(np.percentile(array, q))


def percentiles(values: pd.Series | list[float]) -> dict[str, float | None]:
    """{"p25": .., "p50": .., "p75": .., "p95": .., "p99": ..} in the values' unit."""
    array = pd.Series(values, dtype="float64").dropna().to_numpy()
    if array.size == 0:
        return {f"p{q}": None for q in PERCENTILES}
    return {f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(array, PERCENTILES), strict=True)}


def failed_mask(frame: pd.DataFrame) -> pd.Series:
    """True for calls that count as failed in error rates: transport error, or HTTP status >= 500."""
    if frame.empty:
        return pd.Series(dtype=bool, index=frame.index)
    transport = frame["error_class"].notna()
    server = pd.to_numeric(frame["status"], errors="coerce").fillna(0) >= 500
    return (transport | server).astype(bool)


def error_rate_pct(frame: pd.DataFrame) -> float | None:
    if frame.empty:
        return None
    return float(failed_mask(frame).mean() * 100.0)


def _summary(values: pd.Series) -> dict[str, float | None]:
    clean = pd.Series(values, dtype="float64").dropna()
    out: dict[str, float | None] = {
        "min": float(clean.min()) if len(clean) else None,
        "mean": float(clean.mean()) if len(clean) else None,
        "max": float(clean.max()) if len(clean) else None,
    }
    out.update(percentiles(clean))
    return out


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


def call_stats(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts, error classes, statuses, latency/TTFB/connect/send-lag summaries of a set of calls."""
    calls = len(frame)
    if calls == 0:
        return {"calls": 0}
    failed = failed_mask(frame)
    statuses = pd.to_numeric(frame["status"], errors="coerce").dropna().astype(int)
    span = float(frame["intended_s"].max() - frame["intended_s"].min()) if calls > 1 else 0.0
    return {
        "calls": calls,
        "responses": int(frame["status"].notna().sum()),
        "failed": int(failed.sum()),
        "error_rate_pct": float(failed.mean() * 100.0),
        "errors_by_class": errors_by_class(frame),
        "status_counts": {str(k): int(v) for k, v in statuses.value_counts().sort_index().items()},
        "latency_ms": _summary(frame["latency_ms"]),
        "ttfb_ms": _summary(frame["ttfb_ms"]),
        "connect_ms": _summary(frame["connect_ms"]),
        "send_lag_ms": _summary((frame["sent_s"] - frame["intended_s"]) * 1000.0),
        "first_intended_s": float(frame["intended_s"].min()),
        "last_intended_s": float(frame["intended_s"].max()),
        "sent_rps": (calls - 1) / span if span > 0 else None,
        "bytes_in": int(frame["bytes_in"].sum()),
        "bytes_out": int(frame["bytes_out"].sum()),
        "capped": int(frame["capped"].sum()) if "capped" in frame else 0,
    }


def window_mask(frame: pd.DataFrame, window: str) -> pd.Series:
    """Calls during fault window `window` (its name in the `faults` column), or NO_FAULT: calls under no fault."""
    if frame.empty:
        return pd.Series(dtype=bool, index=frame.index)
    if window == NO_FAULT:
        return pd.Series([len(names) == 0 for names in frame["faults"]], index=frame.index, dtype=bool)
    return pd.Series([window in names for names in frame["faults"]], index=frame.index, dtype=bool)


def window_names(frame: pd.DataFrame, declared: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Declared window names first, then any other name seen in `faults`, each once."""
    names = list(dict.fromkeys(declared))
    for faults in frame["faults"] if not frame.empty else []:
        for name in faults:
            if name not in names:
                names.append(name)
    return names


def item_stats(frame: pd.DataFrame, windows: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """Statistics of one item's calls: overall, per phase, per fault window, and with no fault active."""
    stats: dict[str, Any] = {"all": call_stats(frame)}
    stats["phases"] = {
        str(phase): call_stats(frame[frame["phase"] == phase]) for phase in dict.fromkeys(frame["phase"])
    } if not frame.empty else {}
    by_window: dict[str, Any] = {}
    for name in [*window_names(frame, windows), NO_FAULT]:
        subset = frame[window_mask(frame, name)] if not frame.empty else frame
        by_window[name] = call_stats(subset)
    stats["windows"] = by_window
    return stats
