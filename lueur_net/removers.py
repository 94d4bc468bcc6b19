"""Removers for the generic entry kinds of the ledger (one small function per kind).

Each remover receives the fields the creator recorded and must succeed when the object is already gone.
Kinds specific to one backend register their remover in that backend's module instead.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from lueur_net.ledger import process_is, remover


@remover("process")
def remove_process(fields: dict[str, Any]) -> None:
    """fields: pid, start_time (from ledger.process_start_time), optional pgid to signal a whole group."""
    pid = int(fields["pid"])
    if not process_is(pid, fields.get("start_time")):
        return
    target_group = fields.get("pgid")
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        try:
            if target_group:
                os.killpg(int(target_group), sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not process_is(pid, fields.get("start_time")):
                return
            try:  # reap it if it is our child, so it does not linger as a zombie
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.02)


@remover("file")
def remove_file(fields: dict[str, Any]) -> None:
    """fields: path. Also used for BPF pins under /sys/fs/bpf."""
    Path(fields["path"]).unlink(missing_ok=True)


@remover("bpf_pin")
def remove_bpf_pin(fields: dict[str, Any]) -> None:
    Path(fields["path"]).unlink(missing_ok=True)


@remover("netns")
def remove_netns(fields: dict[str, Any]) -> None:
    """fields: name (an `ip netns` name under /run/netns). Deleting it removes its links and sysctls too."""
    from pyroute2 import netns

    name = fields["name"]
    if name in netns.listnetns():
        netns.remove(name)


@remover("link")
def remove_link(fields: dict[str, Any]) -> None:
    """fields: ifname, optional netns (None = the host namespace)."""
    from pyroute2 import IPRoute, NetNS
    from pyroute2.netlink.exceptions import NetlinkError

    namespace = fields.get("netns")
    if namespace:
        from pyroute2 import netns

        if namespace not in netns.listnetns():
            return
        ipr: Any = NetNS(namespace)
    else:
        ipr = IPRoute()
    try:
        indexes = ipr.link_lookup(ifname=fields["ifname"])
        for index in indexes:
            try:
                ipr.link("del", index=index)
            except NetlinkError as error:
                if error.code != 19:  # ENODEV: already gone
                    raise
    finally:
        ipr.close()
