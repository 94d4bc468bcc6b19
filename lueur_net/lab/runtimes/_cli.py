"""The `X inspect` runtimes (docker, podman, nerdctl): Docker-compatible JSON, one shared reader."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lueur_net.lab.runtimes import Found, Unreachable

TIMEOUT = 15  # seconds; a hung daemon must not hang the command
# Words the CLIs use for "no such container" (docker: "No such object/container", podman: "no such container",
# nerdctl: "no such container" / "not found"): that answer is "no match here", not a failure.
NOT_FOUND = ("no such", "not found", "no container with name or id")


def inspect(runtime: str, command: list[str], ref: str) -> list[Found]:
    try:
        done = subprocess.run([*command, ref], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise Unreachable(f"{runtime}: no answer within {TIMEOUT} s") from None
    except OSError as error:
        raise Unreachable(f"{runtime}: {error.strerror}") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        if any(word in message[0].lower() for word in NOT_FOUND):
            return []
        raise Unreachable(f"{runtime}: {message[0]}")
    try:
        items: Any = json.loads(done.stdout)
        return [_found(runtime, item) for item in items]
    except (ValueError, KeyError, TypeError):
        raise Unreachable(f"{runtime}: unexpected inspect output {done.stdout.strip()[:80]!r}") from None


def _found(runtime: str, item: dict[str, Any]) -> Found:
    state = item["State"]
    pid = int(state.get("Pid") or 0)
    running = bool(state.get("Running", pid > 0)) and pid > 0
    return Found(runtime, str(item["Id"]), str(item.get("Name", "")).lstrip("/"), pid, running)
