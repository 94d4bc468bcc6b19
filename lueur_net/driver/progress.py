"""Live progress from the driver to whoever shows it, across the fork of run_in_netns.

A callback cannot cross a process boundary, so the driver writes one JSON object per line to a file
descriptor the caller passes in `ItemSpec.progress_fd` (normally the write end of an `os.pipe()` made
before the fork; forked children inherit it). Lines are short (< PIPE_BUF), so lines from several load
workers never interleave. Events:

    {"event": "calls", "item": I, "scenario_index": S, "done": N, "failed": F}   N calls finished since the
        previous event from this process (F of them missed their expectations or got no response)
    {"event": "end", "item": I, "scenario_index": S}                              the item is finished

`done`/`failed` are increments: add them up. Writes never block the driver: the fd is made non-blocking and
an event that does not fit is merged into the next one. Load workers send at most ~10 events per second.
`ProgressReader` is the parent's side: a thread that reads the pipe and calls a function per event.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from lueur_net.driver.lines import LineReader

MIN_INTERVAL_S = 0.1


class ProgressWriter:
    def __init__(self, fd: int | None, scenario_index: int, item: int, throttle: bool = False) -> None:
        self.fd = fd
        self.scenario_index = scenario_index
        self.item = item
        self.throttle = throttle
        self._done = 0
        self._failed = 0
        self._last = 0.0
        if fd is not None:
            os.set_blocking(fd, False)

    def call_finished(self, failed: bool) -> None:
        self._done += 1
        self._failed += int(failed)
        now = time.monotonic()
        if not self.throttle or now - self._last >= MIN_INTERVAL_S:
            self.flush()
            self._last = now

    def flush(self) -> None:
        if self._done and self._send({"event": "calls", "done": self._done, "failed": self._failed}):
            self._done = self._failed = 0

    def end(self) -> None:
        self.flush()
        if self._done:  # the pipe is full: wait a little for the reader rather than lose the final count
            for _ in range(50):
                time.sleep(0.01)
                self.flush()
                if not self._done:
                    break
        self._send({"event": "end"})

    def _send(self, event: dict[str, Any]) -> bool:
        if self.fd is None:
            return True
        event = {**event, "scenario_index": self.scenario_index, "item": self.item}
        line = (json.dumps(event) + "\n").encode()
        try:
            return os.write(self.fd, line) == len(line)
        except (BlockingIOError, BrokenPipeError):
            return False


class ProgressReader:
    """Reads progress lines from `read_fd` in a daemon thread and calls `on_event(dict)` for each.

    Stops at end of file (every write end closed) or `stop()`. Use as a context manager around the
    run_in_netns call; close your own copy of the write end after the child has been forked/finished.
    """

    def __init__(self, read_fd: int, on_event: Callable[[dict[str, Any]], None]) -> None:
        self.read_fd = read_fd
        self.on_event = on_event
        self._thread = threading.Thread(target=self._run, name="lueur-progress", daemon=True)
        self._stopping = False

    def __enter__(self) -> ProgressReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 1.0) -> None:
        self._stopping = True
        self._thread.join(timeout)

    def _run(self) -> None:
        import select

        events = LineReader(self.read_fd)
        while True:
            ready, _, _ = select.select([self.read_fd], [], [], 0.1)
            if not ready:
                if self._stopping:
                    return
                continue
            lines = events.read()
            if lines is None:
                return
            for line in lines:
                if line.strip():
                    try:
                        self.on_event(json.loads(line))
                    except ValueError:
                        continue


class ScenarioTally:
    """Turns progress events into lueur's per-scenario line: `6/6 Stair-step latency growth ▮▮▮▮▮▮`.

    One test per call of a single/repeat item, one per load item (docs/results-schema.md): a load item's test
    counts as done at its "end" event, and until then the line shows the load's share of calls done.
    `specs`: the scenario's ItemSpecs (any object with `.item`, `.strategy`, `.planned_calls`).
    """

    def __init__(self, title: str, specs: list[Any]) -> None:
        self.title = title
        self.specs = {spec.item: spec for spec in specs}
        self.calls_done: dict[int, int] = {item: 0 for item in self.specs}
        self.failed: dict[int, int] = {item: 0 for item in self.specs}
        self.ended: set[int] = set()

    @property
    def total_tests(self) -> int:
        return sum(1 if spec.strategy == "load" else spec.planned_calls for spec in self.specs.values())

    @property
    def tests_done(self) -> int:
        done = 0
        for item, spec in self.specs.items():
            if spec.strategy == "load":
                done += 1 if item in self.ended else 0
            else:
                done += min(self.calls_done[item], spec.planned_calls) if item not in self.ended else spec.planned_calls
        return done

    def update(self, event: dict[str, Any]) -> None:
        item = int(event.get("item", -1))
        if item not in self.specs:
            return
        if event.get("event") == "calls":
            self.calls_done[item] += int(event.get("done", 0))
            self.failed[item] += int(event.get("failed", 0))
        elif event.get("event") == "end":
            self.ended.add(item)

    def line(self) -> str:
        text = f"{self.tests_done}/{self.total_tests} {self.title} " + "\u25ae" * self.tests_done
        loads = [i for i, s in self.specs.items() if s.strategy == "load" and i not in self.ended and self.calls_done[i]]
        for item in loads:
            planned = max(1, self.specs[item].planned_calls)
            text += f" ({100 * self.calls_done[item] // planned}% of {planned} calls)"
        return text
