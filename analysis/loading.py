"""Read results.json (schema v1, docs/results-schema.md) and the per-call records file into a `Run`.

This is the only module that knows the file layouts; it redacts URLs and texts on the way in, so nothing
downstream can leak a secret by forgetting to. The records file is found from `--records`, else from the path
results.json names (relative to results.json), else the calls embedded in results.json, else none (reports then
show the summary statistics only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from lueur_net.analysis.model import KIND_EXPECT, KIND_SLO, Check, Item, Run, Scenario, Window
from lueur_net.analysis.redact import Redactor
from lueur_net.errors import BadInput

SUPPORTED_SCHEMA_VERSIONS = (1,)

# The records' columns (lueur_net.records.call.CallRecord) this package reads, with the dtype used when empty.
RECORD_COLUMNS: dict[str, str] = {
    "scenario": "object",
    "scenario_index": "int64",
    "item": "int64",
    "iteration": "int64",
    "phase": "object",
    "client": "int64",
    "seq": "int64",
    "method": "object",
    "url": "object",
    "intended_s": "float64",
    "sent_s": "float64",
    "connect_ms": "float64",
    "tls_ms": "float64",
    "ttfb_ms": "float64",
    "total_ms": "float64",
    "latency_ms": "float64",
    "status": "float64",
    "bytes_out": "int64",
    "bytes_in": "int64",
    "error_class": "object",
    "error": "object",
    "faults": "object",
    "capped": "bool",
}


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
    records = normalise_records(records, redactor)
    scenarios: list[Scenario] = []
    for position, raw in enumerate(document.get("scenarios", [])):
        index = int(raw.get("index", position))
        title = str(raw.get("title", f"scenario {index + 1}"))
        scenario = Scenario(title=title, index=index, description=redactor.text(str(raw.get("description") or "")))
        for item_position, raw_item in enumerate(raw.get("items", [])):
            scenario.items.append(_item(raw_item, item_position, scenario, records, redactor))
        scenarios.append(scenario)
    meta = {key: value for key, value in document.items() if key not in ("scenarios", "calls")}
    duration = document.get("duration_s")
    return Run(
        scenarios=scenarios,
        records=records,
        meta=redactor.value(meta),
        duration_s=float(duration) if duration is not None else None,
    )


def normalise_records(records: pd.DataFrame, redactor: Redactor) -> pd.DataFrame:
    """Missing columns added (empty), URLs and error texts redacted, `faults` as lists."""
    frame = records.copy()
    for column, dtype in RECORD_COLUMNS.items():
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=dtype, index=frame.index)
    if not frame.empty:
        frame["url"] = [redactor.url(str(url)) for url in frame["url"]]
        frame["error"] = [redactor.text(str(text)) if isinstance(text, str) else None for text in frame["error"]]
        frame["faults"] = [_as_list(value) for value in frame["faults"]]
    return frame


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # CSV round trip: "a;b" or a JSON list
        if value.startswith("["):
            try:
                return [str(name) for name in json.loads(value)]
            except json.JSONDecodeError:
                pass
        return [name for name in value.split(";") if name]
    try:
        return [str(name) for name in value]
    except TypeError:
        return []


def _load_records(document: dict[str, Any], results_path: Path, records_path: Path | None) -> pd.DataFrame:
    if records_path is None:
        named = document.get("records")
        if isinstance(named, dict):
            named = named.get("path")
        if isinstance(named, str) and named:
            candidate = Path(named)
            if not candidate.is_absolute():
                candidate = results_path.parent / candidate
            if candidate.exists():
                records_path = candidate
    if records_path is not None:
        return read_records(records_path)
    calls = document.get("calls")
    if isinstance(calls, list):
        return pd.DataFrame(calls)
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in RECORD_COLUMNS.items()})


def read_records(path: Path) -> pd.DataFrame:
    """The records file: Parquet (.parquet) or CSV (.csv)."""
    if not path.exists():
        raise BadInput(f"{path}: no such records file")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise BadInput(f"{path}: records must be .parquet or .csv")


def _item(raw: dict[str, Any], position: int, scenario: Scenario, records: pd.DataFrame, redactor: Redactor) -> Item:
    index = int(raw.get("index", position))
    call = raw.get("call", {}) or {}
    strategy = raw.get("strategy") or {}
    mode = str(strategy.get("mode") or "single") if isinstance(strategy, dict) else "single"
    duration = strategy.get("duration_s") if isinstance(strategy, dict) else None
    timeout = call.get("timeout_ms", call.get("timeout"))
    counters = raw.get("counters") or {}
    windows = [_window(entry, counters) for entry in _windows_of(raw)]
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
    )


def _windows_of(raw: dict[str, Any]) -> list[dict[str, Any]]:
    plan = raw.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("windows"), list):
        return plan["windows"]
    windows = raw.get("windows")
    return windows if isinstance(windows, list) else []


def _window(raw: dict[str, Any], counters: dict[str, Any]) -> Window:
    name = str(raw.get("name", raw.get("type", "fault")))
    own = raw.get("counters") or counters.get(name) or {}
    end = raw.get("end_s")
    return Window(
        name=name,
        fault_type=str(raw.get("type", raw.get("fault_type", name))),
        start_s=float(raw.get("start_s", 0.0) or 0.0),
        end_s=float(end) if end is not None else None,
        params=dict(raw.get("params") or {}),
        counters={str(key): int(value) for key, value in own.items() if isinstance(value, (int, float))},
        backend=raw.get("backend"),
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
