"""SIGTERM (and SIGHUP) as KeyboardInterrupt, so a `with Lab...:` block reverts on `kill` as on Ctrl-C; and a fork
and a wait for a child that no termination signal can slip through (fork_holding_signals, wait_child)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# The signals that stop a run (SIGINT as Ctrl-C, SIGTERM/SIGHUP as Terminated).
TERMINATING = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
HELD = TERMINATING | {signal.SIGCHLD}  # blocked across a fork (SIGCHLD: for wait_child's sigtimedwait)
WAITED = frozenset({signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD})  # SIGINT belongs to the command


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


def _block(signals: frozenset[signal.Signals]) -> set[signal.Signals]:
    """Block `signals`; return the mask to restore. Never leaves them blocked on an exception: a pending handler
    may run (and raise Terminated) right after the call that blocked them, so the mask is undone then."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # reads the mask (and runs pending handlers)
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        raise
    return previous


def fork_holding_signals() -> tuple[int, set[signal.Signals]]:
    """os.fork() with the terminating signals (and SIGCHLD) blocked; returns (pid, the mask to restore).

    Why: a signal handled *during* os.fork() runs our handler inside CPython's at-fork hooks (logging registers
    Python ones), where the Terminated it raises is printed as "Exception ignored in ..." and lost; one handled
    just after the fork, before the caller's try, leaves the child running unwatched. With the signals blocked,
    one that arrives meanwhile stays pending: the child restores the mask first thing (after resetting its
    handlers); the parent either restores it inside the try that stops the child on an exception, or keeps it
    and waits with wait_child.
    """
    previous = _block(HELD)  # one that arrived before raises here, before any child exists
    pid = -1
    try:
        pid = os.fork()
    except BaseException:
        # Blocking holds a signal only in this thread: in a process with other threads, one of them may take it
        # and its handler then raises here, after the fork. The child must not run the caller's code; the
        # parent stops the child it just made.
        if pid == 0:
            os._exit(1)
        if pid > 0:
            stop_child(pid)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        raise
    return pid, previous


def wait_child(pid: int, mask: set[signal.Signals]) -> int:
    """Wait for child `pid` (forked by fork_holding_signals, signals still held); return its wait status.

    A SIGTERM/SIGHUP meanwhile kills and reaps the child, then is raised again with the mask restored, so it
    does what its handler says (Terminated in terminate_on_signals, else the default: exit). The signals are
    taken with sigtimedwait, never by a handler: a handler that runs between its C half and a blocking
    waitpid leaves waitpid uninterrupted, and the command would run to its end (measured with a kernel timer
    sending SIGTERM 0-2 ms into `lueur-net shell`'s run_inside: 86 of 200 signals lost, 8 children left
    unwatched, 2 killed after being reaped; none since, see tests/host/lab/test_lab_signal_race.py).
    """
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            # SIGCHLD wakes us when the child ends; the timeout only bounds a wake-up missed for another child.
            info = signal.sigtimedwait(WAITED, 0.5)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            stop_child(pid)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            signal.raise_signal(info.si_signo)
            raise Terminated(f"signal {signal.Signals(info.si_signo).name}")  # its handler ignored it
    except BaseException:
        stop_child(pid)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def abandon_fork(pid: int, mask: set[signal.Signals] | None) -> None:
    """After an exception anywhere from fork_holding_signals on (pid -1: no fork yet, 0: in the child): the child
    exits at once and never runs its caller's code; the parent stops the child and restores its signal mask."""
    if pid == 0:
        os._exit(1)
    if pid > 0:
        stop_child(pid)
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def stop_child(pid: int) -> None:
    """SIGKILL and reap child `pid` unless it was reaped already (an unreaped child's pid cannot have been reused,
    so nothing else is ever killed)."""
    previous: set[signal.Signals] | None = None
    try:
        previous = _block(TERMINATING)  # a second signal must not cut this short
    except KeyboardInterrupt:
        pass  # that second signal was handled already; stop the child all the same
    try:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
