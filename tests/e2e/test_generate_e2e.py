"""`scenario generate` against the running example app: --spec-url on loopback, --serve in a lab namespace, and
`lueur-net run` on a generated folder (two templates, so the test stays short)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "fastapi-sqlite"
SERVE = str(EXAMPLE / "serve")
REFERENCE = EXAMPLE / "scenario.yaml"
TEMPLATES = REPO / "lueur_net" / "generate" / "templates"
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
RUN_DIR = Path("/run/lueur-net")


def lueur_net(*args: str | Path, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LUEUR_NET, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, **(env or {})})


def free_port() -> int:
    """A loopback port nobody listens on now (9090 may be taken by another test's app)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def generate_ledgers() -> list[str]:
    """Ledgers of `scenario generate --serve` labs still on the machine (other tests' runs have other purposes)."""
    found = []
    for path in RUN_DIR.glob("*.ledger") if RUN_DIR.is_dir() else []:
        try:
            header = json.loads(path.read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            continue
        if header.get("purpose") == "generate":
            found.append(path.name)
    return found


@pytest.fixture
def app_on_loopback() -> Iterator[int]:
    """The example app on a free loopback port of the host namespace, stopped (with its group) afterwards."""
    port = free_port()
    server = subprocess.Popen([SERVE], env={**os.environ, "PORT": str(port)}, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "exited"
            assert time.monotonic() < deadline, "the example app did not start within 30 s"
            time.sleep(0.05)
        yield port
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=10)


def test_spec_url_from_the_running_app_gives_the_reference_file(app_on_loopback: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{app_on_loopback}/openapi.json"
    done = lueur_net("scenario", "generate", "--spec-url", url, "--only-operation", "read_root__get",
                     "-o", tmp_path / "s.yaml")
    assert done.returncode == 0, done.stderr
    # The app's spec names its server (http://localhost:9090), so the calls go there, as in the guide's file.
    assert (tmp_path / "s.yaml").read_text() == REFERENCE.read_text()
    every = lueur_net("scenario", "generate", "--spec-url", url, "-o", tmp_path / "all/")
    assert every.returncode == 0, every.stderr
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["read_root__get.yaml",
                                                                     "read_user_users__user_id__get.yaml"]


def test_serve_starts_the_app_in_a_lab_just_to_fetch_the_spec(tmp_path: Path) -> None:
    port = free_port()
    done = lueur_net("scenario", "generate", "--serve", SERVE, "--spec-url", f"http://localhost:{port}/openapi.json",
                     "--only-operation", "GET /", env={"PORT": str(port)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == REFERENCE.read_text()
    assert generate_ledgers() == []  # the lab and its server are gone
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the app did not outlive the command


def test_serve_with_a_server_that_never_listens_is_one_clear_error(tmp_path: Path) -> None:
    port = free_port()
    done = lueur_net("scenario", "generate", "--serve", "sleep 60", "--serve-timeout", "2", "--spec-url",
                     f"http://localhost:{port}/openapi.json", "-o", tmp_path / "s.yaml")
    assert done.returncode == 2
    assert done.stderr.startswith(f"lueur-net: error: the server did not accept connections on 127.0.0.1:{port} "
                                  "within 2 s")
    assert not (tmp_path / "s.yaml").exists()
    assert generate_ledgers() == []


def test_run_on_a_generated_folder(tmp_path: Path) -> None:
    port = free_port()
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("01-latency-spike.yaml", "05-jitter.yaml"):  # two single-call scenarios: seconds, not a minute
        shutil.copy(TEMPLATES / name, templates / name)
    out = tmp_path / "scenarios"
    spec = REPO / "tests" / "unit" / "generate" / "specs" / "fastapi-example.json"
    generated = lueur_net("scenario", "generate", "--spec-file", spec,
                          "--only-operation", "read_root__get", "--base-url", f"http://localhost:{port}",
                          "--templates", templates, "--no-builtin-templates", "-o", f"{out}/")
    assert generated.returncode == 0, generated.stderr
    began = time.monotonic()
    done = lueur_net("run", out, "--serve", SERVE, "--result", tmp_path / "r" / "results.json",
                     env={"PORT": str(port)})
    elapsed = time.monotonic() - began
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Tests run: 2, Tests failed: 0" in done.stdout
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    calls = [(s["title"], s["items"][0]["call"]["url"], s["items"][0]["call"]["operation_id"])
             for s in results["scenarios"]]
    assert calls == [("Single high-latency spike (client ingress)", f"http://localhost:{port}/", "read_root__get"),
                     ("High jitter (±80ms @ 8Hz)", f"http://localhost:{port}/", "read_root__get")]
    print(f"run on the generated folder: {elapsed:.1f} s")
    assert elapsed < 60
    for path in out.iterdir():
        assert len(list(yaml.safe_load_all(path.read_text()))) == 2
