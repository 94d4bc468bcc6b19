"""The data plane's one netlink toolkit: sockets in a namespace, requests, error messages, tc constants, and the
clsact qdisc that the tc backend (IFB redirects) and the ebpf backend (cls_bpf filters) share.

pyroute2 is imported here once (it costs ~0.1-0.2 s) and only by modules that change the kernel.

clsact has one owner rule, whoever asks for it (`ensure_clsact` / `release_clsact`, ledger kind `tc_clsact`):
create it only if the interface has none (and then record it in the ledger first); remove it only if we created
it (a ledger entry exists) and only when no filter at all is left on it, on ingress or egress. Our own filters
are removed before it (reverse order of creation), so a filter still there belongs to another fault of ours
still applied, or to someone else: deleting clsact would delete that filter too.
"""

from __future__ import annotations

import os
import socket as socket_module
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELQDISC, RTM_DELTFILTER, RTM_NEWQDISC
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.enter import inside
from lueur_net.ledger import Entry, Ledger, remover

FLAGS_REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
FLAGS_CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
FLAGS_DELETE = NLM_F_REQUEST | NLM_F_ACK

# include/uapi/linux/pkt_sched.h and if_ether.h
TC_H_ROOT = 0xFFFFFFFF
CLSACT_INGRESS = 0xFFFFFFF2  # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS): the parent of ingress filters
CLSACT_EGRESS = 0xFFFFFFF3
ETH_P_ALL = 0x0003
ENOENT, EINVAL, ENODEV = 2, 22, 19
GONE = (ENOENT, EINVAL, ENODEV)  # deleting something already gone answers one of these

__all__ = [
    "CLSACT_EGRESS", "CLSACT_INGRESS", "ETH_P_ALL", "FLAGS_CREATE", "FLAGS_DELETE",
    "FLAGS_REPLACE", "GONE", "RTM_DELQDISC", "RTM_DELTFILTER", "RTM_NEWQDISC", "TC_H_ROOT",
    "NetlinkError", "delete_filter", "ensure_clsact", "errno_text", "filter_priorities", "has_clsact", "ifindex", "netlink_errors",
    "netlink_problem", "release_clsact", "remove_on_interface", "request", "socket", "socket_unless_gone",
]


def where(netns: str | None, ifname: str) -> str:
    return f"{ifname} (namespace {netns})" if netns else f"{ifname} (host namespace)"


def errno_text(error: BaseException) -> str:
    code = getattr(error, "code", None)
    if isinstance(code, int) and code > 0:
        return f"{os.strerror(code)} (errno {code})"
    return str(error)


def netlink_problem(action: str, netns: str | None, ifname: str, error: BaseException,
                    hint: str | None = None) -> EnvironmentProblem:
    """`cannot add netem qdisc 4c4e: on veth0 (namespace x): Invalid argument (errno 22)`."""
    return EnvironmentProblem(f"cannot {action} on {where(netns, ifname)}: {errno_text(error)}", hint=hint)


@contextmanager
def netlink_errors(action: str, netns: str | None, ifname: str, hint: str | None = None, *,
                   hint_codes: Collection[int] | None = None, gone_ok: bool = False) -> Iterator[None]:
    """A NetlinkError in the body becomes netlink_problem(action, ...), one line naming interface, object and
    errno. `hint_codes`: give the hint only for these errno values (a missing module answers ENOENT/EINVAL,
    other errors have other causes). `gone_ok`: for removal, an object already gone (GONE) is success."""
    try:
        yield
    except NetlinkError as error:
        if gone_ok and error.code in GONE:
            return
        shown = hint if hint_codes is None or error.code in hint_codes else None
        raise netlink_problem(action, netns, ifname, error, shown) from None


def _open(netns: str | None) -> Any:
    try:
        # The socket is opened inside `netns` by this thread (lab.enter.inside): per thread, so the tc
        # scheduler thread can do it concurrently, and ~40 ms cheaper than pyroute2's forking netns=.
        # It stays bound to that namespace after the thread comes back.
        with inside(netns):
            return IPRoute()
    except OSError as error:
        raise EnvironmentProblem(f"cannot open a netlink socket in namespace {netns}: {errno_text(error)}") from None


@contextmanager
def socket(netns: str | None) -> Iterator[Any]:
    """An rtnetlink socket in `netns` (an `ip netns` name or a path; None = the host). Never creates a namespace;
    BadInput if it does not exist."""
    ipr = _open(netns)
    try:
        yield ipr
    finally:
        ipr.close()


