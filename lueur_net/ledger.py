"""The ledger: a journal of every kernel object and process a run creates, so nothing is left behind.

A run opens one ledger file under RUN_DIR and, *before* creating an object, records it (the intent is on disk
before the object exists, so a SIGKILL between the two leaves at worst an entry whose object is gone, which
removal tolerates). When the run reverts an object it marks the entry done. `lueur-net clean` reads the ledgers
of runs whose owner is dead and removes their remaining objects, newest first, through the remover registered
for each entry's kind; it never touches a live run's ledger.

Liveness: the owner holds an exclusive flock on its ledger file for its lifetime (the kernel drops it on any
death, SIGKILL included) and the header names the owner's pid and start time. A ledger is stale when its lock
can be taken or its owner pid no longer runs the same process.

Entry kinds and their removers live beside the code that creates the objects (one small function per kind,
registered with @remover("kind")); REMOVER_MODULES lists the modules `clean` imports to learn them.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_DIR = Path(os.environ.get("LUEUR_NET_RUN_DIR", "/run/lueur-net"))
LEDGER_SUFFIX = ".ledger"

# Modules whose import registers removers (add yours here when you add an entry kind).
REMOVER_MODULES: list[str] = [
    "lueur_net.removers",
    "lueur_net.inject.status",
    "lueur_net.dataplane.nfqueue.rule",
    "lueur_net.dataplane.netlink",
    "lueur_net.dataplane.ebpf.attach",
    "lueur_net.dataplane.tc.qdisc",
    "lueur_net.dataplane.tc.ifb",
]

# remover(fields, **context): `context` is what a backend reverting in-process can lend, e.g. ipr= (a netlink socket
# already in the object's namespace); `clean` passes none, and every remover works without it.
Remover = Callable[..., None]
REMOVERS: dict[str, Remover] = {}


def remover(kind: str) -> Callable[[Remover], Remover]:
    """Register the function that removes objects of `kind`; it must tolerate an object already gone."""

    def register(function: Remover) -> Remover:
        REMOVERS[kind] = function
        return function

    return register


def load_removers() -> None:
    for module in REMOVER_MODULES:
        importlib.import_module(module)


def process_start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    rest = stat[stat.rindex(")") + 2 :].split()
    return int(rest[19])


def process_is(pid: int, start_time: int | None) -> bool:
    """True if `pid` still runs the process that had `start_time` (guards against pid reuse)."""
    now = process_start_time(pid)
    return now is not None and (start_time is None or now == start_time)


@dataclass
class Entry:
    seq: int
    kind: str
    fields: dict[str, Any]

    def describe(self) -> str:
        detail = " ".join(f"{key}={value}" for key, value in self.fields.items())
        return f"{self.kind} {detail}".strip()


@dataclass
class Ledger:
    """The journal of one run. Use `Ledger.open(purpose)`; it is also a context manager."""

    run_id: str
    path: Path
    _fd: int
    _seq: int = 0
    _open: set[int] = field(default_factory=set)

    @classmethod
    def open(cls, purpose: str, run_dir: Path | None = None) -> Ledger:
        directory = run_dir or RUN_DIR
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            run_id = secrets.token_hex(3)
            path = directory / f"{run_id}{LEDGER_SUFFIX}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
                break
            except FileExistsError:
                continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        ledger = cls(run_id=run_id, path=path, _fd=fd)
        pid = os.getpid()
        ledger._write(
            {"header": True, "run_id": run_id, "pid": pid, "start_time": process_start_time(pid),
             "purpose": purpose, "created": time.time()}
        )
        return ledger

    def _write(self, line: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(self._fd)

    def record(self, kind: str, **fields: Any) -> Entry:
        """Write down an object about to be created. Call before creating it."""
        self._seq += 1
        entry = Entry(self._seq, kind, fields)
        self._write({"seq": entry.seq, "kind": kind, "fields": fields})
        self._open.add(entry.seq)
        return entry

    def done(self, entry: Entry) -> None:
        """Mark an object as removed (or never created)."""
        if entry.seq in self._open:
            self._write({"done": entry.seq})
            self._open.discard(entry.seq)

    @property
    def pending(self) -> int:
        return len(self._open)

    def close(self) -> None:
        """Delete the ledger if everything was reverted; otherwise keep it for `clean` and release the lock."""
        if self._fd < 0:
            return
        if not self._open:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class StaleRun:
    path: Path
    header: dict[str, Any]
    entries: list[Entry]  # not yet removed, in creation order


def read_ledger(path: Path) -> tuple[dict[str, Any], list[Entry]]:
    header: dict[str, Any] = {}
    entries: dict[int, Entry] = {}
    for raw in path.read_text().splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write: the object was not created yet
        if line.get("header"):
            header = line
        elif "done" in line:
            entries.pop(line["done"], None)
        elif "seq" in line:
            entries[line["seq"]] = Entry(line["seq"], line["kind"], line.get("fields", {}))
    return header, [entries[seq] for seq in sorted(entries)]


def _owner_alive(path: Path, header: dict[str, Any]) -> bool:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = header.get("pid")
        return isinstance(pid, int) and process_is(pid, header.get("start_time"))
    finally:
        os.close(fd)
    return False


def ledgers(run_dir: Path | None = None) -> Iterator[Path]:
    directory = run_dir or RUN_DIR
    if directory.is_dir():
        yield from sorted(directory.glob(f"*{LEDGER_SUFFIX}"))


def live_runs(run_dir: Path | None = None) -> list[dict[str, Any]]:
    """Headers of runs whose owner is alive."""
    alive = []
    for path in ledgers(run_dir):
        header, _ = read_ledger(path)
        if _owner_alive(path, header):
            alive.append(header)
    return alive


def stale_runs(run_dir: Path | None = None) -> list[StaleRun]:
    stale = []
    for path in ledgers(run_dir):
        header, entries = read_ledger(path)
        if not _owner_alive(path, header):
            stale.append(StaleRun(path, header, entries))
    return stale


def remove_entry(entry: Entry, **context: Any) -> None:
    """Remove one object through its kind's remover, importing the remover modules the first time a kind is not
    known yet (so a caller never has to remember load_removers(), and one that only makes namespaces never
    imports the data plane). KeyError if no module registers the kind. `context` goes to the remover (above)."""
    if entry.kind not in REMOVERS:
        load_removers()
    REMOVERS[entry.kind](entry.fields, **context)


def clean(run_dir: Path | None = None) -> tuple[list[str], list[str]]:
    """Remove what dead runs left. Returns (removed descriptions, failure messages)."""
    load_removers()
    removed: list[str] = []
    failures: list[str] = []
    for run in stale_runs(run_dir):
        fd = os.open(run.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another `clean` may be at work on it
            except BlockingIOError:
                if _owner_alive(run.path, run.header):
                    continue
            left = False
            for entry in reversed(run.entries):
                try:
                    remove_entry(entry)
                except Exception as error:  # noqa: BLE001 - report every failure, keep cleaning the rest
                    failures.append(f"{entry.describe()}: {error}")
                    left = True
                    continue
                os.write(fd, (json.dumps({"done": entry.seq}) + "\n").encode())
                removed.append(entry.describe())
            if not left:
                run.path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return removed, failures
