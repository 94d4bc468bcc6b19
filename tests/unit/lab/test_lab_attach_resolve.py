from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab import attach
from lueur_net.lab.enter import netns_path


def test_a_container_without_crictl_or_docker_is_an_environment_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attach.shutil, "which", lambda name: None)
    with pytest.raises(EnvironmentProblem) as raised:
        attach.container_pid("abc123")
    assert "neither crictl nor docker" in raised.value.message


def _fake_tool(directory: Path, name: str, script: str) -> None:
    tool = directory / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_a_container_resolves_through_docker_inspect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path, "docker", f'[ "$1" = inspect ] && echo {os.getpid()}\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert attach.container_pid("abc123") == os.getpid()
    assert attach.resolve_target("container:abc123") == f"/proc/{os.getpid()}/ns/net"


def test_crictl_is_preferred_and_its_json_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path, "crictl", "echo '{\"info\": {\"pid\": 4242}}'\n")
    _fake_tool(tmp_path, "docker", "exit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert attach.container_pid("abc123") == 4242


def test_a_stopped_or_unknown_container_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path, "docker", "echo 0\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BadInput, match="not running"):
        attach.container_pid("abc123")
    _fake_tool(tmp_path, "docker", "echo 'Error: No such object: abc123' >&2; exit 1\n")
    with pytest.raises(BadInput, match="No such object"):
        attach.container_pid("abc123")


def test_targets_that_do_not_exist_are_bad_input() -> None:
    with pytest.raises(BadInput, match="dead pid"):
        netns_path("pid:999999999")
    with pytest.raises(BadInput, match="pid:NUMBER"):
        netns_path("pid:abc")
    with pytest.raises(BadInput, match="does not exist"):
        netns_path("lueur-no-such-namespace")
    with pytest.raises(BadInput, match="does not exist"):
        attach.resolve_target("/proc/999999999/ns/net")


def test_a_container_runtime_that_fails_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_tool(tmp_path, "docker", "echo 'Cannot connect to the Docker daemon' >&2; exit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvironmentProblem, match="Cannot connect"):
        attach.container_pid("abc123")
