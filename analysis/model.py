"""The run as the renderers and analyzers see it: plain dataclasses plus the per-call DataFrame.

`lueur_net.analysis.loading` builds a `Run` from results.json (and the records file); everything after that
(Markdown, HTML, JUnit, findings, prompts) reads only these types, so a change in the results.json layout touches
the loader alone. URLs here are already redacted by the loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import pandas as pd

KIND_EXPECT = "expect"
KIND_SLO = "slo"

T = TypeVar("T")


def _recorded_or(recorded: T | None, computed: Callable[[], T]) -> T:
    """A verdict or count results.json recorded wins; one it lacks (an older file, another tool's) is computed from
    the parts below it."""
    return recorded if recorded is not None else computed()


@dataclass(frozen=True)
class Window:
    """One fault active from `start_s` to `end_s` (seconds from the item's t0; None = until the item ends)."""

    name: str  # unique within the item, as the records' `faults` column names it
    fault_type: str  # latency, jitter, bandwidth, packetloss, blackhole, httperror, dns, ...
    start_s: float = 0.0
    end_s: float | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the fault's settings (mean, rate, unit, ...)
    counters: dict[str, int] = field(default_factory=dict)  # data plane packet counters (seen, dropped, ...)
    backend: str | None = None  # tc, ebpf, nfqueue
    anchor: str = "item"  # "item": times from the item's t0 (load); "call": from each call's send (single/repeat)
    traffic: str | None = None  # what it hit, in lueur's meaning of side/direction: "requests", "responses", both

    def describe(self) -> str:
        """'latency 150 ms ±30 ms (server ingress)' style one-liner for tables and prompts."""
        p = {key: value for key, value in self.params.items() if value is not None}
        kind = self.fault_type
        if kind == "latency" and "mean" in p:
            text = f"latency {p['mean']:g} ms" + (f" ±{p['stddev']:g} ms" if p.get("stddev") else "")
        elif kind == "jitter" and "amplitude" in p:
            text = f"jitter ±{p['amplitude']:g} ms" + (f" @ {p['frequency']:g} Hz" if p.get("frequency") else "")
        elif kind == "bandwidth" and "rate" in p:
            text = f"bandwidth {p['rate']:g} {p.get('unit', 'Bps')}"
        elif kind == "httperror" and "status_code" in p:
            share = p.get("probability")
            text = f"HTTP {p['status_code']}" + (f" on {100 * share:g}% of calls" if share is not None else "")
        elif kind == "packetloss" and any(k in p for k in ("rate", "probability")):
            share = p.get("rate", p.get("probability"))
            text = f"packet loss {share:g}" + ("%" if isinstance(share, (int, float)) and share > 1 else "")
        else:
            noise = {"side", "direction", "bytes_per_second", "type", "period"}
            shown = ", ".join(f"{key}={value}" for key, value in p.items() if key not in noise)
            text = f"{kind} ({shown})" if shown else kind
        where = " ".join(str(p[key]) for key in ("side", "direction") if key in p)
        if self.traffic:
            where = f"{where}: {self.traffic}" if where else self.traffic
        return f"{text} ({where})" if where else text

@dataclass(frozen=True)
class Check:
    """One expectation or SLO outcome (a JUnit test case; a row of the SLO failures table when failed)."""

    kind: str  # KIND_EXPECT or KIND_SLO
    name: str  # expect: "status" / "response_time_under"; slo: "latency" / "error"
    title: str  # the SLO's title, or "status == 200" / "response time < 100 ms"
    passed: bool
    objective: float | None = None  # slo latency: percentile (95.0); slo error: success objective (99.0)
    threshold: float | None = None  # latency ms, error percent, expected status, response time ms
    observed: float | None = None  # latency ms at the percentile, error percent, share of failed calls
    unit: str = ""  # "ms", "%", ""
    failed_calls: int = 0
    total_calls: int = 0
    window: str | None = None  # SLO evaluated over one fault window only (None: the whole item)
    detail: str = ""  # why it failed, for people

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def margin(self) -> float | None:
        """How far past the threshold (positive = breached by that much), in the check's unit."""
        if self.kind != KIND_SLO or self.observed is None or self.threshold is None:
            return None
        return self.observed - self.threshold


@dataclass
class Item:
    scenario: str
    scenario_index: int
    index: int
    method: str
    url: str  # redacted
    strategy: str  # "single", "repeat", "load"
    duration_s: float | None  # planned duration (load), None otherwise
    timeout_ms: float | None  # the call's client timeout as the scenario set it (None: default)
    windows: list[Window] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    calls: pd.DataFrame = field(default_factory=pd.DataFrame)  # this item's rows of the records
    passed_flag: bool | None = None  # the verdict results.json recorded (strict: no check, no test failed)
    window_checks: list[Check] = field(default_factory=list)  # each SLO per fault window ("none": no fault): info
    tests: list[dict[str, Any]] = field(default_factory=list)  # lueur's tests of the item (results.json `tests`)
    tests_run: int | None = None  # lueur's count for this item, as results.json recorded it
    tests_failed: int | None = None
    notes: list[str] = field(default_factory=list)  # the fault plan's notes (what a call should expect, ...)

    @property
    def endpoint(self) -> str:
        """'GET /users/{id}' style label: method and path (no host, no query)."""
        from urllib.parse import urlsplit

        try:
            path = urlsplit(self.url).path or "/"
        except ValueError:  # not a URL any more (a results.json from another tool): show what is there
            path = self.url
        return f"{self.method.upper()} {path}"

    @property
    def passed(self) -> bool:
        return _recorded_or(self.passed_flag, lambda: all(check.passed for check in self.checks))

    @property
    def end_s(self) -> float:
        """When the item ended: the planned duration, or the last call's end."""
        candidates = [self.duration_s or 0.0]
        if not self.calls.empty:
            ends = self.calls["intended_s"] + self.calls["latency_ms"].fillna(0.0) / 1000.0
            candidates.append(float(ends.max()))
        for window in self.windows:
            if window.end_s is not None:
                candidates.append(window.end_s)
        return max(candidates)


@dataclass
class Scenario:
    title: str
    index: int
    description: str = ""
    items: list[Item] = field(default_factory=list)
    passed_flag: bool | None = None

    @property
    def checks(self) -> list[Check]:
        return [check for item in self.items for check in item.checks]

    @property
    def passed(self) -> bool:
        return _recorded_or(self.passed_flag, lambda: all(item.passed for item in self.items))


@dataclass
class Run:
    """Two counts, both in every report: lueur's tests (`Tests run: N, Tests failed: M`, one test per single or
    repeat call and per load item; only expectation misses of single/repeat calls fail one) and our checks (every
    expectation and SLO of every item, over all of the item's calls; docs/reports.md)."""

    scenarios: list[Scenario]
    records: pd.DataFrame  # every call of the run (docs/results-schema.md columns)
    meta: dict[str, Any] = field(default_factory=dict)  # tool version, times, host/kernel facts, backends
    duration_s: float | None = None
    lueur_tests_run: int | None = None  # lueur's test count as results.json's summary recorded it
    lueur_tests_failed: int | None = None

    @property
    def items(self) -> list[Item]:
        return [item for scenario in self.scenarios for item in scenario.items]

    @property
    def checks(self) -> list[Check]:
        return [check for item in self.items for check in item.checks]

    @property
    def tests_run(self) -> int:
        """lueur's `Tests run`: from the summary, else summed over the items that recorded it."""
        return _recorded_or(self.lueur_tests_run, lambda: sum(item.tests_run or 0 for item in self.items))

    @property
    def tests_failed(self) -> int:
        """lueur's `Tests failed`, the same way."""
        return _recorded_or(self.lueur_tests_failed, lambda: sum(item.tests_failed or 0 for item in self.items))

    @property
    def checks_run(self) -> int:
        return len(self.checks)

    @property
    def checks_failed(self) -> int:
        return sum(not check.passed for check in self.checks)

    def tests_line(self) -> str:
        return f"Tests run: {self.tests_run}, Tests failed: {self.tests_failed}"

    def checks_line(self) -> str:
        return f"Checks: {self.checks_run}, failed: {self.checks_failed}"

    def headline(self) -> str:
        """lueur's line as the terminal printed it, then ours: 'Tests run: 13, Tests failed: 0; Checks: 9,
        failed: 1; total time 45.3s'."""
        text = f"{self.tests_line()}; {self.checks_line()}"
        if self.duration_s is not None:
            text += f"; total time {self.duration_s:.1f}s"
        return text

    @property
    def passed(self) -> bool:
        """Strict, as the default exit status: no check failed and no test failed."""
        return self.checks_failed == 0 and self.tests_failed == 0
