"""Expectations, SLOs, lueur's test count and our check count, from one item's call records. Pure: no I/O.

- Expectations (`expect.status`, `expect.response_time_under`) are checked on every call, under load too; a check
  reports how many calls missed it (`failed_calls` of `total_calls`) and passes only when none did.
- SLOs: `latency` passes when the `objective`-th percentile of the calls' latency (ms, from the intended send
  time; a failed call counts with the time it took to fail) is at most `threshold`; `error` passes when the share
  of failed calls (no response or 5xx) is at most `threshold` percent. Each SLO is judged over the whole item (this
  decides the verdict) and, for information, over each fault window and over the calls with no fault active.
- Tests, counted exactly as lueur counts them (`Tests run: N, Tests failed: M`; lueur's scenario runner sums one
  test per call of a single or repeat item, baseline call included, and one per load item): a single/repeat call's
  test fails only when that call misses the item's expectation. A load item's test never fails, and SLOs never fail
  a test (lueur judges them in its report, not in M), so the same file and service give lueur's numbers.
- Checks, our own strict count (`Checks: C, failed: F`): one check per expectation key the item declares and one
  per SLO of the item, each judged over all of the item's calls (the per-window SLOs are information, not checks).
  An item passes when none of its checks and none of its tests failed; that decides the exit status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from lueur_net.analysis.model import KIND_EXPECT, KIND_SLO, Check
from lueur_net.analysis.stats import NO_FAULT, failed_mask, percentile, window_mask, window_names


@dataclass(frozen=True)
class SloRule:
    slo_type: str  # "latency" or "error"
    title: str
    objective: float  # latency: percentile; error: success objective in percent
    threshold: float  # latency: ms; error: percent of failed calls


@dataclass(frozen=True)
class ItemRules:
    """What one item must show: its strategy decides how tests are counted."""

    strategy: str  # "single", "repeat" or "load"
    status: int | None = None
    response_time_under_ms: float | None = None
    slos: tuple[SloRule, ...] = ()
    windows: tuple[str, ...] = ()  # declared fault window names (the records' `faults` values)


@dataclass(frozen=True)
class TestOutcome:
    """One test in lueur's count."""

    index: int  # 0-based within the item
    label: str  # "call 2/6 (fault, iteration 1)" or "load (160 calls)"
    passed: bool
    phase: str | None = None
    iteration: int | None = None
    seq: int | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data


@dataclass
class ItemVerdict:
    tests: list[TestOutcome] = field(default_factory=list)  # lueur's count
    expectations: list[Check] = field(default_factory=list)
    slos: list[Check] = field(default_factory=list)  # over the whole item: these decide
    slo_windows: list[Check] = field(default_factory=list)  # per fault window and NO_FAULT: information

    @property
    def tests_failed(self) -> int:
        return sum(not test.passed for test in self.tests)

    @property
    def checks(self) -> list[Check]:
        """Our count: every expectation and every SLO of the item, each over all of its calls."""
        return [*self.expectations, *self.slos]

    @property
    def checks_failed(self) -> int:
        return sum(not check.passed for check in self.checks)

    @property
    def passed(self) -> bool:
        """Strict: no check failed and no test failed (a test fails only with a failed expectation check, or
        when the item made no call at all)."""
        return self.checks_failed == 0 and self.tests_failed == 0


def call_reasons(row: pd.Series, rules: ItemRules) -> list[str]:
    """Why one call (a records row) misses the item's expectations; empty when it meets them."""
    reasons: list[str] = []
    status = None if pd.isna(row["status"]) else int(row["status"])
    error_class = row["error_class"] if isinstance(row["error_class"], str) else None
    if rules.status is not None and status != rules.status:
        reasons.append(f"status {status if status is not None else error_class or 'none'} != {rules.status}")
    if rules.response_time_under_ms is not None:
        latency = row["latency_ms"]
        if error_class is not None or pd.isna(latency):
            reasons.append(f"no response ({error_class or 'unknown'}), wanted under {rules.response_time_under_ms:g} ms")
        elif latency >= rules.response_time_under_ms:
            reasons.append(f"response time {latency:.1f} ms >= {rules.response_time_under_ms:g} ms")
    return reasons


