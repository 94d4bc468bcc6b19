"""SIGTERM at random instants around `lueur-net shell`'s fork (the race behind a flaky
test_sigterm_reverts_a_shell_s_lab): every signal must stop the command at once, none may be lost in the fork or
leave the child running.

The signal comes from a kernel timer (timer_create, SIGEV_SIGNAL), not a thread, so its instant does not depend
on the GIL: 0-2 ms after run_inside starts covers the fork, CPython's at-fork hooks and the start of the wait.
Before the fix, 86 of 200 such signals were lost (run_inside waited for the whole command) and 10 more left an
unwatched child or killed one already reaped.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import time
from collections.abc import Iterator

import pytest
from own_children import own_children

from lueur_net.lab.signals import terminate_on_signals

RUNS = 150
RUNS_AROUND_THE_READ = 1000  # the old window (from the mask's restore to the blocking read) was a few us wide;
# a quarter of that through the workers (each run forks three processes)
COMMAND_SECONDS = 3  # a signal that is lost shows as a run_inside that lasted this long

_libc = ctypes.CDLL(None, use_errno=True)


class _SigEvent(ctypes.Structure):  # struct sigevent (x86-64 and arm64 layout: 64 bytes)
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int),
                ("pad", ctypes.c_byte * 48)]


class _TimeSpec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("interval", _TimeSpec), ("value", _TimeSpec)]


@pytest.fixture
def sigterm_timer() -> Iterator[ctypes.c_void_p]:
    """A CLOCK_MONOTONIC POSIX timer that sends SIGTERM to this process when it expires."""
    timer = ctypes.c_void_p()
    event = _SigEvent(None, signal.SIGTERM, 0)  # SIGEV_SIGNAL
    assert _libc.timer_create(time.CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(timer)) == 0
    yield timer
    _libc.timer_delete(timer)


def _arm(timer: ctypes.c_void_p, seconds: float) -> None:
    spec = _ITimerSpec(_TimeSpec(0, 0), _TimeSpec(0, max(1, round(seconds * 1e9))))
    assert _libc.timer_settime(timer, 0, ctypes.byref(spec), None) == 0


@pytest.fixture
def namespace() -> Iterator[str]:
    from pyroute2 import netns

    name = f"lueurtestsig{os.getpid()}"
    netns.create(name)
    yield name
    netns.remove(name)


@pytest.mark.parametrize("other_thread", [False, True], ids=["alone", "with-another-thread"])
def test_sigterm_at_any_instant_around_the_fork_stops_the_command(
    namespace: str, sigterm_timer: ctypes.c_void_p, other_thread: bool
) -> None:
    """With another thread alive (as in `run`, or this tier's process) the kernel may hand the SIGTERM to that
    thread, which does not block it: blocking in the forking thread then holds nothing, and the handler raises
    at any instant after the fork (before the fix for that case, run 0 left a child and the signals blocked)."""
    import threading

    from lueur_net.cli.lab import run_inside

    stop = threading.Event()
    if other_thread:
        threading.Thread(target=stop.wait, daemon=True).start()

    pick = random.Random(12)
    before = own_children()  # other tests' children (the whole tier runs in this process) are not ours to judge
    for run in range(RUNS):
        offset = pick.uniform(0, 0.002)
        began = time.monotonic()
        with pytest.raises(KeyboardInterrupt), terminate_on_signals():
            _arm(sigterm_timer, offset)
            run_inside(namespace, ["sleep", str(COMMAND_SECONDS)], {})
        took = time.monotonic() - began
        assert took < 1, f"run {run}: SIGTERM {offset * 1e6:.0f} us in was lost ({took:.1f} s)"
        assert own_children() <= before, f"run {run}: a child left, running or unreaped"
        assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == set(), f"run {run}: signals left blocked"
    stop.set()


def _sleep_in_workers(seconds: float) -> None:
    """What the driver does with a heavy load, in small: fork workers and gather what they send back."""
    from lueur_net.lab.signals import run_forked

    run_forked([lambda: time.sleep(seconds)] * 2)


@pytest.mark.parametrize("other_thread", [False, True], ids=["alone", "with-another-thread"])
@pytest.mark.parametrize("through", ["run_in_netns", "workers"])
def test_sigterm_at_any_instant_around_run_in_netns_stops_its_child(
    namespace: str, sigterm_timer: ctypes.c_void_p, other_thread: bool, through: str
) -> None:
    """The same for run_in_netns (the driver's fork) and for the driver's own fork of load workers: the wait for
    the child's result must not be a blocking read that a signal handled just before it cannot interrupt (before
    the one fork-and-wait helper, such runs waited for the whole call)."""
    import threading

    from lueur_net.lab.enter import run_in_netns

    stop = threading.Event()
    if other_thread:
        threading.Thread(target=stop.wait, daemon=True).start()
    call = (lambda: run_in_netns(namespace, time.sleep, COMMAND_SECONDS)) if through == "run_in_netns" else (
        lambda: run_in_netns(namespace, _sleep_in_workers, COMMAND_SECONDS))

    pick = random.Random(13)
    before = own_children()
    for run in range(RUNS_AROUND_THE_READ if through == "run_in_netns" else RUNS_AROUND_THE_READ // 4):
        offset = pick.uniform(0.0003, 0.0015)  # the fork ends 0.5-1 ms in (measured): then the wait starts
        began = time.monotonic()
        with pytest.raises(KeyboardInterrupt), terminate_on_signals():
            _arm(sigterm_timer, offset)
            call()
        took = time.monotonic() - began
        assert took < 1, f"run {run}: SIGTERM {offset * 1e6:.0f} us in was lost ({took:.1f} s)"
        assert own_children() <= before, f"run {run}: a child left, running or unreaped"
        assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == set(), f"run {run}: signals left blocked"
    stop.set()
