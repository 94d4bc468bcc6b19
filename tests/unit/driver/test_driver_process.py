"""The driver's process model around each item: what a forked driver inherits, and how its progress pipe ends.

Before: each item's driver imported httpcore/anyio/uvloop (~75 modules, ~0.1 s) after its fork, and the run's
progress reader only noticed the end of an item at its 0.1 s select timeout (the run still held the pipe's write
end): ~0.2 s of each item's `driving` in `run --timings`.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from typing import Any

import pytest

from lueur_net.driver import remote
from lueur_net.driver.driving import ItemRun
from lueur_net.driver.progress import ProgressReader, ProgressWriter
from lueur_net.driver.spec import CallSpec, ItemSpec


def test_warm_imports_what_a_driver_would_import_after_its_fork() -> None:
    probe = ("import sys; from lueur_net.driver.driving import warm; warm(); "
             "print(all(name in sys.modules for name in ('httpcore', 'anyio.streams.tls', 'h11', 'uvloop', "
             "'certifi')))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


def test_the_progress_pipe_is_closed_before_its_reader_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader then ends at the pipe's EOF, once drained, not at its select timeout."""
    seen: list[dict[str, Any]] = []
    write_end_open_at_stop: list[bool] = []
    fds: list[int] = []

    def fake_drive(spec: ItemSpec) -> ItemRun:
        assert spec.progress_fd is not None
        fds.append(spec.progress_fd)
        writer = ProgressWriter(spec.progress_fd, spec.scenario_index, spec.item)
        writer.call_finished(False)
        writer.end()
        return ItemRun(records=[], t0=0.0)

    stop = ProgressReader.stop

    def watched_stop(self: ProgressReader, timeout: float = 1.0) -> None:
        try:
            fcntl.fcntl(fds[0], fcntl.F_GETFD)
            write_end_open_at_stop.append(True)
        except OSError:
            write_end_open_at_stop.append(False)
        stop(self, timeout)

    monkeypatch.setattr(remote, "drive", fake_drive)
    monkeypatch.setattr(ProgressReader, "stop", watched_stop)
    spec = ItemSpec(scenario="s", scenario_index=0, item=0, call=CallSpec("GET", "http://127.0.0.1:1/"))
    remote.drive_in_netns(None, spec, on_progress=seen.append)
    assert write_end_open_at_stop == [False]
    assert [event["event"] for event in seen] == ["calls", "end"]  # every event was still delivered
