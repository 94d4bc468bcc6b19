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
    """fields: pid, start_time (from ledger.process_start_time), optional pgid to signal a whole group.

    SIGTERM, then SIGKILL after 3 s; with a group, the whole group, and the 3 s grace covers every member, not
    only the leader (a shell leader dies at once while the server it started is still cleaning up).
    """
    pid = int(fields["pid"])
    start_time = fields.get("start_time")
    group = int(fields["pgid"]) if fields.get("pgid") else None
    if group:
        # The group id stays reserved while any member lives (the kernel does not reuse it), so this reaches
        # only processes the run started, e.g. children of a shell that already exited.
        if not process_is(pid, start_time) and not group_alive(group):
            return
        try:
            os.killpg(group, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + 3.0
        while group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.02)
        if group_alive(group):
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _wait_gone(pid, start_time, 2.0)  # reaps the leader if it is our child (a zombie otherwise lingers)
        return
    if process_is(pid, start_time):
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if _wait_gone(pid, start_time, wait):
                break


def group_alive(pgid: int) -> bool:
    """True while a live (not zombie) process of group `pgid` exists.

    Zombies are left out: an orphaned member that already exited waits for init to reap it, which can take a
    while and must not hold up a stop (or look like a process that ignores SIGTERM).
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _wait_gone(pid: int, start_time: int | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:  # reap it if it is our child, so it does not linger as a zombie
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not process_is(pid, start_time) or _is_zombie(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _is_zombie(pid: int) -> bool:
    """A zombie has exited already; its parent (not us) will reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].startswith("Z")


@remover("file")
def remove_file(fields: dict[str, Any]) -> None:
    """fields: path (a server's log, a kept lab's description file)."""
    Path(fields["path"]).unlink(missing_ok=True)


@remover("netns")
def remove_netns(fields: dict[str, Any]) -> None:
    """fields: name (an `ip netns` name under /run/netns). Deleting it removes its links and sysctls too."""
    from pyroute2 import netns

    name = fields["name"]
    if name in netns.listnetns():
        netns.remove(name)


@remover("link")
def remove_link(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: ifname, optional netns (an `ip netns` name or a /proc/PID/ns/net path; None = the host).

    `ipr`: a netlink socket already in that namespace (a backend reverting in-process), else one is opened there.
    """
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    from lueur_net.errors import BadInput
    from lueur_net.lab.enter import inside

    if ipr is None:
        try:
            with inside(fields.get("netns")):
                opened = IPRoute()
        except BadInput:
            return  # the namespace is gone, and its links with it
        with opened:
            remove_link(fields, opened)
        return
    for index in ipr.link_lookup(ifname=fields["ifname"]):
        try:
            ipr.link("del", index=index)
        except NetlinkError as error:
            if error.code != 19:  # ENODEV: already gone
                raise


@remover("netns_etc")
def remove_netns_etc(fields: dict[str, Any]) -> None:
    """fields: name. Removes /etc/netns/NAME (the namespace's own hosts and resolv.conf); only lueur* names."""
    import shutil

    name = str(fields["name"])
    if not name.startswith("lueur") or "/" in name:
        raise ValueError(f"refusing to remove /etc/netns/{name}: not one of ours")
    shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)


@remover("nft_table")
def remove_nft_table(fields: dict[str, Any]) -> None:
    """fields: family, name, optional netns (None = the host's). Only tables named lueur* are ever deleted."""
    from lueur_net.errors import BadInput
    from lueur_net.lab import nat
    from lueur_net.lab.enter import in_netns_thread

    name = str(fields["name"])
    if not name.startswith("lueur"):
        raise ValueError(f"refusing to delete nft table '{name}': not one of ours")
    namespace = fields.get("netns")
    if namespace:
        try:
            in_netns_thread(namespace, nat.delete_table, str(fields["family"]), name)
        except BadInput:
            return  # the namespace is gone, and its tables with it
    else:
        nat.delete_table(str(fields["family"]), name)
