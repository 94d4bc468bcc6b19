from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab import attach
from lueur_net.lab.enter import netns_path
from lueur_net.lab.runtimes import resolve_container


def test_a_container_without_any_runtime_is_an_environment_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CONTAINER_RUNTIME_ENDPOINT", "")
    monkeypatch.setattr("lueur_net.lab.runtimes.cri.DEFAULT_SOCKETS", ())
    with pytest.raises(EnvironmentProblem) as raised:
        resolve_container("abc123")
    assert raised.value.message.startswith("cannot resolve container:abc123: no container runtime to ask (cri: ")
    assert "podman: not installed" in raised.value.message


def _fake_tool(directory: Path, name: str, script: str) -> None:
    tool = directory / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_crictl_is_preferred_and_its_json_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """crictl's output format, read from a stand-in (crictl is not packaged in Debian, so the runtime tier talks to
    the CRI socket; tests/runtime covers real resolution)."""
    _fake_tool(tmp_path, "crictl", 'echo \'{"status": {"id": "abc1234567", "metadata": {"name": "web"}, '
                                   '"state": "CONTAINER_RUNNING"}, "info": {"pid": 4242}}\'\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert resolve_container("abc123").pid == 4242


def test_targets_that_do_not_exist_are_bad_input() -> None:
    with pytest.raises(BadInput, match="dead pid"):
        netns_path("pid:999999999")
    with pytest.raises(BadInput, match="pid:NUMBER"):
        netns_path("pid:abc")
    with pytest.raises(BadInput, match="does not exist"):
        netns_path("lueur-no-such-namespace")
    with pytest.raises(BadInput, match="does not exist"):
        attach.resolve_target("/proc/999999999/ns/net")


def _deny_proc_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make following /proc/1/ns/net fail with EACCES, as it does for root when pid 1 is a supervisor that ptrace
    access rules protect (seen on the development VM) or under an LSM."""
    real_stat, real_open = os.stat, os.open

    def denied(path: object) -> bool:
        return str(path).startswith("/proc/1/")

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if denied(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def open_(path: object, *args: object, **kwargs: object) -> int:
        if denied(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "open", open_)


def test_an_unreadable_namespace_is_an_environment_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    from lueur_net.lab.enter import setns

    _deny_proc_1(monkeypatch)
    for target in ("pid:1", "/proc/1/ns/net"):
        with pytest.raises(EnvironmentProblem) as raised:
            attach.resolve_target(target)
        assert raised.value.message == f"cannot open network namespace {target} (/proc/1/ns/net): Permission denied"
        assert raised.value.exit_code == 3 and raised.value.hint is not None
    with pytest.raises(EnvironmentProblem, match="Permission denied"):
        setns(Path("/proc/1/ns/net"))


def test_the_cli_says_so_in_one_line_and_exits_3(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from lueur_net.cli.main import main
    from lueur_net.lab import lab

    monkeypatch.setattr(lab, "require_root", lambda: None)  # no kernel object is made: resolution fails first
    _deny_proc_1(monkeypatch)
    assert main(["shell", "--attach", "pid:1", "--", "true"]) == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "lueur-net: error: cannot open network namespace pid:1 (/proc/1/ns/net): Permission denied"
    assert len(lines) == 2 and lines[1].startswith("  hint: ")
