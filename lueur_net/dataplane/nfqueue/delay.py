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
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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
from lueur_net.dataplane.nfqueue.spec import DelaySpec, Match, Window
from lueur_net.errors import EnvironmentProblem
from lueur_net.ledger import Entry, Ledger, process_start_time
from lueur_net.removers import remove_process

DEFAULT_MAX_LEN = 16384  # packets held at once before the kernel drops new ones (100 ms at ~160k packets/s)
READY_TIMEOUT_S = float(os.environ.get("LUEUR_NFQUEUE_READY_TIMEOUT", 30))


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

    def _request(self, command: str, timeout: float = 10.0) -> dict[str, int]:
        self._control.settimeout(timeout)
        self._control.sendall((json.dumps({"cmd": command}) + "\n").encode())
        reader = self._control.makefile("rb")
        line = reader.readline()
        if not line:
            raise EnvironmentProblem(f"the nfqueue holder (pid {self._process.pid}) is gone")
        return json.loads(line)  # type: ignore[no-any-return]

    def counters(self) -> dict[str, int]:
        """packets, affected (held), passed (at once), held (now), max_held, late_over_1ms, max_late_us, late_sum_us."""
        if self._final is not None:
            return dict(self._final)
        return self._request("counters")

    def revert(self) -> None:
        """Remove the rule, release every held packet, end the holder. Idempotent."""
        if self._rule_entry is not None:
            from lueur_net.dataplane.nfqueue.rule import remove_rule

            remove_rule(self._rule_fields)
            self._ledger.done(self._rule_entry)
            self._rule_entry = None
        if self._final is None:
            try:
                self._final = self._request("stop")
            except (OSError, ValueError, EnvironmentProblem):
                self._final = {}
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


def _start_holder(netns: str | None, config: dict[str, Any], ledger: Ledger) -> tuple[
        subprocess.Popen[bytes], socket.socket, Entry, dict[str, Any]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    command = [sys.executable, "-m", "lueur_net.dataplane.nfqueue.holder", "--control-fd", str(theirs.fileno())]
    if netns:
        command += ["--netns", netns]
    process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                               start_new_session=True)  # a terminal's Ctrl-C reaches the owner, who reverts
    theirs.close()
    entry = ledger.record("process", pid=process.pid, start_time=process_start_time(process.pid),
                          pgid=process.pid, what=f"nfqueue holder in {netns or 'host namespace'}")
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
                windows: Sequence[Window] = (), max_len: int = DEFAULT_MAX_LEN, leaving: bool = False) -> NfqueueDelay:
    """Delay the packets arriving on `ifname` in `netns` (the receiving end of the path) by `spec`; with `leaving`,
    the packets `netns` sends out through `ifname` (OUTPUT chain: for an end whose peer we may not change).

    `windows` are absolute CLOCK_MONOTONIC ns ranges (time.monotonic_ns()); none = always active.
    """
    match = match or Match()
    windows = tuple(windows)
    save = iptables_save(netns)
    mark_bit = mark_bit_for(netns, save)
    config = {"spec": spec.to_dict(), "windows": [window.__dict__ for window in windows],
              "candidates": queue_candidates(netns, save=save), "max_len": max_len, "mark_bit": mark_bit}
    process, control, process_entry, reply = _start_holder(netns, config, ledger)
    queue = int(reply["queue"])
    delay = NfqueueDelay(netns, ifname, queue, spec, match, windows, ledger, process, control, process_entry)
    args = rule_args(ifname, match.iptables_args(), queue, f"lueur-{ledger.run_id}-q{queue}", mark_bit,
                     leaving=leaving)
    chain = LEAVING_CHAIN if leaving else CHAIN
    fields = {"netns": netns, "table": TABLE, "chain": chain, "args": args}
    delay._rule_fields = fields
    delay._rule_entry = ledger.record(RULE_KIND, **fields)
    try:
        add_rule(netns, args, chain)
    except BaseException:
        delay.revert()
        raise
    return delay
