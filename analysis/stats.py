"""Statistics over call records (a DataFrame with lueur_net.records.frame.COLUMNS). Pure: no I/O.

Percentiles are lueur's p25/p50/p75/p95/p99, linear interpolation between closest ranks (numpy's default).
"Failed" for error rates means no response (a transport error class) or a 5xx status (`failed_mask`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PERCENTILES = (25, 50, 75, 95, 99)
NO_FAULT = "none"  # the window bucket of calls made while no fault was active


def _floats(values: pd.Series | list[float] | np.ndarray) -> np.ndarray:
    """The non-missing values as a float64 array (a nullable Int64 column's <NA> counts as missing)."""
    if isinstance(values, pd.Series):
        array = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        array = np.array([np.nan if value is None else value for value in values], dtype="float64")
    return array[~np.isnan(array)]


def percentile(values: pd.Series | list[float], q: float) -> float | None:
    """The q-th percentile (0..100) of the non-missing values; None when there are none."""
    array = _floats(values)
    if array.size == 0:
        return None
    return float(np.percentile(array, q))


def percentiles(values: pd.Series | list[float]) -> dict[str, float | None]:
    """{"p25": .., "p50": .., "p75": .., "p95": .., "p99": ..} in the values' unit."""
    return _percentiles_of(_floats(values))


def _percentiles_of(array: np.ndarray) -> dict[str, float | None]:
    if array.size == 0:
        return {f"p{q}": None for q in PERCENTILES}
    return {f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(array, PERCENTILES), strict=True)}


