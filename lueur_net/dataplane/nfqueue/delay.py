"""Start and stop one nfqueue delay: the holder process and the iptables rule, both in the ledger.

    delay = start_delay("lueur-srv", "eth0", DelaySpec(mean_ns=100_000_000, jitter_ns=20_000_000), ledger,
                        match=Match(protocol="tcp", destination_port=8080))
    ...
    delay.counters()   # {"packets": ..., "affected": ..., "held": ..., "max_late_us": ...}
    delay.revert()     # rule removed first, then held packets released, holder ended; idempotent

Order on start: the holder (ledger kind `process`) is started and bound to a free queue first, then the rule
(kind `iptables_rule`) is recorded and inserted, so no packet is ever queued to a number nobody holds. The
process entry is recorded right after the fork (its pid does not exist before); the gap is covered because the
holder exits by itself, releasing every held packet, when its control socket closes (the owner died).

Watchdog (docs/nfqueue.md, "When the holder stalls"): every delay registers with lueur_net.dataplane.heartbeat,
whose thread pings the holder every 0.5 s. The pings are also the holder's sign that its owner lives (it passes
everything after OWNER_MAX_STALL_S without one). A holder that does not answer within PING_TIMEOUT_S (stopped,
stuck) or has exited is cut out of the path at once: its rule is removed, so packets flow again, and `failure`
says what happened and when, for the run to mark the item and fail loudly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lueur_net.dataplane.nfqueue.rule import (
    CHAIN,
    LEAVING_CHAIN,
    RULE_KIND,
    TABLE,
    add_rule,
    iptables_save,
    mark_bit_for,
    queue_candidates,
    rule_args,
)
from lueur_net.dataplane import heartbeat
from lueur_net.dataplane.nfqueue.spec import DelaySpec, Match, Window
from lueur_net.errors import EnvironmentProblem
from lueur_net.ledger import Entry, Ledger, process_start_time
from lueur_net.removers import remove_process

DEFAULT_MAX_LEN = 16384  # packets held at once before the kernel drops new ones (100 ms at ~160k packets/s)
READY_TIMEOUT_S = float(os.environ.get("LUEUR_NFQUEUE_READY_TIMEOUT", 30))
PING_TIMEOUT_S = 1.0  # a holder that does not answer a ping within this is stalled: the watchdog cuts it out
OWNER_MAX_STALL_S = 3.0  # the holder passes everything when its owner's pings stop for this long
PAUSED = Window(0, 0)  # an empty window: never active, so every packet is passed at once


@dataclass(frozen=True)
class HolderFailure:
    """Why and when (CLOCK_MONOTONIC ns) the watchdog cut a holder out of the path."""

    reason: str
    at_ns: int


@dataclass
class NfqueueDelay:
    """A running delay on the packets arriving at `ifname` in `netns` (None = host namespace)."""

    netns: str | None
    ifname: str
    queue: int
    spec: DelaySpec
    match: Match
    windows: tuple[Window, ...]
    _ledger: Ledger
    _process: subprocess.Popen[bytes]
    _control: socket.socket
    _process_entry: Entry
    _rule_entry: Entry | None = None
    _rule_fields: dict[str, Any] = field(default_factory=dict)
    _final: dict[str, int] | None = None
    failure: HolderFailure | None = None  # set by the watchdog when it cut the holder out of the path
    _lock: threading.RLock = field(default_factory=threading.RLock)  # one request at a time on the control socket
    _last_counters: dict[str, int] = field(default_factory=dict)

    def _request(self, command: str, timeout: float = 10.0, **payload: Any) -> dict[str, int]:
        with self._lock:
            if self.failure is not None:  # a late answer may still sit in the socket: never read it again
                raise EnvironmentProblem(f"the nfqueue holder (pid {self._process.pid}) failed: {self.failure.reason}")
            self._control.settimeout(timeout)
            self._control.sendall((json.dumps({"cmd": command, **payload}) + "\n").encode())
            reader = self._control.makefile("rb")
            line = reader.readline()
            if not line:
                raise EnvironmentProblem(f"the nfqueue holder (pid {self._process.pid}) is gone")
            answer: dict[str, int] = json.loads(line)
            self._last_counters = answer
            return answer

    def counters(self) -> dict[str, int]:
        """packets, affected (held), passed (at once), held (now), max_held, late_over_1ms, max_late_us, late_sum_us,
        owner_stalls. After the watchdog cut the holder out: the last counters it answered."""
        if self._final is not None:
            return dict(self._final)
        if self.failure is not None:
            return dict(self._last_counters)
        try:
            return self._request("counters")
        except (OSError, ValueError, EnvironmentProblem) as error:  # died since the last ping: say so too
            with self._lock:
                if self.failure is None:
                    self._cut_out(self._death_reason(error))
            return dict(self._last_counters)

    def change(self, spec: DelaySpec, windows: Sequence[Window] = ()) -> None:
        """Give the running holder a new delay and windows (absolute CLOCK_MONOTONIC ns) for the packets from now
        on: one message, answered in well under a millisecond, instead of a new holder (~150 ms, docs/nfqueue.md).
        The rule, the queue and what the holder counted stay."""
        windows = tuple(windows)
        try:
            self._request("update", spec=spec.to_dict(), windows=[window.__dict__ for window in windows])
        except (OSError, ValueError) as error:
            raise EnvironmentProblem(f"the nfqueue holder (pid {self._process.pid}) did not take its new delay: "
                                     f"{error}") from None
        self.spec, self.windows = spec, windows

    def pause(self) -> None:
        """Pass every packet at once, in place, until the next change (a repeat's baseline call)."""
        self.change(self.spec, (PAUSED,))

    def _death_reason(self, error: BaseException) -> str:
        try:
            status = self._process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            return f"the holder's control socket failed: {error}"
        return f"the holder exited with status {status}"

    def beat(self) -> None:
        """The heartbeat thread's call: ping the holder (it knows its owner lives); cut it out if it is stalled or
        gone."""
        with self._lock:
            if self._final is not None or self.failure is not None:
                return
            status = self._process.poll()
            if status is not None:
                self._cut_out(f"the holder exited with status {status}")
                return
            try:
                self._request("counters", timeout=PING_TIMEOUT_S)
            except (TimeoutError, socket.timeout):
                self._cut_out(f"the holder did not answer within {PING_TIMEOUT_S:g} s (stopped or stuck)")
            except (OSError, ValueError, EnvironmentProblem) as error:
                self._cut_out(self._death_reason(error))

    def _cut_out(self, reason: str) -> None:
        """Packets must flow again now: remove the rule (what the holder held is lost or late; TCP resends it)."""
        self.failure = HolderFailure(reason, time.monotonic_ns())
        self._remove_rule()

    def _remove_rule(self) -> None:
        if self._rule_entry is not None:
            from lueur_net.dataplane.nfqueue.rule import remove_rule

            remove_rule(self._rule_fields)
            self._ledger.done(self._rule_entry)
            self._rule_entry = None

    def revert(self) -> None:
        """Remove the rule, release every held packet, end the holder. Idempotent."""
        heartbeat.unregister(self)
        with self._lock:
            self._remove_rule()
            if self._final is not None:
                return
            if self.failure is None:
                try:
                    self._final = self._request("stop")
                except (OSError, ValueError, EnvironmentProblem):
                    self._final = dict(self._last_counters)
            else:
                self._final = dict(self._last_counters)
                if self._process.poll() is None:  # stopped or stuck: SIGTERM would wait for a SIGCONT
                    os.kill(self._process.pid, signal.SIGKILL)
            self._control.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                remove_process({"pid": self._process.pid, "start_time": None})
                self._process.wait()
            self._ledger.done(self._process_entry)

    def __enter__(self) -> NfqueueDelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.revert()


# Holders started ahead of their delay (prestart): interpreter up, namespace entered, NetfilterQueue imported,
# waiting for their configuration. Keyed by namespace; taken by _start_holder, ended by release_spares.
_spares: dict[str | None, list[tuple[subprocess.Popen[bytes], socket.socket, Entry, Ledger]]] = {}
_spares_lock = threading.Lock()


def _spawn(netns: str | None, ledger: Ledger, idle: bool = False) -> tuple[subprocess.Popen[bytes], socket.socket,
                                                                          Entry]:
    """A holder process waiting for its configuration; with `idle`, put under SCHED_IDLE as soon as it exists: its
    interpreter's start (~60 ms of CPU) then takes only time no other task wants (_take_spare lifts it). The policy
    is set here, before the caller goes on, not by a `chrt` wrapper: chrt would set it whenever it got to run, and
    a spare taken before that would be lifted first and then put back to idle."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    command = [sys.executable, "-m", "lueur_net.dataplane.nfqueue.holder", "--control-fd", str(theirs.fileno())]
    if netns:
        command += ["--netns", netns]
    process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                               start_new_session=True)  # a terminal's Ctrl-C reaches the owner, who reverts
    theirs.close()
    if idle:
        _set_policy(process.pid, os.SCHED_IDLE)
    entry = ledger.record("process", pid=process.pid, start_time=process_start_time(process.pid),
                          pgid=process.pid, what=f"nfqueue holder in {netns or 'host namespace'}")
    return process, ours, entry


def prestart(netns: str | None, ledger: Ledger, count: int = 1, idle: bool = False) -> None:
    """Start `count` holders in `netns` now, for delays started later (start_delay takes them): a holder's start is
    an interpreter's (~0.1 s quiet, more under load), which then runs beside whatever the caller does. With `idle`
    (`run`: the next item's, started at the current item's start) under SCHED_IDLE, so that it never takes a CPU
    from the calls being measured. Each is in the ledger from its fork and exits by itself when its control socket
    closes (release_spares, or the owner's death) before it got a configuration."""
    for _ in range(count):
        process, control, entry = _spawn(netns, ledger, idle)
        with _spares_lock:
            _spares.setdefault(netns, []).append((process, control, entry, ledger))


def release_spares() -> None:
    """End every holder started ahead and not taken (idempotent)."""
    with _spares_lock:
        spares = [spare for waiting in _spares.values() for spare in waiting]
        _spares.clear()
    for process, control, entry, ledger in spares:
        _end_spare(process, control, entry, ledger)


def _end_spare(process: subprocess.Popen[bytes], control: socket.socket, entry: Entry, ledger: Ledger) -> None:
    control.close()  # EOF before a configuration: the holder exits at once
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        remove_process(entry.fields)
        process.wait()
    ledger.done(entry)


def _take_spare(netns: str | None, ledger: Ledger) -> tuple[subprocess.Popen[bytes], socket.socket, Entry] | None:
    """A spare holder of `netns` recorded in this run's ledger and still alive, else None."""
    run_id = getattr(ledger, "run_id", None)
    with _spares_lock:
        waiting = _spares.get(netns, [])
        for index, (process, control, entry, owner) in enumerate(waiting):
            if owner.run_id == run_id and process.poll() is None:
                del waiting[index]
                break
        else:
            return None
    if _normal_priority(process.pid):
        return process, control, entry
    _end_spare(process, control, entry, owner)  # it would hold packets at idle priority: a fresh one instead
    return None


def _normal_priority(pid: int) -> bool:
    """A spare started idle (prestart) is needed now: the usual policy, or its start would wait for idle CPU, and
    the holder releases packets on time only at it. False when the policy could not be set."""
    return _set_policy(pid, os.SCHED_OTHER)


def _set_policy(pid: int, policy: int) -> bool:
    """False when the policy could not be set; a process that exited meanwhile counts as set (the configuration's
    handshake says it is gone)."""
    try:
        os.sched_setscheduler(pid, policy, os.sched_param(0))
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return True


def _start_holder(netns: str | None, config: dict[str, Any], ledger: Ledger) -> tuple[
        subprocess.Popen[bytes], socket.socket, Entry, dict[str, Any]]:
    spare = _take_spare(netns, ledger)
    process, ours, entry = spare if spare is not None else _spawn(netns, ledger)
    try:
        ours.sendall((json.dumps(config) + "\n").encode())
        ours.settimeout(READY_TIMEOUT_S)
        line = ours.makefile("rb").readline()
        reply = json.loads(line) if line else {"ready": False, "error": "it exited before binding a queue"}
    except (OSError, ValueError) as error:
        reply = {"ready": False, "error": f"no answer: {error}"}
    if not reply.get("ready"):
        ours.close()
        remove_process(entry.fields)
        process.wait()
        ledger.done(entry)
        raise EnvironmentProblem(f"nfqueue holder in {netns or 'the host namespace'} failed: {reply.get('error')}",
                                 hint="NetfilterQueue is installed by sudo ./setup.sh; the kernel needs "
                                      "nfnetlink_queue")
    return process, ours, entry, reply


def start_delay(netns: str | None, ifname: str, spec: DelaySpec, ledger: Ledger, *, match: Match | None = None,
                windows: Sequence[Window] = (), max_len: int = DEFAULT_MAX_LEN, leaving: bool = False,
                watchdog: bool = True, mark_bit: int | None = None, save: str | None = None,
                tidy: bool = False) -> NfqueueDelay:
    """Delay the packets arriving on `ifname` in `netns` (the receiving end of the path) by `spec`; with `leaving`,
    the packets `netns` sends out through `ifname` (OUTPUT chain: for an end whose peer we may not change).

    `windows` are absolute CLOCK_MONOTONIC ns ranges (time.monotonic_ns()); none = always active.
    `max_len`: packets waiting for a verdict at once; beyond it the kernel passes packets undelayed (fail-open).
    `watchdog` False: no pings (then the holder never sees its owner stall either); for tests of the queue alone.
    `mark_bit`: the rule's packet-mark bit, when the caller allocated the bits of several delays started at once
    (rule.allocate_mark_bits); None = the lowest one the namespace's rules leave free now.
    `save`: the namespace's `iptables-save` text read for that allocation (None = read it now).
    `tidy`: the namespace is not ours (it outlives the run): the mangle table our rule creates is deleted with
    the rule once empty (rule.drop_table_if_empty).
    """
    match = match or Match()
    windows = tuple(windows)
    if save is None:
        save = iptables_save(netns)
    if mark_bit is None:
        mark_bit = mark_bit_for(netns, save)
    config = {"spec": spec.to_dict(), "windows": [window.__dict__ for window in windows],
              "candidates": queue_candidates(netns, save=save), "max_len": max_len, "mark_bit": mark_bit,
              "owner_max_stall_ns": int(OWNER_MAX_STALL_S * 1e9) if watchdog else 0}
    process, control, process_entry, reply = _start_holder(netns, config, ledger)
    queue = int(reply["queue"])
    delay = NfqueueDelay(netns, ifname, queue, spec, match, windows, ledger, process, control, process_entry)
    args = rule_args(ifname, match.iptables_args(), queue, f"lueur-{ledger.run_id}-q{queue}", mark_bit,
                     leaving=leaving)
    chain = LEAVING_CHAIN if leaving else CHAIN
    fields: dict[str, Any] = {"netns": netns, "table": TABLE, "chain": chain, "args": args}
    if tidy and f"*{TABLE}" not in save:
        fields["drop_empty_table"] = True
    delay._rule_fields = fields
    delay._rule_entry = ledger.record(RULE_KIND, **fields)
    try:
        add_rule(netns, args, chain)
    except BaseException:
        delay.revert()
        raise
    if watchdog:
        heartbeat.register(delay)
    return delay
