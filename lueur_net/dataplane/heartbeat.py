"""The controller's heartbeat: one daemon thread per process that tells every live fault, every INTERVAL_S, that
the process which applied it is still alive (README "Reliability", docs/ebpf.md, docs/nfqueue.md).

Faults that can outlive a stalled controller register here when they are applied and leave when reverted:
- an eBPF fault writes the time into its `lueur_alive` map; its program passes everything once that beat is older
  than its maximum age (lueur_net.dataplane.ebpf.faults.MAX_STALL_S), so a frozen run (SIGSTOP, a debugger) fails
  open within seconds instead of at its deadline;
- an nfqueue delay pings its holder: the holder passes everything when the pings stop (the owner is frozen), and a
  holder that does not answer (stopped) or has exited is cut out of the path (its iptables rule removed) and its
  failure kept for the run to report (docs/nfqueue.md).

A member's `beat()` must not raise and should be quick; a slow one (an nfqueue ping waits at most its timeout)
only delays the others' beats by that much, well inside the eBPF maximum age. The thread is started lazily by the
first `register()` of a process (a forked child starts its own when it registers something).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Protocol

INTERVAL_S = 0.5  # between two beats of every member


class Member(Protocol):
    def beat(self) -> None:
        """Tell the fault the controller is alive (and check its health); never raises."""


_lock = threading.Lock()
_members: dict[int, Member] = {}
_thread: threading.Thread | None = None
_thread_pid = 0


def register(member: Member) -> None:
    """Beat `member` every INTERVAL_S from now on (until `unregister`)."""
    global _thread, _thread_pid
    with _lock:
        _members[id(member)] = member
        if _thread is None or _thread_pid != os.getpid() or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="lueur-heartbeat", daemon=True)
            _thread_pid = os.getpid()
            _thread.start()


def unregister(member: Member) -> None:
    with _lock:
        _members.pop(id(member), None)


def members() -> list[Member]:
    with _lock:
        return list(_members.values())


def _run() -> None:
    next_beat = time.monotonic()
    while True:
        for member in members():
            try:
                member.beat()
            except Exception:  # noqa: BLE001 - one fault's trouble must not stop the others' heartbeat
                pass
        # Absolute schedule: a slow beat does not push every later one back.
        next_beat = max(next_beat + INTERVAL_S, time.monotonic())
        time.sleep(max(0.0, next_beat - time.monotonic()))