def _statuses(frame: pd.DataFrame) -> np.ndarray:
    """The status column as float64, NaN where no response came (or the value is not a number)."""
    return pd.to_numeric(frame["status"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _failed(frame: pd.DataFrame) -> np.ndarray:
    """failed_mask as a bool array."""
    transport = frame["error_class"].notna().to_numpy(dtype=bool)
    return transport | (np.nan_to_num(_statuses(frame), nan=0.0) >= 500)


def failed_mask(frame: pd.DataFrame) -> pd.Series:
    """True for calls that count as failed in error rates: transport error, or HTTP status >= 500."""
    if frame.empty:
        return pd.Series(dtype=bool, index=frame.index)
    return pd.Series(_failed(frame), index=frame.index, dtype=bool)


def error_rate_pct(frame: pd.DataFrame) -> float | None:
    if frame.empty:
        return None
    return float(_failed(frame).mean() * 100.0)


def _summary(values: pd.Series | np.ndarray) -> dict[str, float | None]:
    clean = _floats(values) if isinstance(values, pd.Series) else values[~np.isnan(values)]
    out: dict[str, float | None] = {
        "min": float(clean.min()) if clean.size else None,
        "mean": float(clean.mean()) if clean.size else None,
        "max": float(clean.max()) if clean.size else None,
    }
    out.update(_percentiles_of(clean))
    return out


def errors_by_class(calls: pd.DataFrame) -> dict[str, int]:
    """{'timeout': 4, 'http 500': 2, ...}: transport classes and 4xx/5xx statuses, most frequent first (ties in
    the order they first occur)."""
    if calls.empty:
        return {}
    labels: Counter[str] = Counter()
    for error_class, status in zip(calls["error_class"], _statuses(calls), strict=True):
        if isinstance(error_class, str):
            labels[error_class] += 1
        elif status >= 400:  # NaN (no response) compares False
            labels[f"http {int(status)}"] += 1
    return dict(labels.most_common())


def call_stats(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts, error classes, statuses, latency/TTFB/connect/send-lag summaries of a set of calls."""
    calls = len(frame)
    if calls == 0:
        return {"calls": 0}
    failed = _failed(frame)
    statuses = _statuses(frame)
    answered = statuses[~np.isnan(statuses)].astype(int)
    codes, counts = np.unique(answered, return_counts=True)  # sorted by status, as value_counts().sort_index()
    intended = frame["intended_s"].to_numpy(dtype="float64")
    sent = frame["sent_s"].to_numpy(dtype="float64")
    span = float(intended.max() - intended.min()) if calls > 1 else 0.0
    return {
        "calls": calls,
        "responses": int(frame["status"].notna().sum()),
        "failed": int(failed.sum()),
        "error_rate_pct": float(failed.mean() * 100.0),
        "errors_by_class": errors_by_class(frame),
        "status_counts": {str(code): int(count) for code, count in zip(codes, counts, strict=True)},
        "latency_ms": _summary(frame["latency_ms"]),
        "ttfb_ms": _summary(frame["ttfb_ms"]),
        "connect_ms": _summary(frame["connect_ms"]),
        "send_lag_ms": _summary((sent - intended) * 1000.0),
        "first_intended_s": float(intended.min()),
        "last_intended_s": float(intended.max()),
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


# ---- faults that touched no packet ----

# The counter that says a fault's program or queue met packets it acts on while its window was open, by backend
# (docs/reports.md), first found wins: eBPF `eligible` (in scope, in a window, before the deadline, and of the kind
# the fault acts on: a DNS answer, a status line; for packet faults the same as `matched`), else `matched`;
# nfqueue `affected` (held for a delay); tc (netem, tbf) `packets` counts every packet through the hook's qdisc,
# in a window or not, so only its zero proves something. A backend without counters: judged by the windows only.
# Measured: a DNS fault on `localhost` (the lab's hosts file answers) counted matched 5, eligible 0.
TOUCH_COUNTERS: tuple[tuple[str, str], ...] = (("ebpf", "eligible"), ("ebpf", "matched"), ("nfqueue", "affected"),
                                               ("netem", "packets"), ("tbf", "packets"))


@dataclass(frozen=True)
class FaultSpan:
    """One period of a fault as results.json's item `windows` list it (several entries share a fault's name)."""

    name: str  # "f<index>", as the records' `faults` column names it
    fault_type: str
    start_s: float = 0.0
    end_s: float | None = None
    anchor: str = "item"  # "item": seconds from the item's t0; "call": from each call's send
    counters: Mapping[str, int] = field(default_factory=dict)
    backend: str | None = None  # "ebpf", "netem,tbf", ... (several when the fault's directions differ)


def spans_from_documents(windows: Iterable[Mapping[str, Any]]) -> list[FaultSpan]:
    """results.json's item `windows` entries as FaultSpans."""
    return [
        FaultSpan(
            name=str(window.get("name")),
            fault_type=str(window.get("type") or window.get("name")),
            start_s=float(window.get("start_s") or 0.0),
            end_s=float(window["end_s"]) if window.get("end_s") is not None else None,
            anchor=str(window.get("anchor") or "item"),
            counters={str(k): int(v) for k, v in (window.get("counters") or {}).items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)},
            backend=window.get("backend"),
        )
        for window in windows
    ]


def touch_counter(span: FaultSpan) -> tuple[str, int] | None:
    """(counter name, value) of the counter that shows whether the fault met packets; None when there is none."""
    backends = [name.strip() for name in (span.backend or "").split(",") if name.strip()]
    for backend, key in TOUCH_COUNTERS:
        if (not backends or backend in backends) and key in span.counters:
            return key, int(span.counters[key])
    return None


def _seconds_text(values: list[float | None]) -> str:
    """'150-350 ms' when every bound is under a second, else '1.5-3 s' ('end' for an open end)."""
    known = [value for value in values if value is not None]
    scale, unit = (1000.0, "ms") if all(value < 1.0 for value in known) else (1.0, "s")
    text = "-".join(f"{value * scale:.4g}" for value in known) + f" {unit}"
    return text + "-end" if len(known) < len(values) else text


def _range_text(low: float, high: float, unit: str) -> str:
    return f"{low:.0f} {unit}" if round(low) == round(high) else f"{low:.0f}-{high:.0f} {unit}"


def untouched_faults(spans: Sequence[FaultSpan], calls: pd.DataFrame) -> list[dict[str, Any]]:
    """The item's faults that touched no packet, each once, with the reason. Pure.

    1. Windows: no call lists the fault in its `faults` column, i.e. none of its windows overlapped a call from
       its send to its end (lueur_net.driver.strategies.lists_fault); e.g. a 150-350 ms window of each call when
       the calls take 6 ms. 2. Counters: its windows did overlap calls but the backend's counter that shows
       contact (TOUCH_COUNTERS) stayed 0, e.g. a DNS fault on a name the lab resolves from its hosts file.
    An item without calls is not judged (nothing was driven).
    """
    if calls.empty:
        return []
    listed = windows_of_calls(calls)
    found: list[dict[str, Any]] = []
    for name in dict.fromkeys(span.name for span in spans):
        own = [span for span in spans if span.name == name]
        first = own[0]
        entry: dict[str, Any] = {"fault": name, "type": first.fault_type}
        if listed.get(name, 0) == 0:
            periods = "; ".join(_seconds_text([span.start_s, span.end_s]) for span in own)
            durations = _column(calls, "total_ms")
            if first.anchor == "call":
                took = (f"calls took {_range_text(float(durations.min()), float(durations.max()), 'ms')}"
                        if not durations.empty else f"{len(calls)} calls")
                what = "window" if len(own) == 1 else "windows"  # from each call's send
            else:
                sent = _column(calls, "sent_s")
                took = f"{len(calls)} calls" + (
                    f" sent {_seconds_text([float(sent.min()), float(sent.max())])}" if not sent.empty else "")
                if not durations.empty:
                    took += f", each {_range_text(float(durations.min()), float(durations.max()), 'ms')}"
                what = "window" if len(own) == 1 else "windows"
            entry.update(source="windows", reason=f"its {what} {periods} never overlapped a call ({took})")
            found.append(entry)
            continue
        counters: dict[str, int] = {}
        for span in own:  # a fault's periods share its counters; take them once
            counters.update(span.counters)
        counter = touch_counter(FaultSpan(name, first.fault_type, counters=counters, backend=first.backend))
        if counter is not None and counter[1] == 0:
            backend = first.backend or "backend"
            entry.update(source="counters", counter=counter[0],
                         reason=(f"0 packets matched ({backend} counter '{counter[0]}' stayed 0 while "
                                 f"{listed[name]} call{'s' if listed[name] != 1 else ''} ran during its window)"))
            found.append(entry)
    return found


def _column(calls: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column without its missing values (empty when the frame lacks it: older or partial records)."""
    if name not in calls:
        return pd.Series(dtype="float64")
    return pd.to_numeric(calls[name], errors="coerce").dropna()


def windows_of_calls(calls: pd.DataFrame) -> dict[str, int]:
    """{window name: calls listing it in `faults`}."""
    counts: dict[str, int] = {}
    for names in calls["faults"] if not calls.empty else []:
        for name in names if isinstance(names, (list, tuple, np.ndarray)) else []:
            counts[str(name)] = counts.get(str(name), 0) + 1
    return counts


# ---- the driver's own lag ----

# Send lag (actual send - intended send) the driver holds at the reference rates on a 2-core machine: p99 under
# this is "on schedule" (docs/driver.md). Above it the calls' latency includes the driver's delay, and the reports
# say so instead of blaming the service.
DRIVER_LAG_BOUND_MS = 5.0


def driver_lag(calls: pd.DataFrame, bound_ms: float = DRIVER_LAG_BOUND_MS) -> dict[str, Any] | None:
    """The driver's lag over `calls` when its p99 exceeds `bound_ms`, else None. Pure.

    {"calls", "late_calls" (lag > bound), "p50_ms", "p99_ms", "max_ms", "worst_intended_s", "bound_ms"}.
    """
    if calls.empty or "sent_s" not in calls or "intended_s" not in calls:
        return None
    lag = (pd.to_numeric(calls["sent_s"], errors="coerce") - pd.to_numeric(calls["intended_s"], errors="coerce"))
    lag = (lag * 1000.0).dropna()
    if lag.empty:
        return None
    p99 = float(np.percentile(lag.to_numpy(), 99))
    if p99 <= bound_ms:
        return None
    worst = lag.idxmax()
    return {
        "calls": int(len(lag)),
        "late_calls": int((lag > bound_ms).sum()),
        "p50_ms": float(np.percentile(lag.to_numpy(), 50)),
        "p99_ms": p99,
        "max_ms": float(lag.max()),
        "worst_intended_s": float(calls.loc[worst, "intended_s"]),
        "bound_ms": bound_ms,
    }
