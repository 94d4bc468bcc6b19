"""SIGTERM (and SIGHUP) as KeyboardInterrupt, so a `with Lab...:` block reverts on `kill` as on Ctrl-C; and the
package's one fork and wait for children that no termination signal can slip through (run_forked)."""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn

# The signals that stop a run (SIGINT as Ctrl-C, SIGTERM/SIGHUP as Terminated).
TERMINATING = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
HELD = TERMINATING | {signal.SIGCHLD}  # blocked from the fork to the end of the wait (SIGCHLD: for sigtimedwait)
WAITED = frozenset({signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD})  # and SIGINT, unless it is the children's


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


@dataclass(frozen=True)
class Ended:
    """How one child of run_forked ended."""

    pid: int
    status: int  # its wait status (os.waitstatus_to_exitcode reads it)
    result: tuple[str, Any] | None  # ("ok", value) or ("error", (exception, traceback text)); None: it sent none


def run_forked(calls: Sequence[Callable[[], object]], *, sigint_to_children: bool = False,
               after_fork: Callable[[], object] | None = None) -> list[Ended]:
    """Call each of `calls` in a child process of its own; wait for them all and return how each ended.

    The one fork-and-wait of the package (`shell`'s command, run_in_netns, the driver's load workers). A child
    starts with the terminating signals at their default action and the caller's mask, calls its function and
    sends back its value or its exception (pickled, through a pipe; a child that execs sends nothing). With
    `sigint_to_children` Ctrl-C belongs to the children (an interactive command) and is dropped here meanwhile.
    A SIGINT (unless the children's), SIGTERM or SIGHUP at any instant either acts before the first fork, or
    kills and reaps every child and is then raised again, so it does what its handler says (Terminated in
    terminate_on_signals, KeyboardInterrupt for SIGINT, else the default action).

    Why this shape: no handler may run, and raise, from the fork to the end of the wait. One handled *during*
    os.fork() runs inside CPython's at-fork hooks (logging registers Python ones), where the exception it raises
    is printed and lost; one handled just after the fork, before a try, leaves the child unwatched; one handled
    just before a blocking waitpid or read does not interrupt it, and the wait lasts as long as the child
    (measured with a kernel timer: 86 of 200 SIGTERMs lost in `shell`'s wait; run_in_netns's blocking read lost
    one within 50 tries; none since, see tests/host/lab/test_lab_signal_race.py). So this thread blocks the
    signals and takes them with sigtimedwait; one that another thread takes (it does not block them) reaches a
    handler that only notes it (in the main thread: handlers run only there), and it is acted on within 0.1 s.
    The pipes and the children's ends are watched by a thread of ours (it inherits the blocked mask).
    `after_fork` is called here once every child is forked, before the wait (`run`: imports in a thread, which a
    child forked after them could meet half done); its error is not this call's.
    """
    mask = _block(HELD)  # a signal that arrived before acts here, before any child exists
    try:
        with _noting_signals(sigint_to_children) as noted:
            try:
                taken, ended = _fork_and_wait(calls, mask, noted, sigint_to_children, after_fork)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one held meanwhile is noted (or dropped) here
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    signum = taken if taken is not None else (noted[0] if noted else None)
    if signum is not None:
        signal.raise_signal(signum)
        raise Terminated(f"signal {signal.Signals(signum).name}")  # its handler ignored it
    return ended


