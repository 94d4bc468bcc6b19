"""The tables both reports (Markdown and HTML) show, as data: headers and cell values. Pure.

What a table holds is decided here, once; each renderer only formats the cells (escaping, code spans, pass/fail
marks). Cells are plain values: the renderer's own formatting (a Markdown code span, an HTML badge) is passed in
or added around them.
"""

from __future__ import annotations

from collections.abc import Callable

from lueur_net.analysis.callstats import PERCENTILES, CallStats, errors_by_class, phase_stats
from lueur_net.analysis.model import Check, Item, Run, Window
from lueur_net.analysis.overview import dashboard_rows, objective_text, observed_text, slo_failure_rows
from lueur_net.analysis.units import format_ms

Row = list[object]

PHASE_HEADERS = ["Phase", "Calls", "Errors"] + [f"p{p}" for p in PERCENTILES] + ["Max"]
ERROR_HEADERS = ["Class", "Calls"]
FAULT_HEADERS = ["Fault", "Settings", "Window", "Backend", "Packet counters"]
CHECK_HEADERS = ["Check", "Kind", "Objective", "Observed", "Result"]
WINDOW_CHECK_HEADERS = ["Window", "SLO", "Objective", "Observed", "Calls missed"]
FAILURE_HEADERS = ["Scenario", "Endpoint", "SLO", "Objective", "Observed", "Margin", "Failure pattern"]
DASHBOARD_HEADERS = ["Scope", "Total scenarios", "Passed", "Failed"]


def _as_is(text: str) -> object:
    return text


def stats_row(label: str, stats: CallStats) -> Row:
    return [label, stats.calls, f"{stats.errors} ({stats.error_rate:.1f}%)"] + [
        format_ms(stats.p(p)) for p in PERCENTILES
    ] + [format_ms(stats.max_ms)]


def phase_rows(item: Item) -> list[Row]:
    """Baseline, each fault window, all: calls, errors and latency percentiles."""
    return [stats_row(label, stats) for label, stats in phase_stats(item.calls, [w.name for w in item.windows])]


def error_rows(item: Item) -> list[Row]:
    return [[error_class, calls] for error_class, calls in errors_by_class(item.calls).items()]


def window_text(window: Window) -> str:
    end = f"{window.end_s:.2f} s" if window.end_s is not None else "end"
    return f"{window.start_s:.2f} s - {end}"


def fault_rows(item: Item) -> list[Row]:
    return [[window.name, window.describe(), window_text(window), window.backend or "-",
             ", ".join(f"{key} {value}" for key, value in window.counters.items()) or "not reported"]
            for window in item.windows]


def check_cells(check: Check) -> Row:
    """A check's kind, objective and observed value: the cells between its title and its result."""
    return [check.kind, objective_text(check), observed_text(check)]


def slo_value_text(check: Check) -> str:
    """An SLO's observed value alone: '236.9 ms' or '10.0%'."""
    if check.observed is None:
        return "n/a"
    return format_ms(check.observed) if check.name == "latency" else f"{check.observed:.1f}%"


def window_check_row(check: Check) -> Row:
    """An SLO over one fault window (or over the calls with no fault active): WINDOW_CHECK_HEADERS."""
    return [check.window if check.window != "none" else "no fault active", check.title, objective_text(check),
            slo_value_text(check), f"{check.failed_calls}/{check.total_calls}"]


def failure_rows(run: Run, code: Callable[[str], object] = _as_is) -> list[Row]:
    """The SLO failures table; `code` marks an endpoint (Markdown: a code span)."""
    return [[r.scenario, code(r.endpoint), r.check, r.objective, r.observed, r.margin, r.pattern]
            for r in slo_failure_rows(run)]


def dashboard_table_rows(run: Run, code: Callable[[str], object] = _as_is) -> list[Row]:
    """The dashboard: the whole run's row, then one per endpoint, marked by `code`."""
    return [[row.scope if i == 0 else code(row.scope), row.total, row.passed, row.failed]
            for i, row in enumerate(dashboard_rows(run))]
