"""`lueur-net lab up|list|down`, `shell` and `clean` as a user runs them (subprocesses, private run directory)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lab_helpers import leftovers

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab import Lab
from lueur_net.lab.lab import Names
from lueur_net.ledger import Ledger

LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]


def cli(run_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LUEUR_NET_RUN_DIR": str(run_dir)}
    return subprocess.run([*LUEUR_NET, *args], env=env, capture_output=True, text=True, timeout=timeout)


FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"


def test_shell_runs_a_command_in_a_fresh_lab_that_reaches_the_url_as_written(
    run_dir: Path, loopback_server: int
) -> None:
    url = f"http://localhost:{loopback_server}/"
    done = cli(run_dir, "shell", "--", sys.executable, "-c", FETCH, url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hello from 127.0.0.1:{loopback_server}"
    assert list(run_dir.iterdir()) == []  # the lab and its ledger are gone


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_issue_s_done_criterion_with_curl(run_dir: Path, loopback_server: int) -> None:
    done = cli(run_dir, "shell", "--", "curl", "-s", f"http://localhost:{loopback_server}/")
    assert (done.returncode, done.stdout) == (0, f"hello from 127.0.0.1:{loopback_server}")


def test_shell_passes_the_command_s_exit_status(run_dir: Path) -> None:
    assert cli(run_dir, "shell", "--", "sh", "-c", "exit 7").returncode == 7


def test_a_lab_kept_up_is_listed_entered_left_alone_by_clean_and_taken_down(
    run_dir: Path, loopback_server: int
) -> None:
    url = f"http://localhost:{loopback_server}/"
    up = cli(run_dir, "lab", "up", url)
    assert up.returncode == 0, up.stderr
    labs = json.loads(cli(run_dir, "lab", "list", "--json").stdout)
    assert len(labs) == 1
    lab_id = labs[0]["run_id"]
    try:
        assert f"lab {lab_id}" in up.stdout and labs[0]["client_netns"] in up.stdout and labs[0]["block"] in up.stdout
        inside = cli(run_dir, "shell", "--lab", lab_id, "--", sys.executable, "-c", FETCH, url)
        assert inside.stdout.strip() == f"hello from 127.0.0.1:{loopback_server}", inside.stderr
        env = cli(run_dir, "shell", "--lab", lab_id, "--", "sh", "-c", "echo $LUEUR_NET_LAB")
        assert env.stdout.strip() == lab_id
        cleaned = cli(run_dir, "clean")
        assert cleaned.returncode == 0 and "nothing to clean" in cleaned.stdout and lab_id in cleaned.stdout
        assert leftovers(lab_id) != []  # a live lab is not cleaned
    finally:
        down = cli(run_dir, "lab", "down", lab_id)
    assert down.returncode == 0, down.stderr
    assert leftovers(lab_id) == []
    assert cli(run_dir, "lab", "list").stdout.strip() == "no lab is up"


def test_lab_up_with_serve(run_dir: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://localhost:{port}/"
    up = cli(run_dir, "lab", "up", "--serve", f"{sys.executable} -m http.server {port} --bind 127.0.0.1", url)
    assert up.returncode == 0, up.stderr
    lab = json.loads(cli(run_dir, "lab", "list", "--json").stdout)[0]
    try:
        assert lab["server_pid"] and lab["server_netns"] and "server" in up.stdout
        inside = cli(run_dir, "shell", "--lab", lab["run_id"], "--", sys.executable, "-c", FETCH, url)
        assert "Directory listing" in inside.stdout, inside.stderr
    finally:
        assert cli(run_dir, "lab", "down").returncode == 0
    assert leftovers(lab["run_id"]) == []
    assert not Path(f"/proc/{lab['server_pid']}").exists()


def test_sigterm_reverts_a_shell_s_lab(run_dir: Path, loopback_server: int) -> None:
    env = {**os.environ, "LUEUR_NET_RUN_DIR": str(run_dir)}
    shell = subprocess.Popen([*LUEUR_NET, "shell", "--upstream", f"http://localhost:{loopback_server}/", "--",
                              "sleep", "30"], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    ledger_files: list[Path] = []
    while time.monotonic() < deadline and not ledger_files:
        ledger_files = list(run_dir.glob("*.ledger"))
        time.sleep(0.05)
    run_id = ledger_files[0].name.split(".")[0]
    while time.monotonic() < deadline and not Path(f"/etc/netns/lueur{run_id}-c").exists():
        time.sleep(0.05)  # the lab is complete once its hosts file is written
    shell.send_signal(signal.SIGTERM)
    assert shell.wait(timeout=20) == 130
    assert leftovers(run_id) == []
    assert list(run_dir.glob("*.ledger")) == []


def test_errors_are_one_line_with_the_documented_exit_status(run_dir: Path) -> None:
    missing = cli(run_dir, "shell", "--lab", "abcdef", "--", "true")
    assert missing.returncode == 2 and "no live lab with id abcdef" in missing.stderr
    assert "Traceback" not in missing.stderr
    nothing = cli(run_dir, "lab", "down")
    assert nothing.returncode == 2 and "no lab is up" in nothing.stderr
    bad = cli(run_dir, "lab", "up", "http://[::1]:80/")
    assert bad.returncode == 2 and "IPv6" in bad.stderr
    pool = cli(run_dir, "lab", "up", "--pool", "8.8.8.0/24", "http://localhost:80/")
    assert pool.returncode == 2 and "private range" in pool.stderr
    serve = cli(run_dir, "shell", "--serve", "exit 3", "--", "true")
    assert serve.returncode == 2 and "needs an upstream on localhost" in serve.stderr
    assert list(run_dir.glob("*.ledger")) == []


def test_a_name_clash_is_an_environment_problem_and_the_other_object_survives(journal: Ledger) -> None:
    from pyroute2 import IPRoute, netns

    names = Names.for_run(journal.run_id)
    netns.create(names.client_netns)  # someone else's namespace with the name this run would use
    try:
        with pytest.raises(EnvironmentProblem, match="already exists") as raised:
            Lab.create(["http://localhost:80/"], journal)
        assert raised.value.exit_code == 3
        assert names.client_netns in netns.listnetns()
        assert journal.pending == 0
    finally:
        netns.remove(names.client_netns)
    with IPRoute() as ipr:  # a host interface with our host end's name
        ipr.link("add", ifname=names.host_end, kind="bridge")
        try:
            with pytest.raises(EnvironmentProblem, match="already exists"):
                Lab.create(["http://localhost:80/"], journal)
            assert ipr.link_lookup(ifname=names.host_end)
        finally:
            ipr.link("del", index=ipr.link_lookup(ifname=names.host_end)[0])
    subprocess.run(["nft", "add", "table", "ip", names.host_table], check=True)  # an nft table with our name
    try:
        with pytest.raises(EnvironmentProblem, match="already exists"):
            Lab.create(["http://localhost:80/"], journal)
        assert subprocess.run(["nft", "list", "table", "ip", names.host_table], capture_output=True).returncode == 0
    finally:
        subprocess.run(["nft", "delete", "table", "ip", names.host_table], check=True)
    assert journal.pending == 0


HOLD_LAB = """
import pathlib, sys, time
from lueur_net.lab import Lab, terminate_on_signals
from lueur_net.ledger import Ledger
with terminate_on_signals(), Ledger.open("signal-test", run_dir=pathlib.Path(sys.argv[1])) as journal:
    with Lab.create([sys.argv[2]], journal) as lab:
        print(lab.run_id, flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_revert_a_lab_held_by_a_run(run_dir: Path, loopback_server: int, signum: int) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LAB, str(run_dir), f"http://localhost:{loopback_server}/"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    run_id = holder.stdout.readline().strip()
    assert run_id and leftovers(run_id) != []
    holder.send_signal(signum)
    holder.wait(timeout=20)
    assert leftovers(run_id) == []
    assert list(run_dir.glob("*.ledger")) == []


def test_clean_never_touches_a_lueur_object_no_ledger_recorded(run_dir: Path) -> None:
    from pyroute2 import netns

    stranger = f"lueurstranger{os.getpid()}"  # a lueur name, but no ledger knows it (and no run id looks like it)
    assert stranger not in netns.listnetns()
    netns.create(stranger)
    try:
        dead_run = (  # a run that recorded a namespace, never created it, and was SIGKILLed
            "import os, pathlib, signal, sys\n"
            "from lueur_net.ledger import Ledger\n"
            "journal = Ledger.open('dead-run', run_dir=pathlib.Path(sys.argv[1]))\n"
            "journal.record('netns', name=f'lueur{journal.run_id}-c')\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        subprocess.run([sys.executable, "-c", dead_run, str(run_dir)], check=False)
        assert len(list(run_dir.glob("*.ledger"))) == 1
        cleaned = cli(run_dir, "clean")
        assert cleaned.returncode == 0, cleaned.stderr
        assert stranger in netns.listnetns()
        assert list(run_dir.glob("*.ledger")) == []
    finally:
        netns.remove(stranger)


def test_with_two_labs_up_down_needs_an_id(run_dir: Path, loopback_server: int) -> None:
    url = f"http://localhost:{loopback_server}/"
    assert cli(run_dir, "lab", "up", url).returncode == 0
    assert cli(run_dir, "lab", "up", url).returncode == 0
    labs = json.loads(cli(run_dir, "lab", "list", "--json").stdout)
    try:
        assert len(labs) == 2 and labs[0]["block"] != labs[1]["block"]
        ambiguous = cli(run_dir, "lab", "down")
        assert ambiguous.returncode == 2 and "several labs are up" in ambiguous.stderr
    finally:
        for lab in labs:
            assert cli(run_dir, "lab", "down", lab["run_id"]).returncode == 0
    assert all(leftovers(lab["run_id"]) == [] for lab in labs)
