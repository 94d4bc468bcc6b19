"""SIGTERM (and SIGHUP) as KeyboardInterrupt, so a `with Lab...:` block reverts on `kill` as on Ctrl-C."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM or SIGHUP arrives."""


@contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise Terminated (a KeyboardInterrupt); handlers are restored after.

    Only in this process: a child forked meanwhile (pyroute2 forks helpers and stops them with SIGTERM) dies of
    the signal as usual instead of unwinding a copy of our stack, which would revert the lab from the child.
    """
    owner = os.getpid()

    def handle(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated(f"signal {signal.Signals(signum).name}")

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
