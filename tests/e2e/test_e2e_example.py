"""The README's main job, end to end: the eight-scenario file against the example app, with real faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lueur_net.ledger import process_is, read_ledger

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "fastapi-sqlite"
SCENARIO = EXAMPLE / "scenario.yaml"
SERVE = str(EXAMPLE / "serve")
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
RUN_DIR = Path("/run/lueur-net")


def lueur_net(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LUEUR_NET, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def kernel_objects(run_id: str) -> list[str]:
    """Everything a run with this id could have left: namespaces, links, nft tables, iptables rules, processes."""
    marker = f"lueur{run_id}"
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [line for line in netns.splitlines() if marker in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [line.split(":")[1].strip() for line in links.splitlines() if marker in line]
    nft = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    found += [line for line in nft.splitlines() if marker in line]
    iptables = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    found += [line for line in iptables.splitlines() if marker in line]
    return found


def running(pid: int, start_time: int | None) -> bool:
    """Alive and not a zombie waiting for init to reap it; waits a little for the kernel to finish the kill."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not process_is(pid, start_time):
            return False
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True


def ledger_ids() -> set[str]:
    return {path.stem for path in RUN_DIR.glob("*.ledger")} if RUN_DIR.is_dir() else set()


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("example-run")
    began = time.monotonic()
    done = lueur_net("run", str(SCENARIO), "--serve", SERVE, "--result", str(out / "results.json"),
                     "--html", "--junit")
    elapsed = time.monotonic() - began
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return {
        "process": done,
        "elapsed": elapsed,
        "results": json.loads((out / "results.json").read_text()),
        "calls": pd.read_parquet(out / "results.calls.parquet"),
        "out": out,
    }


def test_the_example_runs_thirteen_tests_like_lueur(example_run: dict[str, Any]) -> None:
    summary = example_run["results"]["summary"]
    assert summary["tests_run"] == 13
    assert summary["scenarios_run"] == 8
    stdout = example_run["process"].stdout
    assert "Tests run: 13" in stdout
    assert summary["checks_run"] == 9 and f"Checks: 9, failed: {summary['checks_failed']}" in stdout
    assert "6/6 Stair-step latency growth (5 x 100 ms)" in stdout
    # The scenarios' own durations add up to 43 s (loads of 10+15+8+10 s and a few short items); lueur took 45.3 s.
    assert example_run["elapsed"] < 120, example_run["elapsed"]
    for name in ("report.md", "report.html", "junit.xml"):
        assert (example_run["out"] / name).stat().st_size > 0


def test_a_latency_fault_shows_in_time_to_first_byte(example_run: dict[str, Any]) -> None:
    calls = example_run["calls"]
    spike = calls[calls.scenario.str.startswith("Single high-latency spike")]
    assert len(spike) == 1
    assert spike.ttfb_ms.iloc[0] >= 500  # mean 800 ms, stddev 100 ms: 3 sigma below the mean is still 500 ms
    stairs = calls[calls.scenario.str.startswith("Stair-step")].sort_values("seq")
    baseline = stairs[stairs.phase == "baseline"].ttfb_ms.iloc[0]
    last = stairs[(stairs.phase == "fault") & (stairs.iteration == 4)].ttfb_ms.iloc[0]
    assert baseline < 100  # no fault on the baseline call
    assert last >= 350  # mean 100 + 4 x 100 ms step, stddev 30 ms


def test_the_reference_file_means_what_it_means_in_lueur(example_run: dict[str, Any]) -> None:
    """The bandwidth cap (server ingress) hits the answers, the black-hole (server egress) the requests."""
    hit = {scenario["title"]: scenario["items"][0]["windows"][0].get("traffic")
           for scenario in example_run["results"]["scenarios"]}
    assert hit["512 KBps bandwidth cap"] == "responses"
    assert hit["Full black-hole for 1 s"] == "requests"
    assert hit["Single high-latency spike (client ingress)"] == "requests"
    untouched = {scenario["title"]: scenario["items"][0]["untouched"] for scenario in example_run["results"]["scenarios"]}
    assert [entry["fault"] for entry in untouched["5% packet loss for 4s"]] == ["f0"]  # its window misses a 6 ms call
    assert "touched no packet" in example_run["process"].stderr


def test_blackhole_timeouts_fall_inside_its_window_only(example_run: dict[str, Any]) -> None:
    calls = example_run["calls"]
    hole = calls[calls.scenario.str.startswith("Full black-hole")]
    assert len(hole) == 60  # 2 clients x 3 rps x 10 s, open loop
    start, end, timeout = 4.5, 5.5, 0.5  # period start:45%,duration:10% of 10 s; call timeout 500 ms
    timed_out = hole[hole.error_class == "timeout"]
    assert len(timed_out) >= 1
    for _, call in timed_out.iterrows():  # every timeout overlapped the window
        assert call.intended_s + timeout >= start - 0.05 and call.intended_s <= end + 0.05, call.intended_s
    far = hole[(hole.intended_s + timeout < start - 0.2) | (hole.intended_s > end + 0.2)]
    assert far.error_class.isna().all(), far[["intended_s", "error_class"]]


def test_bad_input_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.read_text().replace("mean: 800.0", "mean: -800.0"))
    before = ledger_ids()
    done = lueur_net("run", str(bad), "--serve", SERVE, "--result", str(tmp_path / "results.json"))
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert f"{bad}:" in first and "mean" in first
    assert "Traceback" not in done.stderr
    assert ledger_ids() == before  # no run was opened, so nothing was created
    assert not (tmp_path / "results.json").exists()


def test_sigkill_in_the_middle_then_clean_leaves_nothing(tmp_path: Path) -> None:
    before = ledger_ids()
    run = subprocess.Popen([*LUEUR_NET, "run", str(SCENARIO), "--only", "Periodic", "--serve", SERVE,
                            "--result", str(tmp_path / "results.json")], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        assert run.stdout is not None
        for line in run.stdout:  # wait until the load is under way, faults applied
            if line.startswith("lab ") or time.monotonic() > deadline:
                break
        time.sleep(3.0)
        new = ledger_ids() - before
        assert len(new) == 1, new
        run_id = new.pop()
        assert kernel_objects(run_id), "the run should have built its lab by now"
        _, entries = read_ledger(RUN_DIR / f"{run_id}.ledger")
        processes = [(e.fields["pid"], e.fields.get("start_time")) for e in entries if e.kind == "process"]
        assert processes, "the server under test is in the ledger"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(10)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert kernel_objects(run_id)  # SIGKILL leaves the lab (a ledger says what to remove)
    cleaned = lueur_net("clean")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"lueur{run_id}" in cleaned.stdout
    assert kernel_objects(run_id) == []
    assert run_id not in ledger_ids()
    for pid, start_time in processes:  # the server under test and the data plane's helpers were stopped too
        assert not running(pid, start_time), pid
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "a process of the killed run is still alive (an orphaned driver keeps its netns)"
