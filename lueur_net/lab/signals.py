"""SIGTERM (and SIGHUP) as KeyboardInterrupt, so a `with Lab...:` block reverts on `kill` as on Ctrl-C."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM or SIGHUP arrives."""


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signal.Signals(signum).name}")


@contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise Terminated (a KeyboardInterrupt); handlers are restored after."""
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
