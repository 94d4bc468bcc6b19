"""The run's calls as a pandas DataFrame, and the columnar file of every call (Parquet or CSV).

Columns: every CallRecord field in declaration order, plus `send_lag_ms` (sent_s - intended_s, ms). Dtypes are
fixed (COLUMNS) so an empty frame, a Parquet file and a CSV file read back alike. See docs/results-schema.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lueur_net.errors import BadInput
from lueur_net.records.call import CallRecord

COLUMNS: dict[str, str] = {
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
    "status": "Int64",
    "bytes_out": "int64",
    "bytes_in": "int64",
    "error_class": "object",
    "error": "object",
    "faults": "object",  # list of window names; ";"-joined in CSV
    "capped": "bool",
    "send_lag_ms": "float64",
}


def records_frame(records: Iterable[CallRecord]) -> pd.DataFrame:
    """One row per call, COLUMNS in order with their dtypes.

    Built column by column with each column's dtype (one constructor, no per-column conversion afterwards): an
    item's analysis builds it once per item, and the per-column casts of a generic frame cost 13 ms for one call
    and 174 ms for 3000 (benchmarks/bench_analysis.py)."""
    rows = list(records)
    columns: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        if column == "send_lag_ms":
            continue
        values = [getattr(record, column) for record in rows]
        if column == "faults":
            columns[column] = pd.Series([list(names) for names in values], dtype=object)
        elif dtype == "object":
            columns[column] = pd.Series(values, dtype=object)  # a bare array would be inferred as `str`
        elif dtype == "Int64":
            columns[column] = pd.Series(values, dtype="Int64")
        elif dtype == "float64":
            columns[column] = np.array([np.nan if value is None else value for value in values], dtype=np.float64)
        else:
            columns[column] = np.array(values, dtype=dtype)
    columns["send_lag_ms"] = (columns["sent_s"] - columns["intended_s"]) * 1000.0
    return pd.DataFrame(columns, columns=list(COLUMNS))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column, dtype in COLUMNS.items():
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=dtype, index=frame.index)
        elif dtype == "object":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        elif dtype == "Int64":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        else:
            frame[column] = frame[column].astype(dtype)
    frame["faults"] = [_as_list(value) for value in frame["faults"]]
    return frame[list(COLUMNS)]


def _as_list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return [name for name in value.split(";") if name]
    return [str(name) for name in value]  # type: ignore[attr-defined]


def write_records(frame: pd.DataFrame, path: Path) -> None:
    """Parquet (pyarrow) or CSV, chosen by the file extension."""
    if path.suffix == ".parquet":
        frame.to_parquet(path, engine="pyarrow", index=False)
    elif path.suffix == ".csv":
        flat = frame.copy()
        flat["faults"] = [";".join(names) for names in flat["faults"]]
        flat.to_csv(path, index=False)
    else:
        raise BadInput(f"{path}: the records file must end in .parquet or .csv")


def read_records(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path, engine="pyarrow")
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, keep_default_na=True, dtype={"faults": "object", "error": "object"})
    else:
        raise BadInput(f"{path}: the records file must end in .parquet or .csv")
    return _typed(frame)
