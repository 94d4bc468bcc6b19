"""A run refused at its lab (a bad --attach target) leaves the output folder as it was: exit 2 means nothing
changed. Before, results.json and results.calls.parquet were created (empty) before the lab was attempted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from earlier_results import scenario_and_earlier_output, tree

LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]
@pytest.mark.parametrize("target", [f"lueur-no-such-ns-{os.getpid()}", "pid:999999999"])
def test_a_refused_attach_creates_no_output_and_keeps_the_earlier_results(tmp_path: Path, target: str) -> None:
    scenario, out = scenario_and_earlier_output(tmp_path)
    before = tree(out)
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--attach", target,
                           "--result", str(out / "results.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert tree(out) == before, done.stderr  # no results.calls.parquet, no report, results.json not truncated
    fresh = tmp_path / "fresh" / "results.json"
    done = subprocess.run([*LUEUR_NET, "run", str(scenario), "--attach", target, "--result", str(fresh)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert not fresh.parent.exists()
