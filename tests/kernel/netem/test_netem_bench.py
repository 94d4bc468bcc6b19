"""Runs the tc benchmarks inside the stock-kernel VM, where netem and tcconfig can be compared (prints only).

Skipped in a normal tier run; select it explicitly:
    sudo scripts/vm-tier tests/kernel/netem/test_netem_bench.py -k bench -s
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.mark.parametrize("script, args", [("bench_tc_control.py", ["--repeat", "10"]),
                                          ("bench_tc_fidelity.py", ["--quick"])])
def test_bench_tc_in_vm(request: pytest.FixtureRequest, script: str, args: list[str]) -> None:
    if "bench" not in (request.config.getoption("keyword") or ""):
        pytest.skip("benchmark (prints, asserts nothing): select it with -k bench -s")
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=1200, check=False)
    print(f"\n===== {script} =====\n{done.stdout}{done.stderr}")
    assert done.returncode == 0
