"""Drive one item inside a network namespace with live progress and per-iteration fault changes: the run command's
one call into the driver.

    run = drive_in_netns("lueur-c-123", spec, on_progress=show, on_iteration=data_plane_set_iteration)

Wires what crosses the fork (docs/driver.md): a progress pipe read by a thread that calls `on_progress(event)`,
and, for repeat items, a HookServer that calls `on_iteration(iteration, phase)` in this process before each call;
for single and load items, the start gate `on_ready(needed_s) -> t0` once the driver is ready to send.
`netns` None drives in this process (no namespace change), with the same callbacks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from lueur_net.driver.driving import ItemRun, drive
from lueur_net.driver.hooks import HookServer
from lueur_net.driver.progress import ProgressReader
from lueur_net.driver.spec import ItemSpec


def drive_in_netns(
    netns: str | None,
    spec: ItemSpec,
    *,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    on_iteration: Callable[[int, str], None] | None = None,
    on_ready: Callable[[float], float] | None = None,
) -> ItemRun:
    """Run `drive(spec)` in namespace `netns` (an `ip netns` name or /proc/PID/ns/net path; None: here).

    `on_ready(needed_s) -> t0` (single and load items): called in this process once the driver is ready to send;
    apply the item's faults anchored at a t0 at least `needed_s` from now and return it (docs/driver.md).
    """
    with ExitStack() as stack:
        changes: dict[str, Any] = {}
        iteration = on_iteration if spec.is_repeat else None
        ready = on_ready if not spec.is_repeat else None
        if iteration is not None or ready is not None:
            server = stack.enter_context(HookServer(iteration, on_ready=ready))
            if iteration is not None:
                changes["hook"] = server.hook
            if ready is not None:
                changes["start"] = server.start
        if on_progress is not None:
            read_end, write_end = os.pipe()
            stack.callback(os.close, read_end)
            stack.enter_context(ProgressReader(read_end, on_progress))  # stopped (drained) before read_end closes
            # closed first on the way out (the driver has ended): the reader meets EOF once it has drained the pipe,
            # instead of its 0.1 s select timeout (measured ~0.09 s idle per item)
            stack.callback(os.close, write_end)
            changes["progress_fd"] = write_end
        spec = dataclasses.replace(spec, **changes)
        if netns is None:
            return drive(spec)
        from lueur_net.lab.enter import run_in_netns

        return run_in_netns(netns, drive, spec)
