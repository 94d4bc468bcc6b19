"""Labs kept up for manual exploration (`lueur-net lab up`): a holder process owns the lab until `lab down`.

`lab up` forks a holder in its own session. The holder opens the ledger (so `clean` sees a live run and leaves
it alone), builds the lab, writes its description to RUN_DIR/ID.lab, reports back through a pipe, and then
sleeps until SIGTERM/SIGINT/SIGHUP, when it reverts everything and exits. `lab down ID` sends it SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from lueur_net import ledger as ledgers
from lueur_net.errors import BadInput, EnvironmentProblem, LueurError
from lueur_net.lab.lab import Lab
from lueur_net.lab.serve import ServeSpec
from lueur_net.lab.signals import terminate_on_signals

PURPOSE = "lab up"
DESCRIPTION_SUFFIX = ".lab"


def _send(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, json.dumps(message).encode())
    os.close(fd)


def _hold(write_fd: int, upstreams: list[str], serve: ServeSpec | None, pool: str | None, dns: bool) -> int:
    """The holder's whole life; returns its exit status."""
    try:
        with terminate_on_signals(), ledgers.Ledger.open(PURPOSE) as journal:
            description = journal.path.with_suffix(DESCRIPTION_SUFFIX)
            try:
                with Lab.create(upstreams, journal, serve, pool=pool, dns=dns) as lab:
                    entry = journal.record("file", path=str(description))
                    description.write_text(json.dumps(lab.describe(), indent=2))
                    _send(write_fd, {"ok": lab.describe()})
                    write_fd = -1
                    try:
                        while True:
                            signal.pause()
                    except KeyboardInterrupt:
                        pass
                    description.unlink(missing_ok=True)
                    journal.done(entry)
            except LueurError as error:
                if write_fd >= 0:
                    _send(write_fd, {"error": str(error), "exit": error.exit_code})
                return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - the parent prints it
        if write_fd >= 0:
            _send(write_fd, {"error": f"{type(error).__name__}: {error}", "exit": 3})
        return 3
    return 0


def start(upstreams: list[str], serve: ServeSpec | None, pool: str | None, dns: bool = False) -> dict[str, Any]:
    """Fork the holder, wait until its lab is up, return the lab's description (raises its error otherwise)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the holder
        os.close(read_fd)
        status = 3
        try:
            os.setsid()  # not killed by the terminal's Ctrl-C once `lab up` has returned
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # errors go back through the pipe; the server's output goes to its log
                os.dup2(null, fd)
            status = _hold(write_fd, upstreams, serve, pool, dns)
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    if not chunks:
        os.waitpid(pid, 0)
        raise EnvironmentProblem("the lab holder process died before the lab was up")
    message = json.loads(b"".join(chunks))
    if "error" in message:
        os.waitpid(pid, 0)
        raise (BadInput if message["exit"] == 2 else EnvironmentProblem)(message["error"])
    return message["ok"]  # type: ignore[no-any-return]


def kept_labs(run_dir: Path | None = None) -> list[dict[str, Any]]:
    """Descriptions of live labs kept up by `lab up`."""
    found = []
    for header in ledgers.live_runs(run_dir):
        if header.get("purpose") != PURPOSE:
            continue
        path = (run_dir or ledgers.RUN_DIR) / f"{header['run_id']}{DESCRIPTION_SUFFIX}"
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # still starting, or stopping
    return found


def find(lab_id: str | None, run_dir: Path | None = None) -> dict[str, Any]:
    labs = kept_labs(run_dir)
    if lab_id is None:
        if len(labs) == 1:
            return labs[0]
        if not labs:
            raise BadInput("no lab is up (start one with `sudo lueur-net lab up URL...`)")
        raise BadInput("several labs are up; name one: " + ", ".join(lab["run_id"] for lab in labs))
    for lab in labs:
        if lab["run_id"] == lab_id:
            return lab
    raise BadInput(
        f"no live lab with id {lab_id} (see `lueur-net lab list`)",
        hint="if its holder was killed, `sudo lueur-net clean` removes what it left",
    )


def stop(description: dict[str, Any], timeout: float = 15.0) -> None:
    """SIGTERM the holder and wait until it has reverted everything."""
    pid = int(description["pid"])
    run_id = description["run_id"]
    ledger_path = ledgers.RUN_DIR / f"{run_id}{ledgers.LEDGER_SUFFIX}"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        raise EnvironmentProblem(f"lab {run_id}'s holder (pid {pid}) is gone; run `sudo lueur-net clean`") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # when the caller itself started the holder, reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if ledgers.process_start_time(pid) is None:
            break
        time.sleep(0.05)
    else:
        raise EnvironmentProblem(f"lab {run_id}'s holder (pid {pid}) did not stop within {timeout:g} s")
    if ledger_path.exists():
        raise EnvironmentProblem(f"lab {run_id} stopped but left objects behind; run `sudo lueur-net clean`")
