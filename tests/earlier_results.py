"""For the tests that a refused run leaves its output folder as it was (unit and host tiers): a scenario file, an
output folder holding an earlier run's results.json, and a fingerprint of a folder to compare before and after."""

from __future__ import annotations

from pathlib import Path

SCENARIO = ("title: t\nitems:\n- call: {method: GET, url: 'http://127.0.0.1:9/'}\n"
            "  context:\n    faults: [{type: latency}]\n")
EARLIER = '{"earlier": "run"}\n'


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time (ns)."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


def scenario_and_earlier_output(tmp_path: Path) -> tuple[Path, Path]:
    """(tmp_path/s.yaml holding SCENARIO, tmp_path/out holding an earlier run's results.json)."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(EARLIER)
    return scenario, out
