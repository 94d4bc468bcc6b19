from __future__ import annotations

import pytest

from lueur_net.cli.main import main


@pytest.mark.parametrize(
    "argv",
    [["lab", "--help"], ["lab", "up", "--help"], ["lab", "down", "--help"], ["lab", "list", "--help"],
     ["shell", "--help"], ["clean", "--help"]],
)
def test_every_lab_command_help_ends_with_examples(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and "sudo lueur-net" in out


@pytest.mark.parametrize("argv", [["lab", "up", "http://localhost:9090/"], ["shell", "--", "true"], ["clean"],
                                  ["lab", "down"]])
def test_without_root_the_commands_say_so_and_exit_3(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(argv) == 3
    assert "needs root" in capsys.readouterr().err
