"""Several labs at once: distinct names and address blocks, each working, each removed on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from lab_helpers import fetch, leftovers

from lueur_net.lab import Lab, run_in_netns
from lueur_net.ledger import Ledger


def test_two_labs_at_once_in_one_process(run_dir: Path, loopback_server: int) -> None:
    url = f"http://localhost:{loopback_server}/"
    with Ledger.open("a", run_dir=run_dir) as first_journal, Ledger.open("b", run_dir=run_dir) as second_journal:
        first = Lab.create([url], first_journal)
        with Lab.create([url], second_journal) as second:
            assert first.block != second.block and first.client_netns != second.client_netns
            assert run_in_netns(first.client_netns, fetch, url)[0] == 200
            assert run_in_netns(second.client_netns, fetch, url)[0] == 200
            first.close()
            assert leftovers(first_journal.run_id) == []
            assert run_in_netns(second.client_netns, fetch, url)[0] == 200  # untouched by the other's close
    assert leftovers(first_journal.run_id) == [] and leftovers(second_journal.run_id) == []


RUNNER = textwrap.dedent("""
    import json, sys, pathlib
    sys.path.insert(0, {helpers!r})
    from lab_helpers import fetch
    from lueur_net.ledger import Ledger
    from lueur_net.lab import Lab, run_in_netns
    url = sys.argv[2]
    sys.stdin.readline()  # start together
    with Ledger.open("parallel", run_dir=pathlib.Path(sys.argv[1])) as journal, Lab.create([url], journal) as lab:
        status = run_in_netns(lab.client_netns, fetch, url)[0]
        print(json.dumps({{"run_id": lab.run_id, "block": str(lab.block.network), "status": status}}), flush=True)
        sys.stdin.readline()  # hold the lab until told
""")


def test_labs_created_in_parallel_by_separate_runs_never_collide(run_dir: Path, loopback_server: int) -> None:
    url = f"http://localhost:{loopback_server}/"
    script = RUNNER.format(helpers=str(Path(__file__).parent))
    runs = [
        subprocess.Popen([sys.executable, "-c", script, str(run_dir), url], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        for run in runs:
            assert run.stdin is not None
            run.stdin.write("go\n")
            run.stdin.flush()
        reports = []
        for run in runs:
            assert run.stdout is not None
            reports.append(json.loads(run.stdout.readline()))
        assert [r["status"] for r in reports] == [200, 200, 200]
        assert len({r["block"] for r in reports}) == 3
        assert len({r["run_id"] for r in reports}) == 3
    finally:
        for run in runs:
            assert run.stdin is not None
            run.stdin.close()
        for run in runs:
            assert run.wait(timeout=30) == 0
    for report in reports:
        assert leftovers(report["run_id"]) == []
    assert list(run_dir.glob("*.ledger")) == []
