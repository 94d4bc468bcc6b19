"""Lab set-up and tear-down time, median of N (issue 3 target: <= 100 ms each). Printed, not asserted.

Cases: a client lab reaching one loopback upstream (namespace, veth, addresses, route, sysctls, nft rules on
both sides, /etc/netns files), and the same with --serve (server namespace, second veth, a server started
and awaited). The server's own start-up (a Python listener, ~30-50 ms of interpreter start, until its port
answers: Lab.serve_seconds) is shown apart and not counted in the set-up, as issue 13's target says. Everything goes under a private run directory and is removed.

    sudo .venv/bin/python benchmarks/bench_lab_setup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lueur_net.lab import Lab, ServeSpec
from lueur_net.ledger import Ledger


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(runs: int, serve: bool, run_dir: Path) -> tuple[list[float], list[float], list[float]]:
    """(set-up without the app's own start, the app's start until its port answered, tear-down) of each run."""
    setups, apps, teardowns = [], [], []
    for _ in range(runs):
        port = free_port()
        spec = None
        if serve:
            spec = ServeSpec(
                f"{sys.executable} -S -c 'import socket, time\n"
                f"s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind((\"127.0.0.1\", {port})); s.listen(); time.sleep(60)'"
            )
        with Ledger.open("bench", run_dir=run_dir) as journal:
            began = time.monotonic()
            lab = Lab.create([f"http://localhost:{port}/"], journal, spec)
            setups.append(time.monotonic() - began - lab.serve_seconds)
            apps.append(lab.serve_seconds)
            began = time.monotonic()
            lab.close()
            teardowns.append(time.monotonic() - began)
    return setups, apps, teardowns


def show(name: str, values: list[float], target: str = "(target <= 100)") -> None:
    ms = sorted(v * 1000 for v in values)
    print(f"  {name:10} median {statistics.median(ms):6.1f} ms   min {ms[0]:6.1f}   max {ms[-1]:6.1f}   {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lueur-bench-", dir=os.environ.get("BENCH_RUN_DIR")) as directory:
        measure(1, False, Path(directory))  # warm-up: the first import of pyroute2 costs ~0.1-0.2 s
        for serve in (False, True):
            setups, apps, teardowns = measure(args.runs, serve, Path(directory))
            print(f"client lab{' + --serve' if serve else ''}, {args.runs} runs:")
            show("set-up", setups)
            if serve:
                show("app start", apps, "(the server's own start until its port answers: not lueur-net's)")
            show("tear-down", teardowns)


if __name__ == "__main__":
    main()
