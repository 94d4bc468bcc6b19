"""The server under test (--serve "CMD"): started in its own namespace, awaited, and stopped with its group.

Start-up is gated so the ledger knows the process before it runs the user's command: the child enters the
server namespace and a new session, then a tiny shell waits for one line on its stdin (a pipe) before exec'ing
the command.
The parent records (pid, start time, process group) in the ledger and only then sends the byte. If the parent
dies in between, the pipe reaches EOF and the shell exits without running anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.enter import enter_netns, in_netns_thread
from lueur_net.lab.upstreams import accepts

# stdin is the gate pipe until the byte arrives, then /dev/null for the user's command.
GATE = 'IFS= read -r go || exit 111; exec </dev/null; exec /bin/sh -c "$1"'
STDERR_TAIL_LINES = 15


@dataclass(frozen=True)
class ServeSpec:
    """The user's server: a shell command, run with this cwd and environment (defaults: the caller's).

    `ports`: the loopback ports it serves; None = every loopback upstream port of the lab.
    `defer_ready`: the lab does not wait for the ports itself (`wait_ready` returns at once); the caller calls
    `ServerProcess.ready()` before its first call, and before putting faults on the paths its probe crosses,
    doing what needs neither meanwhile (`run`: the items' plans, the first item's driver start).
    """

    command: str
    cwd: str | None = None
    env: dict[str, str] | None = None
    ports: tuple[int, ...] | None = None
    ready_timeout: float = 30.0
    defer_ready: bool = False


@dataclass
class ServerProcess:
    pid: int
    start_time: int | None
    log: Path
    popen: subprocess.Popen[bytes] = field(repr=False)
    defer_ready: bool = False
    started: float = field(default_factory=time.monotonic)  # when the command was started (monotonic s)
    _awaited: Callable[[], float] | None = field(default=None, repr=False)  # the deferred wait, until ready()
    ready_s: float | None = None  # from its start until every port answered (set by the wait)

    def ask_to_stop(self) -> None:
        """SIGTERM to its group now, without waiting: its shutdown (uvicorn: ~0.14 s measured) then runs beside
        what the run still does (the last revert, the analysis, results.json), and the lab's close finds it gone
        or going (the `process` remover sends SIGTERM again, harmless, and waits as always)."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass

    def ready(self) -> float:
        """With `defer_ready`: wait now until every port answers (BadInput if it exits or times out, as
        wait_ready). Returns the seconds waited here (0.0 when it was ready already). Idempotent."""
        awaited, self._awaited = self._awaited, None
        return awaited() if awaited is not None else 0.0

    def returncode(self) -> int | None:
        return self.popen.poll()

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no output captured)"
        tail = text.rstrip().splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in tail) if tail else "    (no output)"


def validate(spec: ServeSpec) -> None:
    if not spec.command.strip():
        raise BadInput("--serve needs a command")
    if spec.cwd is not None and not Path(spec.cwd).is_dir():
        raise BadInput(f"--serve working directory {spec.cwd} does not exist")
    if spec.ready_timeout <= 0:
        raise BadInput("the server's ready timeout must be positive")


def start(
    spec: ServeSpec, netns: str, log: Path, record: Callable[[int, int | None], None]
) -> ServerProcess:
    """Start the command in namespace `netns`, stdout+stderr to `log`; `record(pid, start_time)` runs before exec."""
    from lueur_net.ledger import process_start_time

    gate_read, gate_write = os.pipe()

    def in_child() -> None:  # runs in the forked child before exec: single-threaded, so it may unshare mounts
        enter_netns(netns)

    with open(log, "wb") as output:
        try:
            popen = subprocess.Popen(
                ["/bin/sh", "-c", GATE, "lueur-serve", spec.command],
                cwd=spec.cwd or os.getcwd(),
                env=spec.env if spec.env is not None else dict(os.environ),
                stdin=gate_read,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it stops everything it started
                preexec_fn=in_child,
            )
        except (OSError, subprocess.SubprocessError) as error:
            os.close(gate_read)
            os.close(gate_write)
            raise EnvironmentProblem(f"cannot start the server in namespace {netns}: {error}") from None
    os.close(gate_read)
    server = ServerProcess(popen.pid, process_start_time(popen.pid), log, popen, defer_ready=spec.defer_ready)
    try:
        record(server.pid, server.start_time)
        os.write(gate_write, b"go\n")
    finally:
        os.close(gate_write)
    return server


def wait_ready(
    server: ServerProcess, probe_netns: str, targets: Iterable[tuple[str, int]], timeout: float
) -> float:
    """Wait until every (address, port) accepts connections from `probe_netns`; return the seconds waited.

    The probe goes through the client namespace, so a success proves the whole path (NAT included). A server
    started with `defer_ready` is not waited for here: the same wait runs at its `ready()`, and 0.0 is returned.
    """
    if server.defer_ready and server._awaited is None and server.ready_s is None:
        targets = list(targets)
        server._awaited = partial(_wait_ready, server, probe_netns, targets, timeout)
        return 0.0
    return _wait_ready(server, probe_netns, targets, timeout)


def _wait_ready(server: ServerProcess, probe_netns: str, targets: Iterable[tuple[str, int]], timeout: float) -> float:
    began = time.monotonic()
    pending = list(targets)
    while pending:
        code = server.returncode()
        if code is not None:
            raise BadInput(
                f"the server command exited with status {code} before accepting connections on "
                f"{', '.join(f'{a}:{p}' for a, p in pending)}; its output ends with:\n{server.stderr_tail()}"
            )
        address, port = pending[0]
        if in_netns_thread(probe_netns, partial(accepts, timeout_s=0.5), address, port):
            pending.pop(0)
            continue
        if time.monotonic() - min(began, server.started) > timeout:  # deferred: from its start
            raise BadInput(
                f"the server did not accept connections on {address}:{port} within {timeout:g} s; "
                f"its output ends with:\n{server.stderr_tail()}",
                hint="check the port in the upstream URL matches the one the server listens on",
            )
        time.sleep(0.01 if time.monotonic() - began < 1.0 else 0.05)  # most servers are up in well under 1 s
    server.ready_s = time.monotonic() - server.started
    return time.monotonic() - began


