"""Collect a run's items as they finish, then write results.json and the calls file: the run command's side.

    recorder = RunRecorder()
    for each scenario / item:
        item_run = drive_in_netns(...)
        doc = recorder.add(scenario_index, scenario, source_path, item_index, spec, item_run)
        doc["plan"] = ...; doc["backends"] = [...]; doc["windows"][k]["counters"] = {...}   # the run's placeholders
        doc["tests_failed"]                                                                  # for the terminal
    document = recorder.write(results_path, records_path)      # either path may be None (nothing written)
    document["summary"]["tests_run"], ["tests_failed"], ["total_time_s"]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lueur_net.analysis.redact import Redactor
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.spec import ItemSpec
from lueur_net.records.frame import COLUMNS, records_frame, write_records
from lueur_net.results.document import item_document, results_document, write_results
from lueur_net.scenario.models import Scenario


@dataclass
class _ScenarioEntry:
    scenario: Scenario
    source: str | None
    items: list[dict[str, Any]] = field(default_factory=list)


class RunRecorder:
    def __init__(self, started_at: datetime | None = None) -> None:
        self.started_at = started_at or datetime.now(timezone.utc)
        self.finished_at: datetime | None = None
        self._scenarios: dict[int, _ScenarioEntry] = {}
        self._frames: list[pd.DataFrame] = []
        self.top: dict[str, Any] = {}  # extra top-level keys the run sets: capabilities, backends, plan, counters

    def add(
        self,
        scenario_index: int,
        scenario: Scenario,
        source: str | None,
        item_index: int,
        spec: ItemSpec,
        run: ItemRun | None,
        *,
        frame: pd.DataFrame | None = None,
    ) -> dict[str, Any]:
        """Record one driven item (run None: the item could not be driven; it counts as failed tests). `frame`: its
        records' frame when the caller has it already (records_frame(run.records))."""
        if frame is None:
            frame = records_frame(run.records if run is not None else [])
        self._frames.append(frame)
        document = item_document(scenario, item_index, spec, run, frame)
        entry = self._scenarios.setdefault(scenario_index, _ScenarioEntry(scenario, source))
        entry.items.append(document)
        return document

    def frame(self) -> pd.DataFrame:
        """Every call recorded so far (lueur_net.records.frame.COLUMNS)."""
        frames = [frame for frame in self._frames if not frame.empty]
        if not frames:
            return records_frame([])
        return pd.concat(frames, ignore_index=True)[list(COLUMNS)]

    def document(self, records_path: str | None = None) -> dict[str, Any]:
        finished = self.finished_at or datetime.now(timezone.utc)
        frame = self.frame()
        ordered = [self._scenarios[index] for index in sorted(self._scenarios)]
        document = results_document(
            [(entry.scenario, entry.source, entry.items) for entry in ordered],
            started_at=self.started_at,
            finished_at=finished,
            records_path=records_path,
            records_rows=len(frame),
        )
        for position, index in enumerate(sorted(self._scenarios)):
            document["scenarios"][position]["index"] = index  # the run's numbering, also in the records
        document.update(self.top)
        return document

    def write(self, results_path: Path | None, records_path: Path | None, *, keep_query: bool = False,
              late: dict[str, Callable[[], Any]] | None = None) -> dict[str, Any]:
        """Write the calls file and results.json (naming the calls file relative to results.json when it can).

        Both are kept and shared, so both are redacted (lueur_net.analysis.redact): secret query parameters in
        URLs, secret-looking values in error texts and fields. Returns the (redacted) document.
        """
        self.finished_at = datetime.now(timezone.utc)
        redactor = Redactor(keep_query=keep_query)
        self.top["redaction"] = {"query": "kept" if keep_query else "redacted"}  # reports re-render the same way
        # The calls first: secrets found in their URLs are then also scrubbed from the document's free text.
        frame = self.frame()
        frame["url"] = frame["url"].map(lambda url: redactor.url(url) if isinstance(url, str) else url)
        frame["error"] = frame["error"].map(lambda text: redactor.text(text) if isinstance(text, str) else text)
        named: str | None = None
        if records_path is not None:
            write_records(frame, records_path)
            named = str(records_path)
            if results_path is not None:
                try:
                    named = os.path.relpath(records_path.resolve(), results_path.resolve().parent)
                except ValueError:
                    named = str(records_path.resolve())
        document = redactor.value(self.document(named))
        for key, value in (late or {}).items():  # values known only now (the run's timings): taken last
            document[key] = value()
        if results_path is not None:
            write_results(document, results_path)
        return document
