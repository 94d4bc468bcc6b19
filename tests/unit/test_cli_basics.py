from __future__ import annotations

import subprocess
import sys

from lueur_net import __version__
from lueur_net.cli.main import main


def test_version_is_printed(capsys) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_suggests_the_nearest(capsys) -> None:
    assert main(["scenari"]) == 2
    assert "No such command 'scenari'" in capsys.readouterr().err


def test_console_script_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "lueur_net.cli.main", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "Examples:" in done.stdout


def test_help_loads_no_heavy_library() -> None:
    """`lueur-net --help` lists every command (click imports each command module for its short help): none of
    them may import pandas, httpx, the ollama client or pyroute2 at module level."""
    code = ("import sys; from lueur_net.cli.main import main; main(['--help']); "
            "print(sorted(m for m in ('pandas', 'numpy', 'httpx', 'ollama', 'pyroute2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_address_pool_has_one_name_on_every_command(capsys) -> None:
    for command in (["run"], ["lab", "up"], ["shell"]):
        assert main([*command, "--help"]) == 0
        text = capsys.readouterr().out
        assert "--pool CIDR" in text and "--lab-pool" not in text, command
