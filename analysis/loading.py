"""Read results.json (schema v1, docs/results-schema.md) and the per-call records file into a `Run`.

This is the only module that knows the file layouts; it redacts URLs and texts on the way in, so nothing
downstream can leak a secret by forgetting to. The records file is found from `--records`, else from the path
results.json names (relative to results.json or the working directory), else none (reports then show the
verdicts without per-call plots).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from lueur_net.analysis.model import KIND_EXPECT, KIND_SLO, Check, Item, Run, Scenario, Window
from lueur_net.analysis.redact import Redactor
from lueur_net.errors import BadInput
from lueur_net.records.frame import COLUMNS, read_records

SUPPORTED_SCHEMA_VERSIONS = (1,)


def load_run(results_path: Path, records_path: Path | None = None, redactor: Redactor | None = None) -> Run:
    """Parse results.json (and its records) into a Run; BadInput when the file is missing or not ours."""
    redactor = redactor or Redactor()
    try:
        document = json.loads(results_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{results_path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInput(f"{results_path}: not a readable results.json ({error})") from None
    if not isinstance(document, dict) or "scenarios" not in document:
        raise BadInput(f"{results_path}: not a lueur-net results.json (no 'scenarios')")
    version = document.get("schema_version", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise BadInput(
            f"{results_path}: results schema version {version} is not supported "
            f"(this lueur-net reads {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))})"
        )
    records = _load_records(document, results_path, records_path)
    return run_from_document(document, records, redactor)


def run_from_document(document: dict[str, Any], records: pd.DataFrame, redactor: Redactor | None = None) -> Run:
    """Build a Run from an already parsed results document and its records (pure; used by `run` in-process)."""
    redactor = redactor or Redactor()
    redaction = document.get("redaction")
    if isinstance(redaction, dict):  # render the URLs as the run wrote them (`run --keep-query`)
        redactor.keep_query = redaction.get("query") == "kept"
    records = normalise_records(records, redactor)
    scenarios: list[Scenario] = []
    backends = _backend_by_type(document.get("backends"))
    for position, raw in enumerate(document.get("scenarios", [])):
        index = int(raw.get("index", position))
        title = str(raw.get("title", f"scenario {index + 1}"))
        scenario = Scenario(title=title, index=index, description=redactor.text(str(raw.get("description") or "")),
                            passed_flag=raw.get("passed") if isinstance(raw.get("passed"), bool) else None)
        for item_position, raw_item in enumerate(raw.get("items", [])):
            scenario.items.append(_item(raw_item, item_position, scenario, records, redactor, backends))
        scenarios.append(scenario)
    meta = {key: value for key, value in document.items() if key not in ("scenarios", "plan", "capabilities")}
    duration = document.get("duration_s")
    summary = document.get("summary") or {}
    return Run(
        scenarios=scenarios,
        records=records,
        meta=redactor.value(meta),
        duration_s=float(duration) if duration is not None else None,
        lueur_tests_run=_int_or_none(summary.get("tests_run")),
        lueur_tests_failed=_int_or_none(summary.get("tests_failed")),
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def normalise_records(records: pd.DataFrame, redactor: Redactor) -> pd.DataFrame:
    """Missing columns added (empty), URLs and error texts redacted, `faults` as lists."""
    frame = records.copy()
    for column, dtype in COLUMNS.items():
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=dtype, index=frame.index)
    if not frame.empty:
        frame["url"] = [redactor.url(str(url)) for url in frame["url"]]
        frame["error"] = [redactor.text(str(text)) if isinstance(text, str) else None for text in frame["error"]]
        frame["faults"] = [_as_list(value) for value in frame["faults"]]
    return frame


def _as_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):  # CSV round trip: "a;b"
        return [name for name in value.split(";") if name]
    try:
        return [str(name) for name in value]
    except TypeError:
        return []


def _load_records(document: dict[str, Any], results_path: Path, records_path: Path | None) -> pd.DataFrame:
    """The records file named by --records, else by results.json (relative: to results.json's folder, then to
    the working directory); none when results.json names none or it is gone (reports lose the per-call plots)."""
    if records_path is not None:
        if not records_path.exists():
            raise BadInput(f"{records_path}: no such records file")
        return read_records(records_path)
    named = document.get("records")
    if isinstance(named, dict):
        named = named.get("path")
    if isinstance(named, str) and named:
        candidate = Path(named)
        options = [candidate] if candidate.is_absolute() else [results_path.parent / candidate, candidate]
        for option in options:
            if option.exists():
                return read_records(option)
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in COLUMNS.items()})


def _backend_by_type(backends: Any) -> dict[str, str]:
    """The run's [{type, backend}] list as {fault type: backend} (fills windows whose own backend is unset)."""
    if not isinstance(backends, list):
        return {}
    return {str(entry["type"]): str(entry["backend"]) for entry in backends
            if isinstance(entry, dict) and entry.get("type") and entry.get("backend")}


