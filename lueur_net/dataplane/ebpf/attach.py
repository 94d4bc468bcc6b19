"""Attaching a loaded program to an interface's ingress or egress, inside the interface's namespace.

Two mechanisms, chosen by what the kernel has (`mode="auto"` tries tcx first):
- **tcx link** (Linux >= 6.6): BPF_LINK_CREATE with BPF_TCX_INGRESS/EGRESS. The link lives exactly as long as
  its fd, which only this process holds (no pin): on exit, crash or SIGKILL the kernel detaches it. Nothing to
  clean up, ever; the ledger entry only documents it.
- **cls_bpf** direct-action filter on a clsact qdisc (older kernels), through pyroute2. The filter outlives
  us, so both the qdisc (when we create it) and the filter are recorded in the ledger first and have removers
  (`lueur-net clean`); and every program's deadline makes a forgotten filter pass everything (fail-open).
  The clsact qdisc follows dataplane.netlink's one rule, shared with the tc backend's IFB redirects: created
  only if absent, removed only if we created it and no filter is left on it.

Namespace entry: setns(CLONE_NEWNET) applies to the calling thread only, so we enter the target namespace in
the calling thread just for the attach (resolve the interface, create the link or the netlink socket) and go
straight back, in a try/finally. We chose this over a forked helper that would pass the fd back: the link fd
is born in our own process, so its lifetime is ours from the first instant, and nothing else ever holds it
(a helper would hold it too until it exits). A netlink socket opened inside the namespace stays bound to it
after we return, so cls_bpf removal needs no second entry.
Forked children inherit the link fd until they exit or exec; lueur-net's children are short-lived.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from typing import Any

from lueur_net.dataplane.ebpf import libbpf
from lueur_net.dataplane.ebpf.model import Hook
from lueur_net.dataplane.netlink import (
    CLSACT_EGRESS,
    CLSACT_INGRESS,
    ETH_P_ALL,
    delete_filter,
    ensure_clsact,
    filter_priorities,
    netlink_errors,
    release_clsact,
    remove_on_interface,
)
from lueur_net.dataplane.netlink import socket as netlink_socket
from lueur_net.errors import BadInput
from lueur_net.lab.enter import inside
from lueur_net.ledger import Entry, Ledger, remover

FILTER_PRIORITY_BASE = 0xC100  # our cls_bpf filters take free priorities from here up


def interface_index(ifname: str, netns: str | None) -> int:
    with inside(netns):
        try:
            return socket.if_nametoindex(ifname)
        except OSError:
            where = f"namespace {netns}" if netns else "the host namespace"
            raise BadInput(f"interface '{ifname}' does not exist in {where}") from None


@dataclass
class TcxLink:
    """A program attached through a tcx link; detaching is closing our fd."""

    link_fd: int
    netns: str | None
    ifname: str
    hook: Hook
    entry: Entry | None
    ledger: Ledger | None

    mechanism = "tcx"

    def detach(self) -> None:
        if self.link_fd >= 0:
            os.close(self.link_fd)
            self.link_fd = -1
            if self.ledger is not None and self.entry is not None:
                self.ledger.done(self.entry)


def attach_tcx(
    program_fd: int, netns: str | None, ifname: str, hook: Hook, name: str, ledger: Ledger | None
) -> TcxLink:
    """Raises OSError(EINVAL) when the kernel has no tcx (before 6.6)."""
    attach_type = libbpf.BPF_TCX_INGRESS if hook is Hook.INGRESS else libbpf.BPF_TCX_EGRESS
    entry = (
        ledger.record(
            "ebpf_tcx_link", netns=netns, ifname=ifname, hook=hook.value, program=name, pid=os.getpid()
        )
        if ledger
        else None
    )
    try:
        with inside(netns):
            ifindex = interface_index(ifname, None)
            link_fd = libbpf.link_create(program_fd, ifindex, attach_type)
    except BaseException:
        if ledger is not None and entry is not None:
            ledger.done(entry)
        raise
    return TcxLink(link_fd, netns, ifname, hook, entry, ledger)


@remover("ebpf_tcx_link")
def remove_tcx_link(fields: dict[str, Any]) -> None:
    """Nothing to do: a tcx link is detached by the kernel when its owner's fd closes (the owner is dead)."""


def _parent(hook: Hook) -> int:
    return CLSACT_INGRESS if hook is Hook.INGRESS else CLSACT_EGRESS


@dataclass
class ClsBpfFilter:
    """A cls_bpf direct-action filter on clsact; removed (with the qdisc, if ours and empty) on detach."""

    netns: str | None
    ifname: str
    hook: Hook
    priority: int
    created_qdisc: bool
    ledger: Ledger | None
    filter_entry: Entry | None = None
    qdisc_entry: Entry | None = None
    attached: bool = True

    mechanism = "cls_bpf"

    def detach(self) -> None:
        fields = {
            "netns": self.netns,
            "ifname": self.ifname,
            "hook": self.hook.value,
            "priority": self.priority,
        }
        if self.attached:
            remove_cls_bpf_filter(fields)
            self.attached = False
            self._done(self.filter_entry)
        if self.created_qdisc:
            release_clsact(fields)
            self.created_qdisc = False
            self._done(self.qdisc_entry)

    def _done(self, entry: Entry | None) -> None:
        if self.ledger is not None and entry is not None:
            self.ledger.done(entry)


def attach_cls_bpf(
    program_fd: int, netns: str | None, ifname: str, hook: Hook, name: str, ledger: Ledger | None
) -> ClsBpfFilter:
    ifindex = interface_index(ifname, netns)
    attached = ClsBpfFilter(netns, ifname, hook, 0, created_qdisc=False, ledger=ledger, attached=False)
    with netlink_socket(netns) as ipr:  # its socket stays in `netns` after we leave
        try:
            attached.created_qdisc, attached.qdisc_entry = ensure_clsact(ipr, ifindex, netns, ifname, ledger)
            parent = _parent(hook)
            used = filter_priorities(ipr, ifindex, parent)
            attached.priority = next(p for p in range(FILTER_PRIORITY_BASE, 0xFFFF) if p not in used)
            attached.filter_entry = (
                ledger.record(
                    "ebpf_tc_filter",
                    netns=netns,
                    ifname=ifname,
                    hook=hook.value,
                    priority=attached.priority,
                    program=name,
                )
                if ledger
                else None
            )
            try:
                with netlink_errors(f"attach BPF program {name} ({hook.value})", netns, ifname):
                    ipr.tc(
                        "add-filter",
                        "bpf",
                        ifindex,
                        ":1",
                        fd=program_fd,
                        name=name,
                        parent=parent,
                        prio=attached.priority,
                        protocol=ETH_P_ALL,
                        classid=1,
                        direct_action=True,
                    )
            except BaseException:
                attached._done(attached.filter_entry)  # no filter exists
                raise
            attached.attached = True
        except BaseException:
            attached.detach()
            raise
    return attached


@remover("ebpf_tc_filter")
def remove_cls_bpf_filter(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname, hook, priority. Tolerates the filter, qdisc, link or namespace being gone."""
    remove_on_interface(fields, ipr, f"delete BPF filter prio {fields['priority']}", lambda sock, index: delete_filter(
        sock, index, _parent(Hook(fields["hook"])), int(fields["priority"]), "bpf"))


def tcx_unsupported(error: OSError) -> bool:
    """Errors of BPF_LINK_CREATE that mean "this kernel has no tcx"."""
    return error.errno in (errno.EINVAL, errno.EOPNOTSUPP, 524)  # 524: the kernel's ENOTSUPP
