"""Holders started ahead (lueur_net.dataplane.nfqueue.delay): a spare started idle is taken only once it could be
put back to the usual CPU policy; one that could not is ended (it would hold packets at idle priority)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from lueur_net.dataplane.nfqueue import delay

pytestmark = pytest.mark.unit

# Stands in for a holder waiting for its configuration: it exits when its control socket closes.
WAITING = "import socket, sys; socket.socket(fileno=int(sys.argv[1])).recv(1)"


def spare(ledger: Any) -> subprocess.Popen[bytes]:
    ours, theirs = socket.socketpair()
    process = subprocess.Popen([sys.executable, "-c", WAITING, str(theirs.fileno())], pass_fds=[theirs.fileno()])
    theirs.close()
    delay._spares.setdefault("lueur-ns", []).append((process, ours, SimpleNamespace(fields={"pid": process.pid}),
                                                     ledger))
    return process


@pytest.fixture
def ledger() -> Any:
    done: list[Any] = []
    yield SimpleNamespace(run_id="r1", done=done.append, ended=done)
    delay._spares.clear()


def test_a_spare_is_taken_at_the_usual_policy(ledger: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_to: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "sched_setscheduler", lambda pid, policy, param: set_to.append((pid, policy)))
    process = spare(ledger)
    taken = delay._take_spare("lueur-ns", ledger)
    assert taken is not None and taken[0] is process and set_to == [(process.pid, os.SCHED_OTHER)]
    taken[1].close()
    process.wait(timeout=10)


def test_a_spare_whose_policy_cannot_be_set_is_ended_not_taken(ledger: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, policy: int, param: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    process = spare(ledger)
    assert delay._take_spare("lueur-ns", ledger) is None
    assert process.poll() is not None and len(ledger.ended) == 1  # ended, and out of the ledger
    assert delay._spares["lueur-ns"] == []
