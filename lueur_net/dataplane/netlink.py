"""Small netlink helpers shared by the tc backend and the capability probe: sockets, requests, error messages.

pyroute2 is imported here once (it costs ~0.1-0.2 s) and only by modules that change the kernel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELQDISC, RTM_DELTFILTER, RTM_NEWQDISC

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.enter import inside

FLAGS_REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
FLAGS_CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
FLAGS_DELETE = NLM_F_REQUEST | NLM_F_ACK

__all__ = [
    "FLAGS_CREATE", "FLAGS_DELETE", "FLAGS_REPLACE", "RTM_DELQDISC", "RTM_DELTFILTER", "RTM_NEWQDISC",
    "NetlinkError", "errno_text", "netlink_problem", "request", "socket",
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
def socket(netns: str | None) -> Iterator[Any]:
    """An rtnetlink socket in `netns` (an `ip netns` name or a path; None = the host). Never creates a namespace."""
    try:
        # The socket is opened inside `netns` by this thread (lab.enter.inside): per thread, so the tc
        # scheduler thread can do it concurrently, and ~40 ms cheaper than pyroute2's forking netns=.
        with inside(netns):
            ipr = IPRoute()
    except OSError as error:
        raise EnvironmentProblem(f"cannot open a netlink socket in namespace {netns}: {errno_text(error)}") from None
    try:
        yield ipr
    finally:
        ipr.close()


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
