from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from lueur_net import ledger


def test_a_reverted_run_leaves_no_ledger(tmp_path: Path) -> None:
    with ledger.Ledger.open("test", run_dir=tmp_path) as journal:
        entry = journal.record("file", path=str(tmp_path / "x"))
        journal.done(entry)
    assert list(tmp_path.iterdir()) == []


def test_a_live_run_is_not_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "made-by-run"
    target.write_text("x")
    journal = ledger.Ledger.open("test", run_dir=tmp_path)
    journal.record("file", path=str(target))
    removed, failures = ledger.clean(run_dir=tmp_path)
    assert (removed, failures) == ([], [])
    assert target.exists()
    journal.close()


def test_clean_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    target = tmp_path / "made-by-run"
    script = textwrap.dedent(f"""
        import os, pathlib, signal
        from lueur_net.ledger import Ledger
        journal = Ledger.open("test", run_dir=pathlib.Path({str(tmp_path)!r}))
        journal.record("file", path={str(target)!r})
        pathlib.Path({str(target)!r}).write_text("x")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    subprocess.run([sys.executable, "-c", script], check=False)
    assert target.exists()
    removed, failures = ledger.clean(run_dir=tmp_path)
    assert failures == []
    assert removed == [f"file path={target}"]
    assert not target.exists()
    assert not any(tmp_path.glob("*.ledger"))


def test_start_time_detects_pid_reuse() -> None:
    me = os.getpid()
    assert ledger.process_is(me, ledger.process_start_time(me))
    assert not ledger.process_is(me, -1)