@contextmanager
def socket_unless_gone(netns: str | None, ipr: Any = None) -> Iterator[Any | None]:
    """For removers: `ipr` when the caller has one already (a backend reverting in-process), else a socket in
    `netns`, or None when the namespace is gone (a deleted `ip netns` name, a dead process's /proc/PID/ns/net):
    everything in it went with it."""
    if ipr is not None:
        yield ipr
        return
    try:
        opened = _open(netns)
    except BadInput:
        yield None
        return
    try:
        yield opened
    finally:
        opened.close()


def remove_on_interface(fields: dict[str, Any], ipr: Any, action: str, act: Callable[[Any, int], None]) -> None:
    """A remover's body: act(socket, ifindex) on the interface `fields` name (netns, ifname), unless the namespace or
    the interface is gone (and the object with it); a NetlinkError is netlink_errors(action, gone_ok=True)'s."""
    with socket_unless_gone(fields.get("netns"), ipr) as sock:
        found = sock.link_lookup(ifname=fields["ifname"]) if sock is not None else []
        if found:
            with netlink_errors(action, fields.get("netns"), fields["ifname"], gone_ok=True):
                act(sock, int(found[0]))


def request(ipr: Any, msg: Any, msg_type: int, flags: int) -> tuple[Any, ...]:
    """Send one message and wait for its ack (pyroute2 0.9.7's sync nlm_request reads a missing status key,
    so this goes through the same generator it wraps)."""
    generate = getattr(ipr, "_generate_with_cleanup", None)
    if generate is not None and hasattr(ipr, "asyncore"):
        return tuple(generate(ipr.asyncore.nlm_request, msg, msg_type, flags, None, None, None))
    return tuple(ipr.nlm_request(msg, msg_type=msg_type, msg_flags=flags))


def ifindex(ipr: Any, netns: str | None, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise EnvironmentProblem(f"interface {where(netns, ifname)} does not exist")
    return int(found[0])


def delete_filter(ipr: Any, index: int, parent: int, prio: int, kind: str, protocol: int = ETH_P_ALL) -> None:
    """RTM_DELTFILTER for (parent, prio, protocol): tcm_info carries prio in its upper and the protocol (network
    order) in its lower 16 bits, as `tc filter del ... prio P protocol all` sends."""
    message = tcmsg()
    message["family"] = 0
    message["index"] = index
    message["handle"] = 0
    message["parent"] = parent
    message["info"] = (prio << 16) | socket_module.htons(protocol)
    message["attrs"] = [["TCA_KIND", kind]]
    request(ipr, message, RTM_DELTFILTER, FLAGS_DELETE)


# ---- clsact: one owner rule for every backend (module docstring) ----


def has_clsact(ipr: Any, index: int) -> bool:
    return any(q.get_attr("TCA_KIND") == "clsact" for q in ipr.get_qdiscs(index=index))


def filter_priorities(ipr: Any, index: int, parent: int) -> set[int]:
    """Priorities of the filters under `parent` (CLSACT_INGRESS or CLSACT_EGRESS) of interface `index`."""
    return {f["info"] >> 16 for f in ipr.get_filters(index=index, parent=parent)}


def ensure_clsact(ipr: Any, index: int, netns: str | None, ifname: str,
                  ledger: Ledger | None) -> tuple[bool, Entry | None]:
    """A clsact qdisc on interface `index`: created (and recorded first, with a ledger) only if absent. Returns
    (created by this call, its ledger entry): what was created is ours to release_clsact later."""
    if has_clsact(ipr, index):
        return False, None
    entry = ledger.record("tc_clsact", netns=netns, ifname=ifname) if ledger is not None else None
    try:
        with netlink_errors("add clsact qdisc", netns, ifname, "modprobe sch_ingress; see `lueur-net doctor`"):
            ipr.tc("add", "clsact", index=index)
    except BaseException:
        if ledger is not None and entry is not None:
            ledger.done(entry)  # not created
        raise
    return True, entry


@remover("tc_clsact")
def release_clsact(fields: dict[str, Any], ipr: Any = None) -> None:
    """fields: netns, ifname. The clsact qdisc we created, removed only when no filter is left on it."""

    def act(sock: Any, index: int) -> None:
        if not has_clsact(sock, index):
            return
        if filter_priorities(sock, index, CLSACT_INGRESS) or filter_priorities(sock, index, CLSACT_EGRESS):
            return  # a filter still hangs on it: another fault of ours, or someone else's
        sock.tc("del", "clsact", index=index)

    remove_on_interface(fields, ipr, "delete clsact qdisc", act)


# Ledgers written before the ebpf backend shared this rule name the same object `ebpf_clsact`.
remover("ebpf_clsact")(release_clsact)
