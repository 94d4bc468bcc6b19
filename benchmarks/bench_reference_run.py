"""The reference file's run time next to its intrinsic time (issue 13's target: at most intrinsic + 1.5 s).

    sudo .venv/bin/python benchmarks/bench_reference_run.py [--runs 3] [--against OTHER_CHECKOUT]

Each run is `lueur-net run examples/fastapi-sqlite/scenario.yaml --serve examples/fastapi-sqlite/serve --timings`
in a temporary folder, as a user types it; its wall time is measured here, from before the process starts to its
exit. The intrinsic time (load durations + single/repeat call times and waits) is results.json's
`timings.intrinsic_s`; the phases are the ones `--timings` prints. With --against, another checkout (with its own
.venv and built BPF objects, e.g. a `git worktree` of an older commit) runs its own copy of the same file, the two
interleaved run by run, as the baseline. Prints every run, then per checkout the median [min-max] of the wall
time, of the overhead (wall - intrinsic) and of each phase. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 1.5


def one_run(checkout: Path) -> dict[str, float]:
    """Wall, intrinsic and the printed phases (s) of one run of `checkout`'s reference file."""
    example = checkout / "examples" / "fastapi-sqlite"
    with tempfile.TemporaryDirectory(prefix="lueur-bench-ref-") as folder:
        command = [str(checkout / ".venv" / "bin" / "lueur-net"), "run", str(example / "scenario.yaml"),
                   "--serve", str(example / "serve"), "--timings"]
        began = time.monotonic()
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        wall = time.monotonic() - began
        if done.returncode not in (0, 1):
            raise SystemExit(f"{checkout}: exit {done.returncode}\n{done.stderr[-2000:]}")
        timings = json.loads((Path(folder) / "results.json").read_text())["timings"]
    shown = {"wall": wall, "intrinsic": float(timings["intrinsic_s"]), "overhead": wall - float(timings["intrinsic_s"])}
    in_table = False
    for line in done.stdout.splitlines():
        if line.startswith("Timings (seconds):"):
            in_table = True
            continue
        name, _, value = line.strip().rpartition(" ")
        if in_table and name and not line.strip().startswith("total"):
            try:
                shown[name.strip()] = float(value)
            except ValueError:
                pass
    return shown


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per checkout (3)")
    parser.add_argument("--against", type=Path, help="another checkout, run interleaved as the baseline")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (sudo): the runs build labs")
    checkouts = {"this": REPO, **({"baseline": args.against.resolve()} if args.against else {})}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    for number in range(1, args.runs + 1):
        for name, checkout in checkouts.items():
            shown = one_run(checkout)
            results[name].append(shown)
            load = os.getloadavg()[0]
            print(f"run {number} {name:8} wall {shown['wall']:.2f} s, intrinsic {shown['intrinsic']:.2f} s, "
                  f"over {shown['overhead']:.2f} s (load {load:.2f})", flush=True)
    print(f"\nmedian [min-max] over {args.runs} runs, seconds; target: over <= {TARGET_S}")
    phases = [key for key in results["this"][0] if key not in ("wall", "intrinsic")]
    print(f"{'':24}" + "".join(f"{name:>26}" for name in checkouts))
    for key in ["wall", "intrinsic", *phases]:
        cells = [spread([run.get(key, 0.0) for run in results[name]]) for name in checkouts]
        print(f"{key:24}" + "".join(f"{cell:>26}" for cell in cells))


if __name__ == "__main__":
    sys.exit(main())