def _item(raw: dict[str, Any], position: int, scenario: Scenario, records: pd.DataFrame, redactor: Redactor,
          backends: dict[str, str] | None = None) -> Item:
    index = int(raw.get("index", position))
    call = raw.get("call", {}) or {}
    strategy = raw.get("strategy") or {}
    mode = str(strategy.get("mode") or "single") if isinstance(strategy, dict) else "single"
    duration = strategy.get("duration_s") if isinstance(strategy, dict) else None
    timeout = call.get("timeout_ms", call.get("timeout"))
    counters = raw.get("counters") or {}
    windows = [_window(entry, counters, backends or {}) for entry in _windows_of(raw)]
    checks = [_check(entry, KIND_EXPECT) for entry in raw.get("expectations", []) or []]
    checks += [_check(entry, KIND_SLO) for entry in raw.get("slos", []) or []]
    if records.empty:
        calls = records
    else:
        mask = (records["scenario_index"] == scenario.index) & (records["item"] == index)
        calls = records.loc[mask].sort_values("intended_s").reset_index(drop=True)
    return Item(
        scenario=scenario.title,
        scenario_index=scenario.index,
        index=index,
        method=str(call.get("method", "GET")),
        url=redactor.url(str(call.get("url", ""))),
        strategy=mode,
        duration_s=float(duration) if duration is not None else None,
        timeout_ms=float(timeout) if timeout is not None else None,
        windows=windows,
        checks=checks,
        calls=calls,
        passed_flag=raw.get("passed") if isinstance(raw.get("passed"), bool) else None,
        window_checks=[_check(entry, KIND_SLO) for entry in raw.get("slo_windows", []) or []],
        tests=[dict(test) for test in raw.get("tests", []) or [] if isinstance(test, dict)],
        tests_run=_int_or_none(raw.get("tests_run")),
        tests_failed=_int_or_none(raw.get("tests_failed")),
        notes=[str(note) for note in raw.get("notes", []) or []],
    )


def _windows_of(raw: dict[str, Any]) -> list[dict[str, Any]]:
    plan = raw.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("windows"), list):
        return plan["windows"]
    windows = raw.get("windows")
    return windows if isinstance(windows, list) else []


def _window(raw: dict[str, Any], counters: dict[str, Any], backends: dict[str, str]) -> Window:
    name = str(raw.get("name", raw.get("type", "fault")))
    own = raw.get("counters") or counters.get(name) or {}
    end = raw.get("end_s")
    return Window(
        name=name,
        fault_type=str(raw.get("type") or raw.get("fault_type") or name),
        start_s=float(raw.get("start_s", 0.0) or 0.0),
        end_s=float(end) if end is not None else None,
        params=dict(raw.get("params") or {}),
        counters={str(key): int(value) for key, value in own.items() if isinstance(value, (int, float))},
        backend=raw.get("backend") or backends.get(str(raw.get("type"))),
        anchor=str(raw.get("anchor") or "item"),
        traffic=str(raw["traffic"]) if raw.get("traffic") else None,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _check(raw: dict[str, Any], kind: str) -> Check:
    name = str(raw.get("name", raw.get("type", raw.get("slo_type", ""))))
    return Check(
        kind=kind,
        name=name,
        title=str(raw.get("title", name)),
        passed=bool(raw.get("passed", False)),
        objective=_number(raw.get("objective")),
        threshold=_number(raw.get("threshold")),
        observed=_number(raw.get("observed")),
        unit=str(raw.get("unit", "")),
        failed_calls=int(raw.get("failed_calls", 0) or 0),
        total_calls=int(raw.get("total_calls", 0) or 0),
        window=raw.get("window"),
        detail=str(raw.get("detail", "")),
    )
