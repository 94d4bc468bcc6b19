"""What a running inject tells other shells: one `inject` entry in its ledger (lueur_net.ledger), read by
`lueur-net inject list` and `inject stop ID`. The entry describes; it owns no kernel object, so its remover (for
`clean`, after a SIGKILL) has nothing to remove: the faults' own entries are removed by their removers."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from lueur_net.errors import BadInput
from lueur_net.ledger import LEDGER_SUFFIX, RUN_DIR, _owner_alive, ledgers, process_is, read_ledger, remover

PURPOSE = "inject"
KIND = "inject"


@remover(KIND)
def _nothing_to_remove(fields: dict[str, Any], **context: Any) -> None:
    """The description of an inject; the objects it held have their own entries."""


def running(run_dir: Path | None = None) -> list[dict[str, Any]]:
    """Every live inject: its ledger header (run_id, pid) merged with its description."""
    found = []
    for path in ledgers(run_dir):
        header, entries = read_ledger(path)
        if header.get("purpose") != PURPOSE or not _owner_alive(path, header):
            continue
        description = next((entry.fields for entry in entries if entry.kind == KIND), {})
        found.append({"run_id": header.get("run_id"), "pid": header.get("pid"),
                      "start_time": header.get("start_time"), **description})
    return found


def describe(entry: dict[str, Any], now: float | None = None) -> str:
    now = time.time() if now is None else now
    ends = entry.get("ends")
    left = "until stopped" if ends is None else f"{max(0.0, ends - now):.0f}s left"
    return (f"{entry.get('run_id')}  pid {entry.get('pid')}  {entry.get('target')} ({entry.get('iface')})  "
            f"{'; '.join(entry.get('faults', []))}  {left}")


def stop(run_id: str, run_dir: Path | None = None, wait_s: float = 15.0) -> dict[str, Any]:
    """SIGTERM the inject `run_id` (it reverts everything and exits 130) and wait for its ledger to go."""
    for entry in running(run_dir):
        if entry["run_id"] != run_id:
            continue
        pid = int(entry["pid"])
        if not process_is(pid, entry.get("start_time")):
            break
        os.kill(pid, signal.SIGTERM)
        ledger = (run_dir or RUN_DIR) / f"{run_id}{LEDGER_SUFFIX}"
        header = {"pid": pid, "start_time": entry.get("start_time")}

        def holding() -> bool:
            # The owner's lock on its ledger goes when it exits (even while its parent has not reaped it yet, when
            # its pid still looks alive); a ledger left behind without the lock is for `clean`.
            try:
                return _owner_alive(ledger, header)
            except FileNotFoundError:
                return False

        until = time.monotonic() + wait_s
        while time.monotonic() < until and holding():
            time.sleep(0.05)
        entry["stopped"] = not holding()
        entry["ledger_left"] = ledger.exists()
        return entry
    known = ", ".join(entry["run_id"] for entry in running(run_dir)) or "none"
    raise BadInput(f"no running inject {run_id} (running: {known})", hint="see `lueur-net inject list`")
