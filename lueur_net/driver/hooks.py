"""Let the run's process change the fault between repeat iterations while the driver runs in a forked child.

The data plane's objects live in the parent (the run command); the driver runs in a child inside the client
namespace. `HookServer(fn)` (parent side, a context manager) makes two pipes and serves them in a thread;
its `.hook` is a picklable `PipeHook` to put in `ItemSpec.hook`. Before each repeat call the driver calls
`hook(iteration, phase)`: the child writes one JSON line and waits for the parent's answer, so the call goes out
only after `fn(iteration, phase)` has returned in the parent. An exception in `fn` fails the item in the child.

The same pipes carry the start gate (`HookServer(on_ready=...)`, `.start` a picklable `PipeStart`): a single or
load item's driver calls `start(needed_s)` once it is ready to send; the parent applies the item's faults anchored
at a t0 of its choosing and answers that t0, which the driver's schedule then counts from.
"""

from __future__ import annotations

import json
import os
import select
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lueur_net.driver.lines import LineReader
from lueur_net.errors import EnvironmentProblem

HOOK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class PipeHook:
    """The driver's side: picklable (two fd numbers inherited across fork)."""

    request_fd: int
    reply_fd: int
    timeout_s: float = HOOK_TIMEOUT_S

    def __call__(self, iteration: int, phase: str) -> None:
        what = f"the fault for iteration {iteration}"
        answer = _exchange(self.request_fd, self.reply_fd, {"iteration": iteration, "phase": phase}, what,
                           self.timeout_s)
        if answer != "ok":
            raise EnvironmentProblem(f"setting {what} failed: {answer}")


@dataclass(frozen=True)
class PipeStart:
    """The driver's side of the start gate: picklable; `start(needed_s)` returns the item's t0 from the run."""

    request_fd: int
    reply_fd: int
    timeout_s: float = HOOK_TIMEOUT_S

    def __call__(self, needed_s: float) -> float:
        what = "the item's faults and start time"
        answer = _exchange(self.request_fd, self.reply_fd, {"ready": needed_s}, what, self.timeout_s)
        if not answer.startswith("t0 "):
            raise EnvironmentProblem(f"setting {what} failed: {answer}")
        return float(answer[3:])


def _exchange(request_fd: int, reply_fd: int, request: dict[str, object], what: str, timeout_s: float) -> str:
    """Write one JSON line, wait for the one-line answer (without its newline)."""
    os.write(request_fd, (json.dumps(request) + "\n").encode())
    ready, _, _ = select.select([reply_fd], [], [], timeout_s)
    if not ready:
        raise EnvironmentProblem(f"the run did not set {what} within {timeout_s:g} s")
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = os.read(reply_fd, 4096)
        if not chunk:
            raise EnvironmentProblem("the run closed the iteration hook")
        answer += chunk
    return answer.decode().strip()


class HookServer:
    """The run's side: calls `fn(iteration, phase)` for each iteration request from the driver and answers it;
    `on_ready(needed_s) -> t0` for the start gate's one request."""

    def __init__(self, fn: Callable[[int, str], None] | None = None, *,
                 on_ready: Callable[[float], float] | None = None) -> None:
        self.fn = fn
        self.on_ready = on_ready
        self._request_read, self._request_write = os.pipe()
        self._reply_read, self._reply_write = os.pipe()
        self.hook = PipeHook(self._request_write, self._reply_read)
        self.start = PipeStart(self._request_write, self._reply_read)
        self._thread = threading.Thread(target=self._serve, name="lueur-iteration-hook", daemon=True)
        self._closing_r, self._closing_w = os.pipe()

    def __enter__(self) -> HookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        os.write(self._closing_w, b"x")
        self._thread.join(5)
        for fd in (self._request_read, self._request_write, self._reply_read, self._reply_write,
                   self._closing_r, self._closing_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _serve(self) -> None:
        requests = LineReader(self._request_read, 4096)
        while True:
            ready, _, _ = select.select([self._request_read, self._closing_r], [], [])
            if self._closing_r in ready:
                return
            lines = requests.read()
            if lines is None:
                return
            for line in lines:
                request = json.loads(line)
                try:
                    if "ready" in request:
                        if self.on_ready is None:
                            raise RuntimeError("no start gate here")
                        answer = f"t0 {self.on_ready(float(request['ready']))!r}"
                    else:
                        if self.fn is None:
                            raise RuntimeError("no iteration hook here")
                        self.fn(int(request["iteration"]), str(request["phase"]))
                        answer = "ok"
                except Exception as error:  # noqa: BLE001 - reported to the driver, which fails the item
                    answer = f"{type(error).__name__}: {error}".replace("\n", " ")
                os.write(self._reply_write, (answer + "\n").encode())
