"""run_forked, the one fork-and-wait (lueur_net/lab/signals.py): what comes back from each child, and a SIGTERM
while it waits. No namespace, no root: the children are plain forks of the test process."""

from __future__ import annotations

import os
import signal
import time

import pytest
from own_children import own_children

from lueur_net.lab.signals import run_forked, terminate_on_signals


def _fail() -> None:
    raise ValueError("from the child")


def test_each_child_s_value_or_exception_comes_back_in_order() -> None:
    ended = run_forked([lambda: 1 + 1, _fail, lambda: os._exit(7), lambda: "x" * 300_000])
    assert [end.result[0] if end.result else None for end in ended] == ["ok", "error", None, "ok"]
    assert ended[0].result == ("ok", 2) and os.waitstatus_to_exitcode(ended[0].status) == 0
    error, child_traceback = ended[1].result[1]  # type: ignore[index]
    assert isinstance(error, ValueError) and "from the child" in child_traceback
    assert os.waitstatus_to_exitcode(ended[1].status) == 1
    assert os.waitstatus_to_exitcode(ended[2].status) == 7  # died without a result
    assert ended[3].result == ("ok", "x" * 300_000)  # more than a pipe holds: read while the child writes
    assert len({end.pid for end in ended}) == 4 and not (own_children() & {end.pid for end in ended})


def test_a_sigterm_during_the_wait_stops_every_child_and_acts_as_its_handler_says() -> None:
    before, handler = own_children(), signal.getsignal(signal.SIGTERM)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt), terminate_on_signals():
        # One child sends the signal as soon as it runs; the other would sleep for 30 s.
        run_forked([lambda: os.kill(os.getppid(), signal.SIGTERM), lambda: time.sleep(30)])
    assert time.monotonic() - began < 5
    assert own_children() <= before, "a child left, running or unreaped"
    assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == set()
    assert signal.getsignal(signal.SIGTERM) == handler  # terminate_on_signals put it back; run_forked did too


def test_ctrl_c_belongs_to_the_children_when_asked() -> None:
    """`shell`'s command: a SIGINT meanwhile is the command's; the wait goes on and nothing is raised after."""
    ended = run_forked([lambda: (os.kill(os.getppid(), signal.SIGINT), time.sleep(0.3))[1]], sigint_to_children=True)
    assert ended[0].result == ("ok", None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_children_start_with_the_default_dispositions_and_the_caller_s_mask() -> None:
    with terminate_on_signals():
        (ended,) = run_forked([lambda: (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT),
                                        signal.pthread_sigmask(signal.SIG_BLOCK, ()))])
    assert ended.result == ("ok", (signal.SIG_DFL, signal.SIG_DFL, set()))


def test_after_fork_runs_in_the_parent_once_every_child_is_forked_and_while_they_work() -> None:
    """`run` starts imports there (the probe's child works ~0.14 s meanwhile): never before a fork, never after
    the wait; its error is not the wait's."""
    read_end, write_end = os.pipe()
    seen: list[tuple[int, bool]] = []

    def after() -> None:
        # both children exist: the second blocks until this side writes, so the wait has not ended yet
        seen.append((os.getpid(), True))
        os.write(write_end, b"x")
        raise RuntimeError("a head start that failed")

    ended = run_forked([lambda: 1, lambda: os.read(read_end, 1)], after_fork=after)
    os.close(read_end)
    os.close(write_end)
    assert seen == [(os.getpid(), True)]
    assert [end.result for end in ended] == [("ok", 1), ("ok", b"x")]