@contextmanager
def _noting_signals(sigint_to_children: bool) -> Iterator[list[int]]:
    """In the main thread, swap the handlers of the terminating signals for one that notes the signal (or drops
    SIGINT when it is the children's); yield the notes; put the handlers back. Elsewhere nothing to do: Python
    runs handlers only in the main thread. An ignored signal stays ignored (the kernel discards it)."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return

    def note(signum: int, frame: FrameType | None) -> None:
        noted.append(signum)

    def drop(signum: int, frame: FrameType | None) -> None:
        pass

    previous: dict[int, Any] = {}
    try:
        for signum in TERMINATING:
            handler = signal.getsignal(signum)
            if handler in (signal.SIG_IGN, None):
                continue
            swapped = drop if sigint_to_children and signum == signal.SIGINT else note
            previous[signum] = signal.signal(signum, swapped)  # may first run a pending handler: then none swapped
        yield noted
    finally:
        raised: BaseException | None = None
        for signum, handler in previous.items():
            while True:  # signal.signal first runs pending handlers: one put back already may raise; retry
                try:
                    signal.signal(signum, handler)
                    break
                except BaseException as error:  # noqa: BLE001 - raised once every handler is back
                    raised = raised or error
        if raised is not None:
            raise raised


def _fork_and_wait(
    calls: Sequence[Callable[[], object]], mask: set[signal.Signals], noted: list[int], sigint_to_children: bool,
    after_fork: Callable[[], object] | None = None,
) -> tuple[int | None, list[Ended]]:
    """run_forked with the signals held and noted: (a terminating signal taken, or None; how each child ended)."""
    waited = WAITED if sigint_to_children else WAITED | {signal.SIGINT}
    pid = -1
    pids: list[int] = []  # forked, in order
    reaped: set[int] = set()
    reads: list[int] = []
    write_end = -1
    try:
        for call in calls:
            read_end, write_end = os.pipe()
            reads.append(read_end)
            pid = os.fork()
            if pid == 0:
                _child(call, mask, reads, write_end)
            pids.append(pid)
            pid = -1
            fd, write_end = write_end, -1
            os.close(fd)
        watch, reads = _Watch(reads, pids), []  # from here the watch closes them
        if after_fork is not None:
            try:
                after_fork()
            except Exception:  # noqa: BLE001 - the caller's head start, not this wait's business
                pass
        taken = watch.wait(waited, noted)
        if taken is not None:
            return taken, []
        statuses = {child: os.waitpid(child, 0)[1] for child in pids}  # each has ended: no wait here
        reaped.update(statuses)
        return None, [Ended(child, statuses[child], watch.result(index)) for index, child in enumerate(pids)]
    except BaseException:
        if pid == 0:  # in a child between the fork and its code: never run the caller's code there
            os._exit(1)
        for fd in [*reads, write_end]:
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for child in [*pids, pid]:
            if child > 0 and child not in reaped:
                stop_child(child)


def _child(call: Callable[[], object], mask: set[signal.Signals], reads: list[int], write_end: int) -> NoReturn:
    """In a child of run_forked: never returns to the caller's code, whatever happens."""
    status = 1
    try:
        for signum in TERMINATING:  # the usual dispositions, then the usual mask (a held signal acts here)
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in reads:  # its own and earlier siblings' read ends
            os.close(fd)
        try:
            payload: tuple[str, Any] = ("ok", call())
            status = 0
        except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
            try:
                pickle.dumps(error)
                payload = ("error", (error, traceback.format_exc()))
            except Exception:  # noqa: BLE001 - an unpicklable exception becomes a RuntimeError
                payload = ("error", (RuntimeError(repr(error)), traceback.format_exc()))
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(payload, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        os._exit(status)


class _Watch:
    """A thread that reads every child's pipe to its end (a child blocks while its pipe is full) and sees every
    child end (pidfds), then wakes the waiting thread with a SIGCHLD sent to that thread alone (a SIGCHLD from
    the kernel goes to any thread that does not block it, maybe not ours)."""

    def __init__(self, reads: list[int], pids: list[int]) -> None:
        self._reads = reads
        self._outputs: dict[int, list[bytes]] = {fd: [] for fd in reads}
        self._pidfds = [os.pidfd_open(child) for child in pids]
        self._waiter = threading.get_ident()
        self._lock = threading.Lock()
        self._waiting = True
        self._done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def wait(self, waited: frozenset[signal.Signals], noted: list[int]) -> int | None:
        """Until every child has ended and sent all it had: None; or the first terminating signal taken."""
        try:
            while not self._done.is_set():
                if noted:
                    return noted[0]
                info = signal.sigtimedwait(waited, 0.1)  # 0.1 s: bounds a signal another thread took
                if info is not None and info.si_signo != signal.SIGCHLD:
                    return info.si_signo
            return None
        finally:
            with self._lock:
                self._waiting = False

    def result(self, index: int) -> tuple[str, Any] | None:
        data = b"".join(self._outputs[self._reads[index]])
        return pickle.loads(data) if data else None  # type: ignore[no-any-return]

    def _run(self) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                for fd in [*self._reads, *self._pidfds]:
                    selector.register(fd, selectors.EVENT_READ)
                while selector.get_map():
                    for key, _ in selector.select():
                        fd = int(key.fd)
                        data = os.read(fd, 1 << 20) if fd in self._outputs else b""
                        if data:
                            self._outputs[fd].append(data)
                        else:  # a pipe's end, or a child's (its pidfd is readable)
                            selector.unregister(fd)
                            os.close(fd)
        finally:
            self._done.set()
            with self._lock:
                if self._waiting:
                    signal.pthread_kill(self._waiter, signal.SIGCHLD)


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
