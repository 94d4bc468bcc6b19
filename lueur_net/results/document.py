"""results.json, schema `results_v1` (docs/results-schema.md): lueur's summary plus our statistics and verdicts.

Build one item document per driven item with `item_document(...)`, then the whole file with `results_document(...)`
and `write_results(...)`. The run fills the placeholders it owns with `attach_data_plane(...)` (per item `plan`,
`backends`, `counters`, `untouched` and each window's `backend`/`counters`/`traffic`) and `mark_backend_failures`;
at the top `backends`, `capabilities` (RunRecorder.top).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from lueur_net import __version__
from lueur_net.analysis.stats import item_stats, spans_from_documents, untouched_faults
from lueur_net.analysis.verdicts import ItemRules, SloRule, item_verdict
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.spec import ItemSpec
from lueur_net.scenario.faults import Fault
from lueur_net.scenario.models import Item, LoadStrategy, RepeatStrategy, Scenario

SCHEMA = "lueur-net/results"
SCHEMA_VERSION = 1


def item_rules(scenario: Scenario, item_index: int, spec: ItemSpec) -> ItemRules:
    item = scenario.items[item_index]
    expect = item.expect
    return ItemRules(
        strategy=spec.strategy,
        status=expect.status if expect else None,
        response_time_under_ms=expect.response_time_under if expect else None,
        slos=tuple(SloRule(s.slo_type, s.title, s.objective, s.threshold) for s in item.context.slo),
        windows=tuple(dict.fromkeys(window.name for window in spec.windows)),
    )


def _strategy(scenario: Scenario, item_index: int) -> dict[str, Any]:
    strategy = scenario.items[item_index].context.strategy
    if isinstance(strategy, LoadStrategy):
        return {"mode": "load", "duration_s": strategy.duration, "clients": strategy.clients, "rps": strategy.rps}
    if isinstance(strategy, RepeatStrategy):
        return {
            "mode": "repeat",
            "count": strategy.count,
            "step_ms": strategy.step,
            "wait_ms": strategy.wait,
            "failfast": strategy.failfast,
            "add_baseline_call": strategy.add_baseline_call,
        }
    return {"mode": "single"}


def window_faults(item: Item, spec: ItemSpec) -> Mapping[str, Fault]:
    """The scenario fault behind each window name of `spec`.

    `spec.windows` come from the item's plan (lueur_net.driver.build.plan_windows): one or more windows per fault,
    in the order of `item.context.faults`, every fault with at least one. So the distinct names, in order, pair
    with the faults one to one; nothing is read back out of a name."""
    names = dict.fromkeys(window.name for window in spec.windows)
    return dict(zip(names, item.context.faults))


def _windows(item: Item, spec: ItemSpec) -> list[dict[str, Any]]:
    faults = window_faults(item, spec)
    documents = []
    for window in spec.windows:
        fault = faults.get(window.name)
        params = (
            fault.model_dump(mode="json", by_alias=True, exclude={"type", "period"}, exclude_none=True) if fault else {}
        )
        documents.append(
            {
                "name": window.name,
                "type": fault.type if fault else None,
                "start_s": window.start_s,
                "end_s": window.end_s,
                "anchor": window.anchor,
                "params": params,
                "backend": None,  # filled by attach_data_plane
                "counters": {},  # filled by attach_data_plane
            }
        )
    return documents


def item_document(
    scenario: Scenario, item_index: int, spec: ItemSpec, run: ItemRun | None, frame: pd.DataFrame
) -> dict[str, Any]:
    """One item: what ran (call, strategy, expectations, SLOs, windows), how the driver held it, stats, verdict.

    `frame`: this item's rows of the run's records (lueur_net.records.frame.records_frame).
    """
    item = scenario.items[item_index]
    rules = item_rules(scenario, item_index, spec)
    verdict = item_verdict(frame, rules)
    return {
        "index": item_index,
        "call": {
            "method": spec.call.method,
            "url": spec.call.url,
            "timeout_ms": item.call.timeout,  # as written; None = the default below
            "effective_timeout_ms": spec.call.timeout_s * 1000.0,
            "header_names": [name for name, _ in spec.call.headers],  # values may be secrets: never written
            "body_bytes": len(spec.call.body) if spec.call.body is not None else 0,
            "operation_id": item.call.meta.operation_id if item.call.meta else None,
        },
        "strategy": _strategy(scenario, item_index),
        "expect": item.expect.model_dump(mode="json", exclude_none=True) if item.expect else {},
        "slo": [slo.model_dump(mode="json") for slo in item.context.slo],
        "upstreams": list(item.context.upstreams),
        "windows": _windows(item, spec),
        "driver": {
            "t0_monotonic": run.t0 if run else None,
            "workers": run.workers if run else None,
            **(run.notes if run else {}),
        },
        "plan": None,  # filled by attach_data_plane (the FaultPlan that ran)
        "backends": [],  # filled by attach_data_plane
        "counters": {},  # filled by attach_data_plane: data plane counters per planner fault id
        "untouched": [],  # filled by attach_data_plane: faults that touched no packet, with the reason
        "stats": item_stats(frame, rules.windows),
        "tests": [test.to_dict() for test in verdict.tests],
        "tests_run": len(verdict.tests),
        "tests_failed": verdict.tests_failed,
        "checks_run": len(verdict.checks),
        "checks_failed": verdict.checks_failed,
        "expectations": [check.to_dict() for check in verdict.expectations],
        "slos": [check.to_dict() for check in verdict.slos],
        "slo_windows": [check.to_dict() for check in verdict.slo_windows],
        "passed": verdict.passed,
    }


def host_facts() -> dict[str, Any]:
    uname = os.uname()
    return {
        "hostname": socket.gethostname(),
        "kernel": uname.release,
        "kernel_version": uname.version,
        "machine": uname.machine,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "pandas": pd.__version__,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def results_document(
    scenarios: Sequence[tuple[Scenario, str | None, list[dict[str, Any]]]],
    *,
    started_at: datetime,
    finished_at: datetime,
    records_path: str | None = None,
    records_rows: int = 0,
    host: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole results_v1 document. `scenarios`: (model, source file or None, its item documents) in run order."""
    scenario_docs = []
    for index, (scenario, source, items) in enumerate(scenarios):
        counts = _counts(items)
        scenario_docs.append(
            {
                "index": index,
                "title": scenario.title,
                "description": scenario.description,
                "file": source,
                "items": items,
                **counts,
                "passed": all(item["passed"] for item in items),
            }
        )
    counts = _counts(scenario_docs)
    duration = (finished_at - started_at).total_seconds()
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "lueur-net", "version": __version__, "argv": sys.argv[1:]},
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "duration_s": duration,
        "summary": {
            **counts,
            "total_time_s": duration,
            "scenarios_run": len(scenario_docs),
            "scenarios_failed": sum(not s["passed"] for s in scenario_docs),
            "calls": sum(item["stats"]["all"]["calls"] for s in scenario_docs for item in s["items"]),
            # strict: no check and no test failed (the default exit status, `run --fail-on checks`)
            "passed": all(s["passed"] for s in scenario_docs),
        },
        "host": host if host is not None else host_facts(),
        "capabilities": {},  # filled by the run command (probe_capabilities().to_dict())
        "backends": [],  # filled by the run command
        "plan": None,  # filled by the run command (--dry-run's plan of every item)
        "counters": {},  # filled by the run command
        "records": {"path": records_path, "rows": records_rows},
        "scenarios": scenario_docs,
    }