def expectation_checks(frame: pd.DataFrame, rules: ItemRules) -> list[Check]:
    checks: list[Check] = []
    if rules.status is not None:
        statuses = pd.to_numeric(frame["status"], errors="coerce")
        # A call with no status (timeout, reset) missed the expectation: NA != 200 is NA, which sum() skips.
        wrong = ~(statuses == rules.status).fillna(False).astype(bool)
        checks.append(_expect_check(frame, wrong, "status", f"status == {rules.status}", float(rules.status),
                                    "had another status or none"))
    if rules.response_time_under_ms is not None:
        limit = rules.response_time_under_ms
        slow = frame["error_class"].notna() | frame["latency_ms"].isna() | (frame["latency_ms"] >= limit)
        checks.append(_expect_check(frame, slow, "response_time_under", f"response time < {limit:g} ms", limit,
                                    f"took {limit:g} ms or more, or got no response"))
    return checks


def _expect_check(frame: pd.DataFrame, missed: pd.Series, name: str, title: str, threshold: float,
                  what: str) -> Check:
    """An expectation over every call: passed when none of `missed`; observed = the % of calls that missed."""
    total = len(frame)
    count = int(missed.sum()) if total else 0
    return Check(
        kind=KIND_EXPECT,
        name=name,
        title=title,
        passed=count == 0 and total > 0,
        threshold=threshold,
        observed=100.0 * count / total if total else None,
        unit="%",
        failed_calls=count,
        total_calls=total,
        detail=f"{count} of {total} calls ({100.0 * count / total:.1f}%) {what}" if count else "",
    )


def slo_check(frame: pd.DataFrame, rule: SloRule, window: str | None = None) -> Check:
    """One SLO over the given calls (the whole item, or one window's calls when `window` is set)."""
    total = len(frame)
    if rule.slo_type == "latency":
        observed = percentile(frame["latency_ms"], rule.objective) if total else None
        over = int((frame["latency_ms"] > rule.threshold).sum()) if total else 0
        passed = observed is not None and observed <= rule.threshold
        detail = (
            f"p{rule.objective:g} = {observed:.1f} ms vs {rule.threshold:g} ms; {over}/{total} calls over threshold"
            if observed is not None
            else "no calls"
        )
        return Check(KIND_SLO, "latency", rule.title, passed, rule.objective, rule.threshold, observed, "ms",
                     over, total, window, detail)
    failed = int(failed_mask(frame).sum()) if total else 0
    observed = 100.0 * failed / total if total else None
    passed = observed is not None and observed <= rule.threshold
    detail = f"{failed}/{total} calls failed ({observed:.1f}%)" if observed is not None else "no calls"
    return Check(KIND_SLO, "error", rule.title, passed, rule.objective, rule.threshold, observed, "%",
                 failed, total, window, detail)


def item_verdict(frame: pd.DataFrame, rules: ItemRules) -> ItemVerdict:
    """Expectations, SLOs and tests of one item's calls (`frame`: that item's records rows)."""
    frame = frame.sort_values("seq") if not frame.empty else frame
    verdict = ItemVerdict()
    verdict.expectations = expectation_checks(frame, rules)
    verdict.slos = [slo_check(frame, rule) for rule in rules.slos]
    for name in [*window_names(frame, rules.windows), NO_FAULT]:
        subset = frame[window_mask(frame, name)] if not frame.empty else frame
        if len(subset):
            verdict.slo_windows.extend(slo_check(subset, rule, window=name) for rule in rules.slos)
    if frame.empty:  # the driver made no call at all: one failed test, never a silent pass
        verdict.tests.append(TestOutcome(index=0, label="no call made", passed=False, reasons=("no call made",)))
        return verdict
    if rules.strategy == "load":
        # lueur: one test per load item, and it never fails; what the calls missed is in the checks.
        verdict.tests.append(TestOutcome(index=0, label=f"load ({len(frame)} calls)", passed=True))
        return verdict
    rows = list(frame.iterrows())
    for index, (_, row) in enumerate(rows):
        reasons = call_reasons(row, rules)
        verdict.tests.append(
            TestOutcome(
                index=index,
                label=f"call {index + 1}/{len(rows)} ({row['phase']}, iteration {int(row['iteration'])})",
                passed=not reasons,
                phase=str(row["phase"]),
                iteration=int(row["iteration"]),
                seq=int(row["seq"]),
                reasons=tuple(reasons),
            )
        )
    return verdict

