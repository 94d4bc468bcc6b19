"""--serve with defer_ready: the lab does not wait for the app's port; ServerProcess.ready() does, once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from lueur_net.errors import BadInput
from lueur_net.lab import serve


class FakePopen:
    def __init__(self, code: int | None = None) -> None:
        self.code = code

    def poll(self) -> int | None:
        return self.code


def server(tmp_path: Path, defer: bool, code: int | None = None) -> serve.ServerProcess:
    return serve.ServerProcess(1, None, tmp_path / "log", FakePopen(code), defer_ready=defer)  # type: ignore[arg-type]


def test_a_deferred_server_is_probed_at_ready_not_by_the_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes: list[tuple[Any, ...]] = []
    monkeypatch.setattr(serve, "in_netns_thread", lambda netns, call, *args: probes.append((netns, *args)) or True)
    process = server(tmp_path, defer=True)
    assert serve.wait_ready(process, "lueur-c", [("127.0.0.1", 9090)], 5.0) == 0.0
    assert probes == [] and process.ready_s is None
    assert process.ready() >= 0.0
    assert probes == [("lueur-c", "127.0.0.1", 9090)] and process.ready_s is not None
    assert process.ready() == 0.0 and len(probes) == 1  # once


def test_a_server_that_is_not_deferred_is_waited_for_by_the_lab(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "in_netns_thread", lambda netns, call, *args: True)
    process = server(tmp_path, defer=False)
    serve.wait_ready(process, "lueur-c", [("127.0.0.1", 9090)], 5.0)
    assert process.ready_s is not None and process.ready() == 0.0


def test_a_deferred_server_that_exited_fails_at_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "in_netns_thread", lambda netns, call, *args: False)
    process = server(tmp_path, defer=True, code=1)
    serve.wait_ready(process, "lueur-c", [("127.0.0.1", 9090)], 5.0)
    with pytest.raises(BadInput, match="exited with status 1"):
        process.ready()


def test_the_deferred_timeout_counts_from_the_servers_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "in_netns_thread", lambda netns, call, *args: False)
    process = server(tmp_path, defer=True)
    process.started = time.monotonic() - 10  # started 10 s ago; the timeout is 5 s
    serve.wait_ready(process, "lueur-c", [("127.0.0.1", 9090)], 5.0)
    with pytest.raises(BadInput, match="within 5 s"):
        process.ready()