def _counts(parts: Sequence[dict[str, Any]]) -> dict[str, int]:
    """lueur's tests and our checks, summed over item (or scenario) documents."""
    return {key: sum(int(part.get(key, 0)) for part in parts)
            for key in ("tests_run", "tests_failed", "checks_run", "checks_failed")}


def write_results(document: dict[str, Any], path: Path) -> None:
    """Write results.json (UTF-8, indented; NaN written as null)."""
    path.write_text(json.dumps(_clean(document), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def attach_data_plane(
    document: dict[str, Any],
    *,
    counters: dict[str, dict[str, int]] | None = None,
    backends: list[dict[str, Any]] | None = None,
    plan: Any = None,
    calls: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Fill an item document's data plane placeholders (the run's part).

    With `calls` (the item's records frame), `untouched` lists the faults that touched no packet during the item,
    each once with its reason (lueur_net.analysis.stats.untouched_faults): judged by the windows, then by the
    counters just filled.

    `counters` and `backends` are keyed/identified by the planner's fault ids (`f0`, `f0.ingress`, `f0.egress`);
    each window `f<i>` gets the sum of the counters of every id of that fault, and the backend(s) that ran it, so
    readers can match them by window name. The item keeps the per-id values under `counters` and `backends`.
    """
    counters = counters or {}
    backends = backends or []
    if plan is not None:
        document["plan"] = plan
    document["counters"] = counters
    document["backends"] = backends
    for window in document.get("windows", []):
        name = window["name"]
        ids = [fault_id for fault_id in counters if fault_id == name or fault_id.startswith(name + ".")]
        summed: dict[str, int] = {}
        for fault_id in ids:
            for key, value in counters[fault_id].items():
                summed[key] = summed.get(key, 0) + int(value)
        window["counters"] = summed
        used = sorted(
            {str(b.get("backend")) for b in backends
             if b.get("backend") and (b.get("id") == name or str(b.get("id", "")).startswith(name + "."))}
        )
        window["backend"] = ",".join(used) if used else None
        hit = sorted({str(b["traffic"]) for b in backends if b.get("traffic")
                      and (b.get("id") == name or str(b.get("id", "")).startswith(name + "."))})
        window["traffic"] = " and ".join(hit) if hit else None  # lueur's meaning of its side and direction
    if isinstance(plan, list):
        notes = [note for entry in plan if isinstance(entry, dict) for note in entry.get("notes", [])]
        document["notes"] = list(dict.fromkeys(notes))  # each once, though a repeat plans every step
    if calls is not None:
        document["untouched"] = untouched_faults(spans_from_documents(document.get("windows", [])), calls)
    return document


def mark_backend_failures(document: dict[str, Any], failures: Sequence[Mapping[str, Any]], t0: float) -> None:
    """A backend that failed during the item (its fault was not realised as asked from then on): the item document
    lists it (`backend_failures`: fault, type, backend, reason, at_s from the item's t0) and fails."""
    if not failures:
        return
    document["backend_failures"] = [
        {key: value for key, value in failure.items() if key != "at_ns"}
        | {"at_s": round(int(failure["at_ns"]) / 1e9 - t0, 3)}
        for failure in failures
    ]
    document["passed"] = False
